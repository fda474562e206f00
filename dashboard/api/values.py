"""Column values <-> JSON: what a row's value is in an API answer, and what a value sent is.

One table per direction, keyed by the column's codec kind (:mod:`dashboard.db.codecs`), so
the API and the pages agree on what a column holds:

- numbers that JSON carries exactly are native (integers, floats, booleans); a decimal is
  a string (``"12.50"``), since a JSON number read as a double would round a 38-digit one;
- dates, times and datetimes are ISO 8601 text; an interval is an ISO 8601 duration;
- binary values are base64 text; JSON columns are the JSON they hold;
- anything the codecs do not know is its text, read-only.

:func:`json_schema` describes the same mapping for the OpenAPI document, so what the
document promises is what :func:`to_json` writes. :func:`from_json` parses a value sent
by a client, raising :class:`ValueError` with a message fit for the problem's field error.
"""

from __future__ import annotations

import base64
import binascii
import typing as t

from dashboard.db.codecs import Codec, InvalidText
from dashboard.db.json_values import iso_duration, to_json
from dashboard.db.reflection import ColumnInfo
from dashboard.i18n.translation import exception_text
from dashboard.messages import N_, Message

__all__ = [
    "BadValue",
    "column_values",
    "from_json",
    "input_schema",
    "iso_duration",
    "json_schema",
    "nullable",
    "to_json",
]


# -- the JSON Schema of a column ----------------------------------------------------------
def json_schema(codec: Codec, column: ColumnInfo | None = None) -> dict[str, t.Any]:
    """The JSON Schema of a column's values as :func:`to_json` writes them.

    :param column: the reflected column, for its nullability and comment (a key part has none).
    """
    kind = codec.kind
    schema: dict[str, t.Any]
    if kind == "integer":
        schema = {"type": "integer"}
        # A SQLite column keeps any integer: its declared bounds are no promise about stored values.
    elif kind == "float":
        # NaN and infinities cannot be JSON numbers: they are written as null.
        schema = {"type": ["number", "null"]}
    elif kind == "decimal":
        schema = {"type": "string", "description": 'A decimal number as text, e.g. "12.50".'}
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind in ("datetime", "date", "time"):
        schema = {"type": "string", "description": f"ISO 8601 {kind}."}
    elif kind == "interval":
        schema = {"type": "string", "description": "ISO 8601 duration."}
    elif kind in ("json", "array"):
        schema = {}  # any JSON value (a stored document that is not valid JSON comes back as its text)
    elif kind == "binary":
        schema = {"type": "string", "contentEncoding": "base64"}
    elif kind == "set":
        items: dict[str, t.Any] = {"type": "string"}
        schema = {"type": "array", "items": items}
    else:
        schema = {"type": "string"}
        if codec.max_length is not None and kind in ("string", "text"):
            schema["maxLength"] = codec.max_length
        if kind == "enum" and codec.choices:
            schema["enum"] = list(codec.choices)
    if column is not None and column.nullable:
        schema = nullable(schema)
    if column is not None and column.comment:
        schema["description"] = column.comment
    if not codec.editable:
        schema["readOnly"] = True
    return schema


def input_schema(codec: Codec, column: ColumnInfo) -> dict[str, t.Any]:
    """The JSON Schema of a value :func:`from_json` takes for ``column`` (null where it is nullable)."""
    kind = codec.kind
    schema: dict[str, t.Any]
    if kind == "integer":
        schema = {"type": "integer"}
        if codec.minimum is not None and codec.maximum is not None:
            schema.update(minimum=codec.minimum, maximum=codec.maximum)
    elif kind == "float":
        schema = {"type": "number"}
    elif kind == "decimal":
        schema = {"type": ["string", "number"]}
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "json":
        schema = {}
    elif kind == "array":
        schema = {"type": "array"}
    elif kind == "set":
        schema = {"type": ["array", "string"], "items": {"type": "string"}}
    else:
        schema = json_schema(codec)
        schema.pop("readOnly", None)
    if column.nullable:
        schema = nullable(schema) if schema else schema
    return schema


def nullable(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """``schema`` that also admits ``null``."""
    schema = dict(schema)
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


# -- JSON -> a value to write or compare --------------------------------------------------
class BadValue(ValueError):
    """A value a column does not take; ``str()`` is the (translated) message for its field."""


def from_json(codec: Codec, value: t.Any) -> t.Any:
    """The Python value of ``value``, a JSON value sent for a column with ``codec``.

    ``None`` stays ``None``: whether the column takes it is the database's (or the caller's) call.

    :raises BadValue: with a message in the caller's language.
    """
    if value is None:
        return None
    try:
        return _parse(codec, value)
    except BadValue:
        raise
    except ValueError as exc:
        raise BadValue(exception_text(exc)) from None


def _refuse(msgid: str, **params: t.Any) -> t.NoReturn:
    raise ValueError(Message(msgid, **params))


def _parse(codec: Codec, value: t.Any) -> t.Any:
    kind = codec.kind
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            _refuse(N_("Enter a whole number."))
        return codec.from_text(str(value))
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            _refuse(N_("Enter a number."))
        return codec.from_text(repr(value))
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            _refuse(N_("Enter a number."))
        return codec.from_text(repr(value) if isinstance(value, float) else str(value))
    if kind == "boolean":
        if not isinstance(value, bool):
            _refuse(N_("Choose yes or no."))
        return value
    if kind in ("json", "array"):
        if kind == "array" and not isinstance(value, list):
            _refuse(N_("Enter a JSON list, e.g. [1, 2, 3]."))
        return value
    if kind == "binary":
        if not isinstance(value, str):
            _refuse(N_("Enter the value as base64 text."))
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            _refuse(N_("Enter the value as base64 text."))
    if kind == "set":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        elif not isinstance(value, str):
            _refuse(N_("Enter a list of choices."))
        return codec.from_text(value)
    if not isinstance(value, str):
        _refuse(N_("Enter text."))
    if isinstance(value, InvalidText):
        return str(value)
    return codec.from_text(value)


def column_values(codecs: t.Mapping[str, Codec], columns: t.Sequence[ColumnInfo], record: t.Any) -> dict[str, t.Any]:
    """``{column name: JSON value}`` of ``record`` (a :class:`~dashboard.db.records.Record`) for ``columns``."""
    return {c.name: to_json(codecs[c.key], getattr(record, c.key)) for c in columns}
