"""The plugin contract: every hook a dashboard plugin may implement.

A plugin is a module (or package) with functions marked ``@hookimpl`` whose names are
the hooks below; each takes any subset of its hook's arguments, by name. The dashboard
calls each plugin's implementation on its own, so one that raises is reported (in the
log, ``dashboard plugins`` and an error panel) and the others still run. Hooks are
called once at start-up, except :func:`template_variables`, called for every page
rendered, the callables that :func:`cell_renderer` returns, called for every cell, and
:func:`before_write` and :func:`after_write`, called for every row written.

Hooks receive the public API's objects only: a table as its reflected
:class:`~dashboard.db.reflection.TableInfo`, or as a :class:`~dashboard.writes.TableWriter`
(``template_variables``' ``writer``, ``BulkAction.run``, ``RowAction.run``, ``TableAction.run``,
their ``allowed_on``, and a ``Block``'s template and ``context``);
never the site's Flask-Admin views, whose attributes are no promise.

``plugins/README.md`` documents each hook with an example; a test fails when a hook
here has no example there or no test.
"""

from __future__ import annotations

import typing as t

import pluggy

if t.TYPE_CHECKING:
    from flask import Flask, Request

    from dashboard.charts import Chart
    from dashboard.db.reflection import ColumnInfo, TableInfo
    from dashboard.pages import Block, BulkAction, MenuLink, Page, RowAction, TableAction
    from dashboard.writes import TableWriter

PROJECT = "dashboard"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a plugin's hook implementations: ``@hookimpl def register_pages(): ...``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_pages(app: Flask) -> t.Sequence[type[Page]] | None:
    """Return Page subclasses to add to the site, each with its menu entry."""


@hookspec
def register_charts(app: Flask) -> t.Sequence[Chart] | None:
    """Return Chart declarations (table, grouping, measure, kind and where they show)."""


@hookspec
def cell_renderer(table: TableInfo, column: ColumnInfo) -> t.Callable[[t.Any, t.Mapping[str, t.Any]], t.Any] | None:
    """Return ``render(value, row)`` for list and details cells of this column, or None to keep the default."""


@hookspec
def table_actions(table: TableInfo) -> t.Sequence[BulkAction | RowAction | TableAction] | None:
    """Return BulkAction (selected rows), RowAction (a row's button) and TableAction (list menu) entries."""


@hookspec
def template_blocks(table: TableInfo) -> t.Sequence[Block] | None:
    """Return Block entries: plugin templates in this table's details side panel, list header or form footer."""


@hookspec
def table_options(table: TableInfo) -> t.Mapping[str, t.Any] | None:
    """Return view options for this table in the TABLES settings' vocabulary; the operator's settings win."""


@hookspec
def menu_links(app: Flask) -> t.Sequence[MenuLink] | None:
    """Return MenuLink entries (a name, a URL, who sees them) to add to the navigation bar."""


@hookspec
def template_variables(
    template: str, writer: TableWriter | None, request: Request, view: TableWriter | None
) -> t.Mapping[str, t.Any] | None:
    """Return extra variables for ``template`` (``writer``: the page's table, or None; ``view``: its old name)."""


@hookspec
def before_write(
    table: TableInfo, action: str, old: t.Mapping[str, t.Any] | None, new: t.Mapping[str, t.Any] | None
) -> t.Mapping[str, t.Any] | None:
    """Before a row is written: return values to write instead of ``new``, or raise ``WriteRefused``."""


@hookspec
def after_write(
    table: TableInfo, action: str, old: t.Mapping[str, t.Any] | None, new: t.Mapping[str, t.Any] | None
) -> None:
    """After a row's write committed (``create``, ``edit`` or ``delete``); if it raises, the write stays."""


@hookspec
def startup(app: Flask) -> None:
    """Run once when the app is built, after every view, page and chart is registered."""
