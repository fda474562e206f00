"""JSON export: an array of objects, or JSON lines (one object a line), written row by row.

Each object maps column names (not the translated labels of the CSV header: a script reads
these) to values, as a row's ``values`` in the JSON API. JSON is data, not something a
spreadsheet runs, so no value is changed to look harmless: text is written as stored.

The values are the JSON API's (:func:`dashboard.db.json_values.to_json`, which both use), so
a script reading both sees one format: integers, floats and booleans are native (a float
that is not finite is ``null``), a decimal is text (``"12.50"``: a JSON number read as a
double would round it), dates and times are ISO 8601 text, an interval an ISO 8601
duration, binary values base64, JSON columns the JSON they hold, sets sorted arrays, the
rest their text.
"""

from __future__ import annotations

import json
import typing as t

from dashboard.db.codecs import Codec
from dashboard.db.json_values import to_json
from dashboard.web.export import RowLimit

#: The member of the last object of a cut export, holding the notice: a name no column of a
#: usual schema has (a column so named still has its own value in every other object).
CUT_MEMBER = "_export_cut"

# default=str: a value inside a JSON column that JSON cannot hold (a Decimal from a driver)
# is written as its text rather than failing the download halfway.
_encode = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode


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
