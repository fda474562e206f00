"""Which search a list's search box runs, and the sentence on the page that says which one ran.

A table with a full-text index the database answers from (:mod:`dashboard.db.fulltext`) is
searched through it; any other table with ``LIKE`` over its searchable text columns
(:mod:`dashboard.db.search`). The index is used only when every column it reads is one
the operator may see and search: searching through an index over a hidden column would
find rows by a value the operator is not shown.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import g

from dashboard.db.fulltext import FullTextIndex
from dashboard.db.records import RecordStore
from dashboard.db.reflection import ColumnInfo, TableInfo
from dashboard.db.search import search_condition
from dashboard.i18n.translation import gettext
from dashboard.web.table_options import TableOptions


class SearchedView(t.Protocol):
    """What of a table's view (:class:`dashboard.web.table_base.TableBase`) its search needs."""

    info: TableInfo
    store: RecordStore
    options: TableOptions
    visible: list[ColumnInfo]
    column_labels: dict[str, t.Any]
    _search_columns: list[ColumnInfo]
    full_text: FullTextIndex | None


def usable_index(view: SearchedView) -> FullTextIndex | None:
    """The table's full-text index, when the operator may search every column it reads."""
    index = view.info.full_text
    if index is None:
        return None
    searchable = {c.name for c in view.visible if view.options.column(c.name).get("searchable", True)}
    return index if set(index.columns) <= searchable else None


def placeholder(view: SearchedView) -> str | None:
    """The search box's placeholder: which kind of search it runs, over which columns."""
    index = view.full_text
    if index is not None:
        labels = [str(view.column_labels[view.info.column(name).key]) for name in index.columns[:4]]
        return gettext("Full-text search: %(columns)s", columns=", ".join(labels))
    names = ", ".join(str(view.column_labels[c.key]) for c in view._search_columns[:4])
    return gettext("Search: %(columns)s", columns=names) if names else None


def condition(view: SearchedView, text: str) -> sa.ColumnElement[bool] | None:
    """The condition of the list's search for ``text``; the sentence saying which search ran is
    left for the page (:func:`ran`)."""
    index = view.full_text
    if index is not None:
        g.dashboard_search_kind = gettext("Full-text search (%(index)s).", index=index.label)
        return index.condition(view.store.table, text)
    columns = view._search_columns
    g.dashboard_search_kind = gettext(
        "Text search (contains) in: %(columns)s.", columns=", ".join(str(view.column_labels[c.key]) for c in columns)
    )
    return search_condition([view.store.column(c.key) for c in columns], text)


def ran() -> str | None:
    """Which search the current listing ran, in a sentence, or ``None`` when it ran none."""
    return g.get("dashboard_search_kind")
