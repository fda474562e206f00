"""Applying the plugins' hooks to the site.

:mod:`dashboard.plugins.loader` finds and imports plugins; this module puts what their hooks
return into place: table options, cell renderers and bulk actions while the table views
are built (:func:`table_options`, :func:`extend_view`), then charts, pages, menu links and
template variables, and finally the start-up hook (:func:`init_app`). Whatever a plugin
returns is checked first; a wrong value is reported as that plugin's problem and left out.
"""

from __future__ import annotations

import functools
import logging
import re
import typing as t
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, flash, g, has_request_context, request
from flask.signals import before_render_template
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.errors import is_gone
from dashboard.i18n.translation import gettext
from dashboard.pages import BulkAction, MenuLink, Page, RoleMenuLink, RowAction, TableAction, page_url
from dashboard.plugins import actions, blocks, charting, runtime, write_hooks
from dashboard.plugins import loader as plugins
from dashboard.plugins.recency import has_recent_rows
from dashboard.security.auth import ROLES, TABLE_ACTIONS
from dashboard.site_state import DashboardState, current_site
from dashboard.web import page_cache
from dashboard.web.keys import BadKey, decode_key
from dashboard.writes import TableWriter, WriteFailed, WriteGone

if t.TYPE_CHECKING:
    from dashboard.db.reflection import ColumnInfo, TableInfo
    from dashboard.web.table_view import TableView

log = logging.getLogger(__name__)

#: What ``table_options`` may set: the ``TABLES`` settings' vocabulary, less what only the
#: operator decides (roles, showing secret-looking columns, display columns).
TABLE_OPTION_KEYS = frozenset({"label", "labels", "hidden", "read_only", "column_order", "columns"})
COLUMN_OPTION_KEYS = frozenset({"label", "labels", "hidden", "read_only", "searchable", "filterable"})
#: Most rows one bulk action receives.
MAX_ACTION_ROWS = 1000
_ACTION_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _items(value: t.Any) -> list[t.Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


# -- while table views are built ------------------------------------------------------------------


def table_options(app: Flask, info: TableInfo, configured: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """The options of ``info``'s view: the plugins' (later plugins over earlier ones), then the operator's.

    :param configured: the operator's ``TABLES`` entry for the table; it wins over every plugin.
    """
    found = plugins.registry(app)
    merged: dict[str, t.Any] = {}
    if found.has_implementations("table_options"):
        for plugin, options in reversed(found.call("table_options", table=info)):
            problem = _options_problem(info, options)
            if problem:
                found.add_problem(plugin, "table_options", f"table {info.id!r}: {problem}")
                found.discard(plugin, "table_options", options)
                continue
            merged = _merge(merged, options)
    return _merge(merged, configured or {})


def _options_problem(info: TableInfo, options: t.Any) -> str | None:
    if not isinstance(options, t.Mapping):
        return f"expected a mapping of options, got {type(options).__name__}"
    unknown = sorted(set(options) - TABLE_OPTION_KEYS)
    if unknown:
        return f"unknown option(s) {', '.join(unknown)}; options are {', '.join(sorted(TABLE_OPTION_KEYS))}"
    names = {c.name for c in info.columns}
    for name in options.get("column_order", []):
        if name not in names:
            return f"column_order names unknown column {name!r}"
    columns = options.get("columns", {})
    if not isinstance(columns, t.Mapping):
        return "columns must map column names to options"
    for name, column in columns.items():
        if name not in names:
            return f"unknown column {name!r}"
        if not isinstance(column, t.Mapping) or set(column) - COLUMN_OPTION_KEYS:
            return f"column {name!r}: options must be a mapping of {', '.join(sorted(COLUMN_OPTION_KEYS))}"
    return None


def _merge(base: t.Mapping[str, t.Any], over: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    merged = dict(base)
    for key, value in over.items():
        if key == "columns" and isinstance(value, t.Mapping):
            columns = {name: dict(options) for name, options in (merged.get("columns") or {}).items()}
            for name, options in value.items():
                columns[name] = {**columns.get(name, {}), **(options or {})}
            merged["columns"] = columns
        else:
            merged[key] = value
    return merged


def extend_view(app: Flask, view: TableView) -> None:
    """Give ``view`` the plugins' cell renderers, template blocks and actions (bulk, row, table)."""
    found = plugins.registry(app)
    if found.has_implementations("cell_renderer"):
        for column in view.visible:
            _cell_renderer(found, view, column)
    blocks.extend_view(found, view)
    if found.has_implementations("table_actions"):
        view.plugin_action_allowed = {}
        for plugin, actions in reversed(found.call("table_actions", table=view.info)):
            for action in _items(actions):
                if not _add_action(found, view, plugin, action):
                    found.discard(plugin, "table_actions", action)


def _cell_renderer(found: plugins.PluginRegistry, view: TableView, column: ColumnInfo) -> None:
    chosen = False
    for plugin, render in found.call("cell_renderer", table=view.info, column=column):
        if chosen or not callable(render):
            if not chosen:
                found.add_problem(
                    plugin,
                    "cell_renderer",
                    f"{view.info.id}.{column.name}: returned {type(render).__name__}, not a function",
                )
            # The first plugin's renderer is the column's; a later one is not used, nor listed.
            found.discard(plugin, "cell_renderer", render)
            continue
        chosen = True
        for formatters in (view.column_formatters, view.column_formatters_detail):
            if column.key in formatters:
                formatters[column.key] = _rendering(plugin, render, view.info, column, formatters[column.key])


class _Row(t.Mapping[str, t.Any]):
    """A listed row as a read-only mapping by column name, built only when a renderer asks."""

    def __init__(self, record: t.Any, info: TableInfo) -> None:
        self._record = record
        self._info = info

    def __getitem__(self, name: str) -> t.Any:
        return getattr(self._record, self._info.column(name).key)

    def __iter__(self) -> t.Iterator[str]:
        return (c.name for c in self._info.columns)

    def __len__(self) -> int:
        return len(self._info.columns)


def _rendering(
    plugin: str, render: t.Callable[..., t.Any], info: TableInfo, column: ColumnInfo, default: t.Callable[..., t.Any]
) -> t.Callable[..., t.Any]:
    def formatter(view: t.Any, context: t.Any, model: t.Any, name: str) -> t.Any:
        try:
            shown = render(getattr(model, column.key), _Row(model, info))
        except Exception as exc:  # noqa: BLE001 -- one cell fails, the page does not
            # Reported once per column (the plugin is then "degraded"), and this cell shows its
            # value as if there were no renderer. The renderer is still asked for the other
            # cells: one that fails on an odd value keeps showing the rest.
            part = f"cell_renderer {info.id}.{column.name}"
            runtime.report(plugin, part, exc, once=True)
            # Kept with a cached list page: a worker serving it from the cache learns of it too.
            page_cache.note(("plugin_problem", plugin, part, *plugins.failure_text(exc)))
            return default(view, context, model, name)
        if shown is None:
            return default(view, context, model, name)
        # A plain string is text and is escaped; only Markup the plugin built itself is HTML.
        return shown if isinstance(shown, Markup) else escape(str(shown))

    return formatter


def _add_action(found: plugins.PluginRegistry, view: TableView, plugin: str, action: t.Any) -> bool:
    """Offer ``action`` in ``view``'s list; ``False`` when it is refused (and reported)."""
    where = f"{view.info.id}"
    if isinstance(action, (RowAction, TableAction)):
        return actions.register(found, view, plugin, action)
    if not isinstance(action, BulkAction):
        kind = type(action).__name__
        found.add_problem(plugin, "table_actions", f"{where}: returned {kind}, not a Bulk-, Row- or TableAction")
        return False
    if not _ACTION_NAME.match(action.name) or action.name in view._actions_data:
        found.add_problem(
            plugin, "table_actions", f"{where}: action name {action.name!r} is not a-z, 0-9 and _, or is already taken"
        )
        return False
    if action.permission not in TABLE_ACTIONS:
        found.add_problem(
            plugin,
            "table_actions",
            f"{where}: unknown permission {action.permission!r}; use one of {', '.join(TABLE_ACTIONS)}",
        )
        return False
    handler = functools.partial(_run_action, view, plugin, action)
    view._actions.append((action.name, action.label))
    view._actions_data[action.name] = (handler, action.label, action.confirmation)
    # Asked by the view (dashboard.web.table_writes) before it offers or runs the action.
    view.plugin_action_allowed[action.name] = functools.partial(_may_run, view, plugin, action)
    return True


def _may_run(view: TableView, plugin: str, action: BulkAction) -> bool:
    return action.allowed_on(TableWriter(view, plugin))


def _run_action(view: TableView, plugin: str, action: BulkAction, ids: list[str]) -> t.Any:
    writer = TableWriter(view, plugin)
    if not action.allowed_on(writer):
        flash(_("Permission denied."), "error")
        return None
    try:
        keys = [decode_key(i, view.store.key_codecs) for i in ids[:MAX_ACTION_ROWS]]
        rows = _rows(view, keys)
    except BadKey:
        flash(_("Some of the selected rows do not exist."), "error")
        return None
    try:
        message = action.run(rows, writer)
    except WriteFailed as failed:
        if isinstance(failed, WriteGone):
            raise  # the "database not reachable" page
        flash(failed.message, "error")  # naming the row refused, when one was
    except Exception as exc:
        if is_gone(exc):
            raise
        runtime.report(plugin, f"action {action.name}", exc)
        flash(_("The action %(action)s failed: a plugin raised an error.", action=str(action.label)), "error")
    else:
        flash(str(message) if message else _("Done."), "success")
    return None


def _rows(view: TableView, keys: list[tuple[t.Any, ...]]) -> list[dict[str, t.Any]]:
    """The selected rows as dicts by column name: their visible columns and their key."""
    shown = {c.name for c in view.visible} | set(view.info.row_key)
    rows = []
    for start in range(0, len(keys), 50):
        condition = sa.or_(*(view.store.key_condition(key) for key in keys[start : start + 50]))
        for record in view.store.select(where=[condition], limit=None):
            rows.append({c.name: getattr(record, c.key) for c in view.info.columns if c.name in shown})
    return rows


# -- once every table view is there --------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Register the plugins' charts, pages and menu links, give the tables' stores the write hooks,
    connect template variables, then run ``startup``."""
    found = plugins.registry(app)
    state = current_site(app)
    _register_charts(app, found, state)
    _register_pages(app, found, state)
    _register_menu_links(app, found, state)
    write_hooks.init_app(app)
    app.extensions[page_cache.REPLAY_KEY] = _replay_problems
    before_render_template.connect(_template_variables, app)
    app.jinja_env.globals.update(
        dashboard_charts=dashboard_charts,
        dashboard_details_charts=charting.details_charts,
        dashboard_charts_drawn=charts_drawn,
        plugin_problems=visible_problems,
        dashboard_blocks=blocks.render_blocks,
        page_url=page_url,
    )
    found.call("startup", app=app)


def _register_charts(app: Flask, found: plugins.PluginRegistry, state: DashboardState[TableView]) -> None:
    for plugin, declared in reversed(found.call("register_charts", app=app)):
        for chart in _items(declared):
            try:
                entry = charting.check(chart, state.views)
            except TypeError as exc:
                found.report(plugin, "register_charts", exc, traceback=False)
                continue
            entry.plugin = plugin
            if chart.name in found.charts:
                found.add_problem(
                    plugin,
                    f"chart {chart.name}",
                    f"another chart is already called {chart.name!r} (from {found.charts[chart.name].plugin})",
                )
                continue
            found.charts[chart.name] = entry
            loaded = found.plugin(plugin)
            if loaded is not None:
                loaded.charts.append(chart.name)
            if entry.problem:
                log.warning("plugin %s: %s", plugin, entry.problem)
                found.add_problem(plugin, f"chart {chart.name}", entry.problem)


def _register_pages(app: Flask, found: plugins.PluginRegistry, state: DashboardState[TableView]) -> None:
    for plugin, declared in reversed(found.call("register_pages", app=app)):
        for page_class in _items(declared):
            if not (isinstance(page_class, type) and issubclass(page_class, Page)):
                found.add_problem(
                    plugin, "register_pages", f"returned {page_class!r}, not a subclass of dashboard.pages.Page"
                )
                continue
            part = f"page {page_class.page_slug()}"
            try:
                page = page_class()
                page.plugin = plugin
                state.admin.add_view(page)
            except Exception as exc:  # noqa: BLE001 -- a page that cannot be built is left out
                found.report(plugin, part, exc, traceback=not isinstance(exc, ValueError))
                stray = [v for v in state.admin._views if isinstance(v, page_class)]
                for view in stray:
                    state.admin._views.remove(view)
                continue
            for name in page.charts:
                if name not in found.charts:
                    found.add_problem(plugin, part, f"shows chart {name!r}, which nobody declared")
            found.pages.append(page)
            loaded = found.plugin(plugin)
            if loaded is not None:
                loaded.pages.append(page.page_slug())


def _link_problem(link: t.Any) -> str | None:
    if not isinstance(link, MenuLink):
        return f"returned {type(link).__name__}, not a dashboard.pages.MenuLink"
    parts = urlsplit(link.url)
    local = link.url.startswith("/") and not link.url.startswith("//") and "\\" not in link.url
    if not local and not (parts.scheme in ("http", "https") and parts.netloc):
        return f"link {link.name!r}: the URL must be a path on this site or an http(s) address"
    unknown = sorted(set(link.roles) - set(ROLES))
    if unknown:
        return f"link {link.name!r}: unknown role(s) {', '.join(unknown)}"
    return None


def _register_menu_links(app: Flask, found: plugins.PluginRegistry, state: DashboardState[TableView]) -> None:
    for plugin, links in reversed(found.call("menu_links", app=app)):
        for link in _items(links):
            problem = _link_problem(link)
            if problem:
                found.add_problem(plugin, "menu_links", problem)
                found.discard(plugin, "menu_links", link)
                continue
            state.admin.add_link(RoleMenuLink(link))


def _replay_problems(notes: t.Sequence[tuple[str, ...]]) -> None:
    """Problems met while a list page served from the cache was rendered, maybe by another worker."""
    found = plugins.registry()
    for kind, plugin, part, message, details in (n for n in notes if len(n) == 5):
        if kind == "plugin_problem" and found.first_failure(plugin, part):
            log.error("plugin %s failed in %s (on a page kept in the cache): %s\n%s", plugin, part, message, details)
            found.add_problem(plugin, part, message, details)


def _template_variables(sender: Flask, template: t.Any, context: dict[str, t.Any], **_extra: t.Any) -> None:
    found = plugins.registry(sender)
    if not found.has_implementations("template_variables"):
        return
    name = getattr(template, "name", None) or ""
    current = request if has_request_context() else None
    writer = _page_table_writer(sender, context.get("admin_view"))
    for plugin, variables in found.call(
        "template_variables", template=name, writer=writer, view=writer, request=current
    ):
        if not isinstance(variables, t.Mapping):
            found.add_problem(plugin, "template_variables", f"returned {type(variables).__name__}, not a mapping")
            continue
        for key, value in variables.items():
            context.setdefault(key, value)


def _page_table_writer(app: Flask, view: t.Any) -> plugins.PerPlugin | None:
    """For the page of a served table (list, details, a form...), a writer for it per plugin:
    plugins get the public handle, never the Flask-Admin view; ``None`` on every other page."""
    table_id = getattr(getattr(view, "info", None), "id", None)
    table_view = current_site(app).views.get(table_id) if isinstance(table_id, str) else None
    if table_view is None or table_view is not view:
        return None
    return plugins.PerPlugin(functools.partial(TableWriter, table_view))


# -- what templates call -----------------------------------------------------------------------


def dashboard_charts(place: str) -> list[charting.ChartPanel]:
    """Panels of the charts for ``place`` the operator may see: ``home``, or ``table:<id>`` (its list page)."""
    entries = plugins.registry().charts.values()
    if place == "home":
        # A recent-only chart costs a query: asked only for those the operator may see.
        chosen = [
            e
            for e in entries
            if e.chart.home and (not e.chart.recent_only or (charting.visible(e) and has_recent_rows(e)))
        ]
    elif place.startswith("table:"):
        chosen = [e for e in entries if e.chart.on_list and e.chart.table == place[len("table:") :]]
    else:
        chosen = []
    try:
        return charting.panels(chosen)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 -- charts never take their page down
        runtime.report("dashboard", f"charts {place}", exc)
        return []


def charts_drawn() -> bool:
    """Whether this page shows a chart to draw, so Chart.js is loaded (only then)."""
    return bool(g.get("dashboard_charts_drawn"))


def visible_problems() -> list[plugins.PluginProblem]:
    """The plugins' problems, for administrators; nothing for anybody else."""
    return list(plugins.registry().problems) if runtime.sees_details() else []


def _(text: str, **variables: t.Any) -> str:
    return gettext(text, **variables)


__all__ = ["dashboard_charts", "extend_view", "init_app", "table_options"]
