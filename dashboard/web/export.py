"""CSV export: streamed row by row, with cells that spreadsheets cannot execute."""

from __future__ import annotations

import csv
import io
import itertools
import re
import typing as t

from dashboard.db.codecs import Codec

# A spreadsheet treats a cell starting with one of these as a formula
# (OWASP "CSV injection"): =HYPERLINK(...), -2+3+cmd|' /C calc'!A0, @SUM(...).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_Row = t.TypeVar("_Row")


def neutralise(text: str) -> str:
    """Prefix a formula-looking cell with ``'`` so it is shown as text; numbers stay numbers."""
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_stream(
    labels: t.Sequence[str],
    rows: t.Iterable[t.Sequence[t.Any]],
    codecs: t.Sequence[Codec],
    *,
    lines_per_chunk: int = 500,
) -> t.Iterator[str]:
    """Yield CSV text: a header of ``labels``, then one line per row, a few hundred lines a chunk.

    :param rows: value tuples in the order of ``labels``; consumed lazily.
    :param codecs: how to render each column.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    render = [_cell_renderer(codec) for codec in codecs]
    writer.writerow([neutralise(label) for label in labels])
    pending = 1
    for row in rows:
        writer.writerow([cell(value) for cell, value in zip(render, row, strict=True)])
        pending += 1
        if pending >= lines_per_chunk:
            # Chunks, not single lines: a generator step per line costs more than the line.
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def started(rows: t.Iterable[_Row]) -> t.Iterator[_Row]:
    """``rows`` with the first one already read: the query runs now, so its errors can still
    be answered with a page instead of a download cut short."""
    iterator = iter(rows)
    for first in iterator:
        return itertools.chain([first], iterator)
    return iterator


def _cell_renderer(codec: Codec) -> t.Callable[[t.Any], str]:
    # The guard looks at the value, not the declared type: SQLite keeps whatever it is given,
    # so an INTEGER column may hold the text "=HYPERLINK(...)". NUL bytes, which some
    # spreadsheets end a cell at (hiding what follows), are left out.
    if codec.kind in ("string", "text", "enum"):
        return lambda value: "" if value is None else neutralise(str(value).replace("\x00", ""))
    if codec.kind == "integer":
        return lambda value: (
            ""
            if value is None
            else str(value)
            if isinstance(value, int)
            else neutralise(str(value).replace("\x00", ""))
        )
    return lambda value: neutralise(codec.to_text(value).replace("\x00", ""))


def filename(name: str, extension: str = "csv") -> str:
    """A download file name made only of safe characters."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "export"
    return f"{safe[:80]}.{extension}"


class RowLimit:
    """At most ``limit`` of ``rows``, noting in :attr:`cut` whether there were more.

    The query is asked for one row more than the limit (``LIMIT limit + 1``): that extra
    row, never written, is how an export knows it stopped short and must say so
    (:func:`cut_notice`). ``rows`` is then read to its end, which that ``LIMIT`` makes
    immediate, so the query's cursor closes now rather than whenever it is collected
    (PostgreSQL's server-side cursors warn when left open).
    """

    def __init__(self, rows: t.Iterable[t.Sequence[t.Any]], limit: int) -> None:
        self.rows = rows
        self.limit = limit
        self.cut = False

    def __iter__(self) -> t.Iterator[t.Sequence[t.Any]]:
        rows = iter(self.rows)
        for count, row in enumerate(rows):
            if count >= self.limit:
                self.cut = True
                for _rest in rows:
                    pass
                return
            yield row


def cut_notice(limited: RowLimit, text: str) -> t.Iterator[str]:
    """A last CSV line holding ``text`` if ``limited`` stopped short; nothing otherwise.

    Read lazily, after every row has been written, when :attr:`RowLimit.cut` is known.
    """
    if limited.cut:
        buffer = io.StringIO()
        csv.writer(buffer).writerow([neutralise(text)])
        yield buffer.getvalue()
