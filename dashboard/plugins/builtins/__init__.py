"""Features of the dashboard written as ordinary plugins, loaded before any other.

Each module here implements hooks of :mod:`dashboard.hookspecs` exactly as a plugin in the
``plugins/`` folder would, and can be turned off the same way (``DISABLED_PLUGINS``).
"""

from __future__ import annotations

#: ``(plugin name, module)`` of every built-in plugin, in loading order.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("overview", "dashboard.plugins.builtins.overview"),
    ("plugin_pages", "dashboard.plugins.builtins.plugin_pages"),
    ("webhooks", "dashboard.plugins.builtins.webhooks"),
)
#: Built-in plugins loaded only when their setting is not empty: a plugin that listens to
#: every write costs each write a read of its row, which nobody should pay for nothing.
ONLY_WHEN_SET: dict[str, str] = {"webhooks": "WEBHOOKS"}
