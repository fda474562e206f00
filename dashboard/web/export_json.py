"""JSON export: an array of objects, or JSON lines (one object a line), written row by row.

Each object maps column names (not the translated labels of the CSV header: a script reads
these) to values, as a row's ``values`` in the JSON API. JSON is data, not something a
spreadsheet runs, so no value is changed to look harmless: text is written as stored.

The values are those of the API (``dashboard/api/values.py``, ``to_json``), so a script
reading both sees one format: integers, floats and booleans are native (a float that is not
finite is ``null``), a decimal is text (``"12.50"``: a JSON number read as a double would
round it), dates and times are ISO 8601 text, an interval an ISO 8601 duration, binary
values base64, JSON columns the JSON they hold, sets sorted arrays, the rest their text.
The API sits a layer above this package and cannot be imported from here, so
:func:`to_json` is that function's twin, by codec kind; tests/test_export_formats.py checks
that the two agree value for value.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import math
import typing as t

from dashboard.db.codecs import Codec, decode_text
from dashboard.db.json_text import UnreadableJSON
from dashboard.web.export import RowLimit

#: The member of the last object of a cut export, holding the notice: a name no column of a
#: usual schema has (a column so named still has its own value in every other object).
CUT_MEMBER = "_export_cut"

# default=str: a value inside a JSON column that JSON cannot hold (a Decimal from a driver)
# is written as its text rather than failing the download halfway.
_encode = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode


def to_json(codec: Codec, value: t.Any) -> t.Any:
    """The JSON form of ``value``, a stored value of a column with ``codec`` (as the API's)."""
    if value is None:
        return None
    writer = _WRITERS.get(codec.kind)
    try:
        if writer is not None:
            return writer(value)
    except (TypeError, ValueError, OverflowError, binascii.Error, decimal.InvalidOperation):
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
    return number if math.isfinite(number) else None


def _decimal(value: t.Any) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "NaN"
    return str(decimal.Decimal(value))


def _boolean(value: t.Any) -> bool:
    if isinstance(value, bool | int):
        return bool(value)
    raise TypeError(value)


def _iso(value: t.Any) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)  # PyMySQL reads a MySQL zero date as the text it is


def _json(value: t.Any) -> t.Any:
    return str(value) if isinstance(value, UnreadableJSON) else value


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


def _interval(value: t.Any) -> str:
    if not isinstance(value, dt.timedelta):
        return str(value)
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P{value.days}DT{hours}H{minutes}M{seconds}"
    if value.microseconds:
        text += f".{value.microseconds:06d}".rstrip("0")
    return text + "S"


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
    **dict.fromkeys(("string", "text", "enum", "uuid", "inet", "hex", "unknown"), _text),
}


def json_stream(
    names: t.Sequence[str],
    rows: RowLimit,
    codecs: t.Sequence[Codec],
    cut_text: str,
    *,
    lines: bool,
    rows_per_chunk: int = 500,
) -> t.Iterator[str]:
    """Yield a JSON array of one object per row (``lines=False``) or JSON lines (``lines=True``).

    :param names: the object member of each column, in the order of the rows' values.
    :param rows: the rows, read lazily; if it stops short (:attr:`RowLimit.cut`), a last
        object ``{"_export_cut": cut_text}`` says so.
    """
    columns = list(zip(names, codecs, strict=True))
    open_, separator, close = ("", "\n", "\n") if lines else ("[\n", ",\n", "\n]\n")
    chunk: list[str] = []
    written = 0
    for row in rows:
        chunk.append(_encode({name: to_json(codec, value) for (name, codec), value in zip(columns, row, strict=True)}))
        if len(chunk) >= rows_per_chunk:
            # Chunks, not single rows: a generator step per row costs more than the row.
            yield (open_ if written == 0 else separator) + separator.join(chunk)
            written += len(chunk)
            chunk = []
    if rows.cut:
        chunk.append(_encode({CUT_MEMBER: cut_text}))
    if chunk:
        yield (open_ if written == 0 else separator) + separator.join(chunk)
        written += len(chunk)
    yield close if written else ("" if lines else "[]\n")
