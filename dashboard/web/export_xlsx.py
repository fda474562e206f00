"""XLSX export in constant memory: XlsxWriter's ``constant_memory`` mode, then the file streamed.

XlsxWriter writes each row to a temporary file as soon as the next one starts, and puts the
workbook together when it is closed; the finished file is then sent in chunks and deleted.
So memory stays flat however many rows there are, but the first byte leaves only once every
row is written (an XLSX is a zip whose parts cannot be sent before they are complete).

Cells are typed, never interpreted: text is written with ``write_string`` and the workbook
is told not to turn strings into formulas, links or numbers, so ``=HYPERLINK(...)`` or
``+1-2`` stay the text they are, exactly as stored (no ``'`` prefix as in the CSV export,
which must hide them from a spreadsheet that parses every cell). Numbers stay numbers,
dates and times are dates with a number format, booleans are booleans, ``NULL`` is an empty
cell. Excel keeps 15 significant digits: an integer or ``Decimal`` with more is written as
text with all its digits rather than rounded silently. Aware datetimes are written in UTC
(Excel has no time zones); dates before 1900, which Excel cannot show, are ISO text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import re
import tempfile
import typing as t

import xlsxwriter  # type: ignore[import-untyped]
from xlsxwriter.worksheet import Worksheet  # type: ignore[import-untyped]

from dashboard.db.codecs import Codec
from dashboard.web.export import RowLimit

#: The most rows one sheet holds (Excel's limit); the header and a cut notice take two.
SHEET_ROWS = 1_048_576
MAX_DATA_ROWS = SHEET_ROWS - 2
#: The most significant digits Excel keeps in a number.
_EXCEL_DIGITS = 15
_CELL_TEXT_LIMIT = 32_767
_CHUNK = 256 * 1024
_FORMATS = {
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "date": "yyyy-mm-dd",
    "time": "hh:mm:ss",
}


def sheet_name(name: str) -> str:
    """``name`` as Excel accepts a sheet name: none of ``[]:*?/\\``, no edge ``'``, 31 characters,
    and not "History", which Excel keeps for itself."""
    cleaned = re.sub(r"[\[\]:*?/\\\x00-\x1f]", "_", name).strip("'")[:31].strip("'")
    if cleaned.lower() == "history":
        return cleaned + "_"
    return cleaned or "Sheet1"


def xlsx_stream(
    title: str,
    labels: t.Sequence[str],
    rows: RowLimit,
    codecs: t.Sequence[Codec],
    cut_text: str,
) -> t.Iterator[bytes]:
    """Yield an XLSX file of one sheet named after ``title``: a header of ``labels``, a row per
    row, and if ``rows`` stopped short (:attr:`RowLimit.cut`) a last row holding ``cut_text``.

    Nothing is written before the iterator is first advanced, and the temporary file is gone
    when it ends or is closed.
    """
    handle, path = tempfile.mkstemp(prefix="dashboard-export-", suffix=".xlsx")
    os.close(handle)
    try:
        _write_workbook(path, title, labels, rows, codecs, cut_text)
        with open(path, "rb") as written:
            while chunk := written.read(_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def _write_workbook(
    path: str, title: str, labels: t.Sequence[str], rows: RowLimit, codecs: t.Sequence[Codec], cut_text: str
) -> None:
    workbook = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    try:
        sheet = workbook.add_worksheet(sheet_name(title))
        cells = _CellWriter(workbook)
        bold = workbook.add_format({"bold": True})
        for column, label in enumerate(labels):
            sheet.write_string(0, column, _text(label), bold)
        row_number = 0
        write = cells.write
        for row_number, row in enumerate(rows, start=1):
            for column, (codec, value) in enumerate(zip(codecs, row, strict=True)):
                if value is not None:
                    write(sheet, row_number, column, value, codec)
        if rows.cut:
            sheet.write_string(row_number + 1, 0, _text(cut_text))
        sheet.freeze_panes(1, 0)
    finally:
        workbook.close()


def _text(value: str) -> str:
    # NUL bytes cannot be stored in the file's XML; a cell holds at most 32,767 characters.
    return value.replace("\x00", "")[:_CELL_TEXT_LIMIT]


class _CellWriter:
    """Writes one value as the cell type it is, with the workbook's few number formats."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.workbook = workbook
        self.formats = {kind: workbook.add_format({"num_format": pattern}) for kind, pattern in _FORMATS.items()}
        self._decimal_formats: dict[int, t.Any] = {}

    def write(self, sheet: Worksheet, row: int, column: int, value: t.Any, codec: Codec) -> None:
        """Write ``value`` (not ``None``: a NULL is a cell left empty) at ``row``, ``column``."""
        kind = type(value)
        # The usual types first, by identity: this runs for every cell of a million rows.
        if kind is str:
            sheet.write_string(row, column, _text(value))
        elif kind is int:
            if abs(value) < 10**_EXCEL_DIGITS:
                sheet.write_number(row, column, value)
            else:
                sheet.write_string(row, column, str(value))
        elif isinstance(value, bool):
            sheet.write_boolean(row, column, value)
        elif isinstance(value, int):
            if abs(value) < 10**_EXCEL_DIGITS:
                sheet.write_number(row, column, value)
            else:
                sheet.write_string(row, column, str(value))
        elif isinstance(value, float):
            if math.isfinite(value):
                sheet.write_number(row, column, value)
            else:
                sheet.write_string(row, column, str(value))
        elif isinstance(value, decimal.Decimal):
            self._write_decimal(sheet, row, column, value)
        elif isinstance(value, str):
            sheet.write_string(row, column, _text(value))
        elif isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            self._write_date(sheet, row, column, value, "datetime")
        elif isinstance(value, dt.date):
            self._write_date(sheet, row, column, value, "date")
        elif isinstance(value, dt.time):
            sheet.write_datetime(row, column, value.replace(tzinfo=None), self.formats["time"])
        else:
            sheet.write_string(row, column, _text(codec.to_text(value)))

    def _write_date(self, sheet: Worksheet, row: int, column: int, value: dt.date, kind: str) -> None:
        if value.year < 1900:
            sheet.write_string(row, column, value.isoformat())
        else:
            sheet.write_datetime(row, column, value, self.formats[kind])

    def _write_decimal(self, sheet: Worksheet, row: int, column: int, value: decimal.Decimal) -> None:
        if not value.is_finite():
            sheet.write_string(row, column, str(value))
            return
        digits = value.as_tuple()
        significant = len(value.normalize().as_tuple().digits)
        if significant > _EXCEL_DIGITS or abs(value.adjusted()) > 300:
            sheet.write_string(row, column, str(value))
            return
        # The stored scale is kept as the cell's format: 12.50 shows as 12.50, not 12.5.
        places = -int(digits.exponent) if isinstance(digits.exponent, int) and digits.exponent < 0 else 0
        sheet.write_number(row, column, float(value), self._decimal_format(min(places, 30)))

    def _decimal_format(self, places: int) -> t.Any:
        if places not in self._decimal_formats:
            pattern = "0." + "0" * places if places else "0"
            self._decimal_formats[places] = self.workbook.add_format({"num_format": pattern})
        return self._decimal_formats[places]
