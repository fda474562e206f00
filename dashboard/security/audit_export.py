"""The audit log as a file: CSV or JSON lines, one entry a line, oldest first.

Shared by the audit log page (``/admin/-/audit/export/<format>/``) and ``dashboard audit
export``. The entries are what the log holds (values of secret-looking and hidden columns were
never recorded); ``changes`` stays JSON in both formats. CSV cells that a spreadsheet would run
as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import typing as t

#: Format name -> (media type, file name suffix).
FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "jsonl": ("application/x-ndjson; charset=utf-8", "jsonl"),
}
COLUMNS = ("id", "at", "username", "role", "action", "table_id", "row_key", "changes", "outcome", "message", "reason")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _at(value: t.Any) -> str:
    if isinstance(value, dt.datetime):
        # SQLite hands back the UTC time it was given, without its zone.
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return str(value)


def as_record(entry: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """One entry as plain JSON values (the time in ISO 8601, UTC)."""
    return {name: _at(entry[name]) if name == "at" else entry.get(name) for name in COLUMNS}


def _cell(value: t.Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_START) else text


def lines(entries: t.Iterable[t.Mapping[str, t.Any]], fmt: str) -> t.Iterator[str]:
    """``entries`` in format ``fmt`` (a key of :data:`FORMATS`), a line at a time.

    :raises ValueError: for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown audit export format {fmt!r}; formats are {', '.join(FORMATS)}")
    if fmt == "jsonl":
        for entry in entries:
            yield json.dumps(as_record(entry), ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for entry in entries:
        record = as_record(entry)
        writer.writerow([_cell(record[name]) if name != "id" else record[name] for name in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell() or buffer.getvalue():
        yield buffer.getvalue()
