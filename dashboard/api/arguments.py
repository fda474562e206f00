"""A listing's query arguments (``limit``, ``sort``, ``fields``, ``search``, ``count`` and the
filters ``<column>__<op>=value``) -> what to read, or a 400 problem naming every bad one.

Filters, sort and fields accept only the columns the API shows (:func:`dashboard.api.addressing.api_columns`):
a hidden or secret-like column can no more be filtered on than read, or a filter would
reveal its values one question at a time. Filter values are parsed by the column's codec,
as the list page's filters parse theirs.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import abort, current_app
from werkzeug.datastructures import MultiDict

from dashboard.api.addressing import api_columns
from dashboard.db.codecs import Codec
from dashboard.db.reflection import ColumnInfo
from dashboard.db.search import like_pattern
from dashboard.i18n.translation import exception_text, gettext
from dashboard.problems import FieldError, problem

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

#: Rows per call when ``limit`` is not given (at most the largest page size of the site).
DEFAULT_LIMIT = 50
#: The listing's own arguments; any other argument must be a filter.
LISTING_ARGS = ("limit", "cursor", "sort", "search", "fields", "count")
#: Filter operations, in the order the document lists them.
OPERATIONS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "contains", "isnull")
#: Most values one ``in`` filter takes, and the longest value text.
MAX_IN_VALUES = 1000
MAX_VALUE_LENGTH = 1000

_COMPARABLE = frozenset({"integer", "decimal", "float", "date", "datetime", "time", "string", "text", "enum"})
_EQUATABLE = _COMPARABLE | {"boolean", "uuid", "inet"}


def operations_for(codec: Codec) -> tuple[str, ...]:
    """The filter operations a column with ``codec`` takes."""
    if codec.kind in _COMPARABLE:
        ops: tuple[str, ...] = ("eq", "ne", "lt", "le", "gt", "ge", "in")
    elif codec.kind in _EQUATABLE:
        ops = ("eq", "ne", "in")
    else:
        ops = ()
    if codec.kind in ("string", "text"):
        ops += ("contains",)
    return (*ops, "isnull")


def max_limit() -> int:
    """The largest ``limit`` a call may ask for: the site's largest page size."""
    return max(int(size) for size in current_app.config["PAGE_SIZES"])


def default_limit() -> int:
    """The ``limit`` of a call that gives none."""
    return min(DEFAULT_LIMIT, max_limit())


@dataclass
class ListingArgs:
    """What a listing call asks for, checked."""

    limit: int
    order: list[tuple[str, bool]] = field(default_factory=list)
    columns: list[ColumnInfo] = field(default_factory=list)
    where: list[sa.ColumnElement[bool]] = field(default_factory=list)
    search: str = ""
    exact_count: bool = False
    cursor: str | None = None
    #: The arguments that decide which rows come in which order (for the cursor and the cache).
    identity: list[t.Any] = field(default_factory=list)


def parse_listing_args(view: TableView, args: MultiDict[str, str]) -> ListingArgs:
    """Check ``args`` against ``view``'s shown columns; 400 (a problem) listing every bad argument."""
    errors: list[FieldError] = []
    columns = {c.name: c for c in api_columns(view)}
    parsed = ListingArgs(limit=_limit(args, errors))
    parsed.columns = _fields(args, columns, errors)
    parsed.order = _order(view, args, columns, errors)
    parsed.search = args.get("search", "")
    if parsed.search:
        if not (view._search_columns or view.full_text):
            errors.append({"field": "search", "message": gettext("This relation has no searchable column.")})
        elif "\x00" in parsed.search:
            errors.append({"field": "search", "message": gettext("The search may not contain a NUL character.")})
    count = args.get("count", "estimate")
    if count not in ("estimate", "exact"):
        errors.append({"field": "count", "message": gettext("Use exact or estimate.")})
    parsed.exact_count = count == "exact"
    parsed.cursor = args.get("cursor") or None
    filters: list[tuple[str, str, str]] = []
    for name in sorted(set(args)):
        if name in LISTING_ARGS:
            continue
        for text in args.getlist(name):
            condition = _filter(view, name, text, columns, errors)
            if condition is not None:
                parsed.where.append(condition)
                filters.append((name, text, ""))
    if errors:
        abort(problem(400, gettext("Bad request"), gettext("Some arguments are not valid."), errors=errors))
    parsed.identity = [view.info.endpoint, parsed.order, parsed.search, sorted(filters)]
    return parsed


def _limit(args: MultiDict[str, str], errors: list[FieldError]) -> int:
    text = args.get("limit")
    if text is None:
        return default_limit()
    most = max_limit()
    if not text.isdigit() or not 1 <= int(text) <= most:
        errors.append({"field": "limit", "message": gettext("Enter a whole number from 1 to %(most)s.", most=most)})
        return default_limit()
    return int(text)


def _names(args: MultiDict[str, str], name: str, columns: t.Mapping[str, ColumnInfo], sign: bool) -> list[str]:
    """The comma-separated names of argument ``name`` (repeated arguments add more); a whole
    value naming a column is that column, so names holding a comma stay usable."""
    found: list[str] = []
    for value in args.getlist(name):
        bare = value[1:] if sign and value.startswith("-") else value
        if bare in columns:
            found.append(value)
        else:
            found.extend(part.strip() for part in value.split(",") if part.strip())
    return found


def _fields(args: MultiDict[str, str], columns: dict[str, ColumnInfo], errors: list[FieldError]) -> list[ColumnInfo]:
    if not any(args.getlist("fields")):
        return list(columns.values())
    chosen: list[ColumnInfo] = []
    for name in _names(args, "fields", columns, sign=False):
        if name not in columns:
            errors.append({"field": "fields", "message": gettext("No column %(name)s.", name=name)})
        elif columns[name] not in chosen:
            chosen.append(columns[name])
    return chosen


def _order(
    view: TableView, args: MultiDict[str, str], columns: dict[str, ColumnInfo], errors: list[FieldError]
) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for item in _names(args, "sort", columns, sign=True):
        desc = item.startswith("-")
        name = item[1:] if desc else item
        column = columns.get(name)
        if column is None or not view.store.codecs[column.key].sortable:
            errors.append({"field": "sort", "message": gettext("Cannot sort by %(name)s.", name=name)})
        elif all(key != column.key for key, _desc in order):
            order.append((column.key, desc))
    return order


def _filter(
    view: TableView, name: str, text: str, columns: dict[str, ColumnInfo], errors: list[FieldError]
) -> sa.ColumnElement[bool] | None:
    column_name, _sep, op = name.rpartition("__")
    column = columns.get(column_name)
    if column is None or op not in OPERATIONS:
        errors.append({"field": name, "message": gettext("Unknown argument: use column__operation, e.g. id__eq.")})
        return None
    codec = view.store.codecs[column.key]
    filterable = view.options.column(column.name).get("filterable", True)
    if op not in operations_for(codec) or not filterable:
        errors.append({"field": name, "message": gettext("This column cannot be filtered this way.")})
        return None
    try:
        return filter_condition(view.store.column(column.key), codec, op, text)
    except ValueError as exc:
        errors.append({"field": name, "message": exception_text(exc)})
        return None


def filter_condition(sql: sa.ColumnElement[t.Any], codec: Codec, op: str, text: str) -> sa.ColumnElement[bool]:
    """The condition of filter ``op`` with value ``text`` on a column; ``ValueError`` when the value does not fit."""
    if len(text) > (MAX_VALUE_LENGTH * 100 if op == "in" else MAX_VALUE_LENGTH) or "\x00" in text:
        raise ValueError(gettext("At most %(limit)s characters of text.", limit=MAX_VALUE_LENGTH))
    if op == "isnull":
        if text not in ("true", "false"):
            raise ValueError(gettext("Use true or false."))
        return sql.is_(None) if text == "true" else sql.is_not(None)
    if op == "contains":
        return sa.func.lower(sql).like(like_pattern(text.lower()), escape="\\")
    if op == "in":
        parts = [part for part in text.split(",")] if text else []
        if not parts or len(parts) > MAX_IN_VALUES:
            raise ValueError(gettext("Enter 1 to %(most)s values, separated by commas.", most=MAX_IN_VALUES))
        return sql.in_([codec.from_text(part) for part in parts])
    value = codec.from_text(text)
    comparisons: dict[str, t.Callable[[t.Any], sa.ColumnElement[bool]]] = {
        "eq": sql.__eq__,
        "ne": lambda v: sa.or_(sql != v, sql.is_(None)),
        "lt": sql.__lt__,
        "le": sql.__le__,
        "gt": sql.__gt__,
        "ge": sql.__ge__,
    }
    return comparisons[op](value)
