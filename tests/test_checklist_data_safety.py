"""Cases 22, 26-33 and 37 of shared/SECURITY-CHECKLIST.md: nothing written that was not meant.

Posted fields the form does not offer are never written; unchanged values round-trip
byte for byte; a refused write changes nothing, keeps what was typed and says which field
and which row; the database enforces foreign keys and strict values; large values save;
work is bounded; a form sent twice saves once. Run on SQLite, PostgreSQL and MariaDB
(case 30 is SQLite's, case 31 MariaDB's). Test names carry the case number.
"""

from __future__ import annotations

import html
import re
import threading

import pytest
import sqlalchemy as sa
from markupsafe import escape
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url

from dashboard import statedb
from tests import schemas
from tests.checklist import multipart_post, row_ids, site_on
from tests.site import form_values as site_form
from tests.site import rows


@pytest.fixture
def site(hostile_site):
    return hostile_site


def create_tables(url: str, *tables: sa.Table) -> None:
    engine = sa.create_engine(url)
    try:
        tables[0].metadata.create_all(engine, tables=list(tables))
    finally:
        engine.dispose()


def insert(url: str, table: sa.Table, values: list[dict]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(table.insert(), values)
    finally:
        engine.dispose()


def raw_text(url: str, table: str, column: str, key: int) -> str | None:
    """A column's stored value as the database spells it (CAST to text), read outside the dashboard."""
    engine = sa.create_engine(url)
    try:
        relation = sa.Table(table, sa.MetaData(), autoload_with=engine)
        statement = sa.select(sa.cast(relation.c[column], sa.Text)).where(relation.c.id == key)
        with engine.connect() as connection:
            return connection.execute(statement).scalar_one()
    finally:
        engine.dispose()


# -- 22: fields the form does not offer are never written --------------------------------------


def test_22_posted_extra_and_key_fields_are_ignored_on_edit(site, hostile_database_url):
    edit_url = site.url(schemas.ORDER, "edit", "1")
    values = site.form_values(edit_url)
    values.update(
        {
            "group": "edited",
            "id": "99",
            "is_admin": "1",
            "created_at": "2000-01-01",
            "__key0": "2",
            "list_form_pk": "2",
            "rowid": "2",
        }
    )
    assert site.post(edit_url, values).status_code == 302
    stored = {row[0]: row for row in rows(hostile_database_url, schemas.ORDER, "id")}
    assert sorted(stored) == [1, 2, 3, 4]
    assert stored[1][2] == "edited" and stored[2][2] == "y"


def test_22_posted_id_is_ignored_on_create_of_a_generated_key(site, hostile_database_url):
    assert site.post(site.url(schemas.TAGS, "new"), {"id": "99", "name": "posted id"}).status_code == 302
    created = [row for row in rows(hostile_database_url, schemas.TAGS, "id") if row[1] == "posted id"]
    assert len(created) == 1 and created[0][0] != 99


def test_22_read_only_columns_are_enforced_on_the_server(hostile_database_url, tmp_path):
    site = site_on(hostile_database_url, tmp_path, TABLES={schemas.ORDER: {"columns": {"group": {"read_only": True}}}})
    try:
        edit_url = site.url(schemas.ORDER, "edit", "1")
        values = site.form_values(edit_url)
        assert "group" not in values
        values.update({"group": "forged", "amount": "11.00"})
        assert site.post(edit_url, values).status_code == 302
        site.post(site.url(schemas.ORDER, "new"), {"customer_id": "1", "amount": "1.00", "group": "forged"})
        stored = rows(hostile_database_url, schemas.ORDER, "id")
        assert stored[0][2] == "x" and str(stored[0][3]) == "11.00"
        assert "forged" not in {row[2] for row in stored}
    finally:
        site.state.engine.dispose()


def test_22_generated_columns_are_never_written(empty_database_url, tmp_path):
    metadata = sa.MetaData()
    items = sa.Table(
        "items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("qty", sa.Integer),
        sa.Column("double", sa.Integer, sa.Computed("qty * 2", persisted=True)),
    )
    create_tables(empty_database_url, items)
    insert(empty_database_url, items, [{"id": 1, "qty": 2}])
    site = site_on(empty_database_url, tmp_path, hostile=False)
    try:
        edit_url = site.url("items", "edit", "1")
        values = site.form_values(edit_url)
        assert "double" not in values
        values.update({"qty": "5", "double": "999"})
        assert site.post(edit_url, values).status_code == 302
        assert site.post(site.url("items", "new"), {"id": "2", "qty": "1", "double": "999"}).status_code == 302
        assert rows(empty_database_url, "items", "id") == [(1, 5, 10), (2, 1, 2)]
    finally:
        site.state.engine.dispose()


# -- 26: concurrent edits --------------------------------------------------------------------------


def test_26_saving_a_row_deleted_meanwhile_does_not_bring_it_back(site, hostile_database_url):
    edit_url = site.url(schemas.ORDER, "edit", "2")
    mine = site.form_values(edit_url)
    assert (
        site.post(site.url(schemas.ORDER, "delete"), {"id": "2"}, token_from=site.url(schemas.ORDER)).status_code == 302
    )
    mine["group"] = "resurrected"
    response = site.post(edit_url, mine, token_from=site.url(schemas.ORDER), follow=True)
    assert any(
        "changed by someone else" in flash or "does not exist" in flash
        for flash in site.flashes(response.get_data(as_text=True))
    )
    assert [row[0] for row in rows(hostile_database_url, schemas.ORDER, "id")] == [1, 3, 4]


def test_26_there_is_no_inline_edit_route_around_the_check(site, hostile_database_url):
    response = site.post(
        site.url(schemas.TAGS, "ajax/update"),
        {"list_form_pk": "1", "name": "inline"},
        token_from=site.url(schemas.TAGS),
    )
    assert response.status_code in (403, 404)
    assert dict(rows(hostile_database_url, schemas.TAGS))[1] == "vip"


# -- 44: a concurrency guard the client can leave out -----------------------------------------------


@pytest.mark.parametrize(
    "sent", [None, "", "0" * 63, "not a fingerprint at all, but 64 characters long, padded with x"]
)
def test_44_an_edit_without_a_valid_fingerprint_saves_nothing_and_keeps_what_was_typed(
    site, hostile_database_url, sent
):
    edit_url = site.url(schemas.ORDER, "edit", "1")
    before = rows(hostile_database_url, schemas.ORDER, "id")
    mine = site.form_values(edit_url)
    assert len(mine.pop("fingerprint")) == 64
    if sent is not None:
        mine["fingerprint"] = sent
    mine["group"] = "typed without a fingerprint"
    response = site.post(edit_url, mine)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert any("Nothing was saved" in f and "which version of the row" in f for f in site.flashes(page))
    assert rows(hostile_database_url, schemas.ORDER, "id") == before
    shown = site_form(page)
    assert shown["group"] == "typed without a fingerprint"
    # Shown beside the row as it is now; the form now carries that row's fingerprint, so
    # saving again, with the current values in view, goes through.
    assert "Your values beside the row as it is now" in page
    assert len(shown["fingerprint"]) == 64
    assert site.post(edit_url, shown).status_code == 302
    assert "typed without a fingerprint" in rows(hostile_database_url, schemas.ORDER, "id")[0]


def test_44_an_edit_without_a_fingerprint_is_a_failed_audit_entry(site, hostile_database_url):
    edit_url = site.url(schemas.ORDER, "edit", "1")
    mine = site.form_values(edit_url)
    del mine["fingerprint"]
    mine["group"] = "blind overwrite"
    site.post(edit_url, mine)
    [entry] = statedb.get_store(site.app).audit_entries({}, limit=10)
    assert (entry["action"], entry["outcome"], entry["row_key"]) == ("edit", "failed", "1")
    assert "which version of the row" in entry["message"]
    assert entry["changes"]["group"]["new"] == "blind overwrite"


# -- 27: unchanged values round-trip exactly ----------------------------------------------------


def test_27_trailing_spaces_and_empty_text_survive_an_edit_of_another_column(site, hostile_database_url):
    before = rows(hostile_database_url, schemas.CUSTOMERS, "id")
    edit_url = site.url(schemas.CUSTOMERS, "edit", "5")
    values = site.form_values(edit_url)
    values["name"] = "Zoë again"
    assert site.post(edit_url, values).status_code == 302
    after = rows(hostile_database_url, schemas.CUSTOMERS, "id")
    assert after[4][1] == "Zoë again"
    assert after[4][2:] == before[4][2:]
    assert "" in after[4] and " leading and trailing " in after[4] and None in after[4]
    assert after[:4] == before[:4]


def test_27_json_text_keeps_its_key_order_and_spacing(site, hostile_database_url, dialect):
    spelled = '{"z": 1,  "a": [1, 2], "m": {"b": null, "a": "<x>"}}'
    table = site.state.engine.dialect.identifier_preparer.quote(schemas.ALL_TYPES)
    value = "CAST(:v AS json)" if dialect == "postgresql" else ":v"  # PostgreSQL's json keeps the text as given
    engine = sa.create_engine(hostile_database_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {table} SET json_col = {value} WHERE id = 1"), {"v": spelled})
    engine.dispose()
    edit_url = site.url(schemas.ALL_TYPES, "edit", "1")
    values = site.form_values(edit_url)
    values["string_col"] = "changed"
    assert site.post(edit_url, values).status_code == 302
    assert raw_text(hostile_database_url, schemas.ALL_TYPES, "json_col", 1) == spelled


def test_27_an_edited_json_value_keeps_the_order_it_was_typed_in(site, hostile_database_url):
    edit_url = site.url(schemas.ALL_TYPES, "edit", "1")
    values = site.form_values(edit_url)
    values["json_col"] = '{"z": 1, "a": 2, "ü": "ö"}'
    assert site.post(edit_url, values).status_code == 302
    assert site.form_values(edit_url)["json_col"] == '{"z": 1, "a": 2, "ü": "ö"}'


@pytest.mark.parametrize("dialect", ["mariadb"], indirect=True)  # zero dates exist only on MySQL/MariaDB
def test_27_mariadb_zero_dates_survive_an_edit_of_another_column(hostile_database_url, tmp_path, dialect):
    engine = sa.create_engine(hostile_database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("SET SESSION sql_mode = ''"))
        connection.execute(sa.text("UPDATE all_types SET date_col = '0000-00-00' WHERE id = 1"))
    engine.dispose()
    site = site_on(hostile_database_url, tmp_path)
    try:
        edit_url = site.url(schemas.ALL_TYPES, "edit", "1")
        values = site.form_values(edit_url)
        values["string_col"] = "changed"
        assert site.post(edit_url, values).status_code == 302
        assert raw_text(hostile_database_url, schemas.ALL_TYPES, "date_col", 1) == "0000-00-00"
    finally:
        site.state.engine.dispose()


# -- 28: bulk delete is all or nothing, and says why ----------------------------------------------


def test_28_a_selection_with_a_row_gone_deletes_nothing_and_names_the_rows_gone(site, hostile_database_url):
    before = rows(hostile_database_url, schemas.ORDER, "id")
    assert [row[0] for row in before] == [1, 2, 3, 4]
    # Row 3 is deleted meanwhile (by another operator, in another tab); 999 never was.
    assert (
        site.post(site.url(schemas.ORDER, "delete"), {"id": "3"}, token_from=site.url(schemas.ORDER)).status_code == 302
    )
    response = site.post(
        site.url(schemas.ORDER, "action"),
        {"action": "delete", "rowid": ["1", "3", "4", "999"]},
        token_from=site.url(schemas.ORDER),
        follow=True,
    )
    flashes = site.flashes(response.get_data(as_text=True))
    assert "Nothing was deleted: the selected rows 3, 999 no longer exist. Reload the list and select again." in flashes
    assert not [f for f in flashes if "successfully deleted" in f]
    assert [row[0] for row in rows(hostile_database_url, schemas.ORDER, "id")] == [1, 2, 4]
    entry = statedb.get_store(site.app).audit_entries({"action": "bulk_delete"}, limit=10)[0]
    assert entry["outcome"] == "failed" and "3, 999" in entry["message"]
    # One row gone is named in the singular; the same row chosen twice is one row, deleted.
    response = site.post(
        site.url(schemas.ORDER, "action"),
        {"action": "delete", "rowid": ["2", "3"]},
        token_from=site.url(schemas.ORDER),
        follow=True,
    )
    assert (
        "Nothing was deleted: the selected row 3 no longer exists. Reload the list and select again."
        in site.flashes(response.get_data(as_text=True))
    )
    response = site.post(
        site.url(schemas.ORDER, "action"),
        {"action": "delete", "rowid": ["2", "2"]},
        token_from=site.url(schemas.ORDER),
        follow=True,
    )
    assert "Record was successfully deleted." in site.flashes(response.get_data(as_text=True))
    assert [row[0] for row in rows(hostile_database_url, schemas.ORDER, "id")] == [1, 4]


def test_28_a_refused_delete_names_the_row_and_the_foreign_key(site, hostile_database_url):
    before = rows(hostile_database_url, schemas.CUSTOMERS, "id")
    response = site.post(
        site.url(schemas.CUSTOMERS, "action"),
        {"action": "delete", "rowid": ["5", "4", "1"]},
        token_from=site.url(schemas.CUSTOMERS),
        follow=True,
    )
    [flash] = [f for f in site.flashes(response.get_data(as_text=True)) if "Nothing was deleted" in f]
    assert re.search(
        r"Row [14] is still referred to by a row of (order|customer_tags) \(customer_id\), "
        r"through the foreign key \S",
        flash,
    ), flash
    assert rows(hostile_database_url, schemas.CUSTOMERS, "id") == before
    single = site.post(site.url(schemas.TAGS, "delete"), {"id": "1"}, token_from=site.url(schemas.TAGS), follow=True)
    assert any(
        "Row 1 is still referred to by a row of customer_tags (tag_id)" in f
        for f in site.flashes(single.get_data(as_text=True))
    )
    assert len(rows(hostile_database_url, schemas.TAGS)) == 3
    chain = site.post(
        site.url(schemas.EMPLOYEES, "action"),
        {"action": "delete", "rowid": ["3", "1"]},
        token_from=site.url(schemas.EMPLOYEES),
        follow=True,
    )
    assert any(
        "Row 1 is still referred to by a row of employees (manager_id)" in f
        for f in site.flashes(chain.get_data(as_text=True))
    )
    assert len(rows(hostile_database_url, schemas.EMPLOYEES)) == 3


def test_28_a_constraint_name_with_markup_is_shown_as_text(empty_database_url, tmp_path):
    engine = sa.create_engine(empty_database_url)
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql(
            f"CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER, CONSTRAINT "
            f"{quote('<i>fk</i>')} FOREIGN KEY (parent_id) REFERENCES parent (id))"
        )
        connection.exec_driver_sql("INSERT INTO parent (id) VALUES (1), (2)")
        connection.exec_driver_sql("INSERT INTO child (id, parent_id) VALUES (1, 2)")
    engine.dispose()
    site = site_on(empty_database_url, tmp_path, hostile=False)
    try:
        response = site.post(
            site.url("parent", "action"),
            {"action": "delete", "rowid": ["1", "2"]},
            token_from=site.url("parent"),
            follow=True,
        )
        page = response.get_data(as_text=True)
        assert "<i>fk</i>" not in page
        assert str(escape("through the foreign key <i>fk</i>")) in page
        assert [row[0] for row in rows(empty_database_url, "parent", "id")] == [1, 2]
    finally:
        site.state.engine.dispose()


def test_28_bulk_delete_asks_with_the_number_of_selected_rows(site):
    page = site.text(site.url(schemas.CUSTOMERS))
    confirmation = re.search(r'id="actions-confirmation-data"[^>]*>(.*?)</div>', page, re.DOTALL)
    assert confirmation and "{count} selected record(s)" in confirmation.group(1)


# -- 29: constraint violations keep the input ----------------------------------------------------


@pytest.fixture
def constrained(empty_database_url, tmp_path):
    """``items`` with a UNIQUE code of at most 10 characters, a NOT NULL checked quantity and a foreign key."""
    metadata = sa.MetaData()
    parents = sa.Table("parents", metadata, sa.Column("id", sa.Integer, primary_key=True))
    items = sa.Table(
        "items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(10), nullable=False, unique=True),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.ForeignKey("parents.id")),
        sa.CheckConstraint("qty >= 0", name="qty_not_negative"),
    )
    create_tables(empty_database_url, parents, items)
    # Numbered by the database, whose sequences then know them.
    insert(empty_database_url, parents, [{}])
    for code, qty, parent in [("taken", 1, 1), ("other", 2, None)]:
        insert(empty_database_url, items, [{"code": code, "qty": qty, "parent_id": parent}])
    site = site_on(empty_database_url, tmp_path, hostile=False)
    yield site, empty_database_url
    site.state.engine.dispose()


VALID = {"code": "fresh", "qty": "3", "parent_id": "1"}


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"code": "taken"}, "code", "Another row already has this value"),
        ({"parent_id": "999"}, "parent_id", "No row of the referenced table has this value"),
        ({"qty": "-1"}, None, "CHECK constraint"),
        ({"qty": ""}, "qty", "This field is required"),
        ({"code": "eleven chars"}, "code", "At most 10 characters"),
    ],
)
def test_29_refused_create_keeps_the_input_and_says_which_field(constrained, change, field, message):
    site, url = constrained
    before = rows(url, "items", "id")
    typed = {**VALID, **change}
    response = site.post(site.url("items", "new"), typed)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    kept = _form(page)
    assert {name: kept.get(name) for name in typed} == typed
    if field is None:
        assert any(message in flash for flash in site.flashes(page))
    else:
        assert message in _field_errors(page, field), page
    assert rows(url, "items", "id") == before
    assert site.get(site.url("items")).status_code == 200
    assert site.post(site.url("items", "new"), {**VALID, "code": "second"}).status_code == 302
    assert [row[1] for row in rows(url, "items", "id")] == ["taken", "other", "second"]


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"code": "taken"}, "code", "Another row already has this value"),
        ({"parent_id": "999"}, "parent_id", "No row of the referenced table has this value"),
        ({"qty": "-5"}, None, "CHECK constraint"),
    ],
)
def test_29_refused_edit_keeps_the_input_and_says_which_field(constrained, change, field, message):
    site, url = constrained
    before = rows(url, "items", "id")
    edit_url = site.url("items", "edit", "2")
    values = {**site.form_values(edit_url), **change}
    page = site.post(edit_url, values).get_data(as_text=True)
    assert _form(page)[next(iter(change))] == next(iter(change.values()))
    if field is None:
        assert any(message in flash for flash in site.flashes(page))
    else:
        assert message in _field_errors(page, field)
    assert rows(url, "items", "id") == before
    assert site.get(site.url("items")).status_code == 200


def _form(page: str) -> dict[str, str]:
    from tests.site import form_values

    return form_values(page)


def _field_errors(page: str, field: str) -> str:
    """The text of the error block Flask-Admin draws under ``field``."""
    match = re.search(
        r'name="' + re.escape(field) + r'".*?(<[^>]*invalid-feedback.*?</div>|<ul[^>]*input-errors.*?</ul>)',
        page,
        re.DOTALL,
    )
    return match.group(1) if match else ""


# -- 30: SQLite enforces foreign keys -----------------------------------------------------------


# The pragma is SQLite's; the other databases always enforce foreign keys.
@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_30_every_sqlite_connection_enforces_foreign_keys(hostile_database_url, tmp_path, dialect):
    site = site_on(hostile_database_url, tmp_path)
    try:
        engine = site.state.engine
        connections = [engine.connect() for _ in range(3)]
        try:
            assert [c.exec_driver_sql("PRAGMA foreign_keys").scalar() for c in connections] == [1, 1, 1]
        finally:
            for connection in connections:
                connection.close()
        before = rows(hostile_database_url, schemas.CUSTOMERS, "id")
        site.post(site.url(schemas.CUSTOMERS, "delete"), {"id": "1"}, token_from=site.url(schemas.CUSTOMERS))
        assert rows(hostile_database_url, schemas.CUSTOMERS, "id") == before
    finally:
        site.state.engine.dispose()


# -- 31: MariaDB strict mode ------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["mariadb"], indirect=True)  # sql_mode is MySQL/MariaDB's
def test_31_mariadb_session_is_strict_even_when_the_server_is_not(empty_database_url, tmp_path, dialect):
    metadata = sa.MetaData()
    notes = sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("body", sa.Text),
        sa.Column("short", sa.String(5)),
        sa.Column("day", sa.Date),
    )
    create_tables(empty_database_url, notes)
    insert(empty_database_url, notes, [{"id": 1, "body": "kept", "short": "abc"}])
    # Every connection starts non-strict, as on a server configured that way.
    lenient = make_url(empty_database_url).update_query_dict({"init_command": "SET SESSION sql_mode=''"})
    site = site_on(lenient.render_as_string(hide_password=False), tmp_path, hostile=False)
    try:
        with site.state.engine.connect() as connection:
            assert "STRICT_ALL_TABLES" in connection.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
            for statement in (
                "UPDATE notes SET short = 'too long' WHERE id = 1",
                "UPDATE notes SET day = '2024-02-30' WHERE id = 1",
                "UPDATE notes SET day = '0000-00-00' WHERE id = 1",
            ):
                with pytest.raises(sa.exc.DBAPIError):
                    connection.exec_driver_sql(statement)
                connection.rollback()
        edit_url = site.url("notes", "edit", "1")
        values = site.form_values(edit_url)
        values["body"] = "x" * 70_000  # TEXT holds 65,535 bytes; a lenient server would cut it
        page = multipart_post(site, edit_url, values).get_data(as_text=True)
        assert any("too long" in flash for flash in site.flashes(page))
        assert rows(empty_database_url, "notes") == [(1, "kept", "abc", None)]
    finally:
        site.state.engine.dispose()


# -- 32: very large values ----------------------------------------------------------------------------


@pytest.fixture
def large(empty_database_url, tmp_path):
    metadata = sa.MetaData()
    long_text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
    blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
    notes = sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("title", sa.String(50)),
        sa.Column("body", long_text),
        sa.Column("meta", sa.JSON),
        sa.Column("data", blob),
    )
    create_tables(empty_database_url, notes)
    insert(
        empty_database_url,
        notes,
        [{"id": 1, "title": "first", "body": "short", "meta": {"a": 1}, "data": bytes(range(256)) * 8192}],
    )
    site = site_on(empty_database_url, tmp_path, hostile=False)
    yield site, empty_database_url
    site.state.engine.dispose()


def test_32_a_600_kb_text_edit_saves(large):
    site, url = large
    edit_url = site.url("notes", "edit", "1")
    values = site.form_values(edit_url)
    values["body"] = "ü" * 300_000  # 600 kB of UTF-8: over Werkzeug's 500 kB default per field
    response = multipart_post(site, edit_url, values)
    assert response.status_code == 302, site.flashes(response.get_data(as_text=True))
    assert rows(url, "notes")[0][2] == "ü" * 300_000


def test_32_a_form_over_the_limit_is_refused_with_a_message(large):
    site, url = large
    site.app.config["FORM_MAX_BYTES"] = 100_000
    edit_url = site.url("notes", "edit", "1")
    values = site.form_values(edit_url)
    values["body"] = "y" * 200_000
    response = multipart_post(site, edit_url, values)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page and "Back" in page
    assert rows(url, "notes")[0][2] == "short"


def test_32_a_one_megabyte_json_saves_and_the_list_stays_small(large):
    site, _url = large
    edit_url = site.url("notes", "edit", "1")
    values = site.form_values(edit_url)
    values[site.state.views["notes"].info.column("meta").key] = (
        '{"items": [' + ", ".join(f'"{n:08d}"' for n in range(100_000)) + "]}"
    )
    values["body"] = "word " * 120_000
    assert multipart_post(site, edit_url, values).status_code == 302
    listing = site.text(site.url("notes"))
    assert len(listing) < 100_000
    assert row_ids(listing) == ["1"]
    details = site.text(site.url("notes", "details", "1"))
    assert "00099999" in details


def test_32_binary_values_download_whole_as_attachments(large):
    site, _url = large
    link = re.search(r'href="([^"]*download[^"]*)"', site.text(site.url("notes", "details", "1")))
    response = site.get(html.unescape(link.group(1)))
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.data == bytes(range(256)) * 8192


def test_32_a_table_of_200_columns_lists_a_few_and_edits_any(empty_database_url, tmp_path):
    metadata = sa.MetaData()
    wide = sa.Table(
        "wide",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        # MariaDB keeps a row of 200 VARCHARs within 8 kB only as TEXT (stored apart).
        *(sa.Column(f"c{n:03d}", sa.String(20).with_variant(mysql.TEXT(), "mysql", "mariadb")) for n in range(200)),
    )
    create_tables(empty_database_url, wide)
    insert(empty_database_url, wide, [{"id": 1, **{f"c{n:03d}": f"v{n}" for n in range(200)}}])
    site = site_on(empty_database_url, tmp_path, hostile=False)
    try:
        listing = site.text(site.url("wide"))
        assert len(re.findall(r'<td class="col-c\d{3}', listing)) <= 15
        assert "v199" in site.text(site.url("wide", "details", "1"))
        edit_url = site.url("wide", "edit", "1")
        values = site.form_values(edit_url)
        values["c150"] = "edited"
        assert multipart_post(site, edit_url, values).status_code == 302
        stored = rows(empty_database_url, "wide")[0]
        assert stored[151] == "edited" and stored[1:151] == tuple(f"v{n}" for n in range(150))
    finally:
        site.state.engine.dispose()


# -- 33: unbounded work --------------------------------------------------------------------------------

_SLOW_VIEWS = {
    "sqlite": "CREATE VIEW slow AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
    "SELECT max(i) AS total FROM n",
    "postgresql": "CREATE VIEW slow AS SELECT 1 AS total FROM pg_sleep(5)",
    "mariadb": "CREATE VIEW slow AS SELECT SLEEP(5) AS total",
}


def test_33_a_query_over_the_statement_timeout_is_cancelled_with_a_message(empty_database_url, tmp_path, dialect):
    engine = sa.create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(_SLOW_VIEWS[dialect])
        connection.exec_driver_sql("CREATE TABLE fine (id INTEGER PRIMARY KEY)")
    engine.dispose()
    site = site_on(empty_database_url, tmp_path, hostile=False, STATEMENT_TIMEOUT_MS=300)
    try:
        page = site.get(site.url("slow"))
        assert page.status_code == 200
        assert any("took too long and was cancelled" in f for f in site.flashes(page.get_data(as_text=True)))
        assert site.get(site.url("fine")).status_code == 200
    finally:
        site.state.engine.dispose()


def test_33_exports_stop_at_the_row_limit(site):
    site.state.views[schemas.TEXT_KEYS_TABLE].export_max_rows = 3
    export = site.get(site.url(schemas.TEXT_KEYS_TABLE, "export/csv")).get_data(as_text=True)
    lines = export.strip().splitlines()
    # The header, three rows, and the line saying the file was cut there.
    assert len(lines) == 1 + 3 + 1
    assert lines[-1].startswith("Export cut at 3 rows")


def test_33_deep_pages_answer_empty(site):
    for page in ("100000", "10000000", "99999999999"):
        response = site.get(site.url(schemas.ORDER) + f"?page={page}")
        assert response.status_code == 200 and row_ids(response.get_data(as_text=True)) == []


# -- 37: a form sent twice saves once ------------------------------------------------------------------


def test_37_the_same_create_form_sent_twice_creates_one_row(site, hostile_database_url):
    new_url = site.url(schemas.TAGS, "new")
    values = site.form_values(new_url)
    assert values.get("submission_token")
    values["name"] = "double click"
    first = site.post(new_url, values)
    second = site.post(new_url, values)
    assert first.status_code == second.status_code == 302
    followed = site.get(second.headers["Location"]).get_data(as_text=True)
    assert any("already sent" in f for f in site.flashes(followed))
    assert [row[1] for row in rows(hostile_database_url, schemas.TAGS, "id")].count("double click") == 1
    again = site.form_values(new_url)
    assert again["submission_token"] != values["submission_token"]
    again["name"] = "next one"
    assert site.post(new_url, again).status_code == 302
    assert len(rows(hostile_database_url, schemas.TAGS)) == 5


def test_37_two_workers_receiving_the_same_form_at_once_create_one_row(site, hostile_database_url):
    new_url = site.url(schemas.TAGS, "new")
    values = {**site.form_values(new_url), "name": "raced", "csrf_token": site.token(new_url)}
    clients = [site.client, site.app.test_client()]
    clients[1].set_cookie("session", site.client.get_cookie("session").value)
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send(client) -> None:
        start.wait()
        statuses.append(client.post(new_url, data=values).status_code)

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302, 302]
    assert [row[1] for row in rows(hostile_database_url, schemas.TAGS, "id")].count("raced") == 1


def test_37_a_refused_form_can_be_corrected_and_sent_again(site, hostile_database_url):
    new_url = site.url(schemas.TAGS, "new")
    values = {**site.form_values(new_url), "name": "vip"}  # taken: refused
    page = site.post(new_url, values).get_data(as_text=True)
    assert _form(page)["submission_token"] == values["submission_token"]
    values["name"] = "corrected"
    assert site.post(new_url, values).status_code == 302
    assert [row[1] for row in rows(hostile_database_url, schemas.TAGS, "id")].count("corrected") == 1
