"""Registering one view per reflected relation with the app's ``Admin``."""

from __future__ import annotations

import typing as t

from flask import Flask

from dashboard.db.records import RecordStore
from dashboard.messages import N_
from dashboard.plugins import hooks
from dashboard.web.labels import TranslatedLabel
from dashboard.web.table_options import TableOptions
from dashboard.web.table_view import TableView

if t.TYPE_CHECKING:
    from dashboard.app import DashboardState


def menu_category(info: t.Any, default_schema: str | None) -> TranslatedLabel:
    """Menu group of a relation: its schema, with views apart from tables, in the operator's language."""
    if info.schema is None:
        return TranslatedLabel(N_("Views") if info.kind != "table" else N_("Tables"))
    if info.kind != "table":
        return TranslatedLabel(N_("%(schema)s: views"), schema=info.schema)
    return TranslatedLabel(N_("%(schema)s: tables"), schema=info.schema)


def register_table_views(app: Flask, state: DashboardState) -> None:
    """Add a :class:`TableView` for every relation that the settings do not hide."""
    config = app.config
    stores = {info.id: RecordStore(state.engine, info) for info in state.schema.tables}
    overrides = config["TABLES"]
    for info in sorted(state.schema.tables, key=lambda i: (i.schema or "", i.kind, i.name.lower())):
        # Plugins' options first, the operator's TABLES entry over them (dashboard.plugins.hooks).
        options = TableOptions(hooks.table_options(app, info, overrides.get(info.endpoint) or overrides.get(info.id)))
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
            category=menu_category(info, state.schema.default_schema),
        )
        hooks.extend_view(app, view)
        state.admin.add_view(view)
        state.views[info.id] = view
