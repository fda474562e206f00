"""Typed list filters for reflected columns, in Flask-Admin's filter vocabulary.

Each filter parses its value with the column's codec (so a malformed date is rejected
with Flask-Admin's "invalid filter value" banner, never a 500) and contributes one SQL
condition. Only columns the view allows get filters; a ``flt`` argument naming anything
else is ignored by Flask-Admin.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask_admin.model.filters import BaseFilter

from dashboard.db.codecs import Codec
from dashboard.db.search import like_pattern
from dashboard.i18n.translation import lazy_gettext
from dashboard.web.labels import LocalizedLabel

Conditions = list[sa.ColumnElement[bool]]


class ColumnFilter(BaseFilter):
    """A filter on one column; subclasses say which SQL condition it adds."""

    label: t.Any = ""

    def __init__(
        self,
        column: sa.ColumnElement[t.Any],
        name: str | LocalizedLabel,
        codec: Codec,
        options: t.Any = None,
        data_type: str | None = None,
    ) -> None:
        super().__init__(name, options=options, data_type=data_type)
        self.column = column
        self.codec = codec

    def clean(self, value: str) -> t.Any:
        """Parse the typed value; ``ValueError`` marks it invalid."""
        if len(value) > 1000 or "\x00" in value:
            raise ValueError("filter value too long or not text")
        # An integer outside the column's range is refused by the codec: no row holds it,
        # PostgreSQL would refuse to compare an int4 with it and sqlite3 to even send it.
        return self.codec.from_text(value)

    def apply(self, query: Conditions, value: t.Any) -> Conditions:
        """Return ``query`` (a list of conditions) with this filter's condition added."""
        return [*query, self.condition(value)]

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        """The SQL condition for ``value``."""
        raise NotImplementedError

    def operation(self) -> t.Any:
        """Readable name of the operation."""
        return self.label


class EqualFilter(ColumnFilter):
    label = lazy_gettext("equals")

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return self.column == value


class NotEqualFilter(ColumnFilter):
    label = lazy_gettext("not equal")

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return sa.or_(self.column != value, self.column.is_(None))


class GreaterFilter(ColumnFilter):
    label = lazy_gettext("greater than")

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return self.column > value


class SmallerFilter(ColumnFilter):
    label = lazy_gettext("smaller than")

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return self.column < value


class ContainsFilter(ColumnFilter):
    label = lazy_gettext("contains")

    def clean(self, value: str) -> str:
        if len(value) > 1000 or "\x00" in value:
            raise ValueError("filter value too long or not text")
        return value

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return sa.func.lower(self.column).like(like_pattern(value.lower()), escape="\\")


class NotContainsFilter(ContainsFilter):
    label = lazy_gettext("not contains")

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return sa.or_(sa.not_(super().condition(value)), self.column.is_(None))


class EmptyFilter(ColumnFilter):
    label = lazy_gettext("empty")

    def __init__(self, column: sa.ColumnElement[t.Any], name: str | LocalizedLabel, codec: Codec) -> None:
        super().__init__(column, name, codec, options=(("1", lazy_gettext("Yes")), ("0", lazy_gettext("No"))))

    def clean(self, value: str) -> bool:
        if value not in ("0", "1"):
            raise ValueError("choose yes or no")
        return value == "1"

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return self.column.is_(None) if value else self.column.is_not(None)


_DATA_TYPES = {"date": "datepicker", "datetime": "datetimepicker", "time": "timepicker"}


def filters_for(
    column: sa.ColumnElement[t.Any], name: str | LocalizedLabel, codec: Codec, nullable: bool
) -> list[ColumnFilter]:
    """The filters that make sense for a column of this codec."""
    kind = codec.kind
    data_type = _DATA_TYPES.get(kind)
    filters: list[ColumnFilter] = []
    if kind in ("string", "text"):
        filters = [
            ContainsFilter(column, name, codec),
            NotContainsFilter(column, name, codec),
            EqualFilter(column, name, codec),
            NotEqualFilter(column, name, codec),
        ]
    elif kind in ("integer", "decimal", "float", "date", "datetime", "time"):
        filters = [
            EqualFilter(column, name, codec, data_type=data_type),
            NotEqualFilter(column, name, codec, data_type=data_type),
            GreaterFilter(column, name, codec, data_type=data_type),
            SmallerFilter(column, name, codec, data_type=data_type),
        ]
    elif kind == "boolean":
        options: tuple[tuple[str, t.Any], ...] = (("true", lazy_gettext("Yes")), ("false", lazy_gettext("No")))
        filters = [EqualFilter(column, name, codec, options=options)]
    elif kind == "enum":
        options = tuple((choice, choice) for choice in codec.choices)
        filters = [
            EqualFilter(column, name, codec, options=options),
            NotEqualFilter(column, name, codec, options=options),
        ]
    elif kind in ("uuid", "inet"):
        filters = [EqualFilter(column, name, codec)]
    if nullable and filters:
        filters.append(EmptyFilter(column, name, codec))
    return filters
