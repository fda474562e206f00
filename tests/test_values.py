"""Values a column's declared type does not promise (case 42 of shared/SECURITY-CHECKLIST.md).

Integers past the column's range typed into forms, filters, keys, lookups and prefills;
JSON nested thousands deep, stored or typed; SQLite TEXT holding bytes that are not
UTF-8; text in an SQLite INTEGER column reaching a CSV export. Each gets a field error or
a readable, marked placeholder, never a server error, and a placeholder is never written
back unless the operator changed it. On SQLite, PostgreSQL and MariaDB where the database
can hold the value.
"""

from __future__ import annotations

import csv
import io
import json
import typing as t

import pytest
import sqlalchemy as sa

from tests.checklist import filter_arg, row_ids
from tests.databases import make_database
from tests.site import Site, form_values, make_site, rows

DEEP = "[" * 5000 + "]" * 5000
# SQLite's INTEGER is 64 bits whatever it is called; PostgreSQL and MariaDB have 16, 32 and
# 64-bit types. (largest value the column holds, the first value it does not)
BOUNDS: dict[str, dict[str, tuple[int, int]]] = {
    "sqlite": {"small": (2**63 - 1, 2**63), "regular": (2**63 - 1, 2**63), "big": (2**63 - 1, 2**63)},
    "postgresql": {"small": (32767, 32768), "regular": (2**31 - 1, 2**31), "big": (2**63 - 1, 2**63)},
    "mariadb": {"small": (32767, 32768), "regular": (2**31 - 1, 2**31), "big": (2**63 - 1, 2**63)},
}
COLUMNS = ("small", "regular", "big")

metadata = sa.MetaData()
parents = sa.Table("parents", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50)))
# A referenced table without a text column: its lookup parses what is typed as a key.
bare_keys = sa.Table("bare_keys", metadata, sa.Column("id", sa.Integer, primary_key=True))
numbers = sa.Table(
    "numbers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("small", sa.SmallInteger),
    sa.Column("regular", sa.Integer),
    sa.Column("big", sa.BigInteger),
    sa.Column("parent_id", sa.ForeignKey("parents.id")),
    sa.Column("key_id", sa.ForeignKey("bare_keys.id")),
    sa.Column("label", sa.String(50)),
    sa.Column("price", sa.Numeric(5, 2)),
    sa.Column("ratio", sa.REAL),
)
docs = sa.Table(
    "docs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("label", sa.String(50)),
    sa.Column("doc", sa.JSON),
)


def _create(url: str, dialect: str) -> None:
    engine = sa.create_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            # Keys numbered by the database (1, 2, 3), whose sequences then know them.
            connection.execute(parents.insert(), [{"name": "first"}])
            connection.execute(
                bare_keys.insert().values(id=sa.null()) if dialect == "mariadb" else bare_keys.insert().values({})
            )
            connection.execute(
                numbers.insert(), [{"small": 1, "regular": 1, "big": 1, "parent_id": 1, "key_id": 1, "label": "one"}]
            )
            connection.execute(docs.insert(), [{"label": "shallow", "doc": {"a": 1}}])
            if dialect != "mariadb":
                # MariaDB's JSON is checked by JSON_VALID, which refuses more than 32 levels.
                cast = "CAST(:doc AS JSON)" if dialect == "postgresql" else ":doc"
                connection.execute(sa.text(f"INSERT INTO docs (label, doc) VALUES ('deep', {cast})"), {"doc": DEEP})
            if dialect == "sqlite":
                connection.execute(sa.text("INSERT INTO docs (label, doc) VALUES ('broken', 'not json {')"))
                connection.exec_driver_sql("CREATE TABLE texts (id INTEGER PRIMARY KEY, t TEXT, n INTEGER)")
                # TEXT holding bytes that are not UTF-8, and an INTEGER column holding text.
                connection.exec_driver_sql("INSERT INTO texts VALUES (1, CAST(x'41ff42' AS TEXT), 5)")
                connection.exec_driver_sql(
                    "INSERT INTO texts VALUES (2, ?, ?)", ("\x00=SUM(1)", '=HYPERLINK("http://evil.example","x")')
                )
                connection.exec_driver_sql("INSERT INTO texts VALUES (3, '-2+3', -5)")
                # Text where the declared type promises a date, a time, a number.
                connection.exec_driver_sql(
                    "CREATE TABLE odd (id INTEGER PRIMARY KEY, d DATE, dt DATETIME, tm TIME, "
                    "n NUMERIC(10, 2), r REAL, label TEXT)"
                )
                connection.exec_driver_sql(
                    "INSERT INTO odd VALUES (1, 'not a date', 'garbage', 'noon', 'xyz', 'abc', 'odd')"
                )
                connection.exec_driver_sql(
                    "INSERT INTO odd VALUES (2, '2024-02-29', '2024-02-29 10:11:12', '10:11:12', 12.5, 1.5, 'even')"
                )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def values_url(dialect: str) -> t.Iterator[str]:
    with make_database(dialect) as url:
        _create(url, dialect)
        yield url


@pytest.fixture(scope="module")
def site(values_url: str, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Site]:
    site = make_site(values_url, tmp_path_factory.mktemp("values"))
    yield site
    site.state.engine.dispose()


def _field_error(page: str, field: str) -> str:
    import re

    match = re.search(
        r'name="' + re.escape(field) + r'".*?(<[^>]*invalid-feedback.*?</div>|<ul[^>]*input-errors.*?</ul>)',
        page,
        re.DOTALL,
    )
    return match.group(1) if match else ""


def _value(url: str, table: sa.Table, column: str, key: int) -> t.Any:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.select(table.c[column]).where(table.c.id == key)).scalar_one_or_none()
    finally:
        engine.dispose()


def _ids(url: str, table: sa.Table) -> list[int]:
    """The keys of ``table``'s rows (its other columns may hold what a plain read cannot decode)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())
    finally:
        engine.dispose()


def _raw(url: str, sql: str) -> t.Any:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(sql).scalar_one()
    finally:
        engine.dispose()


# -- integers past the column's range ----------------------------------------------------------


@pytest.mark.parametrize("column", COLUMNS)
def test_an_integer_past_the_column_range_typed_into_a_create_form_is_a_field_error(site, values_url, dialect, column):
    largest, too_big = BOUNDS[dialect][column]
    before = rows(values_url, "numbers", "id")
    for typed in (too_big, -too_big - 1, 10**30):
        response = site.post(site.url("numbers", "new"), {column: str(typed), "label": "past"})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Enter a whole number from" in _field_error(page, column), typed
        assert form_values(page)[column] == str(typed)  # what was typed comes back
    assert rows(values_url, "numbers", "id") == before
    # The bounds are the database's own: its largest and smallest values save.
    for typed in (largest, -largest - 1):
        assert site.post(site.url("numbers", "new"), {column: str(typed), "label": "edge"}).status_code == 302
    index = list(numbers.c.keys()).index(column)
    assert {largest, -largest - 1} <= {row[index] for row in rows(values_url, "numbers")}


def test_an_integer_past_the_column_range_typed_into_an_edit_form_is_a_field_error(site, values_url, dialect):
    _largest, too_big = BOUNDS[dialect]["regular"]
    edit_url = site.url("numbers", "edit", "1")
    values = {**site.form_values(edit_url), "regular": str(too_big), "label": "changed"}
    page = site.post(edit_url, values).get_data(as_text=True)
    assert "Enter a whole number from" in _field_error(page, "regular")
    assert (_value(values_url, numbers, "regular", 1), _value(values_url, numbers, "label", 1)) == (1, "one")


@pytest.mark.parametrize("column", COLUMNS)
def test_an_integer_filter_past_the_column_range_is_an_invalid_filter(site, dialect, column):
    _largest, too_big = BOUNDS[dialect][column]
    for operation in ("equals", "greater than", "smaller than"):
        argument = filter_arg(site, "numbers", column, operation)
        for typed in (too_big, -too_big - 1):
            response = site.get(f"{site.url('numbers')}?{argument}={typed}")
            assert response.status_code == 200, (operation, typed)
            assert any(f"Invalid Filter Value: {typed}" in f for f in site.flashes(response.get_data(as_text=True)))
    # A value in range still filters.
    page = site.text(f"{site.url('numbers')}?{filter_arg(site, 'numbers', column, 'equals')}=1")
    assert row_ids(page) == ["1"]


@pytest.mark.parametrize(
    "column, typed", [("price", "12345678.9"), ("price", "1e400"), ("ratio", "1e300"), ("ratio", "1e400")]
)
def test_a_number_filter_past_the_column_range_finds_nothing_and_says_why(site, column, typed):
    for operation in ("equals", "greater than"):
        response = site.get(f"{site.url('numbers')}?{filter_arg(site, 'numbers', column, operation)}={typed}&refresh=1")
        assert response.status_code == 200, (operation, typed)
        page = response.get_data(as_text=True)
        flashes = site.flashes(page)
        # Refused where typed (an infinite number), refused by the database and said so
        # (PostgreSQL casts the value to the column's type: numeric field overflow), or
        # compared, matching no row.
        refused = any(f"Invalid Filter Value: {typed}" in f for f in flashes)
        out_of_range = any("A filter or search value is out of range for its column" in f for f in flashes)
        assert refused or row_ids(page) == [], (operation, typed, flashes)
        assert not out_of_range or row_ids(page) == []


def test_keys_past_the_range_find_no_row(site, values_url, dialect):
    _largest, too_big = BOUNDS[dialect]["regular"]
    for page in ("details", "edit"):
        response = site.client.get(site.url("numbers", page, str(too_big)), follow_redirects=True)
        assert response.status_code == 200
        assert "Record does not exist." in site.flashes(response.get_data(as_text=True))
    before = rows(values_url, "numbers", "id")
    response = site.post(
        site.url("numbers", "action"),
        {"action": "delete", "rowid": [str(too_big), "1"]},
        token_from=site.url("numbers"),
        follow=True,
    )
    assert response.status_code == 200
    assert not any("successfully deleted" in f for f in site.flashes(response.get_data(as_text=True)))
    assert rows(values_url, "numbers", "id") == before


def test_lookups_and_prefills_past_the_range_answer_nothing(site, dialect):
    _largest, too_big = BOUNDS[dialect]["regular"]
    lookup = f"{site.url('numbers')}ajax/lookup/?name=key_id&query="
    response = site.get(lookup + str(too_big))
    assert (response.status_code, response.get_json()) == (200, [])
    assert site.get(lookup + "1").get_json() == [["1", "1"]]
    assert site.get(f"{site.url('numbers')}ajax/lookup/?name=parent_id&query={too_big}").status_code == 200
    page = site.text(f"{site.url('numbers', 'new')}?key_id={too_big}&parent_id={too_big}")
    assert (form_values(page)["key_id"], form_values(page)["parent_id"]) == ("", "")
    assert form_values(site.text(f"{site.url('numbers', 'new')}?key_id=1"))["key_id"] == "1"


# -- JSON nested thousands deep ------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"], indirect=True)
def test_a_stored_json_nested_5000_deep_is_shown_as_marked_text(site, values_url, dialect):
    list_page = site.text(site.url("docs"))
    assert "not readable as JSON" in list_page and "[[[[[[" in list_page
    details = site.text(site.url("docs", "details", "2"))
    assert "not readable as JSON" in details and DEEP[:2000] in details
    edit_url = site.url("docs", "edit", "2")
    edit = site.text(edit_url)
    assert "nested too deep or is not JSON" in edit
    assert form_values(edit)["doc"] == DEEP
    # Saving another column leaves the document as it was stored.
    assert site.post(edit_url, {**form_values(edit), "label": "deep, renamed"}).status_code == 302
    assert _value(values_url, docs, "label", 2) == "deep, renamed"
    assert _raw(values_url, "SELECT CAST(doc AS TEXT) FROM docs WHERE id = 2") == DEEP


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_stored_text_that_is_not_json_is_shown_as_marked_text(site, values_url, dialect):
    assert "not readable as JSON" in site.text(site.url("docs", "details", "3"))
    edit_url = site.url("docs", "edit", "3")
    assert site.post(edit_url, {**site.form_values(edit_url), "label": "still broken"}).status_code == 302
    assert _raw(values_url, "SELECT doc FROM docs WHERE id = 3") == "not json {"


def test_json_nested_5000_deep_typed_into_a_form_is_a_field_error(site, values_url, dialect):
    before = _ids(values_url, docs)
    # Balanced, unbalanced (the parser's own recursion), and alternating arrays and objects.
    for typed in (DEEP, "[" * 5000, '{"a": [' * 129 + "1" + "]}" * 129):
        response = site.post(site.url("docs", "new"), {"label": "typed deep", "doc": typed})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        if dialect == "mariadb":
            # MariaDB's JSON is LONGTEXT checked by JSON_VALID: the dashboard edits it as text,
            # and the database's refusal is named.
            assert any("not allowed by a CHECK constraint" in f for f in site.flashes(page))
        else:
            assert "JSON nested more than 256 levels deep is not accepted." in _field_error(page, "doc")
    assert _ids(values_url, docs) == before
    if dialect != "mariadb":
        # As deep as accepted: saved.
        edge = '{"a": [' * 128 + "1" + "]}" * 128
        assert site.post(site.url("docs", "new"), {"label": "typed 256 deep", "doc": edge}).status_code == 302
    nested = "[" * 20 + "1" + "]" * 20
    assert site.post(site.url("docs", "new"), {"label": "typed 20 deep", "doc": nested}).status_code == 302
    assert json.dumps(
        json.loads(
            _raw(
                values_url,
                "SELECT CAST(doc AS CHAR) FROM docs WHERE label = 'typed 20 deep'"
                if dialect == "mariadb"
                else "SELECT CAST(doc AS TEXT) FROM docs WHERE label = 'typed 20 deep'",
            )
        )
    ) == json.dumps(json.loads(nested))


# -- SQLite: TEXT that is not UTF-8, text in an INTEGER column -------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_sqlite_text_that_is_not_utf8_is_shown_marked_and_kept(site, values_url, dialect):
    list_page = site.text(site.url("texts"))
    assert "A\ufffdB" in list_page and "not valid UTF-8" in list_page
    assert "not valid UTF-8" in site.text(site.url("texts", "details", "1"))
    edit_url = site.url("texts", "edit", "1")
    edit = site.text(edit_url)
    assert form_values(edit)["t"] == "A\ufffdB" and "is not valid UTF-8" in edit
    # Another column saved: the stored bytes are not replaced by what the page showed.
    assert site.post(edit_url, {**form_values(edit), "n": "6"}).status_code == 302
    assert (
        _raw(values_url, "SELECT hex(t) FROM texts WHERE id = 1"),
        _raw(values_url, "SELECT n FROM texts WHERE id = 1"),
    ) == ("41FF42", 6)
    export = site.get(f"{site.url('texts')}export/csv/")
    assert export.status_code == 200
    assert ["1", "A\ufffdB", "6"] in list(csv.reader(io.StringIO(export.get_data(as_text=True))))


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_the_csv_formula_guard_looks_at_the_value_not_the_declared_type(site, dialect):
    export = site.get(f"{site.url('texts')}export/csv/")
    assert export.status_code == 200
    body = export.get_data(as_text=True)
    assert "\x00" not in body
    by_id = {row[0]: row for row in csv.reader(io.StringIO(body))}
    # Text in the INTEGER column n, a NUL before a formula in the TEXT column t.
    assert by_id["2"][1:] == ["'=SUM(1)", '\'=HYPERLINK("http://evil.example","x")']
    # Numbers stay numbers; text that looks like a formula does not.
    assert by_id["3"][1:] == ["'-2+3", "-5"]


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_sqlite_text_where_a_date_or_number_is_declared_is_shown_as_stored_and_kept(site, values_url, dialect):
    stored = ["not a date", "garbage", "noon", "xyz", "abc"]
    list_page = site.text(site.url("odd"))
    assert all(text in list_page for text in stored)
    assert "2024" in list_page  # the well-formed row is read as dates and numbers
    assert all(text in site.text(site.url("odd", "details", "1")) for text in stored)
    edit_url = site.url("odd", "edit", "1")
    values = site.form_values(edit_url)
    assert [values[name] for name in ("d", "dt", "tm", "n", "r")] == stored
    assert site.post(edit_url, {**values, "label": "still odd"}).status_code == 302
    assert _raw(
        values_url, "SELECT d || '|' || dt || '|' || tm || '|' || n || '|' || r || '|' || label FROM odd WHERE id = 1"
    ) == "|".join([*stored, "still odd"])
    export = site.get(f"{site.url('odd')}export/csv/")
    assert export.status_code == 200
    assert ["1", *stored, "still odd"] in list(csv.reader(io.StringIO(export.get_data(as_text=True))))
