"""The filters, order and paging of :meth:`dashboard.writes.TableWriter.rows`, checked.

Filters use the vocabulary of :class:`dashboard.charts.Chart`'s ``where``: ``{column: value}``
(equality) or ``{column: (operator, value)}``, ANDed, with the operators of the list page and
the JSON API. Values are Python values, always bound parameters. Only the columns the
operator can read through the dashboard may be filtered or sorted on: a filter on a secret
column would reveal its values one question at a time (as :mod:`dashboard.api.arguments`).

A mistake (an unknown column or operator, ``contains`` on a number, a limit past
:data:`MAX_ROWS`) is a :class:`ValueError` saying what is wrong: a programming error of the
plugin, reported on its page like any other.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

from dashboard.db.reflection import ColumnInfo
from dashboard.db.search import like_pattern

#: Most rows one call of ``rows()`` returns; page with ``offset`` for more.
MAX_ROWS = 1000
#: Most values of one ``in`` or ``not_in`` filter.
MAX_IN_VALUES = 1000
#: Filter operators: the charts' (``eq`` ... ``not_null``) and the API's ``contains``, with ``startswith``.
OPERATORS: tuple[str, ...] = (
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "in",
    "not_in",
    "is_null",
    "not_null",
    "contains",
    "startswith",
)
_TEXT_ONLY = ("contains", "startswith")


def conditions(
    table_id: str, readable: t.Mapping[str, ColumnInfo], sql: t.Callable[[ColumnInfo], t.Any], where: t.Any
) -> list[sa.ColumnElement[bool]]:
    """The SQL conditions of ``where`` over the ``readable`` columns (by name).

    :param sql: the SQL column of a column.
    :raises ValueError: for a column not readable, an unknown operator or a value that does not fit it.
    """
    if where is None:
        return []
    if not isinstance(where, t.Mapping):
        raise ValueError("where must be a mapping {column: value} or {column: (operator, value)}")
    found = []
    for name, condition in where.items():
        column = readable_column(table_id, readable, name)
        operator, value = _split(name, condition)
        found.append(_condition(name, column, sql(column), operator, value))
    return found


def readable_column(table_id: str, readable: t.Mapping[str, ColumnInfo], name: t.Any) -> ColumnInfo:
    """The column ``name`` if the operator may read it; otherwise a :class:`ValueError`."""
    column = readable.get(name) if isinstance(name, str) else None
    if column is None:
        raise ValueError(
            f"table {table_id!r} has no column {name!r} that this operator may read; "
            f"columns are {', '.join(sorted(readable))}"
        )
    return column


def order(
    table_id: str, readable: t.Mapping[str, ColumnInfo], order_by: t.Any, descending: bool
) -> list[tuple[str, bool]]:
    """``(column key, descending)`` pairs from ``order_by``: a column name, or a list of them,
    each ``"-name"`` for descending; ``descending=True`` turns a single name around."""
    if order_by is None:
        return []
    names = [order_by] if isinstance(order_by, str) else list(order_by)
    pairs: list[tuple[str, bool]] = []
    for item in names:
        if not isinstance(item, str):
            raise ValueError(f"order_by takes column names, not {item!r}")
        desc = item.startswith("-") and item[1:] in readable and item not in readable
        column = readable_column(table_id, readable, item[1:] if desc else item)
        if len(names) == 1 and isinstance(order_by, str) and descending:
            desc = not desc
        pairs.append((column.key, desc))
    return pairs


def paging(limit: t.Any, offset: t.Any) -> tuple[int, int]:
    """``limit`` and ``offset`` checked: 1 to :data:`MAX_ROWS`, and 0 or more."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ROWS:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_ROWS}; page with offset for more rows")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError("offset must be a whole number of 0 or more")
    return limit, offset


def _split(name: str, condition: t.Any) -> tuple[str, t.Any]:
    if not isinstance(condition, tuple):
        return "eq", condition
    if not condition or not isinstance(condition[0], str) or condition[0] not in OPERATORS:
        operator = condition[0] if condition else None
        raise ValueError(f"unknown operator {operator!r} for {name!r}; operators are {', '.join(OPERATORS)}")
    operator = condition[0]
    if operator in ("is_null", "not_null"):
        if len(condition) > 2 or (len(condition) == 2 and condition[1] not in (None, True)):
            raise ValueError(f"{operator} on {name!r} takes no value: write ({operator!r},)")
        return operator, None
    if len(condition) != 2:
        raise ValueError(f"the filter on {name!r} must be ({operator!r}, value)")
    return operator, condition[1]


def _condition(name: str, column: ColumnInfo, sql: t.Any, operator: str, value: t.Any) -> sa.ColumnElement[bool]:
    if operator == "is_null":
        return t.cast(sa.ColumnElement[bool], sql.is_(None))
    if operator == "not_null":
        return t.cast(sa.ColumnElement[bool], sql.is_not(None))
    if operator in ("in", "not_in"):
        if isinstance(value, (str, bytes)) or not isinstance(value, t.Iterable):
            raise ValueError(f"{operator} on {name!r} takes a list of values")
        values = list(value)
        if not 1 <= len(values) <= MAX_IN_VALUES:
            raise ValueError(f"{operator} on {name!r} takes 1 to {MAX_IN_VALUES} values")
        if operator == "in":
            return t.cast(sa.ColumnElement[bool], sql.in_(values))
        # As "ne": a row without a value holds none of the values, so it matches.
        return sa.or_(sql.not_in(values), sql.is_(None))
    if value is None:
        raise ValueError(f"{operator} on {name!r} needs a value; use ('is_null',) to find rows without one")
    if operator in _TEXT_ONLY:
        if not column.is_text or not isinstance(value, str):
            raise ValueError(f"{operator} needs a text column and a str value ({name!r})")
        pattern = like_pattern(value.lower())
        if operator == "startswith":
            pattern = pattern[1:]
        return t.cast(sa.ColumnElement[bool], sa.func.lower(sql).like(pattern, escape="\\"))
    if operator == "ne":
        # As the list page and the API: a row without a value differs from the value too.
        return sa.or_(sql != value, sql.is_(None))
    compare = {"eq": sql.__eq__, "lt": sql.__lt__, "le": sql.__le__, "gt": sql.__gt__, "ge": sql.__ge__}
    return t.cast(sa.ColumnElement[bool], compare[operator](value))
