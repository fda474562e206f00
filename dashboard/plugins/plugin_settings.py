"""Each plugin's own settings: the ``[plugins.<name>]`` tables of the settings file.

Read once when the app is built into read-only mappings (nested tables too), so a plugin
cannot change another's settings or its own between requests. A table naming no plugin the
dashboard found (not loaded, failed, disabled or built in) is most likely a typo: it is
logged and kept as a problem of that name, shown by ``dashboard plugins`` and on the Plugins
page, and the site starts anyway. The values themselves are never shown anywhere: a plugin's
settings often hold its API keys.

Plugins read them with :func:`dashboard.pages.plugin_settings` or ``Page.settings``.
"""

from __future__ import annotations

import logging
import types
import typing as t

from flask import Flask, current_app

log = logging.getLogger(__name__)

#: Where an app keeps its plugins' settings: plugin name -> read-only mapping.
EXTENSION_KEY = "dashboard_plugin_settings"
EMPTY: t.Mapping[str, t.Any] = types.MappingProxyType({})


class _Registry(t.Protocol):
    """What of :class:`dashboard.plugins.loader.PluginRegistry` this module needs (the loader imports it)."""

    plugins: list[t.Any]

    def add_problem(self, plugin: str, part: str, message: str, details: str = "") -> None: ...


def _frozen(value: t.Any) -> t.Any:
    """``value`` with every table a read-only mapping and every list a tuple."""
    if isinstance(value, dict):
        return types.MappingProxyType({str(key): _frozen(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def init_app(app: Flask) -> None:
    """Read ``PLUGINS`` (a table of tables, checked by :func:`dashboard.settings.load_settings`)
    into read-only mappings, one per plugin."""
    configured = app.config.get("PLUGINS") or {}
    app.extensions[EXTENSION_KEY] = {str(name): _frozen(value) for name, value in configured.items()}


def report_unknown_names(app: Flask, found: _Registry, known: t.Iterable[str]) -> None:
    """Record a problem for each ``[plugins.<name>]`` table whose name no plugin has.

    :param known: names of plugins that exist but were not loaded (disabled, built-ins off).
    """
    names = {plugin.name for plugin in found.plugins} | set(known)
    for name in sorted(app.extensions.get(EXTENSION_KEY, {})):
        if name in names:
            continue
        message = f"the settings file has a [plugins.{name}] table, but no plugin is called {name!r}"
        log.warning("%s", message)
        found.add_problem(name, "settings", message)


def settings_of(name: str, app: Flask | None = None) -> t.Mapping[str, t.Any]:
    """The read-only settings of plugin ``name`` in ``app`` (default: the current app); empty when none."""
    return t.cast(t.Mapping[str, t.Any], (app or current_app).extensions.get(EXTENSION_KEY, {}).get(name, EMPTY))
