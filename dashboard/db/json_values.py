"""Stored column values as JSON: what the API answers and the JSON export writes.

Keyed by the column's codec kind (:mod:`dashboard.db.codecs`), so the API, the JSON export
and the pages agree on what a column holds:

- numbers that JSON carries exactly are native (integers, floats, booleans); a decimal is
  a string (``"12.50"``), since a JSON number read as a double would round a 38-digit one;
- dates, times and datetimes are ISO 8601 text; an interval is an ISO 8601 duration;
- binary values are base64 text; JSON columns are the JSON they hold;
- anything the codecs do not know, and a value its declared type does not promise (SQLite
  keeps text in a NUMERIC column), is its text.

The reverse, a value a client sends, is the API's (:mod:`dashboard.api.values`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import math
import typing as t

from dashboard.db.codecs import Codec, decode_text
from dashboard.db.json_text import UnreadableJSON

#: Codec kinds whose values are written as their text (``to_text``) and parsed from it.
TEXT_KINDS = frozenset({"string", "text", "enum", "uuid", "inet", "hex", "unknown"})


def to_json(codec: Codec, value: t.Any) -> t.Any:
    """The JSON form of ``value``, a stored value of a column with ``codec``."""
    if value is None:
        return None
    writer = _WRITERS.get(codec.kind)
    try:
        if writer is not None:
            return writer(value)
    except (TypeError, ValueError, OverflowError, ArithmeticError, binascii.Error):
        pass
    # A value the declared type does not promise (SQLite keeps text in a REAL column): its text.
    if isinstance(value, bytes | bytearray | memoryview):
        return str(decode_text(bytes(value)))
    return codec.to_text(value)


def _integer(value: t.Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | decimal.Decimal):
        raise TypeError(value)
    return int(value)


def _float(value: t.Any) -> float | None:
    number = float(value)
    if isinstance(value, str | bytes):
        raise TypeError(value)
    # JSON has no NaN or infinity: PostgreSQL's 'NaN'::float is written as null.
    return number if math.isfinite(number) else None


def _decimal(value: t.Any) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "NaN"
    return str(decimal.Decimal(value))


def _boolean(value: t.Any) -> bool:
    if isinstance(value, bool | int):
        return bool(value)
    # A one-bit BIT column: MySQL drivers read it as bytes, PostgreSQL's as the text "1".
    if isinstance(value, bytes) and len(value) == 1:
        return value != b"\x00"
    if value in ("0", "1"):
        return value == "1"
    raise TypeError(value)


def _iso(value: t.Any) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)  # PyMySQL reads a MySQL zero date as the text it is


def _json(value: t.Any) -> t.Any:
    if isinstance(value, UnreadableJSON):
        return str(value)
    return value


def _binary(value: t.Any) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _set(value: t.Any) -> list[str]:
    if isinstance(value, set | frozenset | list | tuple):
        return sorted(str(v) for v in value)
    return [part for part in str(value).split(",") if part]


def _text(value: t.Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return str(decode_text(bytes(value)))
    return str(value)


def iso_duration(value: dt.timedelta) -> str:
    """``value`` as an ISO 8601 duration (``P1DT2H3M4.5S``, ``-PT30S``)."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P{value.days}DT{hours}H{minutes}M{seconds}"
    if value.microseconds:
        text += f".{value.microseconds:06d}".rstrip("0")
    return text + "S"


def _interval(value: t.Any) -> str:
    if isinstance(value, dt.timedelta):
        return iso_duration(value)
    return str(value)


_WRITERS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "integer": _integer,
    "float": _float,
    "decimal": _decimal,
    "boolean": _boolean,
    "datetime": _iso,
    "date": _iso,
    "time": _iso,
    "interval": _interval,
    "json": _json,
    "array": _json,
    "binary": _binary,
    "set": _set,
    **dict.fromkeys(TEXT_KINDS, _text),
}
