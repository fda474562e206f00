"""Which columns a table's list shows when the operator has not chosen (``column_order``).

A list is for scanning rows, so columns that crowd it stay on the details page: long
prose, search vectors and other types without a text form, blobs, JSON and arrays. The
type alone cannot tell long text apart everywhere: PostgreSQL and SQLite schemas spell a
first name and a film's description both ``text``. So unbounded text counts as long only
where the name says it is prose (``description``, ``notes``, ``body``...), or where the
type says so by itself (MySQL's ``TEXT`` family, a ``VARCHAR`` longer than 255).

Bulky columns are left out only when at least :data:`MIN_COLUMNS` others remain: a table
of an id and a document shows its document.
"""

from __future__ import annotations

import typing as t

from dashboard.db.codecs import Codec
from dashboard.db.reflection import ColumnInfo

#: A list keeps bulky columns when fewer than this many others would remain.
MIN_COLUMNS = 3
#: Codec kinds that never read well in a list cell.
BULKY_KINDS = frozenset({"binary", "json", "array", "unknown"})
#: Names (or name endings) of columns that hold prose.
PROSE_NAMES = (
    "description",
    "body",
    "content",
    "contents",
    "notes",
    "note",
    "comment",
    "comments",
    "text",
    "summary",
    "bio",
    "biography",
    "details",
    "html",
    "markdown",
    "abstract",
    "remarks",
    "excerpt",
)
_PROSE_ENDINGS = tuple(f"_{name}" for name in PROSE_NAMES)
_LONG_VARCHAR = 255


def is_long_text(column: ColumnInfo, codec: Codec, dialect: str) -> bool:
    """Whether ``column`` most likely holds prose rather than a short value."""
    if codec.kind not in ("string", "text"):
        return False
    if codec.max_length is not None:
        return codec.max_length > _LONG_VARCHAR
    if codec.kind == "text" and dialect in ("mysql", "mariadb") and type(column.type).__name__ != "TINYTEXT":
        return True  # MySQL schemas write VARCHAR(n) for short text and TEXT for long text.
    lowered = column.name.lower()
    return lowered in PROSE_NAMES or lowered.endswith(_PROSE_ENDINGS)


def is_bulky(column: ColumnInfo, codec: Codec, dialect: str) -> bool:
    """Whether ``column`` crowds a list: long text, a search vector or other type without text form, a blob, JSON."""
    return codec.kind in BULKY_KINDS or is_long_text(column, codec, dialect)


def default_list_columns(
    columns: t.Sequence[ColumnInfo],
    codecs: t.Mapping[str, Codec],
    dialect: str,
    *,
    keep: t.Collection[str] = (),
    limit: int,
) -> list[ColumnInfo]:
    """The columns a list shows by default, in table order, at most ``limit`` of them.

    :param keep: names of columns shown whatever their type (the row key, the display column).
    """
    compact = [c for c in columns if c.name in keep or not is_bulky(c, codecs[c.key], dialect)]
    if len(compact) < MIN_COLUMNS:
        # Too little would be left: show the bulky ones too, except blobs (only ever "<n bytes>").
        compact = [c for c in columns if codecs[c.key].kind != "binary"] or list(columns)
    return compact[:limit]
