"""The formats a table's rows are exported in: CSV, JSON (an array or lines) and XLSX.

Every format is written from the same :class:`ExportContent` (the columns an export shows,
their labels and codecs, the rows read lazily from a server-side cursor through a
:class:`~dashboard.web.export.RowLimit`), in constant memory, and names itself in the list
page's export menu and in the download's file name and type.
"""

from __future__ import annotations

import itertools
import typing as t
from dataclasses import dataclass

from dashboard.db.codecs import Codec
from dashboard.i18n.translation import lazy_gettext
from dashboard.web import export
from dashboard.web.export_json import json_stream
from dashboard.web.export_xlsx import MAX_DATA_ROWS, xlsx_stream


@dataclass(frozen=True)
class ExportContent:
    """What an export writes: the same for every format."""

    #: The relation's name: the XLSX sheet's name.
    title: str
    #: Column headers in the operator's language (CSV, XLSX).
    labels: t.Sequence[str]
    #: Column names (the members of a JSON object).
    names: t.Sequence[str]
    codecs: t.Sequence[Codec]
    rows: export.RowLimit
    #: The notice written last when :attr:`rows` stopped short.
    cut_text: str


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: t.Any
    extension: str
    mimetype: str
    write: t.Callable[[ExportContent], t.Iterator[str] | t.Iterator[bytes]]
    #: The most rows the format itself holds, whatever ``EXPORT_MAX_ROWS`` says.
    max_rows: int | None = None


def _csv(content: ExportContent) -> t.Iterator[str]:
    return itertools.chain(
        export.csv_stream(content.labels, content.rows, content.codecs),
        export.cut_notice(content.rows, content.cut_text),
    )


def _json(content: ExportContent) -> t.Iterator[str]:
    return json_stream(content.names, content.rows, content.codecs, content.cut_text, lines=False)


def _json_lines(content: ExportContent) -> t.Iterator[str]:
    return json_stream(content.names, content.rows, content.codecs, content.cut_text, lines=True)


def _xlsx(content: ExportContent) -> t.Iterator[bytes]:
    return xlsx_stream(content.title, content.labels, content.rows, content.codecs, content.cut_text)


#: Every format by the name its URL carries (``/admin/<table>/export/<name>/``), in menu order.
FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("csv", "CSV", "csv", "text/csv", _csv),
        ExportFormat("json", "JSON", "json", "application/json", _json),
        ExportFormat("jsonl", lazy_gettext("JSON lines"), "jsonl", "application/jsonl", _json_lines),
        ExportFormat(
            "xlsx",
            lazy_gettext("Excel (XLSX)"),
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _xlsx,
            max_rows=MAX_DATA_ROWS,
        ),
    )
}
