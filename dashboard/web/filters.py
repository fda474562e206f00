"""Typed list filters for reflected columns, in Flask-Admin's filter vocabulary.

Each filter parses its value with the column's codec (so a malformed date is rejected
with Flask-Admin's "invalid filter value" banner, never a 500) and contributes one SQL
condition. Only columns the view allows get filters; a ``flt`` argument naming anything
else is ignored by Flask-Admin. Which operations a column gets, and the OR group, are
:mod:`dashboard.web.filter_bar`'s; the date presets are :mod:`dashboard.web.date_presets`.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa
from flask_admin.model.filters import BaseFilter

from dashboard.db.codecs import Codec
from dashboard.db.search import like_pattern
from dashboard.i18n.translation import exception_text, lazy_gettext
from dashboard.messages import N_, Message
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
        _check_text(value, 1000)
        # An integer outside the column's range is refused by the codec: no row holds it,
        # PostgreSQL would refuse to compare an int4 with it and sqlite3 to even send it.
        return self.codec.from_text(value)

    def cache_token(self, value: str) -> str:
        """What of ``value`` decides the rows, for the listing's cache key (a preset adds the day)."""
        return value

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
        _check_text(value, 1000)
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
            raise ValueError(Message(N_("Choose yes or no.")))
        return value == "1"

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        # An empty text is as empty to an operator as NULL is: both show as a blank cell.
        if self.codec.kind in ("string", "text"):
            empty = sa.or_(self.column.is_(None), self.column == "")
        else:
            empty = self.column.is_(None)
        return empty if value else sa.not_(empty)


#: How a range is written in a filter's value (and by the date range picker): ``2026-01-01 to 2026-01-31``.
RANGE_SEPARATOR = " to "


class BetweenFilter(ColumnFilter):
    """Both ends included: ``from <= column <= to``. On a datetime column an end typed as a date
    alone includes that whole day: ``2026-01-01 to 2026-01-31`` is all of January, as it reads."""

    label = lazy_gettext("between")

    def clean(self, value: str) -> tuple[t.Any, t.Any, bool]:
        _check_text(value, 1000)
        parts = value.split(RANGE_SEPARATOR)
        if len(parts) != 2 or not all(part.strip() for part in parts):
            raise ValueError(
                Message(N_("Enter a range as FROM to TO, for example %(example)s."), example=self._example())
            )
        low_text, high_text = (part.strip() for part in parts)
        low, high = self.codec.from_text(low_text), self.codec.from_text(high_text)
        try:
            reversed_range = low > high
        except TypeError:  # one end with a time zone, the other without
            raise ValueError(Message(N_("Give both ends of the range a time zone, or neither."))) from None
        if reversed_range:
            raise ValueError(Message(N_("The range starts after it ends: put the smaller value first.")))
        return low, high, self.codec.kind == "datetime" and _is_date_alone(high_text)

    def _example(self) -> str:
        examples = {"date": "2026-01-01 to 2026-01-31", "datetime": "2026-01-01 08:00 to 2026-01-31"}
        return examples.get(self.codec.kind, "08:00 to 17:00" if self.codec.kind == "time" else "10 to 20")

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        low, high, whole_last_day = value
        if whole_last_day:
            return sa.and_(self.column >= low, self.column < high + dt.timedelta(days=1))
        return self.column.between(low, high)


def _is_date_alone(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


#: The most values an "in list" filter takes: more would make a statement no database plans well.
MAX_LIST_VALUES = 1000


class InListFilter(ColumnFilter):
    """One of the listed values: one a line, or separated by commas when the text has no line break
    (so a list of texts that hold commas is written one a line)."""

    label = lazy_gettext("in list")

    def __init__(self, column: sa.ColumnElement[t.Any], name: str | LocalizedLabel, codec: Codec) -> None:
        # "list": the filter bar offers a text area, one value a line.
        super().__init__(column, name, codec, data_type="list")

    def clean(self, value: str) -> list[t.Any]:
        _check_text(value, 100_000)
        parts = value.splitlines() if "\n" in value or "\r" in value else value.split(",")
        texts = [part.strip() for part in parts if part.strip()]
        if not texts:
            raise ValueError(Message(N_("Enter at least one value.")))
        if len(texts) > MAX_LIST_VALUES:
            raise ValueError(
                Message(N_("At most %(limit)s values (you gave %(count)s)."), limit=MAX_LIST_VALUES, count=len(texts))
            )
        values: list[t.Any] = []
        for number, text in enumerate(texts, start=1):
            try:
                parsed = self.codec.from_text(text)
            except ValueError as exc:
                raise ValueError(
                    Message(
                        N_("Value %(number)s (%(value)s): %(reason)s"),
                        number=number,
                        value=text[:50],
                        reason=exception_text(exc),
                    )
                ) from None
            if parsed not in values:
                values.append(parsed)
        return values

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        return self.column.in_(value)


def _check_text(value: str, limit: int) -> None:
    if len(value) > limit or "\x00" in value:
        raise ValueError(Message(N_("At most %(limit)s characters of text."), limit=limit))


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
