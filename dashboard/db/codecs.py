"""Column types -> how their values are shown, typed in, sorted, searched and filtered.

Every reflected type gets a :class:`Codec`, found through a converter table keyed by
SQLAlchemy type class names (``@converts("Integer", "YEAR")``), walking the type's class
hierarchy so dialect subclasses (``BIGINT``, ``JSONB``, ``DOUBLE_PRECISION``) find their
family. Values travel through forms as text: ``to_text`` renders a stored value exactly
(microseconds, time zones, decimal scale) and ``from_text`` parses what an operator typed,
raising :class:`ValueError` with a message fit for the form. Because the text of an
unchanged field equals the text it was loaded with, unchanged columns are never written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import ipaddress
import json
import typing as t
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from dashboard.db.json_text import MAX_JSON_DEPTH, UnreadableJSON, json_too_deep
from dashboard.messages import N_, Message

_CONVERTERS: dict[str, t.Callable[[t.Any], Codec]] = {}


def converts(*type_names: str) -> t.Callable[[t.Callable[[t.Any], Codec]], t.Callable[[t.Any], Codec]]:
    """Register a function building a codec for the SQLAlchemy types named ``type_names``."""

    def register(builder: t.Callable[[t.Any], Codec]) -> t.Callable[[t.Any], Codec]:
        for name in type_names:
            _CONVERTERS[name] = builder
        return builder

    return register


def key_codec_for(column_type: sa.types.TypeEngine[t.Any], dialect: str | None = None) -> Codec:
    """The codec that writes a row-key column into URLs and forms: like :func:`codec_for`,
    except that binary values travel as hexadecimal (their display text, ``<16 bytes>``,
    would give every key of the same length the same text)."""
    codec = codec_for(column_type, dialect)
    if codec.kind == "binary":
        return Codec(kind="hex", editable=False, sortable=False)
    return codec


def codec_for(column_type: sa.types.TypeEngine[t.Any], dialect: str | None = None) -> Codec:
    """The codec for ``column_type``; unknown types become read-only text, never an error.

    :param dialect: the database's dialect name, which decides the range of integer types
        (``INTEGER`` is 32 bits on PostgreSQL and MySQL, 64 on SQLite).
    """
    for cls in type(column_type).__mro__:
        builder = _CONVERTERS.get(cls.__name__)
        if builder is not None:
            codec = builder(column_type)
            if codec.kind == "integer" and codec.minimum is None:
                minimum, maximum = integer_bounds(column_type, dialect)
                codec = dataclasses.replace(codec, minimum=minimum, maximum=maximum)
            return codec
    return Codec(
        kind="unknown", editable=False, sortable=False, read_only_reason=Message(N_("type not supported for editing"))
    )


# Bits of MySQL's integer types by name; anything else (SQLite's one INTEGER, unknown
# dialects) is given 64 bits, as no driver binds a wider integer.
_MYSQL_BITS = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 24, "INT": 32, "INTEGER": 32, "BIGINT": 64}


def integer_bounds(column_type: sa.types.TypeEngine[t.Any], dialect: str | None) -> tuple[int, int]:
    """The smallest and largest value an integer column of ``column_type`` holds on ``dialect``.

    A value out of these bounds is refused where it is typed (a form, a filter, a key in
    a URL): the database would refuse it with an error (PostgreSQL ``integer out of
    range``) or the driver could not even send it (sqlite3's ``OverflowError``).
    """
    name = type(column_type).__name__.upper()
    if dialect in ("mysql", "mariadb"):
        if name == "YEAR":
            return 0, 2155
        bits = _MYSQL_BITS.get(name, 64 if isinstance(column_type, sa.BigInteger) else 32)
        if getattr(column_type, "unsigned", False):
            return 0, 2**bits - 1
    elif dialect == "postgresql":
        bits = 16 if isinstance(column_type, sa.SmallInteger) else 64 if isinstance(column_type, sa.BigInteger) else 32
    else:
        bits = 64
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


@dataclass(frozen=True)
class Codec:
    """How one column type is rendered, parsed and compared."""

    kind: str
    editable: bool = True
    sortable: bool = True
    searchable: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    input_type: str = "text"
    multiline: bool = False
    timezone: bool = False
    read_only_reason: str | None = None
    placeholder: str = ""
    #: The range of an integer column (see :func:`integer_bounds`).
    minimum: int | None = None
    maximum: int | None = None

    def to_text(self, value: t.Any) -> str:
        """Render a stored value as the text an operator sees and edits."""
        if value is None:
            return ""
        renderer = _RENDERERS.get(self.kind)
        if renderer is None:
            return str(value)
        try:
            return renderer(value)
        except (TypeError, ValueError, OverflowError, RecursionError):
            # A value the declared type does not promise (SQLite keeps text in a REAL
            # column): shown as it is rather than failing the page.
            return str(value)

    def from_text(self, text: str) -> t.Any:
        """Parse operator input; raises ``ValueError`` with a readable message."""
        parser = _PARSERS.get(self.kind)
        if parser is None:
            return text
        return parser(self, text)


class InvalidText(str):
    """Text the database holds that is not valid UTF-8 (SQLite keeps any bytes in TEXT),
    decoded with U+FFFD replacement characters so it can be shown: a placeholder, marked
    as such on the page, and never written back unless the operator changes it."""

    __slots__ = ()


def decode_text(raw: bytes) -> str:
    """``raw`` as text; bytes that are not UTF-8 become an :class:`InvalidText`."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return InvalidText(raw.decode("utf-8", "replace"))


def _render_bool(value: t.Any) -> str:
    return "true" if value else "false"


def _render_datetime(value: t.Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _render_json(value: t.Any) -> str:
    if isinstance(value, UnreadableJSON):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def _render_binary(value: t.Any) -> str:
    return f"<{len(value):,} bytes>"


def _render_float(value: t.Any) -> str:
    return repr(float(value))


def _render_set(value: t.Any) -> str:
    return ",".join(sorted(value)) if isinstance(value, (set, frozenset)) else str(value)


_RENDERERS: dict[str, t.Callable[[t.Any], str]] = {
    "boolean": _render_bool,
    "datetime": _render_datetime,
    # PyMySQL reads a MySQL zero date ('0000-00-00') as the string it is.
    "date": lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v),
    "time": lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v),
    "json": _render_json,
    "array": _render_json,
    "binary": _render_binary,
    "float": _render_float,
    "set": _render_set,
    "hex": lambda v: bytes(v).hex(),
}


def _parse_integer(codec: Codec, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(Message(N_("Enter a whole number."))) from None
    if (codec.minimum is not None and value < codec.minimum) or (codec.maximum is not None and value > codec.maximum):
        raise ValueError(
            Message(
                N_("Enter a whole number from %(minimum)s to %(maximum)s."),
                minimum=codec.minimum,
                maximum=codec.maximum,
            )
        )
    return value


def _parse_decimal(codec: Codec, text: str) -> decimal.Decimal:
    try:
        value = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise ValueError(Message(N_("Enter a number."))) from None
    if not value.is_finite():
        raise ValueError(Message(N_("Enter a finite number.")))
    return value


def _parse_float(codec: Codec, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(Message(N_("Enter a number."))) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(Message(N_("Enter a finite number.")))
    return value


def _parse_boolean(codec: Codec, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(Message(N_("Choose yes or no.")))


def _parse_datetime(codec: Codec, text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(Message(N_("Enter a date and time as YYYY-MM-DD HH:MM[:SS[.ffffff]][+HH:MM]."))) from None


def _parse_date(codec: Codec, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(Message(N_("Enter a date as YYYY-MM-DD."))) from None


def _parse_time(codec: Codec, text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(Message(N_("Enter a time as HH:MM[:SS[.ffffff]]."))) from None


def _parse_string(codec: Codec, text: str) -> str:
    if codec.max_length is not None and len(text) > codec.max_length:
        raise ValueError(
            Message(
                N_("At most %(limit)s characters (you typed %(length)s)."), limit=codec.max_length, length=len(text)
            )
        )
    return text


def _parse_enum(codec: Codec, text: str) -> str:
    if text not in codec.choices:
        raise ValueError(Message(N_("Choose one of: %(choices)s."), choices=", ".join(codec.choices)))
    return text


def _parse_json(codec: Codec, text: str) -> t.Any:
    if json_too_deep(text):
        raise ValueError(
            Message(N_("JSON nested more than %(limit)s levels deep is not accepted."), limit=MAX_JSON_DEPTH)
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            Message(
                N_("Not valid JSON: %(reason)s (line %(line)s, column %(column)s)."),
                reason=exc.msg,
                line=exc.lineno,
                column=exc.colno,
            )
        ) from None
    except RecursionError:
        # Unbalanced, so not measured above, and deeper than the parser goes.
        raise ValueError(
            Message(N_("JSON nested more than %(limit)s levels deep is not accepted."), limit=MAX_JSON_DEPTH)
        ) from None


def _parse_array(codec: Codec, text: str) -> list[t.Any]:
    value = _parse_json(codec, text)
    if not isinstance(value, list):
        raise ValueError(Message(N_("Enter a JSON list, e.g. [1, 2, 3].")))
    return value


def _parse_uuid(codec: Codec, text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise ValueError(Message(N_("Enter a UUID such as 123e4567-e89b-12d3-a456-426614174000."))) from None


def _parse_inet(codec: Codec, text: str) -> str:
    try:
        return str(ipaddress.ip_interface(text.strip()))
    except ValueError:
        raise ValueError(Message(N_("Enter an IP address, e.g. 192.0.2.1 or 2001:db8::1/64."))) from None


def _parse_hex(codec: Codec, text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(Message(N_("Enter the value as hexadecimal digits."))) from None


def _parse_set(codec: Codec, text: str) -> set[str]:
    parts = {p.strip() for p in text.split(",") if p.strip()}
    unknown = parts - set(codec.choices)
    if unknown:
        raise ValueError(Message(N_("Unknown choices: %(choices)s."), choices=", ".join(sorted(unknown))))
    return parts


_PARSERS: dict[str, t.Callable[[Codec, str], t.Any]] = {
    "integer": _parse_integer,
    "decimal": _parse_decimal,
    "float": _parse_float,
    "boolean": _parse_boolean,
    "datetime": _parse_datetime,
    "date": _parse_date,
    "time": _parse_time,
    "string": _parse_string,
    "text": _parse_string,
    "enum": _parse_enum,
    "json": _parse_json,
    "array": _parse_array,
    "uuid": _parse_uuid,
    "inet": _parse_inet,
    "set": _parse_set,
    "hex": _parse_hex,
}


@converts("Boolean", "BOOLEAN", "BIT")
def _boolean(column_type: t.Any) -> Codec:
    return Codec(kind="boolean", choices=("true", "false"))


# MySQL spells BOOLEAN as TINYINT(1), but such a column holds any small integer: shown as
# a yes/no choice, a stored 2 would come back as 1. It stays an integer.
@converts("Integer", "YEAR")
def _integer(column_type: t.Any) -> Codec:
    return Codec(kind="integer", input_type="text", placeholder="123")


@converts("Float", "REAL", "DOUBLE", "DOUBLE_PRECISION")
def _float(column_type: t.Any) -> Codec:
    return Codec(kind="float", placeholder="1.5")


@converts("Numeric")
def _numeric(column_type: t.Any) -> Codec:
    return Codec(kind="decimal", placeholder="12.50")


@converts("DateTime", "TIMESTAMP")
def _datetime(column_type: t.Any) -> Codec:
    return Codec(
        kind="datetime", timezone=bool(getattr(column_type, "timezone", False)), placeholder="YYYY-MM-DD HH:MM:SS"
    )


@converts("Date")
def _date(column_type: t.Any) -> Codec:
    return Codec(kind="date", placeholder="YYYY-MM-DD")


@converts("Time")
def _time(column_type: t.Any) -> Codec:
    return Codec(kind="time", placeholder="HH:MM:SS")


@converts("Interval", "INTERVAL")
def _interval(column_type: t.Any) -> Codec:
    return Codec(kind="interval", editable=False, read_only_reason=Message(N_("intervals are shown, not edited")))


@converts("Enum")
def _enum(column_type: t.Any) -> Codec:
    return Codec(kind="enum", choices=tuple(column_type.enums), searchable=False)


@converts("SET")
def _set(column_type: t.Any) -> Codec:
    return Codec(kind="set", choices=tuple(getattr(column_type, "values", ())), sortable=True, placeholder="a,b")


@converts("JSON")
def _json(column_type: t.Any) -> Codec:
    return Codec(kind="json", sortable=False, multiline=True)


@converts("ARRAY")
def _array(column_type: t.Any) -> Codec:
    return Codec(kind="array", sortable=False, placeholder="[1, 2, 3]")


@converts("Uuid", "UUID")
def _uuid(column_type: t.Any) -> Codec:
    return Codec(kind="uuid")


@converts("INET", "CIDR")
def _inet(column_type: t.Any) -> Codec:
    return Codec(kind="inet")


@converts("_Binary", "LargeBinary", "BLOB", "BYTEA")
def _binary(column_type: t.Any) -> Codec:
    return Codec(
        kind="binary",
        editable=False,
        sortable=False,
        read_only_reason=Message(N_("binary values are downloaded, not edited")),
    )


@converts("Text", "CLOB", "TEXT", "MEDIUMTEXT", "LONGTEXT", "TINYTEXT")
def _text(column_type: t.Any) -> Codec:
    return Codec(kind="text", searchable=True, multiline=True, max_length=getattr(column_type, "length", None))


@converts("String")
def _string(column_type: t.Any) -> Codec:
    length = getattr(column_type, "length", None)
    return Codec(
        kind="string", searchable=True, max_length=length, multiline=bool(length and length > 255) or length is None
    )


@converts("DOMAIN")
def _domain(column_type: t.Any) -> Codec:
    # A PostgreSQL domain is its base type with constraints the database checks on write.
    base = getattr(column_type, "data_type", None)
    return codec_for(base) if isinstance(base, sa.types.TypeEngine) else codec_for(sa.types.NullType())


class AsStoredIfUnreadable(sa.types.TypeDecorator[t.Any]):
    """``inner`` when reading, except that a value its conversion refuses stays as stored."""

    impl = sa.types.NullType
    cache_ok = True

    def __init__(self, inner: sa.types.TypeEngine[t.Any]) -> None:
        super().__init__()
        self.inner = inner

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[t.Any]:
        return self.inner

    def result_processor(self, dialect: sa.Dialect, coltype: t.Any) -> t.Callable[[t.Any], t.Any] | None:
        convert = self.inner.dialect_impl(dialect).result_processor(dialect, coltype)
        if convert is None:
            return None

        def tolerant(value: t.Any) -> t.Any:
            try:
                return convert(value)
            except (ValueError, TypeError, ArithmeticError):
                return value

        return tolerant
