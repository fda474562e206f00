"""The site's table views: one per reflected relation, registered with the app's ``Admin``
(what one app serves is :class:`dashboard.site_state.DashboardState`)."""

from __future__ import annotations

import typing as t

from flask import Flask

from dashboard.db.records import RecordStore
from dashboard.db.reflection import TableInfo
from dashboard.messages import N_
from dashboard.site_state import DashboardState
from dashboard.web.labels import TranslatedLabel
from dashboard.web.table_options import TableOptions, table_entry
from dashboard.web.table_view import TableView

#: The plugins' options of a relation under the operator's ``TABLES`` entry (dashboard.plugins.hooks).
OptionsHook = t.Callable[[TableInfo, t.Mapping[str, t.Any] | None], t.Mapping[str, t.Any]]
#: Gives a new view the plugins' cell renderers and bulk actions.
ViewHook = t.Callable[[TableView], None]


def menu_category(info: t.Any) -> TranslatedLabel:
    """Menu group of a relation: its schema, with views apart from tables, in the operator's language."""
    if info.schema is None:
        return TranslatedLabel(N_("Views") if info.kind != "table" else N_("Tables"))
    if info.kind != "table":
        return TranslatedLabel(N_("%(schema)s: views"), schema=info.schema)
    return TranslatedLabel(N_("%(schema)s: tables"), schema=info.schema)


def register_table_views(
    app: Flask, state: DashboardState[TableView], *, table_options: OptionsHook, extend_view: ViewHook
) -> None:
    """Add a :class:`TableView` for every relation that the settings (and the plugins, through
    ``table_options``) do not hide."""
    config = app.config
    stores = {info.id: RecordStore(state.engine, info) for info in state.schema.tables}
    overrides = config["TABLES"]
    for info in sorted(state.schema.tables, key=lambda i: (i.schema or "", i.kind, i.name.lower())):
        # Plugins' options first, the operator's TABLES entry over them (dashboard.plugins.hooks).
        options = TableOptions(table_options(info, table_entry(overrides, info)))
        if options.hidden:
            continue
        view = TableView(
            stores[info.id],
            state.schema,
            stores,
            options=options,
            read_only_site=bool(config["READ_ONLY"]),
            sensitive_patterns=list(config["SENSITIVE_COLUMN_PATTERNS"]),
            page_size=int(config["PAGE_SIZE"]),
            page_sizes=list(config["PAGE_SIZES"]),
            export_max_rows=int(config["EXPORT_MAX_ROWS"]),
            category=menu_category(info),
        )
        extend_view(view)
        state.admin.add_view(view)
        state.views[info.id] = view
