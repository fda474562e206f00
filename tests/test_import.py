"""A table's Import page (dashboard/web/import_page.py): upload, preview mapped with every row's
refusals, then insert or upsert by key in one transaction, all or none, audited.

One hostile-schema site per module and dialect; the tests that write touch rows no other test
reads. Only the writes run on every dialect; the rest on SQLite.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import html
import io
import json
import re
import typing as t
from collections.abc import Iterator

import pytest
import xlsxwriter

from dashboard import clock, statedb
from dashboard.db.importing import json_stream
from dashboard.db.importing.readers import cell_text, open_source
from dashboard.site_state import current_site
from dashboard.web import import_files
from tests import schemas
from tests.apps import csrf_token, logged_in, make_app
from tests.checklist import site_on
from tests.site import Site, rows

SQLITE_ONLY = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def site(module_hostile_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An admin's session on this module's own hostile database (its tests write distinct rows)."""
    site = site_on(module_hostile_database_url, tmp_path_factory.mktemp("import"))
    yield site
    site.state.engine.dispose()


def import_url(site: Site, table: str) -> str:
    return site.url(table, "import")


def token(site: Site) -> str:
    """The session's CSRF token, read from a page once (kept on the client): it lasts as long as the session."""
    if not hasattr(site.client, "import_csrf_token"):
        site.client.import_csrf_token = site.token(site.url(schemas.TAGS, "import"))
    return t.cast(str, site.client.import_csrf_token)


def upload(site: Site, table: str, content: bytes, filename: str = "data.csv", client: t.Any = None) -> t.Any:
    """Send ``content`` from the upload form; the answer is not followed."""
    client = client or site.client
    data = {"file": (io.BytesIO(content), filename)}
    if client is site.client:
        data["csrf_token"] = token(site)
    return client.post(import_url(site, table), data=data, content_type="multipart/form-data")


def preview(site: Site, table: str, content: bytes, filename: str = "data.csv") -> str:
    """Upload ``content`` and open the preview the upload leads to."""
    sent = upload(site, table, content, filename)
    assert sent.status_code == 303, sent.get_data(as_text=True)
    return site.text(sent.headers["Location"])


def preview_form(page: str) -> dict[str, str]:
    """The preview form's fields as the browser sends them (the mapping selects, mode, key)."""
    form = re.search(r'<form method="POST"[^>]*id="dashboard-import-form".*?</form>', page, re.S)
    assert form, page
    found = {"upload": re.search(r'name="upload" value="([^"]*)"', form.group(0)).group(1)}
    for name, body in re.findall(r'<select[^>]*name="([^"]*)"[^>]*>(.*?)</select>', form.group(0), re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        found[html.unescape(name)] = html.unescape(chosen.group(1)) if chosen else ""
    mode = re.search(r'name="mode" value="([^"]*)"[^>]*checked', form.group(0))
    found["mode"] = mode.group(1) if mode else "insert"
    return found


def submit(site: Site, table: str, fields: dict[str, str], step: str = "write") -> t.Any:
    data = {**fields, "step": step, "csrf_token": token(site)}
    return site.client.post(import_url(site, table), data=data)


def error_lines(page: str) -> list[str]:
    found = re.search(r'class="mb-0 dashboard-import-error-list">(.*?)</ul>', page, re.S)
    return [html.unescape(line) for line in re.findall(r"<li>(.*?)</li>", found.group(1))] if found else []


def alert(page: str) -> str:
    found = re.search(r'class="alert alert-danger dashboard-import-error"[^>]*>(.*?)</div>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def import_entries(site: Site) -> list[dict[str, t.Any]]:
    return [e for e in statedb.get_store(site.app).audit_entries({"action": "import"}, limit=100)]


def csv_bytes(header: t.Sequence[str], body: t.Sequence[t.Sequence[t.Any]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *body])
    return text.getvalue().encode()


# -- preview --------------------------------------------------------------------------------
@SQLITE_ONLY
def test_the_preview_shows_the_first_rows_mapped_and_every_refused_value(site):
    body = [[f"Person {i}", f"p{i}@example.com", i] for i in range(1, 501)]
    body[16][0] = "n" * 101  # longer than the column takes
    body[249][1] = "x" * 201 + "@example.com"  # longer than the column takes
    body[479][2] = "many"  # "order" is an integer column
    page = preview(site, schemas.CUSTOMERS, csv_bytes(["Name", "E-mail", "ORDER"], body))
    assert error_lines(page) == [
        "Row 17, name: At most 100 characters (you typed 101).",
        "Row 250, email: At most 200 characters (you typed 213).",
        "Row 480, order: Enter a whole number.",
    ]
    assert "3 values or rows are refused" in page
    assert preview_form(page)["map-0"] == "name" and preview_form(page)["map-1"] == "email"
    assert preview_form(page)["map-2"] == site.state.views[schemas.CUSTOMERS].info.column("order").key
    assert page.count("@example.com</td>") == 20  # the first 20 rows
    assert "500 rows" in page and "dashboard-import-write" not in page  # nothing to write while refused


@SQLITE_ONLY
def test_hostile_column_names_and_values_in_the_preview_are_text(site):
    names = list(schemas.HOSTILE_COLUMNS)
    page = preview(
        site, schemas.CUSTOMERS, csv_bytes(["name", *names], [["<script>alert(1)</script>", *range(len(names))]])
    )
    assert "<img src=x" not in page and "<script>alert(1)" not in page and 'onmouseover="alert' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    mapped = preview_form(page)
    view = site.state.views[schemas.CUSTOMERS]
    assert [mapped[f"map-{i}"] for i in range(1, len(names) + 1)] == [view.info.column(n).key for n in names]


def xlsx_bytes(header: t.Sequence[str], body: t.Sequence[t.Sequence[t.Any]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for index, row in enumerate([header, *body]):
        sheet.write_row(index, 0, row)
    book.close()
    return buffer.getvalue()


@SQLITE_ONLY
@pytest.mark.parametrize("kind", ["xlsx", "json", "jsonl"])
def test_xlsx_and_json_files_are_previewed_and_imported(site, kind):
    names = [f"{kind}-tag-{i}" for i in range(3)]
    if kind == "xlsx":
        content, filename = xlsx_bytes(["Name"], [[n] for n in names]), "tags.xlsx"
    elif kind == "json":
        content, filename = json.dumps([{"name": n} for n in names]).encode(), "tags.json"
    else:
        content, filename = "\n".join(json.dumps({"name": n}) for n in names).encode(), "tags.jsonl"
    page = preview(site, schemas.TAGS, content, filename)
    assert all(f'<td class="">{n}</td>' in page for n in names), page
    assert f"· {kind.upper()}" in html.unescape(page)
    done = submit(site, schemas.TAGS, preview_form(page))
    assert done.status_code == 302, alert(done.get_data(as_text=True))
    listed = {row[1] for row in rows(site.state.engine.url.render_as_string(hide_password=False), schemas.TAGS)}
    assert set(names) <= listed


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"name\n", "header.csv", "The file has a header but no rows."),
        (b"\x00\x01\x02binary", "blob.csv", "The file is not text"),
        (b"name\nAl\xe9\n", "latin1.csv", "not UTF-8 text"),
        (b"PK\x03\x04broken zip", "broken.xlsx", "not a readable XLSX workbook"),
        (b"not a zip", "fake.xlsx", "not a readable XLSX workbook"),
        (b"[1, 2]", "numbers.json", "not a JSON object"),
        (b'[{"name": "a"}, ', "cut.json", "not valid JSON"),
        (b"just text", "text.json", "The file is not JSON"),
    ],
)
def test_a_file_that_cannot_be_imported_is_a_clear_message(site, content, filename, message):
    sent = upload(site, schemas.TAGS, content, filename)
    assert sent.status_code == 400
    assert message in alert(sent.get_data(as_text=True))


# -- rights -----------------------------------------------------------------------------------
@SQLITE_ONLY
def test_a_viewer_is_offered_no_import_and_refused_one(site):
    viewer = logged_in(site.app, "viewer", "import-viewer")
    assert 'href="import/"' not in viewer.get(site.url(schemas.TAGS)).get_data(as_text=True)
    assert 'href="import/"' in site.text(site.url(schemas.TAGS))
    assert viewer.get(import_url(site, schemas.TAGS)).status_code == 403
    sent = viewer.post(
        import_url(site, schemas.TAGS),
        data={"file": (io.BytesIO(b"name\nviewer-tag\n"), "a.csv"), "csrf_token": csrf_token(viewer, "/admin/")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 403
    entry = import_entries(site)[0]
    assert (entry["username"], entry["outcome"]) == ("import-viewer", "failed")


@SQLITE_ONLY
def test_read_only_mode_offers_and_takes_no_import(site, tmp_path):
    app = make_app(site.state.engine.url.render_as_string(hide_password=False), tmp_path, READ_ONLY=True)
    client = logged_in(app, "admin", "import-ro")
    assert 'href="import/"' not in client.get(site.url(schemas.TAGS)).get_data(as_text=True)
    answer = client.get(import_url(site, schemas.TAGS))
    assert answer.status_code == 403 and "read-only" in answer.get_data(as_text=True)
    current_site(app).engine.dispose()


@SQLITE_ONLY
def test_every_post_needs_the_csrf_token(site):
    page = preview(site, schemas.TAGS, b"name\ncsrf-tag\n")
    without = site.client.post(import_url(site, schemas.TAGS), data={**preview_form(page), "step": "write"})
    assert without.status_code == 400
    sent = site.client.post(
        import_url(site, schemas.TAGS),
        data={"file": (io.BytesIO(b"name\ncsrf-tag\n"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 400
    assert "csrf-tag" not in {
        r[1] for r in rows(site.state.engine.url.render_as_string(hide_password=False), schemas.TAGS)
    }


@SQLITE_ONLY
def test_an_upload_is_its_operators_only_and_goes_when_stale(site):
    page = preview(site, schemas.TAGS, b"name\nother-tag\n")
    upload_id = preview_form(page)["upload"]
    other = logged_in(site.app, "admin", "import-other")
    assert other.get(import_url(site, schemas.TAGS) + f"?upload={upload_id}").status_code == 404
    assert site.client.get(import_url(site, schemas.TAGS) + "?upload=../../secret_key").status_code == 404
    clock.set_clock(site.app, lambda: 4_000_000_000.0)  # far past IMPORT_KEEP_SECONDS
    try:
        upload(site, schemas.TAGS, b"name\nlater-tag\n")
    finally:
        site.app.extensions.pop(clock.EXTENSION_KEY)
    assert site.client.get(import_url(site, schemas.TAGS) + f"?upload={upload_id}").status_code == 404


@SQLITE_ONLY
def test_a_preview_written_twice_is_imported_once(site):
    fields = preview_form(preview(site, schemas.TAGS, b"name\ntwice-tag\n"))
    assert submit(site, schemas.TAGS, fields).status_code == 302
    again = submit(site, schemas.TAGS, fields)
    assert again.status_code == 404 and "no longer here" in alert(again.get_data(as_text=True))
    url = site.state.engine.url.render_as_string(hide_password=False)
    assert [r[1] for r in rows(url, schemas.TAGS)].count("twice-tag") == 1


@SQLITE_ONLY
def test_a_file_over_the_size_cap_is_refused_with_the_setting_named(site):
    site.app.config["IMPORT_MAX_BYTES"] = 100
    try:
        sent = upload(site, schemas.TAGS, b"name\n" + b"x" * 200 + b"\n")
    finally:
        site.app.config["IMPORT_MAX_BYTES"] = 256 * 1024 * 1024
    assert sent.status_code == 413 and "IMPORT_MAX_BYTES" in alert(sent.get_data(as_text=True))


# -- writes -----------------------------------------------------------------------------------
@SQLITE_ONLY
def test_changing_the_mapping_changes_what_is_written(site):
    page = preview(site, schemas.TEXT_KEYS_TABLE, csv_bytes(["code", "Caption"], [["map-1", "from caption"]]))
    fields = preview_form(page)
    assert fields["map-1"] == ""  # "Caption" names no column: ignored unless mapped
    fields["map-1"] = site.state.views[schemas.TEXT_KEYS_TABLE].info.column("label").key
    assert submit(site, schemas.TEXT_KEYS_TABLE, fields).status_code == 302
    url = site.state.engine.url.render_as_string(hide_password=False)
    assert ("map-1", "from caption") in rows(url, schemas.TEXT_KEYS_TABLE)


def test_an_insert_refused_at_one_row_writes_nothing_and_names_the_row(site):
    url = site.state.engine.url.render_as_string(hide_password=False)
    before = rows(url, schemas.ORDER)
    body = [[1, "import-a", "1.50"], [999_999, "import-b", "2.50"], [1, "import-c", "3.50"]]
    page = preview(site, schemas.ORDER, csv_bytes(["customer_id", "group", "amount"], body))
    assert not error_lines(page)
    fields = preview_form(page)
    refused = submit(site, schemas.ORDER, fields)
    assert refused.status_code == 200
    assert alert(refused.get_data(as_text=True)) == (
        "Nothing was imported: the database refused a row. "
        "Row 2, customer_id: No row of the referenced table has this value."
    )
    assert rows(url, schemas.ORDER) == before
    entry = import_entries(site)[0]
    assert entry["outcome"] == "failed" and entry["table_id"] == schemas.ORDER
    assert submit(site, schemas.ORDER, fields, step="preview").status_code == 200  # the file is kept for a retry


def test_an_upsert_by_key_updates_the_rows_it_finds_and_inserts_the_others(site):
    url = site.state.engine.url.render_as_string(hide_password=False)
    existing = schemas.TEXT_KEYS[1]
    body = [[existing, "updated by import"], ["upsert/new,1%", "inserted by import"]]
    fields = preview_form(preview(site, schemas.TEXT_KEYS_TABLE, csv_bytes(["code", "label"], body)))
    fields.update(mode="upsert", key=site.state.views[schemas.TEXT_KEYS_TABLE].info.column("code").key)
    done = submit(site, schemas.TEXT_KEYS_TABLE, fields)
    assert done.status_code == 302, alert(done.get_data(as_text=True))
    listing = site.client.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 row inserted, 1 row updated" in html.unescape(listing)
    assert "inserted by import" in listing  # the listing was read afresh
    found = dict(rows(url, schemas.TEXT_KEYS_TABLE))
    assert found[existing] == "updated by import" and found["upsert/new,1%"] == "inserted by import"
    entry = import_entries(site)[0]
    assert entry["outcome"] == "ok" and "1 inserted, 1 updated" in entry["message"]


# -- reading files (no database) ----------------------------------------------------------------
def test_csv_files_are_read_whatever_their_delimiter_and_encoding(tmp_path):
    semicolons = tmp_path / "semi.csv"
    semicolons.write_bytes(codecs.BOM_UTF8 + "Name;Price\nÄpfel;1,50\n".encode())
    source = open_source(semicolons)
    assert source.columns == ("Name", "Price") and [r.cells for r in source.rows()] == [("Äpfel", "1,50")]
    wide = tmp_path / "wide.csv"
    wide.write_bytes("a\tb\n1\t2\n".encode("utf-16"))
    assert [r.cells for r in open_source(wide).rows()] == [("1", "2")]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1\n1,2,3\n")
    assert [(r.cells, bool(r.problem)) for r in open_source(ragged).rows()] == [
        (("1", None), False),
        (("1", "2"), True),
    ]


def test_a_json_array_is_read_item_by_item_across_any_chunk_boundary(tmp_path, monkeypatch):
    monkeypatch.setattr(json_stream, "_CHUNK", 3)
    items = [{"n": 12345, "s": "a, ] b", "deep": {"x": [1, 2]}}, {"n": -0.5}, {}]
    path = tmp_path / "a.json"
    path.write_text(" [ " + " ,\n ".join(json.dumps(item) for item in items) + " ] \n")
    with path.open() as file:
        assert list(json_stream.array_items(file)) == items
    for broken in ('[{"a": 1} {"b": 2}]', '[{"a": 1},', "[1] [2]", '{"a": 1}'):
        path.write_text(broken)
        with path.open() as file, pytest.raises(json_stream.JSONStreamError):
            list(json_stream.array_items(file))


def test_spreadsheet_values_become_the_text_the_codecs_parse():
    assert [cell_text(v) for v in (3.0, 2.5, True, dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 1, 8, 30))] == [
        "3",
        "2.5",
        "true",
        "2024-05-01",
        "2024-05-01 08:30:00",
    ]


def test_one_request_at_a_time_holds_an_upload(tmp_path):
    path = tmp_path / "abc.upload"
    path.write_text("name\nx\n")
    upload = import_files.Upload("abc", path, "x.csv", "csv", "tags")
    with import_files.claimed(upload) as held:
        assert held.path.read_text() == "name\nx\n" and not path.exists()
        with pytest.raises(import_files.UploadTaken), import_files.claimed(upload):
            pass
    assert path.read_text() == "name\nx\n"  # given back for another try
