"""A file to import as a stream of rows of text: CSV, XLSX, JSON (an array of objects) or JSON lines.

:func:`open_source` looks at the file's first bytes (a ZIP is an XLSX workbook, ``[`` a JSON
array, ``{`` JSON lines, anything else CSV; the name or type the client gave only breaks a tie)
and reads its header, so a file that is not what it claims, empty, or a header without rows is
refused at once with :class:`UnreadableFile`, whose message is fit to show. Its rows are read
from the start every time :meth:`Source.rows` is called (a preview, a validation pass, the
write), never held in memory: CSV through :mod:`csv`, XLSX through openpyxl's read-only mode,
JSON arrays through an incremental decoder (:mod:`~dashboard.db.importing.json_stream`).

Every cell is text, or ``None`` where the file has no value (an empty spreadsheet cell, a JSON
``null`` or a missing member): the column codecs parse text, as they parse what an operator
types in a form.
"""

from __future__ import annotations

import codecs as text_codecs
import csv
import datetime as dt
import decimal
import json
import typing as t
import warnings
from dataclasses import dataclass
from pathlib import Path

from dashboard.db.importing.json_stream import JSONStreamError, array_items
from dashboard.messages import N_, Message

#: The formats read, by the name :func:`open_source` gives them.
FORMATS = ("csv", "xlsx", "json", "jsonl")
#: How many JSON objects the columns of a JSON file are gathered from.
JSON_HEADER_ROWS = 100
_SNIFF_CHARS = 64 * 1024
_CSV_DELIMITERS = ",;\t|"


class UnreadableFile(Exception):
    """The file cannot be imported as it is; ``message`` (a :class:`~dashboard.messages.Message`) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SourceRow:
    """One data row: ``number`` counts from 1 (the first row under the header), ``cells``
    holds one text or ``None`` per column of the file, ``problem`` why the row cannot be read
    as the header says (too many values, an object where a row should be...)."""

    number: int
    cells: tuple[str | None, ...]
    problem: str | None = None


@dataclass(frozen=True)
class Source:
    """A readable file to import: its format, its columns, and its rows on demand."""

    path: Path
    format: str
    columns: tuple[str, ...]
    encoding: str = "utf-8"
    delimiter: str = ","

    def rows(self) -> t.Generator[SourceRow, None, None]:
        """Every data row, read afresh from the file; :class:`UnreadableFile` where it breaks."""
        reader = {"csv": _csv_rows, "xlsx": _xlsx_rows, "json": _json_rows, "jsonl": _json_rows}[self.format]
        found = False
        for row in reader(self):
            found = True
            yield row
        if not found:
            raise UnreadableFile(Message(N_("The file has a header but no rows.")))


def open_source(path: Path, hint: str | None = None) -> Source:
    """The file at ``path`` as a :class:`Source`, its header read and its first row checked.

    :param hint: the format the client named (``csv``, ``xlsx``, ``json``, ``jsonl``), from
        the file's name or the request's content type; the file's own bytes decide first.
    :raises UnreadableFile: for an empty file, a header without rows, a file that is not in
        any format read here or is broken.
    """
    with path.open("rb") as file:
        head = file.read(4096)
    if not head.strip():
        raise UnreadableFile(Message(N_("The file is empty.")))
    kind = detect_format(head, hint)
    if kind == "xlsx":
        source = Source(path, "xlsx", _xlsx_header(path))
    elif kind in ("json", "jsonl"):
        source = Source(path, kind, _json_header(path, kind))
    else:
        encoding = _encoding(head)
        sample = _text_sample(path, encoding)
        source = Source(path, "csv", (), encoding, _delimiter(sample))
        source = Source(path, "csv", _csv_header(source), encoding, source.delimiter)
    rows = source.rows()
    try:
        next(rows)  # a header alone is refused now, not after the preview
    finally:
        rows.close()
    return source


def detect_format(head: bytes, hint: str | None = None) -> str:
    """The format of a file whose first bytes are ``head``; ``hint`` names what the client said."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if hint == "xlsx":
        raise UnreadableFile(Message(N_("The file is not a readable XLSX workbook.")))
    text = head.removeprefix(text_codecs.BOM_UTF8).lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        return "jsonl"
    if hint in ("json", "jsonl"):
        raise UnreadableFile(Message(N_("The file is not JSON: send an array of objects, or one object per line.")))
    return "csv"


# -- CSV ------------------------------------------------------------------------------------
def _encoding(head: bytes) -> str:
    if head.startswith((text_codecs.BOM_UTF16_LE, text_codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise UnreadableFile(Message(N_("The file is not text: import a CSV, XLSX or JSON file.")))
    return "utf-8-sig"


def _text_sample(path: Path, encoding: str) -> str:
    try:
        with path.open(encoding=encoding, newline="") as file:
            sample = file.read(_SNIFF_CHARS)
    except UnicodeDecodeError:
        raise UnreadableFile(Message(N_("The file is not UTF-8 text: save it as CSV UTF-8 and try again."))) from None
    # Whole lines only: a row cut in two would mislead the sniffer.
    return sample if len(sample) < _SNIFF_CHARS else sample[: sample.rfind("\n") + 1] or sample


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:
        return ","  # one column, or no pattern to go by: a comma, as most files have


def _csv_reader(source: Source) -> t.Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of every non-blank record, the header included."""
    with source.path.open(encoding=source.encoding, newline="") as file:
        reader = csv.reader(file, delimiter=source.delimiter)
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield reader.line_num, cells
        except UnicodeDecodeError:
            raise UnreadableFile(
                Message(
                    N_("The file is not UTF-8 text after line %(line)s: save it as CSV UTF-8 and try again."),
                    line=reader.line_num,
                )
            ) from None
        except csv.Error as exc:
            raise UnreadableFile(
                Message(
                    N_("The file is not readable CSV at line %(line)s: %(reason)s."), line=reader.line_num, reason=exc
                )
            ) from None


def _csv_header(source: Source) -> tuple[str, ...]:
    for _, cells in _csv_reader(source):
        return _header(cells)
    raise UnreadableFile(Message(N_("The file is empty.")))


def _csv_rows(source: Source) -> t.Iterator[SourceRow]:
    records = _csv_reader(source)
    next(records, None)
    width = len(source.columns)
    for number, (_, cells) in enumerate(records, start=1):
        yield _fitted(number, cells, width)


# -- XLSX -----------------------------------------------------------------------------------
def _workbook(file: t.BinaryIO) -> t.Any:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        with warnings.catch_warnings():
            # openpyxl warns of what it ignores (styles, data validation): nothing about the values.
            warnings.simplefilter("ignore")
            # A file object, not the path: openpyxl refuses a path whose name does not end in .xlsx.
            return load_workbook(file, read_only=True, data_only=True)
    except Exception:  # a broken workbook fails in any of zipfile, XML or openpyxl itself
        raise UnreadableFile(Message(N_("The file is not a readable XLSX workbook."))) from None


def _xlsx_records(path: Path) -> t.Iterator[tuple[t.Any, ...]]:
    """The values of every non-blank row of the first sheet, the header included."""
    with path.open("rb") as file:
        book = _workbook(file)
        try:
            if not book.worksheets:
                return
            try:
                for values in book.worksheets[0].iter_rows(values_only=True):
                    if any(value is not None and str(value).strip() for value in values):
                        yield values
            except Exception:
                raise UnreadableFile(Message(N_("The file is not a readable XLSX workbook."))) from None
        finally:
            book.close()


def _xlsx_header(path: Path) -> tuple[str, ...]:
    for values in _xlsx_records(path):
        cells = [cell_text(value) or "" for value in values]
        while cells and not cells[-1].strip():
            cells.pop()  # a sheet's used range often runs past its last named column
        return _header(cells)
    raise UnreadableFile(Message(N_("The file is empty.")))


def _xlsx_rows(source: Source) -> t.Iterator[SourceRow]:
    records = _xlsx_records(source.path)
    next(records, None)
    width = len(source.columns)
    for number, values in enumerate(records, start=1):
        cells = [cell_text(value) for value in values]
        while len(cells) > width and cells[-1] is None:
            cells.pop()
        yield _fitted(number, cells, width)


def cell_text(value: t.Any) -> str | None:
    """A spreadsheet or JSON value as the text a column codec parses (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Spreadsheets keep every number as a float: 3.0 in an integer column is 3.
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, (int, decimal.Decimal)):
        return str(value)
    if isinstance(value, dt.datetime):
        # A spreadsheet date is a date and time at midnight; as a date, it suits both kinds of column.
        return value.date().isoformat() if value.time() == dt.time() and value.tzinfo is None else value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# -- JSON -----------------------------------------------------------------------------------
def _json_objects(source_path: Path, kind: str) -> t.Iterator[tuple[int, t.Any]]:
    """``(row number, value)`` of every item of the array, or every non-blank line."""
    try:
        with source_path.open(encoding="utf-8-sig") as file:
            if kind == "json":
                yield from enumerate(array_items(file), start=1)
                return
            number = 0
            for line in file:
                if not line.strip():
                    continue
                number += 1
                try:
                    yield number, json.loads(line)
                except (ValueError, RecursionError):
                    raise UnreadableFile(
                        Message(N_("Row %(row)s of the file is not valid JSON."), row=number)
                    ) from None
    except UnicodeDecodeError:
        raise UnreadableFile(Message(N_("The file is not UTF-8 text."))) from None
    except JSONStreamError as exc:
        raise UnreadableFile(exc.message) from None


def _json_header(path: Path, kind: str) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for number, item in _json_objects(path, kind):
        if not isinstance(item, dict):
            raise UnreadableFile(
                Message(N_("Row %(row)s of the file is not a JSON object: send an array of objects."), row=number)
            )
        names.update(dict.fromkeys(str(name) for name in item))
        if number >= JSON_HEADER_ROWS:
            break
    if not names:
        raise UnreadableFile(Message(N_("The file has no rows, or its objects have no members.")))
    return tuple(names)


def _json_rows(source: Source) -> t.Iterator[SourceRow]:
    known = set(source.columns)
    for number, item in _json_objects(source.path, source.format):
        if not isinstance(item, dict):
            yield SourceRow(number, (), Message(N_("This row is not a JSON object.")))
            continue
        unknown = [name for name in item if name not in known]
        cells = tuple(cell_text(item.get(name)) for name in source.columns)
        problem = None
        if unknown:
            problem = Message(
                N_("Members the first %(count)s rows do not have are not imported: %(names)s."),
                count=JSON_HEADER_ROWS,
                names=", ".join(unknown[:5]),
            )
        yield SourceRow(number, cells, problem)


# -- shared ---------------------------------------------------------------------------------
def _header(cells: t.Sequence[str]) -> tuple[str, ...]:
    """Column names, stripped; an unnamed column is called by its position."""
    return tuple(cell.strip() or f"({index})" for index, cell in enumerate(cells, start=1))


def _fitted(number: int, cells: t.Sequence[str | None], width: int) -> SourceRow:
    """A row of ``width`` cells; more values than the header names is a problem, fewer are empty."""
    if len(cells) > width and any(cell not in (None, "") for cell in cells[width:]):
        return SourceRow(
            number,
            tuple(cells[:width]),
            Message(N_("This row has %(found)s values; the header names %(width)s."), found=len(cells), width=width),
        )
    return SourceRow(number, tuple(cells[:width]) + (None,) * (width - len(cells)))
