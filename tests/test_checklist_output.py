"""Cases 8-11, 13, 24 and 25 of shared/SECURITY-CHECKLIST.md: what the dashboard shows.

Stored values, database errors and request details reach pages only as escaped text;
URL-looking values never become links; exports are formula-safe; binary values download
as attachments; nothing of a table an operator may not open shows anywhere else. Run on
SQLite, PostgreSQL and MariaDB. Test names carry the case number.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from tests import schemas
from tests.checklist import filter_arg, row_ids, site_on
from tests.site import rows

#: Stored values (and column names) of the hostile schema that must never reach a page as markup.
MARKUP = [
    schemas.XSS_NAME,
    "<script>alert(2)</script>",
    "<img src=x onerror=alert(",
    '" onmouseover="alert(1)',
    '" onclick="alert(3)',
    "<b>g</b>",
    "<i>new</i>",
    "<i>img</i>",
    "<b>not bold</b>",
    "<boom>",
    "<b>x</b>",
]


@pytest.fixture(scope="module")
def reader(module_hostile_database_url, tmp_path_factory):
    site = site_on(module_hostile_database_url, tmp_path_factory.mktemp("reader"))
    yield site
    site.state.engine.dispose()


@pytest.fixture
def site(hostile_site):
    return hostile_site


def execute(url: str, statement: str, **params) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def assert_no_markup(page: str, where: str) -> None:
    for fragment in MARKUP:
        assert fragment not in page, (where, fragment)


# -- 8: stored XSS ---------------------------------------------------------------------------------


def test_8_stored_markup_is_text_in_lists_details_forms_and_foreign_key_labels(reader):
    pages = {
        "customer list": reader.url(schemas.CUSTOMERS),
        "customer details": reader.url(schemas.CUSTOMERS, "details", str(schemas.XSS_CUSTOMER_ID)),
        "customer edit": reader.url(schemas.CUSTOMERS, "edit", str(schemas.XSS_CUSTOMER_ID)),
        "order list (label)": reader.url(schemas.ORDER),
        "order details (label)": reader.url(schemas.ORDER, "details", "3"),
        "order edit (lookup)": reader.url(schemas.ORDER, "edit", "3"),
        "tag list": reader.url(schemas.TAGS),
        "customer tags (labels)": reader.url(schemas.CUSTOMER_TAGS),
        "log lines": reader.url(schemas.LOG_LINES),
        "json": reader.url(schemas.ALL_TYPES, "details", "1"),
    }
    for where, url in pages.items():
        assert_no_markup(reader.text(url), where)
    shown_text = f"{schemas.XSS_NAME} ({schemas.XSS_CUSTOMER_ID})"
    assert str(escape(shown_text)) in reader.text(reader.url(schemas.ORDER))
    lookup = re.search(r'data-json="([^"]*)"', reader.text(reader.url(schemas.ORDER, "edit", "3")))
    assert lookup and json.loads(html.unescape(lookup.group(1))) == [str(schemas.XSS_CUSTOMER_ID), shown_text]


def test_8_lookup_answers_json_data_that_no_browser_sniffs_as_html(reader):
    response = reader.get(reader.url(schemas.ORDER, "ajax/lookup") + "?name=customer_id&query=script")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_json() == [[str(schemas.XSS_CUSTOMER_ID), f"{schemas.XSS_NAME} ({schemas.XSS_CUSTOMER_ID})"]]


def test_8_flash_messages_escape_what_was_typed(reader):
    typed = "<script>alert(9)</script>"
    arg = filter_arg(reader, schemas.ORDER, "amount", "equals")
    page = reader.text(reader.url(schemas.ORDER) + f"?{arg}=%3Cscript%3Ealert(9)%3C/script%3E")
    assert typed not in page
    assert any(typed in flash for flash in reader.flashes(page))


def test_8_a_value_closing_its_textarea_stays_inside_it(site, hostile_database_url):
    hostile = "</textarea><b>out</b><textarea>"
    execute(
        hostile_database_url,
        f"UPDATE {_quoted(hostile_database_url, schemas.ALL_TYPES)} SET text_col = :v WHERE id = 1",
        v=hostile,
    )
    edit = site.text(site.url(schemas.ALL_TYPES, "edit", "1"))
    assert "<b>out</b>" not in edit
    assert site.form_values(site.url(schemas.ALL_TYPES, "edit", "1"))["text_col"] == hostile


def test_8_conflict_page_shows_both_versions_as_text(site):
    edit_url = site.url(schemas.TAGS, "edit", "3")
    mine, theirs = site.form_values(edit_url), site.form_values(edit_url)
    theirs["name"] = "<img src=x onerror=alert(10)>"
    assert site.post(edit_url, theirs).status_code == 302
    mine["name"] = "<svg onload=alert(11)>"
    page = site.post(edit_url, mine).get_data(as_text=True)
    assert "dashboard-conflict" in page
    assert "<img src=x" not in page and "<svg" not in page
    assert str(escape("<svg onload=alert(11)>")) in page


def _quoted(url: str, name: str) -> str:
    engine = sa.create_engine(url)
    try:
        return engine.dialect.identifier_preparer.quote(name)
    finally:
        engine.dispose()


# -- 9: URL-looking values ------------------------------------------------------------------------

#: Link targets a page may hold: paths on this site, fragments, queries, its own URL ("")
#: and the do-nothing link of Flask-Admin's menus.
# Site paths, fragments, the list's own arguments, and a row's details/edit link relative to its list.
SAFE_HREF = re.compile(r"^(/(?!/)|#|\?|$|javascript:void\(0\)$|(?:details|edit)/\?id=|import/$|deleted/$)")


def test_9_url_looking_values_are_never_links(reader):
    table = schemas.INJECTION_TABLE
    listing = reader.text(reader.url(table))
    for value in schemas.URL_LIKE_VALUES:
        assert str(escape(value)) in listing
    for url in (
        reader.url(table),
        reader.url(table, "details", "1"),
        reader.url(table, "details", "2"),
        reader.url(table, "edit", "1"),
    ):
        page = reader.text(url)
        targets = [html.unescape(h) for h in re.findall(r'(?<![\w-])(?:href|src|action|formaction)="([^"]*)"', page)]
        assert targets and [h for h in targets if not SAFE_HREF.match(h)] == [], url


# -- 10: database error text -----------------------------------------------------------------------

HOSTILE_CONSTRAINT = "<b>chk</b>"


def test_10_database_errors_are_shown_generic_and_logged_in_full(empty_database_url, tmp_path, caplog):
    engine = sa.create_engine(empty_database_url)
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, name VARCHAR(50) UNIQUE, "
            f"CONSTRAINT {quote(HOSTILE_CONSTRAINT)} CHECK (qty > 0))"
        )
        connection.exec_driver_sql("INSERT INTO items (id, qty, name) VALUES (1, 1, '<script>alert(12)</script>')")
    engine.dispose()
    site = site_on(empty_database_url, tmp_path, hostile=False)
    try:
        caplog.set_level(logging.WARNING)
        attempts = [
            ({"id": "2", "qty": "-1", "name": "fine"}, "CHECK constraint"),
            ({"id": "3", "qty": "5", "name": "<script>alert(12)</script>"}, "unique"),
        ]
        for data, said in attempts:
            page = site.post(site.url("items", "new"), data).get_data(as_text=True)
            flashes = site.flashes(page)
            assert any(said in flash for flash in flashes), flashes
            for leaked in (
                "INSERT",
                "[SQL",
                "parameters",
                "items_",
                "Key (",
                "Duplicate entry",
                "IntegrityError",
                HOSTILE_CONSTRAINT,
                "<script>alert(12)",
            ):
                assert not any(leaked in flash for flash in flashes), (leaked, flashes)
            assert HOSTILE_CONSTRAINT not in page
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "INSERT INTO" in logged and "items" in logged
        assert [row[0] for row in rows(empty_database_url, "items")] == [1]
    finally:
        site.state.engine.dispose()


# -- 11: reflection in error pages, debug off ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/admin/%3Cscript%3Ealert(1)%3C/script%3E/",
        "/admin/customers/%3Cscript%3E/",
        "/%3Cimg%20src=x%20onerror=alert(1)%3E",
        "/admin/customers/export/%3Cscript%3E/",
        "/admin/customers/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
    ],
)
def test_11_not_found_pages_do_not_reflect_the_path(reader, path):
    response = reader.client.get(path, follow_redirects=True)
    assert response.status_code in (200, 404)
    body = response.get_data(as_text=True)
    assert "<script>alert(1)" not in body and "<img src=x" not in body


def test_11_missing_records_and_login_do_not_reflect_arguments(reader):
    response = reader.get(reader.url(schemas.ORDER, "details", "<script>alert(13)</script>"))
    follow = reader.get(response.headers["Location"]).get_data(as_text=True)
    assert "alert(13)" not in follow
    login = reader.app.test_client().get("/login?next=%22%3E%3Cscript%3Ealert(14)%3C/script%3E")
    assert "<script>alert(14)" not in login.get_data(as_text=True)


def test_11_server_errors_show_no_traceback_sql_or_markup(reader, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("SELECT secret FROM users WHERE x = '<script>alert(15)</script>'")

    view = reader.state.views[schemas.TAGS]
    monkeypatch.setattr(view.store, "select", broken)
    monkeypatch.setitem(reader.app.config, "PROPAGATE_EXCEPTIONS", False)
    response = reader.get(reader.url(schemas.TAGS) + "?refresh=1&search=zz")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    for leaked in ("Traceback", "SELECT", "secret", "alert(15)", "RuntimeError", "views.py"):
        assert leaked not in body, leaked


@pytest.mark.parametrize("query", ["_trace=1", "debug=1", "__debugger__=yes&cmd=resource&f=debugger.js", "_debug=true"])
def test_11_debug_switches_do_nothing(reader, query):
    assert reader.app.debug is False
    response = reader.get(reader.url(schemas.TAGS) + "?" + query)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Werkzeug Debugger" not in body and "Traceback" not in body and "EVALEX" not in body
    assert row_ids(body) == ["1", "2", "3"]


# -- 13: export formula injection ------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil")',
    "-2+3+cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
    "-",
    "+",
    "@",
]


def test_13_export_neutralises_formulas_and_keeps_numbers(site, hostile_database_url):
    table = _quoted(hostile_database_url, schemas.TAGS)
    for number, formula in enumerate(FORMULAS, start=10):
        execute(hostile_database_url, f"INSERT INTO {table} (id, name) VALUES (:id, :name)", id=number, name=formula)
    response = site.get(site.url(schemas.TAGS, "export/csv"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    exported = {row[0]: row[1] for row in csv.reader(io.StringIO(response.get_data(as_text=True), newline=""))}
    for number, formula in enumerate(FORMULAS, start=10):
        assert exported[str(number)] == "'" + formula
    assert exported["3"] == "a,b" and exported["2"] == "<i>new</i>"

    orders = list(csv.reader(io.StringIO(site.get(site.url(schemas.ORDER, "export/csv")).get_data(as_text=True))))
    assert [row[3] for row in orders[1:]] == ["10.50", "0.01", "9999999999.99", "-3.00"]
    all_types = list(
        csv.reader(io.StringIO(site.get(site.url(schemas.ALL_TYPES, "export/csv")).get_data(as_text=True)))
    )
    header, first = all_types[0], all_types[1]
    assert first[header.index("integer_col")] == str(-(2**31))
    assert first[header.index("bigint_col")] == str(schemas.BIG_INTEGER)


# -- 24: files: downloads and paths ----------------------------------------------------------------


def test_24_binary_values_download_as_attachments_that_are_never_sniffed(reader):
    details = reader.text(reader.url(schemas.ALL_TYPES, "details", "1"))
    link = re.search(r'href="([^"]*download[^"]*)"', details)
    assert link
    response = reader.get(html.unescape(link.group(1)))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/octet-stream"
    assert response.data == schemas.ALL_TYPES_ROW["binary_col"]


@pytest.mark.parametrize(
    "query",
    [
        "column=../../etc/passwd&id=1",
        "column=binary_col&id=../1",
        "column=%2e%2e%2fbinary_col&id=1",
        "column=/etc/passwd&id=1",
        "column=binary_col&id=1%2F..%2F2",
        "column=password_hash&id=1",
        "column=text_col&id=1",
        "column=..\\binary_col&id=1",
    ],
)
def test_24_download_parameters_are_names_not_paths(reader, query):
    response = reader.get(reader.url(schemas.ALL_TYPES, "download") + "?" + query)
    assert response.status_code == 404
    assert b"root:" not in response.data and b"pbkdf2" not in response.data


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard-static/../app.py",
        "/dashboard-static/..%2fapp.py",
        "/dashboard-static/%2e%2e/app.py",
        "/dashboard-static/%2e%2e%2fapp.py",
        "/dashboard-static/..%5capp.py",
        "/dashboard-static//etc/passwd",
        "/dashboard-static/%2fetc%2fpasswd",
        "/admin/-/static/../../../etc/passwd",
        "/dashboard-static/../../pyproject.toml",
        "/dashboard-static-other/handlers.js",
    ],
)
def test_24_static_files_never_leave_their_folder(reader, path):
    response = reader.client.get(path, follow_redirects=True)  # "//" is redirected to "/" first
    assert response.status_code in (400, 404), response.status_code
    assert b"import" not in response.data and b"root:" not in response.data and b"[project]" not in response.data


def test_24_export_file_names_are_made_of_safe_characters(reader):
    for table in (schemas.WEIRD_TABLE, schemas.MARKUP_TABLE, schemas.INJECTION_TABLE):
        disposition = reader.get(reader.url(table, "export/csv")).headers["Content-Disposition"]
        name = re.fullmatch(r'attachment; filename="([A-Za-z0-9_.-]+)"', disposition)
        assert name and not name.group(1).startswith("."), disposition


# -- 25: metadata leaks ------------------------------------------------------------------------------


def test_25_foreign_keys_into_a_table_the_role_may_not_open_show_only_the_key(module_hostile_database_url, tmp_path):
    site = site_on(
        module_hostile_database_url, tmp_path, role="editor", TABLES={schemas.CUSTOMERS: {"roles": {"editor": []}}}
    )
    try:
        assert site.get(site.url(schemas.CUSTOMERS)).status_code == 403
        home = site.text("/admin/")
        assert f"/admin/{site.state.views[schemas.CUSTOMERS].info.url_path}/" not in home
        for url in (
            site.url(schemas.ORDER),
            site.url(schemas.ORDER, "details", "1"),
            site.url(schemas.ORDER, "edit", "1"),
            site.url(schemas.CUSTOMER_TAGS),
        ):
            page = site.text(url)
            assert "Alice" not in page and "/admin/customers/" not in page, url
        lookup = site.url(schemas.ORDER, "ajax/lookup") + "?name=customer_id&query="
        assert site.get(lookup + "ali").get_json() == []
        assert site.get(lookup).get_json() == []
        # Not even an exact key: "[1, 1]" for a row that exists and "[]" for one that
        # does not would tell which rows a table the role may not open holds.
        assert site.get(lookup + "1").get_json() == []
        assert site.get(lookup + "999").get_json() == []
    finally:
        site.state.engine.dispose()


def test_43_a_lookup_into_a_table_the_role_may_not_read_answers_nothing_and_reads_nothing(
    module_hostile_database_url, tmp_path
):
    site = site_on(
        module_hostile_database_url, tmp_path, role="viewer", TABLES={schemas.CUSTOMERS: {"roles": {"viewer": []}}}
    )
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(statement)

    engine = site.state.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        lookup = site.url(schemas.ORDER, "ajax/lookup") + "?name=customer_id&query="
        existing, missing = site.get(lookup + "1"), site.get(lookup + "999")
        assert (existing.status_code, existing.get_json()) == (200, [])
        assert (missing.status_code, missing.get_json()) == (200, [])
        assert existing.get_data() == missing.get_data()
        assert site.get(lookup + "ali").get_json() == []
        assert not [s for s in statements if schemas.CUSTOMERS in s], statements
        # The order's own pages still show the key it holds, without asking the customers table.
        statements.clear()
        edit = site.text(site.url(schemas.ORDER, "details", "1"))
        assert "Alice" not in edit
        assert not [s for s in statements if schemas.CUSTOMERS in s], statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        site.state.engine.dispose()


def test_25_a_hidden_display_column_is_not_shown_as_a_label(module_hostile_database_url, tmp_path):
    site = site_on(
        module_hostile_database_url, tmp_path, TABLES={schemas.CUSTOMERS: {"columns": {"name": {"hidden": True}}}}
    )
    try:
        assert "Alice" not in site.text(site.url(schemas.ORDER))
        lookup = site.get(site.url(schemas.ORDER, "ajax/lookup") + "?name=customer_id&query=1").get_json()
        assert lookup == [["1", "1"]]
    finally:
        site.state.engine.dispose()


def test_25_details_do_not_link_to_tables_the_role_may_not_open(module_hostile_database_url, tmp_path):
    site = site_on(
        module_hostile_database_url, tmp_path, role="viewer", TABLES={schemas.ORDER: {"roles": {"viewer": []}}}
    )
    try:
        details = site.text(site.url(schemas.CUSTOMERS, "details", "1"))
        assert "order (customer_id)" not in details and "/admin/order/" not in details
        assert "customer_tags (customer_id)" in details
    finally:
        site.state.engine.dispose()


def test_25_a_refused_delete_does_not_name_a_table_the_role_may_not_open(hostile_database_url, tmp_path):
    site = site_on(
        hostile_database_url,
        tmp_path,
        role="editor",
        TABLES={schemas.ORDER: {"roles": {"editor": []}}, schemas.CUSTOMER_TAGS: {"roles": {"editor": []}}},
    )
    try:
        response = site.post(
            site.url(schemas.CUSTOMERS, "action"),
            {"action": "delete", "rowid": ["1"]},
            token_from=site.url(schemas.CUSTOMERS),
            follow=True,
        )
        flashes = site.flashes(response.get_data(as_text=True))
        assert any("Nothing was deleted" in f and "Row 1 " in f for f in flashes), flashes
        assert not any("order" in f or "customer_tags" in f for f in flashes), flashes
        assert len(rows(hostile_database_url, schemas.CUSTOMERS)) == len(schemas.CUSTOMER_ROWS)
    finally:
        site.state.engine.dispose()
