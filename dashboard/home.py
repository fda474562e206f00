"""The home page: every relation with its size and whether it can be edited, and why not."""

from __future__ import annotations

import typing as t

from flask import current_app
from flask_admin import AdminIndexView, expose

from dashboard import counts
from dashboard.labels import TranslatedLabel
from dashboard.messages import N_
from dashboard.reflection import SchemaInfo


class HomeView(AdminIndexView):
    """The ``/admin/`` page."""

    def __init__(self, schema: SchemaInfo) -> None:
        super().__init__(name=TranslatedLabel(N_("Home")), url="/admin", template="dashboard/home.html")
        self.schema = schema

    @expose("/")
    def index(self) -> str:
        state = current_app.extensions["dashboard"]
        # Nothing is asked of a relation the database user may not read, not even its count.
        estimates = counts.estimate_rows(state.engine, [v.info for v in state.views.values()
                                                        if v.info.readable and v.is_accessible()])
        groups: dict[str, list[t.Any]] = {}
        for table_id, view in state.views.items():
            if not view.is_accessible():
                continue  # a role must not learn the names of tables it may not open
            groups.setdefault(view.category or "", []).append((view, estimates.get(table_id)))
        return self.render(self._template, groups=groups, dialect=self.schema.dialect)
