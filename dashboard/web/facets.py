"""The list page's facets panel: for columns that suit it, each value with its row count under
the listing's filters and search, each a link that filters the list by it.

Which columns: enums and CHECK pick lists, booleans, and columns with few distinct values
(:func:`dashboard.db.facets.few_valued`, decided without scanning the table) get a facet
by default, at most :data:`DEFAULT_FACETS` of them, so a wide table costs a few small
queries. Foreign keys and dates (grouped by month) are offered as links that add one, and
``?facet=<column>`` adds a facet on any other column the operator may see (Datasette's
``_facet``); such a facet can be removed again.

The counts are read under the listing's own conditions (the :class:`ListingQuery` that
:meth:`TableReads.get_list` built) and kept under its cache key, which holds the table's
generation and the operator's permission scope. The panel is part of the kept list page
(:mod:`dashboard.web.page_cache`), whose key holds every query argument, ``facet`` too;
nothing in it belongs to one session: its links are built from the query arguments only.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import current_app, g, request
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.facets import GROUPABLE_KINDS, MONTH_KINDS, PROBED_KINDS, FacetCounts, cached_counts, few_valued
from dashboard.db.list_columns import is_long_text
from dashboard.db.listing import ListingQuery
from dashboard.db.reflection import ColumnInfo
from dashboard.i18n.translation import gettext
from dashboard.web.filters import (
    RANGE_SEPARATOR,
    BetweenFilter,
    ColumnFilter,
    EmptyFilter,
    EqualFilter,
    GreaterFilter,
    SmallerFilter,
)
from dashboard.web.table_base import URL_SAFE

if t.TYPE_CHECKING:
    from dashboard.web.table_reads import TableReads as TableView

log = logging.getLogger(__name__)

#: Facets a list shows unasked, at most.
DEFAULT_FACETS = 3
#: Facets the ``facet`` arguments may add, at most (each is a query).
ASKED_FACETS = 5
#: Values shown per facet; the rest are counted in a "more values" hint.
VALUES_SHOWN = 10
#: Links offered to add a facet, at most.
OFFERED_FACETS = 4
#: A value's text in the panel is cut to this many characters.
VALUE_TEXT_LIMIT = 60


@dataclass
class FacetValue:
    """One value of a facet: its text, its row count, and the URL that filters the list by it."""

    text: str
    rows: int
    url: str | None


@dataclass
class Facet:
    """One column's facet as the panel shows it."""

    name: str
    label: str
    by_month: bool
    values: list[FacetValue] = field(default_factory=list)
    more: int = 0
    capped: bool = False
    unavailable: bool = False
    remove_url: str | None = None


@dataclass
class FacetPanel:
    """What the panel shows: facets, links that add one, and ``facet`` arguments it ignored."""

    facets: list[Facet]
    offered: list[tuple[str, str]]
    ignored: list[str]
    capped_at: int | None
    exact_url: str | None


def facet_panel(view: TableView) -> FacetPanel | None:
    """The current list page's facets panel, or ``None`` when there is nothing to show."""
    query: ListingQuery | None = g.get("dashboard_listing_query")
    if query is None or g.get("dashboard_listing_refused") or not view.info.readable or not view.allowed("view"):
        return None
    visible = {c.name: c for c in view.visible}
    asked, ignored = _asked(view, visible)
    defaults = _defaults(view, query, exclude={c.name for c in asked})
    exact = request.args.get("exact_count") == "1"
    cap = None if exact else int(current_app.config["COUNT_CAP"])
    facets = [_facet(view, query, column, cap, removable=False) for column in defaults]
    facets += [_facet(view, query, column, cap, removable=True) for column in asked]
    shown = {f.name for f in facets}
    offered = [
        (str(view.column_labels[c.key]), _url(view, add=[("facet", c.name)]))
        for c in _offerable(view)
        if c.name not in shown
    ][:OFFERED_FACETS]
    if not facets and not offered and not ignored:
        return None
    capped = any(f.capped for f in facets)
    return FacetPanel(
        facets=facets,
        offered=offered,
        ignored=ignored,
        capped_at=cap if capped else None,
        exact_url=view.listing_url(exact_count="1") if capped else None,
    )


# -- which columns ------------------------------------------------------------------
def _groupable(view: TableView, column: ColumnInfo) -> bool:
    return view.store.codecs[column.key].kind in GROUPABLE_KINDS


def _asked(view: TableView, visible: dict[str, ColumnInfo]) -> tuple[list[ColumnInfo], list[str]]:
    """The columns the ``facet`` arguments name, and the names it ignores.

    A hidden, secret or unknown column gets the same answer, so the panel tells nothing of
    which columns exist beyond those the operator may see.
    """
    asked: list[ColumnInfo] = []
    ignored: list[str] = []
    for name in dict.fromkeys(request.args.getlist("facet")):
        column = visible.get(name)
        if column is None or not _groupable(view, column) or len(asked) >= ASKED_FACETS:
            ignored.append(name[:VALUE_TEXT_LIMIT])
        else:
            asked.append(column)
    return asked, ignored


def _defaults(view: TableView, query: ListingQuery, exclude: set[str]) -> list[ColumnInfo]:
    """Up to :data:`DEFAULT_FACETS` listed columns: enums and booleans first, then few-valued ones."""
    listed = [view.info.column_by_key(key) for key in view.column_list]
    listed = [c for c in listed if c.name not in exclude and c.name not in view.info.row_key and not c.primary_key]
    chosen = [c for c in listed if view.store.codecs[c.key].kind in ("enum", "boolean")][:DEFAULT_FACETS]
    if len(chosen) < DEFAULT_FACETS:
        candidates = [
            c
            for c in listed
            if c not in chosen
            and view.store.codecs[c.key].kind in PROBED_KINDS
            and not is_long_text(c, view.store.codecs[c.key], view.schema.dialect)
        ]
        few = few_valued(view.store, query.cache, [c.key for c in candidates])
        chosen += [c for c in candidates if c.key in few][: DEFAULT_FACETS - len(chosen)]
    order = {key: index for index, key in enumerate(view.column_list)}
    return sorted(chosen, key=lambda c: order[c.key])


def _offerable(view: TableView) -> list[ColumnInfo]:
    """Listed columns worth a facet that are not shown unasked: foreign keys, dates, more enums."""
    listed = [view.info.column_by_key(key) for key in view.column_list]
    return [
        c
        for c in listed
        if c.name in view.fk_by_column or view.store.codecs[c.key].kind in ("enum", "boolean", *MONTH_KINDS)
    ]


# -- one facet ------------------------------------------------------------------------
def _facet(view: TableView, query: ListingQuery, column: ColumnInfo, cap: int | None, *, removable: bool) -> Facet:
    by_month = view.store.codecs[column.key].kind in MONTH_KINDS
    facet = Facet(name=column.name, label=str(view.column_labels[column.key]), by_month=by_month)
    if removable:
        facet.remove_url = _url(view, remove=("facet", column.name))
    try:
        fresh = request.args.get("refresh") == "1"
        counts = cached_counts(query, column.key, by_month=by_month, limit=VALUES_SHOWN, cap=cap, fresh=fresh)
    except (SQLAlchemyError, OverflowError) as exc:
        # A timeout or a type the database will not group: the list stands, this facet says so.
        log.info("facet %s of %s unavailable: %s", column.name, view.info.id, exc)
        facet.unavailable = True
        return facet
    facet.values = _values(view, column, counts, by_month)
    facet.more = max(0, counts.distinct - len(counts.values))
    facet.capped = counts.capped
    return facet


def _values(view: TableView, column: ColumnInfo, counts: FacetCounts, by_month: bool) -> list[FacetValue]:
    codec = view.store.codecs[column.key]
    labels = view.fk_labels(column.name, [v for v, _rows in counts.values]) if column.name in view.fk_by_column else {}
    found = []
    for value, rows in counts.values:
        if value is None:
            text = gettext("(empty)")
            url = _filter_url(view, column, EmptyFilter, "1")
        elif by_month:
            text = str(value)
            url = _month_url(view, column, str(value))
        else:
            raw = codec.to_text(value)
            if codec.kind == "boolean":
                text = gettext("Yes") if value else gettext("No")
            else:
                # An empty text would be a link without a word to click.
                text = f"{labels[value]} ({raw})" if labels.get(value) else raw or '""'
            url = _filter_url(view, column, EqualFilter, raw)
        cut = text if len(text) <= VALUE_TEXT_LIMIT else text[: VALUE_TEXT_LIMIT - 1] + "…"
        found.append(FacetValue(cut, rows, url))
    return found


# -- links ------------------------------------------------------------------------------
def _filter_arg(view: TableView, column: ColumnInfo, kind: type) -> str | None:
    """The URL name of ``column``'s filter of exactly class ``kind``, if the view offers one."""
    for index, flt in enumerate(view._filters or ()):
        if type(flt) is kind and isinstance(flt, ColumnFilter) and flt.column.name == column.name:
            return str(view.get_filter_arg(index, flt))
    return None


def _filter_url(view: TableView, column: ColumnInfo, kind: type, value_text: str) -> str | None:
    arg = _filter_arg(view, column, kind)
    if arg is None:
        return None
    return _url(view, filters=[(arg, value_text)])


def _month_url(view: TableView, column: ColumnInfo, month: str) -> str | None:
    """The list of rows in ``month`` (``YYYY-MM``): a "between" filter from its first day (or
    instant) to its last, else "greater than" the month before and "smaller than" the next."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        return None  # SQLite's grouping of a value it does not read as a date
    following = (first + dt.timedelta(days=32)).replace(day=1)
    if view.store.codecs[column.key].kind == "date":
        start, end = first.isoformat(), (following - dt.timedelta(days=1)).isoformat()
        before, after = (first - dt.timedelta(days=1)).isoformat(), following.isoformat()
    else:
        # To the microsecond: the last instant of the month (or of the month before) is included.
        start = dt.datetime.combine(first, dt.time()).isoformat(" ")
        end = (dt.datetime.combine(following, dt.time()) - dt.timedelta(microseconds=1)).isoformat(" ")
        before = (dt.datetime.combine(first, dt.time()) - dt.timedelta(microseconds=1)).isoformat(" ")
        after = dt.datetime.combine(following, dt.time()).isoformat(" ")
    between = _filter_arg(view, column, BetweenFilter)
    if between is not None:
        return _url(view, filters=[(between, f"{start}{RANGE_SEPARATOR}{end}")])
    greater, smaller = _filter_arg(view, column, GreaterFilter), _filter_arg(view, column, SmallerFilter)
    if greater is None or smaller is None:
        return None
    return _url(view, filters=[(greater, before), (smaller, after)])


def _url(
    view: TableView,
    *,
    add: t.Sequence[tuple[str, str]] = (),
    remove: tuple[str, str] | None = None,
    filters: t.Sequence[tuple[str, str]] = (),
) -> str:
    """The current listing's URL from page 1, with arguments added or removed and filters added
    after the ones in force (Flask-Admin orders them by the number in ``flt<n>_``)."""
    args = [(name, value) for name, value in request.args.items(multi=True) if name not in ("page", "refresh")]
    if remove is not None:
        args = [pair for pair in args if pair != remove]
    numbers = [_filter_number(name) for name, _value in args]
    following = max([n for n in numbers if n is not None], default=-1) + 1
    args += list(add)
    args += [(f"flt{following + offset}_{arg}", value) for offset, (arg, value) in enumerate(filters)]
    # Encoded here rather than by url_for: an argument named ``endpoint`` or ``_external``
    # in the address would be taken for one of url_for's own. Relative to the list's own
    # address, which the panel is always on: a dozen links carry no path each.
    return f"?{urlencode(args, safe=URL_SAFE)}" if args else view.get_url(".index_view")


def _filter_number(name: str) -> int | None:
    if not name.startswith("flt") or "_" not in name:
        return None
    number = name[3:].split("_", 1)[0]
    return int(number) if number.isdigit() and len(number) < 6 else None
