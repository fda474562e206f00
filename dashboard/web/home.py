"""The home page: every relation with its size and whether it can be edited, and why not.

Relations are grouped by schema and kind, as the navbar's table finder groups them, and
the page's search box filters every group as the operator types (static/home.js). On a
large schema the groups start folded, each saying how many relations it holds, so the
page opens on the overview and the search box rather than on hundreds of rows; ``?q=``
(the finder's form without JavaScript) shows the matching relations only.
"""

from __future__ import annotations

import typing as t

from flask import request
from flask_admin import AdminIndexView, expose

from dashboard.db import counts
from dashboard.db.reflection import SchemaInfo
from dashboard.messages import N_
from dashboard.site_state import current_site
from dashboard.web.labels import TranslatedLabel
from dashboard.web.navigation import list_url

#: Up to this many relations the groups start unfolded; beyond, folded.
UNFOLDED_UP_TO = 60


class HomeView(AdminIndexView):
    """The ``/admin/`` page."""

    def __init__(self, schema: SchemaInfo) -> None:
        super().__init__(name=TranslatedLabel(N_("Home")), url="/admin", template="dashboard/home.html")
        self.schema = schema

    @expose("/")
    def index(self) -> str:
        state = current_site()
        # Nothing is asked of a relation the database user may not read, not even its count.
        estimates = counts.estimate_rows(
            state.engine, [v.info for v in state.views.values() if v.info.readable and v.is_accessible()]
        )
        groups: dict[str, list[t.Any]] = {}
        for table_id, view in state.views.items():
            if not view.is_accessible():
                continue  # a role must not learn the names of tables it may not open
            groups.setdefault(view.category or "", []).append((view, estimates.get(table_id)))
        words = request.args.get("q", "").lower().split()
        # What ?q= matches, by group: the ids of the relations shown (the others are hidden).
        shown = {
            str(group): {view.info.id for view, _estimate in entries if matches(words, view, group)}
            for group, entries in groups.items()
        }
        unfolded = bool(words) or sum(len(entries) for entries in groups.values()) <= UNFOLDED_UP_TO
        return self.render(
            self._template,
            groups=groups,
            dialect=self.schema.dialect,
            shown=shown,
            unfolded=unfolded,
            query=" ".join(words),
            list_url=list_url,
        )


def matches(words: t.Sequence[str], view: t.Any, group: t.Any) -> bool:
    """Whether every word is in the relation's name or its group's, as static/home.js decides."""
    text = f"{view.name} {group}".lower()
    return all(word in text for word in words)
