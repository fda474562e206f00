"""Exports in CSV, JSON, JSON lines and XLSX (dashboard/web/export_formats.py): the same rows,
columns and order in each, values typed (XLSX formula-like text stays text), hidden columns
left out, the row cap said in the file, the export permission and unknown formats refused,
and a million rows exported in constant memory."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import decimal
import io
import json
import re
import subprocess  # nosec B404 -- runs this interpreter on a script of the test's own
import sys
import tempfile
import typing as t

import openpyxl
import pytest
import sqlalchemy as sa

from dashboard.api import values as api_values
from dashboard.db.codecs import Codec
from dashboard.db.demo.load import write_demo_database
from dashboard.web import export_formats
from dashboard.web.export import RowLimit
from dashboard.web.export_json import CUT_MEMBER, json_stream, to_json
from dashboard.web.export_xlsx import sheet_name, xlsx_stream
from tests.checklist import site_on
from tests.databases import make_database
from tests.schemas import create_hostile_schema
from tests.site import Site, make_site, rows

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1-2", "-3+4", "@SUM(A1)", "\tTAB", "\rCR"]
UNICODE = "Zoë Ünïcode 東京 ✓ \u202e"
FORMATS = ("csv", "json", "jsonl", "xlsx")


@pytest.fixture(scope="module")
def shop(dialect: str, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[Site, str]]:
    """The demo shop with customers named like formulas and in many scripts, customers'
    e-mail hidden, an admin logged in: one per dialect, for tests that only read."""
    with make_database(dialect) as url:
        write_demo_database(url, rows=20)
        engine = sa.create_engine(url)
        customers = sa.Table("customers", sa.MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            connection.execute(
                customers.insert(),
                [
                    {"name": name, "email": f"x{n}@example.com", "is_active": n % 2 == 0, "notes": None}
                    for n, name in enumerate([*FORMULAS, UNICODE])
                ],
            )
        engine.dispose()
        site = make_site(
            url, tmp_path_factory.mktemp("export"), TABLES={"customers": {"columns": {"email": {"hidden": True}}}}
        )
        try:
            yield site, url
        finally:
            site.state.engine.dispose()


def _export(site: Site, table: str, kind: str, query: str = "") -> t.Any:
    response = site.get(site.url(table, f"export/{kind}") + query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Disposition"] == f'attachment; filename="{table}.{kind}"'
    return response.get_data()


def _read(kind: str, data: bytes) -> tuple[list[str] | None, list[t.Any]]:
    """(header, rows) of an export: rows are lists (CSV, XLSX cells) or dicts (JSON)."""
    if kind == "csv":
        lines = list(csv.reader(io.StringIO(data.decode(), newline="")))
        return lines[0], lines[1:]
    if kind == "json":
        return None, json.loads(data)
    if kind == "jsonl":
        text = data.decode()
        assert text.endswith("\n")
        return None, [json.loads(line) for line in text.splitlines()]
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    cells = [list(row) for row in sheet.iter_rows()]
    return [c.value for c in cells[0]], cells[1:]


def test_every_format_on_the_demo_shop(shop):
    """One test per dialect (each xdist worker builds the shop it runs on): values and types,
    text and hidden columns, the list's search and sort."""
    site, url = shop
    engine = site.state.views["orders"].store.engine
    statements: list[str] = []

    def executed(_connection: t.Any, _cursor: t.Any, statement: str, *_args: t.Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "after_cursor_execute", executed)
    try:
        _values_and_types(site, url)
    finally:
        sa.event.remove(engine, "after_cursor_execute", executed)
    if engine.dialect.name == "mysql":
        # MariaDB's statement time covers a streamed result until its last row: lifted for exports.
        exports = [s for s in statements if re.search(r"FROM `?orders`? ORDER BY", s)]
        assert exports and all(s.startswith("SET STATEMENT max_statement_time = 0 FOR ") for s in exports)
    _text_booleans_and_hidden_columns(site, url)
    _search_and_sort(site, url)


def _values_and_types(site: Site, url: str) -> None:
    stored = rows(url, "orders", order_by="id")
    columns = ["id", "customer_id", "status", "ordered_at", "total", "note"]
    header, csv_rows = _read("csv", _export(site, "orders", "csv", "?sort=0"))
    assert header == columns and [int(r[0]) for r in csv_rows] == [r[0] for r in stored]
    for kind in ("json", "jsonl"):
        _, objects = _read(kind, _export(site, "orders", kind, "?sort=0"))
        assert [list(o) for o in objects] == [columns] * len(stored)
        # Decimals as text (as the API writes them), datetimes ISO 8601, NULL null.
        assert [tuple(o.values()) for o in objects] == [(*r[:3], r[3].isoformat(), str(r[4]), r[5]) for r in stored], (
            kind
        )
        assert any(o["note"] is None for o in objects)
    header, cells = _read("xlsx", _export(site, "orders", "xlsx", "?sort=0"))
    assert header == columns and len(cells) == len(stored)
    for row, expected in zip(cells, stored, strict=True):
        assert [c.data_type for c in row[:2]] == ["n", "n"] and row[0].value == expected[0]
        assert row[3].is_date and abs(row[3].value - expected[3]) < dt.timedelta(milliseconds=1)
        assert row[4].data_type == "n" and row[4].value == float(expected[4]) and row[4].number_format == "0.00"
        assert row[5].value == expected[5]  # NULL: an empty cell


def _text_booleans_and_hidden_columns(site: Site, url: str) -> None:
    stored = {r[1]: r for r in rows(url, "customers")}
    names = [*FORMULAS, UNICODE]
    for kind in FORMATS:
        data = _export(site, "customers", kind)
        assert b"example.com" not in data  # the hidden e-mail column, in no format
        header, found = _read(kind, data)
        if kind in ("json", "jsonl"):
            assert "email" not in found[0]
            by_name = {o["name"]: o for o in found}
            for name in names:
                assert by_name[name]["is_active"] == stored[name][5]  # MariaDB: TINYINT(1), 0 or 1
                assert by_name[name]["notes"] is None
        elif kind == "xlsx":
            assert "email" not in header
            by_name = {r[1].value: r for r in found}
            for name in names:
                # openpyxl leaves the file's escape of a carriage return as it is (Excel reads it).
                read_as = name.replace("\r", "_x000D_")
                cell = by_name[read_as][1]
                assert cell.data_type == "s" and cell.value == read_as  # never a formula, not prefixed
                active = by_name[read_as][header.index("is_active")]
                assert active.value == stored[name][5]
                assert active.data_type == ("b" if isinstance(stored[name][5], bool) else "n")
        else:
            assert "email" not in header
            assert UNICODE in [r[1] for r in found] and "'" + FORMULAS[0] in [r[1] for r in found]


def _search_and_sort(site: Site, url: str) -> None:
    query = "?search=delivered&sort=0&desc=1"
    ids = [int(r[0]) for r in _read("csv", _export(site, "orders", "csv", query))[1]]
    assert 0 < len(ids) < len(rows(url, "orders")) and ids == sorted(ids, reverse=True)
    for kind in ("json", "jsonl"):
        assert [o["id"] for o in _read(kind, _export(site, "orders", kind, query))[1]] == ids
    assert [r[0].value for r in _read("xlsx", _export(site, "orders", "xlsx", query))[1]] == ids


@pytest.fixture
def sqlite_demo(tmp_path) -> str:
    """The demo shop (50 orders) in SQLite: for tests where the database plays no part."""
    url = f"sqlite:///{tmp_path}/demo.db"
    write_demo_database(url, rows=50)
    return url


def test_unknown_formats_are_a_404_that_names_the_formats(sqlite_demo, tmp_path):
    site = make_site(sqlite_demo, tmp_path / "instance")
    for kind in ("xls", "%3Cscript%3Ealert(1)", "CSV"):
        response = site.get(site.url("orders") + f"export/{kind}/")
        page = response.get_data(as_text=True)
        assert response.status_code == 404 and "Formats: csv, json, jsonl, xlsx." in page
        assert "<script>alert" not in page
    # The list page offers each format in one menu, with the list's own arguments.
    page = site.text(site.url("orders") + "?search=x")
    for kind in FORMATS:
        assert f'href="/admin/orders/export/{kind}/?search=x"' in page
    site.state.engine.dispose()


def test_the_row_cap_and_the_sheet_limit_are_said_in_the_file(sqlite_demo, tmp_path, monkeypatch):
    site = make_site(sqlite_demo, tmp_path / "instance", EXPORT_MAX_ROWS=10)
    try:
        for kind in ("json", "jsonl"):
            objects = _read(kind, _export(site, "orders", kind, "?sort=0"))[1]
            assert [o["id"] for o in objects[:-1]] == list(range(1, 11))
            assert list(objects[-1]) == [CUT_MEMBER] and "EXPORT_MAX_ROWS" in objects[-1][CUT_MEMBER]
        cells = _read("xlsx", _export(site, "orders", "xlsx", "?sort=0"))[1]
        assert [r[0].value for r in cells[:-1]] == list(range(1, 11))
        assert cells[-1][0].data_type == "s" and "EXPORT_MAX_ROWS" in cells[-1][0].value
        # A format holding fewer rows than EXPORT_MAX_ROWS (a sheet: 1,048,576) stops at its own limit.
        xlsx = dataclasses.replace(export_formats.FORMATS["xlsx"], max_rows=4)
        monkeypatch.setitem(export_formats.FORMATS, "xlsx", xlsx)
        cells = _read("xlsx", _export(site, "orders", "xlsx", "?sort=0"))[1]
        assert [r[0].value for r in cells[:-1]] == [1, 2, 3, 4] and "the most this format holds" in cells[-1][0].value
        # Exactly the limit: no notice.
        objects = _read("json", _export(site, "orders", "json", "?search=zzz-nothing"))[1]
        assert objects == []
    finally:
        site.state.engine.dispose()


def test_a_role_without_export_gets_no_file_in_any_format(sqlite_demo, tmp_path):
    site = make_site(
        sqlite_demo, tmp_path / "instance", role="viewer", TABLES={"orders": {"roles": {"viewer": ["view"]}}}
    )
    try:
        for kind in FORMATS:
            response = site.get(site.url("orders", f"export/{kind}"))
            assert response.status_code == 302 and "Content-Disposition" not in response.headers
        assert "/export/" not in site.text(site.url("orders"))
    finally:
        site.state.engine.dispose()


def test_every_table_of_the_hostile_schema_exports_in_every_format(tmp_path):
    """Hostile names and every column type SQLite keeps: each format answers, parses and has
    the rows the CSV has (SQLite only, for time: the same walk passed on all three dialects)."""
    url = f"sqlite:///{tmp_path}/hostile.db"
    create_hostile_schema(url)
    site = site_on(url, tmp_path / "instance")
    try:
        for table_id in site.state.views:
            counts = {}
            for kind in FORMATS:
                response = site.get(site.url(table_id, f"export/{kind}"))
                assert response.status_code == 200, (table_id, kind)
                counts[kind] = len(_read(kind, response.get_data())[1])
            assert len(set(counts.values())) == 1, (table_id, counts)
    finally:
        site.state.engine.dispose()


def test_xlsx_cells_are_typed_and_exact(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    text, integer, number = Codec(kind="string"), Codec(kind="integer"), Codec(kind="decimal")
    values = [
        ("=1+2", 10**15, decimal.Decimal("12345678901234567.89")),  # too many digits for Excel: text
        ("-2+3", 2**31, decimal.Decimal("0.10")),
        ("a\x00b", None, decimal.Decimal("NaN")),
    ]
    limited = RowLimit(iter(values), 10)
    data = b"".join(xlsx_stream("t/[x]", ["a", "b", "c"], limited, [text, integer, number], "cut"))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.title == "t__x_"
    assert [sheet_name(n) for n in ("History", "'" * 3, "é" * 40)] == ["History_", "Sheet1", "é" * 31]
    got = [[(c.data_type, c.value) for c in row] for row in sheet.iter_rows(min_row=2)]
    assert got == [
        [("s", "=1+2"), ("s", str(10**15)), ("s", "12345678901234567.89")],
        [("s", "-2+3"), ("n", 2**31), ("n", 0.1)],
        [("s", "ab"), ("n", None), ("s", "NaN")],
    ]
    aware = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    old = dt.date(1850, 1, 1)
    limited = RowLimit(iter([(aware, old, dt.time(7, 30))]), 10)
    data = b"".join(xlsx_stream("t", ["a", "b", "c"], limited, [Codec(kind="datetime")] * 3, "cut"))
    row = next(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(min_row=2, values_only=True))
    assert row == (dt.datetime(2024, 5, 1, 10, 0), "1850-01-01", dt.time(7, 30))
    # The temporary file is gone after the download, and after one given up halfway.
    limited = RowLimit(iter([(str(n) * 3000,) for n in range(200)]), 1000)
    download = xlsx_stream("t", ["a"], limited, [text], "cut")
    next(download)
    assert list(tmp_path.iterdir())
    download.close()
    assert not list(tmp_path.iterdir())


def test_json_values_are_the_apis():
    """The export writes a row's values with the API's own function: a script reading both sees one format."""
    assert to_json is api_values.to_json
    expected = [
        ("integer", 2**70, 2**70),  # exact: JSON numbers have no size limit
        ("integer", "12x", "12x"),  # text SQLite kept in an INTEGER column
        ("float", float("inf"), None),  # JSON has no infinity
        ("decimal", decimal.Decimal("12345678901234567890.123"), "12345678901234567890.123"),
        ("boolean", b"\x00", False),  # a one-bit BIT column as the MySQL driver reads it
        ("interval", dt.timedelta(days=-1, seconds=5), "-P0DT23H59M55S"),
        ("binary", b"\x00\xff", "AP8="),
        ("string", b"\xff", "\ufffd"),  # invalid UTF-8 in TEXT, readable
        ("datetime", "0000-00-00", "0000-00-00"),  # a MySQL zero date, as stored
    ]
    for kind, value, json_value in expected:
        assert to_json(Codec(kind=kind), value) == json_value, (kind, value)
    # Text in a NUMERIC column (SQLite keeps it) is written as that text.
    assert to_json(Codec(kind="decimal"), "x") == "x"
    # Written as JSON text: unicode as it is, no NaN (null instead).
    limited = RowLimit(iter([("é", float("nan"), decimal.Decimal("1.10"))]), 5)
    codecs = [Codec(kind="text"), Codec(kind="float"), Codec(kind="decimal")]
    text = "".join(json_stream(["a", "b", "c"], limited, codecs, "cut", lines=True))
    assert text == '{"a":"é","b":null,"c":"1.10"}\n'.replace(":", ": ").replace(",", ", ")


# -- a million rows in constant memory ----------------------------------------------------------

MILLION = 1_000_000
# Run in a process of its own, so the peak resident memory it prints is the export's alone:
# one app, each format in turn (the peak after each, which only grows), to /dev/null.
#
# The peak is the process's VmHWM (Linux), not getrusage's ru_maxrss: that one keeps the high
# mark of the process before exec, which is the pytest worker that started it (200 MB and
# more after a few hundred tests), so it measured the worker rather than the export.
_EXPORT_SCRIPT = """
import resource, sys
from tests.apps import make_app, logged_in

def peak_kb():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

app = make_app(sys.argv[1], sys.argv[2], EXPORT_MAX_ROWS=2_000_000)
client = logged_in(app, "admin")
for kind in sys.argv[3:]:
    response = client.get("/admin/big/export/" + kind + "/")
    assert response.status_code == 200, response.status_code
    size = 0
    with open("/dev/null", "wb") as sink:
        for chunk in response.response:
            size += len(chunk)
            sink.write(chunk if isinstance(chunk, bytes) else chunk.encode())
    response.close()
    print(kind, size, peak_kb(), flush=True)
"""


def test_a_million_rows_export_in_json_and_xlsx_in_under_150_mb(tmp_path):
    """Issue 15's bound; the peak is the app's own at start (about 70 MB), whatever the rows.
    Two columns keep it cheap: XLSX costs about 20 s of CPU a million rows (XlsxWriter's)."""
    url = f"sqlite:///{tmp_path}/big.db"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT)")
        connection.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO big SELECT i, 'row ' || i FROM n",
            (MILLION,),
        )
    engine.dispose()
    done = subprocess.run(  # nosec B603 -- this interpreter, a fixed script, arguments of the test's own
        [sys.executable, "-c", _EXPORT_SCRIPT, url, str(tmp_path / "instance"), "json", "xlsx"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for line in done.stdout.splitlines():
        kind, size, max_rss_kb = line.split()
        assert int(size) > MILLION * 10, line
        assert int(max_rss_kb) < 150 * 1024, f"{kind}: {int(max_rss_kb) / 1024:.0f} MB"
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["json", "xlsx"]
