"""Built-in plugin: the "Plugins" page for administrators and the "Charts" page for everyone.

``/admin/-/pages/plugins/`` lists what ``dashboard plugins`` lists (each plugin's state and
everything it adds, :mod:`dashboard.plugins.listing`), plus the problems met
while serving (a hook that raised on some request), with tracebacks. ``/admin/-/pages/charts/``
shows every chart the operator may see; ``?chart=NAME`` shows one chart on a page of its own.
"""

from __future__ import annotations

import typing as t

from flask import abort, current_app, request

from dashboard.hookspecs import hookimpl
from dashboard.i18n.translation import lazy_gettext
from dashboard.pages import ALL_ROLES, Page
from dashboard.plugins import charting, listing


class PluginsPage(Page):
    """Every plugin, where it came from, what it added, and what failed."""

    title = lazy_gettext("Plugins")
    slug = "plugins"
    template = "dashboard/plugins.html"

    def context(self) -> t.Mapping[str, t.Any]:
        found = current_app.extensions["dashboard_plugins"]
        return {
            "plugins": [(plugin, listing.describe(found, plugin)) for plugin in found.plugins],
            "problems": found.problems,
        }


class ChartsPage(Page):
    """Every chart the operator may see, or one of them."""

    title = lazy_gettext("Charts")
    slug = "charts"
    roles = ALL_ROLES
    template = "dashboard/charts.html"

    def _entries(self) -> list[t.Any]:
        found = current_app.extensions["dashboard_plugins"].charts
        # A chart declared on_details counts one row's children: it is shown on that row's page only.
        return [entry for entry in found.values() if entry.chart.on_details is None and charting.visible(entry)]

    def is_visible(self) -> bool:
        # In the menu only when there is something to see.
        return bool(self._entries())

    def context(self) -> t.Mapping[str, t.Any]:
        entries = self._entries()
        wanted = request.args.get("chart")
        if wanted is not None:
            entries = [entry for entry in entries if entry.chart.name == wanted]
            if not entries:
                abort(404)
        return {"chart_panels": charting.panels(entries), "single": wanted is not None}


@hookimpl
def register_pages() -> list[type[Page]]:
    return [PluginsPage, ChartsPage]
