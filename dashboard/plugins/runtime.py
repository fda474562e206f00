"""What a plugin's code meets while the app runs: reporting its failures, whether the operator
may read them, the URL of its static files.

Imported by the public API modules (:mod:`dashboard.pages`) and by the chart engine without
the loader (:mod:`dashboard.plugins.loader`), which holds the registry these read.
"""

from __future__ import annotations

import typing as t

from flask import current_app, has_request_context

from dashboard.security.permissions import can
from dashboard.urls import own_endpoint

#: Where an app keeps its plugin registry (:class:`dashboard.plugins.loader.PluginRegistry`).
EXTENSION_KEY = "dashboard_plugins"
#: The authorizer's action for seeing what went wrong inside a plugin (tracebacks, SQL
#: errors): no role grants it, so only ``admin``, who may do whatever is asked, has it.
DETAILS_ACTION = "plugin_details"


class _Reporter(t.Protocol):
    def report(
        self, plugin: str, part: str, exc: BaseException, *, traceback: bool = True, once: bool = False
    ) -> None: ...


def report(plugin: str, part: str, exc: BaseException, *, traceback: bool = True, once: bool = False) -> None:
    """Report a failure of ``plugin`` in the current app: logged with its traceback, listed as the
    plugin's problem, the plugin marked degraded (see
    :meth:`dashboard.plugins.loader.PluginRegistry.report`; ``once``: only its first failure in ``part``)."""
    t.cast(_Reporter, current_app.extensions[EXTENSION_KEY]).report(plugin, part, exc, traceback=traceback, once=once)


def sees_details() -> bool:
    """Whether the current operator may read what went wrong inside plugins (administrators)."""
    return has_request_context() and can(DETAILS_ACTION)


def plugin_static(plugin: str, filename: str) -> str:
    """The URL of ``filename`` in ``plugin``'s ``static/`` folder (``plugin_static()`` in templates)."""
    from flask import url_for

    return url_for(f"{static_endpoint(plugin)}.static", filename=filename)


def static_endpoint(plugin: str) -> str:
    # In the dashboard's namespace: a table named like the plugin never takes it.
    return own_endpoint(f"plugin-static:{plugin}")
