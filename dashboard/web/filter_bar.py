"""The list page's filter bar: which operations a column offers, the "any of these" group, the
conditions a listing gets, the messages for bad values and the compact data the browser reads.

Addresses. Flask-Admin reads ``flt<position>_<arg>=<value>``: ``<arg>`` names one filter of the
view (its index, ``3``), the filters are sorted by ``<position>`` and combined with AND. A
filter in the OR group carries ``or-`` before its arg: ``flt1_or-3=...``. Every filter gets
such a twin (:class:`AnyOfFilter`, registered under the ``or-`` arg), so Flask-Admin parses,
validates and writes it back into the pager's, the sort headers' and the search form's
addresses like any other filter, and no name Flask-Admin makes contains ``-``. The rows shown
match every plain filter and, when the OR group has members, at least one of them::

    ?flt0_3=paid&flt1_or-12=2026-01-05&flt2_or-20=1    status = paid AND (day = 2026-01-05 OR note empty)

The operations added here come after all of a view's original ones, so the index of an
original filter, and the addresses written before they existed, stay as they were.
"""

from __future__ import annotations

import json
import typing as t

import sqlalchemy as sa
from flask import request
from flask_admin.model.filters import BaseFilter
from markupsafe import Markup

from dashboard.db.codecs import Codec
from dashboard.i18n.translation import exception_text, gettext, lazy_gettext
from dashboard.web.date_presets import PresetFilter
from dashboard.web.filters import BetweenFilter, ColumnFilter, EmptyFilter, InListFilter
from dashboard.web.labels import LocalizedLabel

#: What marks a filter of the OR group in its address: ``flt0_or-3``.
ANY_PREFIX = "or-"
#: How much of a refused value its message repeats (a flashed message travels in the session cookie).
SHOWN_VALUE_LIMIT = 200

_RANGE_TYPES = {"date": "daterangepicker", "datetime": "datetimerangepicker", "time": "timerangepicker"}
_ORDERED_KINDS = ("integer", "decimal", "float", "date", "datetime", "time")


def more_filters_for(
    column: sa.ColumnElement[t.Any], name: str | LocalizedLabel, codec: Codec, nullable: bool
) -> list[ColumnFilter]:
    """The operations added to :func:`dashboard.web.filters.filters_for`'s: ranges, presets, lists,
    and "empty" for a text column that cannot be NULL (it can still be '')."""
    kind = codec.kind
    added: list[ColumnFilter] = []
    if kind in _ORDERED_KINDS:
        added.append(BetweenFilter(column, name, codec, data_type=_RANGE_TYPES.get(kind)))
    if kind in ("date", "datetime"):
        added.append(PresetFilter(column, name, codec))
    if kind in (*_ORDERED_KINDS, "string", "text", "uuid", "inet"):
        added.append(InListFilter(column, name, codec))
    if kind in ("string", "text") and not nullable:
        added.append(EmptyFilter(column, name, codec))
    return added


class AnyOfFilter(BaseFilter):
    """A filter's twin in the OR group: the same operation, combined with OR with the others."""

    def __init__(self, base: ColumnFilter, base_index: int) -> None:
        super().__init__(base.name, options=base.options, data_type=base.data_type)
        self.base = base
        self.base_index = base_index
        self.column = base.column
        self.codec = base.codec

    def clean(self, value: str) -> t.Any:
        return self.base.clean(value)

    def cache_token(self, value: str) -> str:
        return self.base.cache_token(value)

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return self.base.condition(value)

    def operation(self) -> t.Any:
        return self.base.operation()


def add_any_of_twins(view: t.Any) -> None:
    """Give every filter of ``view`` its OR-group twin, after Flask-Admin built its filter cache:
    the twins are parsed from addresses but not offered in the menu (the bar has a checkbox)."""
    filters = view._filters
    if not filters:
        return
    for index, flt in enumerate(list(filters)):
        if isinstance(flt, ColumnFilter):
            twin = AnyOfFilter(flt, index)
            filters.append(twin)
            view._filter_args[view.get_filter_arg(len(filters) - 1, twin)] = (len(filters) - 1, twin)


def conditions(filters: t.Sequence[t.Any], active: t.Iterable[tuple[int, t.Any, str]]) -> list[sa.ColumnElement[bool]]:
    """The conditions of the ``active`` filters (Flask-Admin's ``(index, name, value)``): each plain
    one, and one OR of the OR group. A value that does not parse is left out (its message is flashed)."""
    every: list[sa.ColumnElement[bool]] = []
    any_of: list[sa.ColumnElement[bool]] = []
    for index, _name, value in active:
        if not 0 <= index < len(filters):
            continue
        flt = filters[index]
        try:
            condition = flt.condition(flt.clean(value))
        except ValueError:
            continue
        (any_of if isinstance(flt, AnyOfFilter) else every).append(condition)
    if any_of:
        every.append(sa.or_(*any_of))
    return every


def cache_args(filters: t.Sequence[t.Any], active: t.Iterable[tuple[int, t.Any, str]]) -> list[tuple[int, str]]:
    """The active filters as the listing cache's key sees them (a preset with its day)."""
    return [
        (index, filters[index].cache_token(value) if 0 <= index < len(filters) else value)
        for index, _name, value in active
    ]


def page_key_extras(view: t.Any) -> list[str] | None:
    """What a kept list page's key needs beyond its address: the day when a preset is on it.
    ``None`` when a filter value is refused: that page is drawn anew, so its message is shown."""
    extras: list[str] = []
    filter_args = view._filter_args or {}
    for arg, value in request.args.items():
        if not arg.startswith("flt") or "_" not in arg:
            continue
        found = filter_args.get(arg[3:].split("_", 1)[1])
        if found is None:
            continue
        flt = found[1]
        if not flt.validate(value):
            return None
        token = flt.cache_token(value)
        if token != value:
            extras.append(token)
    return extras


def invalid_value_message(flt: t.Any, value: str, headline: str) -> str:
    """Flask-Admin's ``headline`` ("Invalid Filter Value: ...") and why the value was refused."""
    try:
        flt.clean(value)
    except ValueError as exc:
        reason = exception_text(exc)
    else:
        return headline
    if len(headline) > SHOWN_VALUE_LIMIT:
        headline = headline[:SHOWN_VALUE_LIMIT] + "…"
    return gettext(
        "%(headline)s (%(column)s, %(operation)s: %(reason)s)",
        headline=headline,
        column=str(flt.name),
        operation=str(flt.operation()),
        reason=reason,
    )


#: Words of the filter bar that only its script shows.
_WORDS = {"any": lazy_gettext("any of these")}


def _html_json(data: t.Any) -> Markup:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # As Jinja's htmlsafe_json_dumps: safe inside an element's text and for JSON.parse.
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").replace("'", "\\u0027")
    return Markup(text)  # nosec B704 -- JSON with every markup character escaped


def groups_data(filter_groups: t.Mapping[str, t.Sequence[t.Mapping[str, t.Any]]] | None) -> Markup:
    """The filter menu's operations for the browser, compact: every operation label, input type
    and option list once, each operation ``[index, label, type, options, arg]`` pointing into
    them (1-based, 0 for none; trailing ones and an ``arg`` equal to the index left out)."""
    labels: list[str] = []
    types: list[str] = []
    option_lists: list[t.Any] = []

    def position(table: list[t.Any], item: t.Any) -> int:
        if item not in table:
            table.append(item)
        return table.index(item)

    groups: dict[str, list[list[t.Any]]] = {}
    for name, operations in (filter_groups or {}).items():
        encoded = []
        for operation in operations:
            options = [list(pair) for pair in operation.get("options") or ()]
            item: list[t.Any] = [
                operation["index"],
                position(labels, str(operation["operation"])),
                position(types, operation["type"]) + 1 if operation.get("type") else 0,
                position(option_lists, options) + 1 if options else 0,
                operation["arg"] if operation["arg"] != str(operation["index"]) else 0,
            ]
            while len(item) > 2 and item[-1] == 0:
                item.pop()
            encoded.append(item)
        groups[str(name)] = encoded
    words = {key: str(word) for key, word in _WORDS.items()}
    return _html_json({"l": labels, "t": types, "o": option_lists, "g": groups, "w": words})


def active_data(filters: t.Sequence[t.Any], active: t.Sequence[tuple[int, t.Any, str]] | None) -> Markup:
    """The filters of the address for the bar to show: ``[index, name, value]``, the index that of
    the operation in the menu, and a fourth item ``1`` for a member of the OR group."""
    shown: list[list[t.Any]] = []
    for index, name, value in active or ():
        flt = filters[index] if 0 <= index < len(filters) else None
        if isinstance(flt, AnyOfFilter):
            shown.append([flt.base_index, str(name), value, 1])
        else:
            shown.append([index, str(name), value])
    return _html_json(shown)
