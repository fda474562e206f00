"""Saved views of a list (dashboard/web/saved_views.py) on every dialect: a view keeps the list's
filter, search, sort, columns and page size under a name, opens at its stable address in
another session exactly as saved, opens for the role it is shared with under that operator's
own permissions, is 404 to others when private, still opens when one of its columns left the
database (with a note naming it), refuses bad names and posts without CSRF, and its kept page
is never served for the plain list or another view."""

from __future__ import annotations

import re
import typing as t
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from dashboard import statedb
from dashboard.web import saved_views
from tests.apps import csrf_token, logged_in, login, make_app
from tests.test_column_choices import TABLES, _dispose, first_cells, headers, list_page
from tests.test_column_choices import app as app  # noqa: F401 -- the fixtures: an admin's site on the items table
from tests.test_column_choices import database_url as database_url  # noqa: F401

#: A list as an operator shaped it: status "new" (the filter's index is the items' first
#: equality filter on status), a search, sorted by title descending, 2 rows a page.
SHAPED_COLUMNS = ["title", "status", "id"]


def choose_columns(client: FlaskClient, columns: list[str]) -> None:
    token = csrf_token(client, "/admin/items/")
    assert client.post("/admin/items/columns", data={"columns": columns, "csrf_token": token}).status_code == 200


def status_filter(app: Flask) -> str:
    """The address arguments of the items' "status equals new" filter, as its links write them."""
    from dashboard.site_state import current_site

    with app.test_request_context("/admin/items/"):
        url = current_site(app).views["items"].filtered_url("status", "new")
    assert url, "no status filter"
    return urlsplit(url).query


def filter_arg(app: Flask, column: str, kind: str, position: int = 0) -> str:
    """The address argument of the items' filter of ``kind`` (a class name) on ``column``."""
    from dashboard.site_state import current_site

    with app.test_request_context("/admin/items/"):
        view = current_site(app).views["items"]
        for arg, (_index, flt) in view._filter_args.items():
            if type(flt).__name__ == kind and flt.column.name == column:
                return f"flt{position}_{arg}"
    raise AssertionError(f"no {kind} filter on {column}")


def save_view(client: FlaskClient, name: str, arguments: str = "", table: str = "items", **extra: t.Any) -> t.Any:
    data = {"name": name, "arguments": arguments, "csrf_token": csrf_token(client, f"/admin/{table}/"), **extra}
    return client.post(f"/admin/{table}/views", data=data)


def stored(app: Flask) -> list[tuple[t.Any, ...]]:
    table = saved_views.saved_views
    with statedb.get_store(app).engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.table_id, table.c.slug, table.c.name, table.c.owner, table.c.shared_role).order_by(
                table.c.id
            )
        )
        return [tuple(row) for row in rows]


def open_view(client: FlaskClient, slug: str, table: str = "items") -> tuple[str, str]:
    """Open a view's stable address as a browser does; its final address and page."""
    response = client.get(f"/admin/{table}/?view={slug}")
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    page = client.get(location)
    assert page.status_code == 200, page.status_code
    return location, page.get_data(as_text=True)


def shaped(app: Flask) -> str:
    """The query string of a shaped list: a filter, a search, a sort, a page size."""
    # "title" is the first shown column of SHAPED_COLUMNS: sort=0.
    return f"?{status_filter(app)}&search=title&sort=0&desc=1&page_size=2"


def test_a_view_opens_in_another_session_exactly_as_saved(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    choose_columns(alice, SHAPED_COLUMNS)
    query = shaped(app)
    expected = list_page(alice, query=query)
    assert headers(expected) == SHAPED_COLUMNS
    assert first_cells(expected) == ["title x", "new", "2"]
    response = save_view(alice, "  New items,   newest <first>  ", query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["url"] == "/admin/items/?view=new-items-newest-first"
    assert stored(app) == [("items", "new-items-newest-first", "New items, newest <first>", "alice", None)]
    # Alice's own columns change afterwards: the view keeps its own.
    choose_columns(alice, ["id"])
    elsewhere = app.test_client()
    assert login(elsewhere, "alice").status_code == 302
    location, page = open_view(elsewhere, "new-items-newest-first")
    args = dict(parse_qsl(urlsplit(location).query))
    assert args["search"] == "title" and args["page_size"] == "2" and args["desc"] == "1" and args["sort"] == "0"
    assert args["view"] == "new-items-newest-first"
    for _ in range(2):  # drawn, then from the page cache
        page = elsewhere.get(location).get_data(as_text=True)
        assert headers(page) == SHAPED_COLUMNS
        assert first_cells(page) == ["title x", "new", "2"]
        assert len(re.findall(r"<tbody>.*?</tbody>", page, re.S)) == 1
        assert page.count('<td class="col-title') == 2  # the page size
        assert "Saved view &#34;New items, newest &lt;first&gt;&#34;." in page or (
            "Saved view &quot;New items, newest &lt;first&gt;&quot;." in page
        )
        assert "<first>" not in page
    # The plain list shows Alice's own columns, not the view's (nor its kept page).
    assert headers(list_page(elsewhere)) == ["id"]
    assert headers(list_page(elsewhere, query=query)) == ["id"]
    listed = elsewhere.get("/admin/items/views.json").get_json()["views"]
    assert [(v["name"], v["url"]) for v in listed] == [
        ("New items, newest <first>", "/admin/items/?view=new-items-newest-first")
    ]


def test_a_view_shared_with_a_role_opens_under_the_readers_permissions(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    vera = logged_in(app, "viewer", "vera")
    choose_columns(alice, ["title", "id"])
    assert save_view(alice, "For viewers", "?search=title", share="viewer").status_code == 200
    assert save_view(alice, "Mine", "?search=v").status_code == 200
    # A hidden column written into the view by hand (the chooser refuses it) stays hidden.
    with statedb.get_store(app).engine.begin() as connection:
        table = saved_views.saved_views
        connection.execute(
            table.update().where(table.c.slug == "for-viewers").values(columns=["hidden_note", "title", "id"])
        )
    _location, page = open_view(vera, "for-viewers")
    assert headers(page) == ["title", "id"]
    assert "secret note" not in page and "hidden_note" not in page
    assert vera.get("/admin/items/?view=mine").status_code == 404
    assert vera.get("/admin/items/?view=mine&search=v").status_code == 404
    names = [v["name"] for v in vera.get("/admin/items/views.json").get_json()["views"]]
    assert names == ["For viewers"]
    finder = vera.get("/admin/-/navigation.json").get_json()["tables"]
    assert [e["label"] for e in finder if e["id"].startswith("view:")] == ["For viewers"]
    assert next(e["url"] for e in finder if e["id"].startswith("view:")) == "/admin/items/?view=for-viewers"
    # A view of a table the viewer may not read: 403, as the table's list.
    assert save_view(alice, "Makers", "?search=a", table="makers", share="viewer").status_code == 200
    assert vera.get("/admin/makers/?view=makers").status_code == 403
    assert "Makers" not in [e["label"] for e in vera.get("/admin/-/navigation.json").get_json()["tables"]]
    # Another admin sees the shared views, not Alice's private one.
    bob = logged_in(app, "admin", "bob")
    assert [v["name"] for v in bob.get("/admin/items/views.json").get_json()["views"]] == ["For viewers"]
    assert bob.get("/admin/items/?view=mine").status_code == 404


def test_only_admins_share_and_only_with_a_role(app: Flask) -> None:
    vera = logged_in(app, "viewer", "vera")
    alice = logged_in(app, "admin", "alice")
    refused = save_view(vera, "Shared", "?search=a", share="viewer")
    assert refused.status_code == 403 and refused.get_json()["error"]
    assert save_view(alice, "Shared", "?search=a", share="nobody").status_code == 400
    assert stored(app) == []
    assert save_view(vera, "Mine", "?search=a").status_code == 200
    assert vera.get("/admin/items/views.json").get_json()["roles"] == []
    assert "viewer" in alice.get("/admin/items/views.json").get_json()["roles"]
    assert stored(app) == [("items", "mine", "Mine", "vera", None)]


@pytest.mark.parametrize("name", ["", "   ", "x" * (saved_views.NAME_LIMIT + 1)])
def test_a_bad_name_is_refused(app: Flask, name: str) -> None:
    alice = logged_in(app, "admin", "alice")
    response = save_view(alice, name, "?search=a")
    assert response.status_code == 400 and response.get_json()["error"]
    assert stored(app) == []


def test_a_name_taken_is_refused_and_a_slug_taken_gets_a_number(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    bob = logged_in(app, "editor", "bob")
    assert save_view(alice, "Open", "?search=a").status_code == 200
    again = save_view(alice, "Open", "?search=b")
    assert again.status_code == 400 and "Open" in again.get_json()["error"]
    assert save_view(bob, "open!", "?search=b").get_json()["url"] == "/admin/items/?view=open-2"
    assert save_view(bob, "Ünïcode ☃", "").get_json()["url"] == "/admin/items/?view=unicode"
    assert save_view(bob, "☃☃", "").get_json()["url"] == "/admin/items/?view=view"
    # A view with no arguments opens where it is, with no redirect.
    response = bob.get("/admin/items/?view=view")
    assert response.status_code == 200 and "Saved view" in response.get_data(as_text=True)


def test_a_save_or_delete_without_csrf_is_refused(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    assert alice.post("/admin/items/views", data={"name": "x", "arguments": ""}).status_code == 400
    forged = alice.post(
        "/admin/items/views",
        data={"name": "x", "csrf_token": csrf_token(alice)},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403
    anonymous = app.test_client()
    assert anonymous.post("/admin/items/views", data={"name": "x"}).status_code in (302, 400, 401, 403)
    assert stored(app) == []
    assert save_view(alice, "Kept", "?search=a").status_code == 200
    assert alice.post("/admin/items/views/delete", data={"slug": "kept"}).status_code == 400
    assert len(stored(app)) == 1


def test_deleting_a_view_is_for_its_owner_or_an_admin(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    eddie = logged_in(app, "editor", "eddie")
    assert save_view(alice, "Shared", "?search=a", share="editor").status_code == 200
    assert save_view(eddie, "Eddie's", "?search=a").status_code == 200
    token = csrf_token(eddie, "/admin/items/")
    refused = eddie.post("/admin/items/views/delete", data={"slug": "shared", "csrf_token": token})
    assert refused.status_code == 403
    assert eddie.post("/admin/items/views/delete", data={"slug": "eddie-s", "csrf_token": token}).status_code == 200
    token = csrf_token(alice, "/admin/items/")
    assert alice.post("/admin/items/views/delete", data={"slug": "nope", "csrf_token": token}).status_code == 404
    assert alice.post("/admin/items/views/delete", data={"slug": "shared", "csrf_token": token}).status_code == 200
    assert stored(app) == []
    # A deleted view's address: a message and the plain list.
    page = alice.get("/admin/items/?view=shared")
    assert page.status_code == 200
    assert "There is no saved view" in page.get_data(as_text=True)


def test_an_unknown_view_gives_a_message_and_the_plain_list(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    choose_columns(alice, ["status", "title"])
    for slug in ("no-such-view", "%3Cb%3Eodd%3C%2Fb%3E", ""):
        response = alice.get(f"/admin/items/?view={slug}&search=title")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert headers(page) == ["status", "title"]
        assert "<b>odd</b>" not in page
    assert "There is no saved view" in alice.get("/admin/items/?view=no-such-view").get_data(as_text=True)


def test_a_view_whose_column_left_the_database_still_opens(database_url: str, tmp_path: t.Any, app: Flask) -> None:  # noqa: F811
    alice = logged_in(app, "admin", "alice")
    choose_columns(alice, ["gone", "title", "status"])
    # Filters on a column after "gone" (their indexes move when it leaves) and on "gone" itself.
    in_list = filter_arg(app, "status", "InListFilter")
    not_gone = filter_arg(app, "gone", "NotEqualFilter", 1)
    query = f"?search=title&sort=1&{in_list}=new&{not_gone}=zzz"
    assert first_cells(list_page(alice, query=query))[1:] == ["title v", "new"]
    assert save_view(alice, "With gone", query).status_code == 200
    _dispose(app)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE items DROP COLUMN gone"))
    engine.dispose()
    again = make_app(database_url, tmp_path / "instance", TABLES=TABLES)
    try:
        client = again.test_client()
        assert login(client, "alice").status_code == 302
        location, page = open_view(client, "with-gone")
        assert headers(page) == ["title", "status"]
        assert "Columns of this view that are no longer in the database: gone." in page
        # Its sort was by title, the second column when saved, the first now; its filter on
        # status still filters status (its argument is found again), the one on "gone" is dropped.
        args = dict(parse_qsl(urlsplit(location).query))
        assert args["sort"] == "0"
        with again.test_request_context("/admin/items/"):
            assert filter_arg(again, "status", "InListFilter") in args
        assert not any(value == "zzz" for value in args.values())
        assert [first_cells(page)[0], first_cells(page)[1]] == ["title v", "new"]
        assert page.count('<td class="col-title') == 2
    finally:
        _dispose(again)


def test_the_kept_page_of_a_view_is_not_served_for_the_plain_list_or_another_view(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    choose_columns(alice, ["title"])
    assert save_view(alice, "One", "?search=title").status_code == 200
    choose_columns(alice, ["status"])
    assert save_view(alice, "Two", "?search=title").status_code == 200
    choose_columns(alice, ["id"])
    for _ in range(2):
        assert headers(list_page(alice, query="?search=title&view=one")) == ["title"]
        assert headers(list_page(alice, query="?search=title&view=two")) == ["status"]
        assert headers(list_page(alice, query="?search=title")) == ["id"]
        assert "Saved view" not in list_page(alice, query="?search=title")


def test_a_state_database_from_before_saved_views_gets_their_table(database_url: str, tmp_path: t.Any) -> None:  # noqa: F811
    first = make_app(database_url, tmp_path / "older", TABLES=TABLES)
    _dispose(first)
    with statedb.get_store(first).engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE saved_views"))
    statedb.get_store(first).engine.dispose()
    again = make_app(database_url, tmp_path / "older", TABLES=TABLES)
    try:
        client = logged_in(again, "admin", "alice")
        assert save_view(client, "Back", "?search=a").status_code == 200
        assert stored(again) == [("items", "back", "Back", "alice", None)]
    finally:
        _dispose(again)


def test_removing_an_operator_forgets_their_private_views_and_unowns_their_shared_ones(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    assert save_view(alice, "Private", "?search=a").status_code == 200
    assert save_view(alice, "Shared", "?search=a", share="editor").status_code == 200
    assert statedb.get_store(app).remove_user("alice")
    assert stored(app) == [("items", "shared", "Shared", "", "editor")]
    # A new operator of the same name owns nothing of the one removed.
    again = logged_in(app, "viewer", "alice")
    assert "There is no saved view" in again.get("/admin/items/?view=private").get_data(as_text=True)
    assert again.get("/admin/items/?view=shared").status_code == 404
    assert again.get("/admin/items/views.json").get_json()["views"] == []
    # The editors still open the shared one.
    eddie = logged_in(app, "editor", "eddie")
    assert [v["name"] for v in eddie.get("/admin/items/views.json").get_json()["views"]] == ["Shared"]


def test_saving_while_a_view_is_open_keeps_that_views_columns(app: Flask) -> None:
    alice = logged_in(app, "admin", "alice")
    choose_columns(alice, ["status", "title"])
    assert save_view(alice, "First", "?search=title").status_code == 200
    choose_columns(alice, ["id"])
    response = save_view(alice, "Copy", "?search=title&view=first&page=1&refresh=1")
    assert response.status_code == 200
    location, page = open_view(alice, "copy")
    assert headers(page) == ["status", "title"]
    assert "page=" not in location and "refresh" not in location


def test_views_of_hostile_tables_and_columns_open_as_text(hostile_database_url: str, tmp_path: t.Any) -> None:
    from dashboard.site_state import current_site
    from tests import schemas

    hostile = make_app(hostile_database_url, tmp_path / "hostile")
    try:
        alice = logged_in(hostile, "admin", "alice")
        paths = {table_id: view.info.url_path for table_id, view in current_site(hostile).views.items()}
        base = f"/admin/{paths[schemas.CUSTOMERS]}/"
        token = csrf_token(alice, base)
        chosen = list(schemas.HOSTILE_COLUMNS)
        assert alice.post(f"{base}columns", data={"columns": chosen, "csrf_token": token}).status_code == 200
        for table in (schemas.CUSTOMERS, schemas.WEIRD_TABLE, schemas.MARKUP_TABLE, schemas.INJECTION_TABLE):
            url = f"/admin/{paths[table]}/"
            data = {"name": schemas.XSS_NAME, "arguments": "?search=a", "csrf_token": csrf_token(alice, url)}
            response = alice.post(f"{url}views", data=data)
            assert response.status_code == 200, response.get_data(as_text=True)
            opened = alice.get(response.get_json()["url"])
            assert opened.status_code == 302
            page = alice.get(opened.headers["Location"]).get_data(as_text=True)
            assert "Saved view" in page and schemas.XSS_NAME not in page
            if table == schemas.CUSTOMERS:
                assert headers(page) == chosen
                assert "<img src=x" not in page
        finder = alice.get("/admin/-/navigation.json").get_json()["tables"]
        assert [e["label"] for e in finder if e["id"].startswith("view:")] == [schemas.XSS_NAME] * 4
    finally:
        _dispose(hostile)
