"""Where plugins' row and table actions meet a table's pages: their buttons and their URL.

A plugin's :class:`~dashboard.pages.RowAction` shows as a button on a row's details page and
in its list row, a :class:`~dashboard.pages.TableAction` in the list page's menu bar; each is
served at ``action/<name>/`` below the table (``?id=<key>`` for a row), which asks its form
(or its confirmation) and runs it on a valid POST.

This layer knows actions only through :class:`ActionEntry`: what they are, who may see them
and how to serve them is the plugin layer's (:mod:`dashboard.plugins.actions`), which fills
:attr:`PluginActions.plugin_actions` as the table's view is built.

A list page's rows are kept in the shared page cache per role and table rights
(:mod:`dashboard.web.page_cache`), so an entry's :meth:`~ActionEntry.shown` may depend on
nothing else: the entries ask ``TableWriter.allowed`` and the operator's role.
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote_plus

from flask import abort
from flask_admin.base import expose
from markupsafe import Markup, escape

from dashboard.web.table_base import URL_SAFE, TableBase


class ActionEntry(t.Protocol):
    """A plugin's action on one table, as the table's pages need it."""

    name: str
    #: ``"row"`` or ``"table"``.
    kind: str
    on_list: bool
    on_details: bool
    #: Whether it asks a form (or a confirmation) on a page of its own before it runs.
    asks_first: bool
    confirmation: str | None

    @property
    def label(self) -> str: ...

    def shown(self) -> bool:
        """Whether the current operator may run it (and so sees its button)."""

    def serve(self, view: t.Any, name: str) -> t.Any:
        """Answer a GET or POST of ``action/<name>/``."""


class PluginActions(TableBase):
    """A table view's plugin actions and the route that serves them."""

    #: name -> entry, filled by :mod:`dashboard.plugins.actions` at start-up (a class-level
    #: empty default: a table without plugin actions shares it and never writes to it).
    plugin_actions: dict[str, ActionEntry] = {}  # noqa: RUF012 -- replaced per view, never changed in place

    def plugin_actions_for(self, place: str) -> list[ActionEntry]:
        """The actions the current operator may run, for ``place``: ``"list"`` (each row),
        ``"details"`` (a row's details page) or ``"table"`` (the list page's menu bar)."""
        if not self.plugin_actions:
            return []
        chosen = []
        for entry in self.plugin_actions.values():
            if place == "table":
                wanted = entry.kind == "table"
            else:
                wanted = entry.kind == "row" and (entry.on_list if place == "list" else entry.on_details)
            if wanted and entry.shown():
                chosen.append(entry)
        return chosen

    def action_url(self, name: str, row_id: str | None = None) -> str:
        """The URL of action ``name``'s page (for a row, ``row_id`` is its key as the list encodes it)."""
        base = self.get_url(".plugin_action_view", action_name=name)
        return base if row_id is None else f"{base}?id={quote_plus(row_id, safe=URL_SAFE)}"

    def table_action_links(self) -> Markup:
        """The list page's menu bar entries of the table actions the operator may run."""
        parts = [
            f'<li><a class="nav-link dashboard-table-action" href="action/{escape(entry.name)}/">'
            f"{escape(entry.label)}</a></li>"
            for entry in self.plugin_actions_for("table")
        ]
        return Markup("".join(parts))  # nosec B704 -- names and labels escaped

    # Not "<name>": Flask-Admin's access check takes the route's arguments beside its own "name".
    @expose("/action/<action_name>/", methods=("GET", "POST"))
    def plugin_action_view(self, action_name: str) -> t.Any:
        """A plugin action's page: its form or confirmation (GET), running it (POST)."""
        entry = self.plugin_actions.get(action_name)
        if entry is None:
            abort(404)
        return entry.serve(self, action_name)


def list_row_buttons(entries: t.Sequence[ActionEntry], id_arg: str, back: str) -> str:
    """The row actions' buttons of one list row (HTML): links to each action's page, relative
    to the list page; ``id_arg`` is the row's key quoted for a URL, ``back`` the return URL part."""
    return "".join(
        f'<a class="btn btn-sm btn-outline-secondary py-0 ml-1 dashboard-row-action" '
        f'href="{escape(f"action/{entry.name}/?id={id_arg}{back}")}">{escape(entry.label)}</a>'
        for entry in entries
    )
