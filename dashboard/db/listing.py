"""One listing query (table, filters, search, sort) served fast: cached pages, cheap counts, keyset paging.

- Pages: rows of page *p* are cached; when page *p* is read, the position of its last row
  is remembered, so the next page is read with ``WHERE (sort, key) > last`` instead of
  ``OFFSET``: following "next" costs what page 1 costs, however deep. Jumping straight to
  a page still works, by offset.
- Counts: the unfiltered count of a large table is the database's own estimate
  (PostgreSQL ``reltuples``, MySQL ``TABLE_ROWS``); a filtered or searched count stops at
  ``COUNT_CAP``; exact counts are cached like pages and can be asked for explicitly.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa

from dashboard.db.counts import RowEstimate, estimate_rows
from dashboard.db.records import Record, RecordStore

#: What a cache answers for a key it does not hold (``None`` is a value worth caching).
MISSING: t.Final = object()


class ResultCache(t.Protocol):
    """What a listing needs of a cache: the web layer's listing cache
    (:class:`dashboard.web.caching.ListingCache`) is one, over any Flask-Caching backend."""

    def generation(self, table_id: str) -> int | None: ...

    def key(self, table_id: str, generation: int, kind: str, scope: t.Any, args: t.Any) -> str: ...

    def get(self, key: str) -> t.Any: ...

    def set(self, key: str, value: t.Any, ttl: int | None = None) -> None: ...


@dataclass
class Page:
    """Rows of one page, with whatever the view derived from them (foreign-key labels)."""

    records: list[Record]
    extras: t.Any
    read_at: dt.datetime
    cached: bool = False


@dataclass
class Count:
    """How many rows a listing has: ``kind`` is exact, estimate or at_least."""

    rows: int
    kind: str
    read_at: dt.datetime


class ListingQuery:
    """Pages and counts of one listing.

    :param store: the relation's store.
    :param cache: the listing cache, or ``None`` to read the database every time.
    :param scope: the operator's permission scope; part of every cache key.
    :param where: conditions of the listing.
    :param order: ``(column key, descending)`` pairs chosen by the operator.
    :param args: the listing's arguments as the operator gave them (for cache keys).
    """

    def __init__(
        self,
        store: RecordStore,
        cache: ResultCache | None,
        scope: t.Any,
        where: list[sa.ColumnElement[bool]],
        order: list[tuple[str, bool]],
        args: t.Any,
    ) -> None:
        self.store = store
        self.cache = cache
        self.scope = scope
        self.where = where
        self.order = order
        self.args = args
        self.generation = cache.generation(store.info.id) if cache else None

    def _key(self, kind: str, extra: t.Any = None) -> str | None:
        if self.cache is None or self.generation is None:
            return None
        return self.cache.key(self.store.info.id, self.generation, kind, self.scope, [self.args, extra])

    def _cached(self, key: str | None) -> t.Any:
        return MISSING if key is None or self.cache is None else self.cache.get(key)

    def _remember(self, key: str | None, value: t.Any) -> None:
        if key is not None and self.cache is not None:
            self.cache.set(key, value)

    def remembered(self, kind: str, extra: t.Any, compute: t.Callable[[], t.Any], *, fresh: bool = False) -> t.Any:
        """``compute()``, kept under this listing's key (generation, arguments, scope) with ``kind``
        and ``extra``: for what else is derived from the listing (facet counts). ``fresh``
        computes it anew (the list's Refresh) and keeps that."""
        key = self._key(kind, extra)
        hit = MISSING if fresh else self._cached(key)
        if hit is not MISSING:
            return hit
        value = compute()
        self._remember(key, value)
        return value

    # -- pages ------------------------------------------------------------------
    def page(self, number: int, size: int, derive: t.Callable[[list[Record]], t.Any], *, fresh: bool = False) -> Page:
        """Rows of page ``number`` (from 0) of ``size`` rows, with ``derive(records)`` kept beside them."""
        key = self._key("page", [number, size])
        if not fresh:
            hit = self._cached(key)
            if hit is not MISSING:
                records, extras, read_at = hit
                return Page(records, extras, read_at, cached=True)
        boundary = None if number == 0 else self._cached(self._key("boundary", [number, size]))
        if boundary is not MISSING and boundary is not None and self._keyset_ok():
            records = self.store.select(where=[*self.where, self._after(boundary)], order=self.order, limit=size)
        else:
            records = self.store.select(where=self.where, order=self.order, offset=number * size, limit=size)
        page = Page(records, derive(records), dt.datetime.now(dt.UTC))
        self._remember(key, (page.records, page.extras, page.read_at))
        if len(records) == size and self._keyset_ok():
            self._remember(self._key("boundary", [number + 1, size]), self._position(records[-1]))
        return page

    def _order_columns(self) -> list[tuple[sa.ColumnElement[t.Any], bool, str | None]]:
        columns: list[tuple[sa.ColumnElement[t.Any], bool, str | None]] = [
            (self.store.column(key), desc, key) for key, desc in self.order
        ]
        columns += [(column, False, None) for column in self.store.key_columns()]
        return columns

    def _keyset_ok(self) -> bool:
        # A NULL in a sort column has no place in "after this row": such listings page by offset.
        if not self.store.info.row_key:
            return False
        return all(not self.store.info.column_by_key(key).nullable for key, _desc in self.order)

    def _position(self, record: Record) -> list[t.Any]:
        values = [getattr(record, key) for key, _desc in self.order]
        return values + list(record._key)

    def _after(self, position: list[t.Any]) -> sa.ColumnElement[bool]:
        """Rows after ``position`` in the listing's order (lexicographic, per-column direction)."""
        columns = self._order_columns()
        alternatives = []
        for index, (column, desc, _key) in enumerate(columns):
            equal = [c == position[i] for i, (c, _d, _k) in enumerate(columns[:index])]
            beyond = column < position[index] if desc else column > position[index]
            alternatives.append(sa.and_(*equal, beyond))
        return sa.or_(*alternatives)

    # -- counts -------------------------------------------------------------------
    def count(self, *, exact: bool, estimate_above: int, cap: int) -> Count:
        """The listing's row count, as cheaply as honesty allows."""
        key = self._key("count", "exact" if exact else "cheap")
        hit = self._cached(key)
        if hit is not MISSING:
            return Count(*hit)
        count = self._count(exact=exact, estimate_above=estimate_above, cap=cap)
        self._remember(key, (count.rows, count.kind, count.read_at))
        return count

    def _count(self, *, exact: bool, estimate_above: int, cap: int) -> Count:
        now = dt.datetime.now(dt.UTC)
        if exact:
            return Count(self.store.count(self.where), "exact", now)
        if not self.where:
            estimate = estimate_rows(self.store.engine, [self.store.info]).get(self.store.info.id)
            if estimate is not None and estimate.kind == "estimate" and estimate.rows > estimate_above:
                return Count(estimate.rows, "estimate", now)
            return Count(self.store.count(), "exact", now)
        rows = self.store.count_capped(self.where, cap)
        return Count(min(rows, cap), "at_least" if rows > cap else "exact", now)


__all__ = ["Count", "ListingQuery", "Page", "RowEstimate"]
