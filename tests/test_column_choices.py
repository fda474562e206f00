"""The list's "Columns" chooser (dashboard/web/column_choices.py) on every dialect: a choice
shows exactly its columns in its order, for its operator alone (also through the shared cache
of whole list pages), follows the operator to another session, resets, refuses what is not a
column of the list without storing anything, and skips a column that has left the database."""

from __future__ import annotations

import html
import re
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from dashboard import statedb
from dashboard.web.table_base import MAX_LIST_COLUMNS
from tests.apps import csrf_token, logged_in, login, make_app

HOSTILE_COLUMN = 'we"ird <col>'
TABLES = {
    "items": {"columns": {"hidden_note": {"hidden": True}}},
    "makers": {"roles": {"viewer": []}},
}
ITEM_COLUMNS = ["id", "maker_id", "title", "status", HOSTILE_COLUMN, "gone", "hidden_note", "api_token"]
DEFAULTS = ["id", "maker_id", "title", "status", HOSTILE_COLUMN, "gone"]
WIDE_COLUMNS = 70


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    engine = sa.create_engine(empty_database_url)
    metadata = sa.MetaData()
    makers = sa.Table(
        "makers", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50))
    )
    items = sa.Table(
        "items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("maker_id", sa.Integer, sa.ForeignKey("makers.id")),
        sa.Column("title", sa.String(40)),
        sa.Column("status", sa.String(20)),
        sa.Column(HOSTILE_COLUMN, sa.String(30)),
        sa.Column("gone", sa.String(10)),
        sa.Column("hidden_note", sa.String(20)),
        sa.Column("api_token", sa.String(20)),
    )
    wide = sa.Table(
        "wide",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        *[sa.Column(f"c{n}", sa.Integer) for n in range(1, WIDE_COLUMNS)],
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(makers.insert(), [{"id": 1, "name": "Acme <Tools>"}, {"id": 2, "name": "Bolt"}])
        connection.execute(
            items.insert(),
            [
                {
                    "id": n,
                    "maker_id": 1 + n % 2,
                    "title": f"title {chr(ord('z') - n)}",
                    "status": ("new", "used")[n % 2],
                    HOSTILE_COLUMN: "<b>x</b>",
                    "gone": f"g{n}",
                    "hidden_note": f"secret note {n}",
                    "api_token": f"tok{n}",
                }
                for n in range(1, 6)
            ],
        )
        connection.execute(wide.insert(), [{"id": 1, **{f"c{n}": n for n in range(1, WIDE_COLUMNS)}}])
    engine.dispose()
    return empty_database_url


@pytest.fixture
def app(database_url: str, tmp_path: t.Any) -> t.Iterator[Flask]:
    app = make_app(database_url, tmp_path / "instance", TABLES=TABLES)
    app.config["PROPAGATE_EXCEPTIONS"] = True
    yield app
    _dispose(app)


def _dispose(app: Flask) -> None:
    from dashboard.site_state import current_site

    current_site(app).engine.dispose()


def headers(page: str) -> list[str]:
    """The list's column headers as the operator reads them."""
    cells = re.findall(r'<th class="column-header[^"]*">(.*?)</th>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


def first_cells(page: str) -> list[str]:
    """The first row's cells under the column headers, as text."""
    row = re.search(r"<tbody>\s*<tr[^>]*>(.*?)</tr>", page, re.S)
    assert row, "no row"
    cells = re.findall(r'<td class="col-[^"]*"[^>]*>(.*?)</td>', row.group(1), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


def list_page(client: FlaskClient, table: str = "items", query: str = "") -> str:
    response = client.get(f"/admin/{table}/{query}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def save(client: FlaskClient, columns: list[str], table: str = "items", **extra: t.Any) -> t.Any:
    data = {"columns": columns, "csrf_token": csrf_token(client, f"/admin/{table}/"), **extra}
    return client.post(f"/admin/{table}/columns", data=data)


def stored(app: Flask) -> list[tuple[t.Any, ...]]:
    """Every saved choice in the state database."""
    choices = statedb.column_choices
    with statedb.get_store(app).engine.connect() as connection:
        rows = connection.execute(sa.select(choices.c.username, choices.c.table_id, choices.c.columns))
        return [tuple(row) for row in rows]


def test_a_choice_shows_its_columns_in_its_order_to_its_operator_alone(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    bob = logged_in(app, "admin", "bob")
    viewer = logged_in(app, "viewer", "vera")
    # Bob's page is kept in the shared page cache before Alice chooses.
    assert headers(list_page(bob)) == DEFAULTS
    chosen = ["title", HOSTILE_COLUMN, "id"]
    response = save(alice, chosen)
    assert response.status_code == 200, response.get_data(as_text=True)
    for _ in range(2):  # drawn, then from the page cache
        page = list_page(alice)
        assert headers(page) == chosen
        assert first_cells(page) == ["title y", "<b>x</b>", "1"]
        assert headers(list_page(bob)) == DEFAULTS
        assert headers(list_page(viewer)) == DEFAULTS
    # Another session of Alice's (another browser) sees her choice.
    elsewhere = app.test_client()
    assert login(elsewhere, "alice").status_code == 302
    assert headers(list_page(elsewhere)) == chosen
    data = alice.get("/admin/items/columns.json").get_json()
    assert data["chosen"] is True
    assert [c["name"] for c in data["columns"] if c["shown"]] == chosen
    assert sorted(c["name"] for c in data["columns"]) == sorted(DEFAULTS)
    assert stored(app) == [("alice", "items", chosen)]


def test_sorting_and_search_work_on_the_chosen_columns(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    assert save(alice, ["status", "title"]).status_code == 200
    page = list_page(alice)
    # The header's sort link for "title" (the second shown column) sorts by title.
    link = re.search(r'<a href="([^"]*)" title="Sort by title">', page)
    assert link, page
    sorted_page = list_page(alice, query=html.unescape(link.group(1)).removeprefix("/admin/items/"))
    assert headers(sorted_page) == ["status", "title"]
    assert first_cells(sorted_page) == ["used", "title u"]
    found = list_page(alice, query="?search=v")
    assert headers(found) == ["status", "title"] and first_cells(found) == ["new", "title v"]


def test_reset_returns_to_the_defaults(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    assert save(alice, ["title"]).status_code == 200
    assert headers(list_page(alice)) == ["title"]
    response = alice.post("/admin/items/columns", data={"reset": "1", "csrf_token": csrf_token(alice)})
    assert response.status_code == 200
    assert headers(list_page(alice)) == DEFAULTS
    assert alice.get("/admin/items/columns.json").get_json()["chosen"] is False
    assert stored(app) == []


def test_a_hostile_column_name_stays_text(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    assert save(alice, [HOSTILE_COLUMN]).status_code == 200
    page = list_page(alice)
    assert headers(page) == [HOSTILE_COLUMN]
    assert "<col>" not in page and "<b>x</b>" not in page
    data = alice.get("/admin/items/columns.json")
    assert data.mimetype == "application/json"
    assert {"name": HOSTILE_COLUMN, "label": HOSTILE_COLUMN, "shown": True} in data.get_json()["columns"]


@pytest.mark.parametrize(
    ("table", "columns", "status"),
    [
        ("items", ["title", "no such column"], 400),
        ("items", ["hidden_note"], 400),  # hidden by the settings
        ("items", ["api_token", "id"], 400),  # looks secret
        ("items", [], 400),
        ("makers", ["title"], 400),  # a column of another table
    ],
)
def test_a_save_naming_what_is_not_a_column_of_the_list_stores_nothing(
    app: Flask, table: str, columns: list[str], status: int
) -> None:
    alice = logged_in(app, "admin", "alice")
    response = save(alice, columns, table)
    assert response.status_code == status
    assert response.get_json()["error"]
    assert stored(app) == []
    assert headers(list_page(alice, table)) == (DEFAULTS if table == "items" else ["id", "name"])


def test_a_save_without_csrf_or_permission_stores_nothing(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    assert alice.post("/admin/items/columns", data={"columns": ["title"]}).status_code == 400
    forged = alice.post(
        "/admin/items/columns",
        data={"columns": ["title"], "csrf_token": csrf_token(alice)},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403
    viewer = logged_in(app, "viewer", "vera")
    token = csrf_token(viewer, "/admin/items/")
    assert viewer.post("/admin/makers/columns", data={"columns": ["name"], "csrf_token": token}).status_code == 403
    assert viewer.get("/admin/makers/columns.json").status_code == 403
    anonymous = app.test_client()
    assert anonymous.post("/admin/items/columns", data={"columns": ["title"]}).status_code in (302, 400, 401, 403)
    assert stored(app) == []


def test_a_chosen_column_that_left_the_database_is_skipped(database_url: str, tmp_path: t.Any, app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    assert save(alice, ["gone", "title", "status"]).status_code == 200
    _dispose(app)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE items DROP COLUMN gone"))
    engine.dispose()
    # The dashboard started again on the changed database, with the same state database.
    again = make_app(database_url, tmp_path / "instance", TABLES=TABLES)
    try:
        client = again.test_client()
        assert login(client, "alice").status_code == 302
        assert headers(list_page(client)) == ["title", "status"]
        data = client.get("/admin/items/columns.json").get_json()
        assert "gone" not in [c["name"] for c in data["columns"]]
    finally:
        _dispose(again)


def test_a_wide_table_keeps_its_defaults_until_the_operator_chooses(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    wide = [f"c{n}" for n in range(1, WIDE_COLUMNS)]
    assert headers(list_page(alice, "wide")) == ["id", *wide][:MAX_LIST_COLUMNS]
    offered = alice.get("/admin/wide/columns.json").get_json()["columns"]
    assert len(offered) == WIDE_COLUMNS and sum(c["shown"] for c in offered) == MAX_LIST_COLUMNS
    assert save(alice, ["c69", "id", "c40"], "wide").status_code == 200
    page = list_page(alice, "wide")
    assert headers(page) == ["c69", "id", "c40"] and first_cells(page) == ["69", "1", "40"]


def test_a_state_database_from_before_the_chooser_gets_its_table(database_url: str, tmp_path: t.Any) -> None:
    first = make_app(database_url, tmp_path / "older", TABLES=TABLES)
    alice = logged_in(first, "admin", "alice")
    assert headers(list_page(alice)) == DEFAULTS
    _dispose(first)
    with statedb.get_store(first).engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE column_choices"))
    statedb.get_store(first).engine.dispose()
    again = make_app(database_url, tmp_path / "older", TABLES=TABLES)
    try:
        client = again.test_client()
        assert login(client, "alice").status_code == 302
        assert save(client, ["status"]).status_code == 200
        assert headers(list_page(client)) == ["status"]
        assert stored(again) == [("alice", "items", ["status"])]
    finally:
        _dispose(again)


def test_removing_an_operator_forgets_their_columns(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    bob = logged_in(app, "admin", "bob")
    assert save(alice, ["title"]).status_code == 200
    assert save(bob, ["status"]).status_code == 200
    assert statedb.get_store(app).remove_user("alice")
    assert stored(app) == [("bob", "items", ["status"])]


def test_a_choice_saved_on_one_worker_shows_at_once_on_another(database_url: str, tmp_path: t.Any) -> None:
    # Two workers of one site: one instance folder (state database, shared cache folder).
    settings = {"TABLES": TABLES, "WORKERS": 2}
    first = make_app(database_url, tmp_path / "instance", **settings)
    second = make_app(database_url, tmp_path / "instance", **settings)
    assert first.config["CACHE_TYPE"] == second.config["CACHE_TYPE"] == "FileSystemCache"
    try:
        on_first = logged_in(first, "admin", "alice")
        on_second = second.test_client()
        assert login(on_second, "alice").status_code == 302
        assert headers(list_page(on_second)) == DEFAULTS  # the second worker has read "no choice"
        assert save(on_first, ["status", "title"]).status_code == 200
        assert headers(list_page(on_second)) == ["status", "title"]
        reset = on_first.post(
            "/admin/items/columns", data={"reset": "1", "csrf_token": csrf_token(on_first, "/admin/items/")}
        )
        assert reset.status_code == 200
        assert headers(list_page(on_second)) == DEFAULTS
    finally:
        _dispose(first)
        _dispose(second)
