"""A value edited in place in a list (dashboard/web/table_cells.py), and the link to a row just
created; on every dialect, against the demo shop."""

from __future__ import annotations

import html
import re
import typing as t
from urllib.parse import urlencode

import pytest
from markupsafe import escape

from dashboard import statedb
from tests.apps import logged_in
from tests.checklist import row_ids
from tests.site import Site, make_site, rows


@pytest.fixture
def site(demo_site: Site) -> Site:
    return demo_site


def open_cell(site: Site, table: str, row_id: str, column: str) -> dict[str, t.Any]:
    """What the list's script receives when the operator starts editing a cell."""
    response = site.client.get(site.url(table, "cell") + f"?id={row_id}&column={column}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return t.cast(dict[str, t.Any], response.get_json())


def save_cell(site: Site, table: str, row_id: str, column: str, value: str, opened: dict[str, t.Any]) -> t.Any:
    """Post a value as the list's script does, with the token and fingerprint the cell was opened with."""
    data = {
        "csrf_token": opened["csrf_token"],
        "id": row_id,
        "column": column,
        "value": value,
        "fingerprint": opened["fingerprint"],
    }
    return site.client.post(site.url(table, "cell"), data=data)


def names(url: str) -> dict[int, str]:
    return {row[0]: row[1] for row in rows(url, "customers")}


def entries(site: Site) -> list[dict[str, t.Any]]:
    return statedb.get_store(site.app).audit_entries({}, limit=100)


def editable_columns(page: str) -> list[str]:
    found = re.search(r'data-dashboard-editable="([^"]*)"', page)
    return found.group(1).split() if found else []


def listed_cell(page: str, row_id: str, key: str) -> str:
    """What the list page shows in column ``key`` of row ``row_id``."""
    row = next(row for row in page.split("<tr>") if f'class="action-checkbox" value="{row_id}"' in row)
    found = re.search(rf'<td class="col-{key}[^"]*">(.*?)</td>', row)
    assert found, row
    return found.group(1)


def test_an_inline_edit_writes_the_row_and_its_audit_entry_and_the_list_shows_it(site, demo_url):
    listed = site.text(site.url("customers"))  # kept in the page cache from now on
    assert {"name", "email", "country"} <= set(editable_columns(listed))
    # Keys and long text stay on the edit form.
    assert not {"id", "notes"} & set(editable_columns(listed))
    old = names(demo_url)[2]
    opened = open_cell(site, "customers", "2", "name")
    assert opened["value"] == old
    response = save_cell(site, "customers", "2", "name", "Renamed <inline>", opened)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["html"] == "Renamed &lt;inline&gt;"
    assert names(demo_url)[2] == "Renamed <inline>"
    [entry] = entries(site)
    assert (entry["action"], entry["outcome"], entry["row_key"]) == ("edit", "ok", "2")
    assert entry["changes"] == {"name": {"old": old, "new": "Renamed <inline>"}}
    assert "Renamed &lt;inline&gt;" in site.text(site.url("customers"))
    # The answer carried the outcome: no message is left over for the next page.
    assert site.flashes(site.text(site.url("customers"))) == []


def test_an_inline_edit_of_a_row_changed_meanwhile_is_a_conflict_and_writes_nothing(site, demo_url):
    opened = open_cell(site, "customers", "3", "name")
    edit_url = site.url("customers", "edit", "3")
    theirs = site.form_values(edit_url)
    theirs["name"] = "Theirs"
    assert site.post(edit_url, theirs).status_code == 302
    response = save_cell(site, "customers", "3", "name", "Mine", opened)
    assert response.status_code == 409
    answer = response.get_json()
    assert "changed by someone else" in answer["error"]
    assert answer["value"] == "Theirs"
    assert names(demo_url)[3] == "Theirs"
    conflict = entries(site)[0]
    assert (conflict["action"], conflict["outcome"], conflict["row_key"]) == ("edit", "failed", "3")
    # Saving again with the fingerprint of the row as it is now overwrites it, knowingly.
    again = save_cell(site, "customers", "3", "name", "Mine", {**opened, "fingerprint": answer["fingerprint"]})
    assert again.status_code == 200
    assert names(demo_url)[3] == "Mine"


def test_a_viewer_may_not_edit_in_place(site, demo_url):
    viewer = Site(site.app)
    viewer.client = logged_in(site.app, "viewer")
    assert editable_columns(viewer.text(viewer.url("customers"))) == []
    response = viewer.client.get(viewer.url("customers", "cell") + "?id=2&column=name")
    assert response.status_code == 403
    assert response.get_json()["error"] == "Permission denied."
    token = viewer.token(viewer.url("customers"))
    before = rows(demo_url, "customers", "id")
    posted = viewer.client.post(
        viewer.url("customers", "cell"),
        data={"csrf_token": token, "id": "2", "column": "name", "value": "x", "fingerprint": "0" * 64},
    )
    assert posted.status_code == 403
    assert rows(demo_url, "customers", "id") == before
    [entry] = entries(site)
    assert (entry["action"], entry["outcome"], entry["message"]) == ("edit", "failed", "Permission denied.")


@pytest.mark.parametrize(
    ("settings", "column", "message"),
    [
        ({"TABLES": {"customers": {"read_only": True}}}, "name", "This table is read-only."),
        ({"READ_ONLY": True}, "name", "This table is read-only."),
        ({"TABLES": {"customers": {"columns": {"email": {"read_only": True}}}}}, "email", "cannot be changed"),
        ({}, "id", "cannot be changed"),
        ({}, "notes", "cannot be changed"),
        ({"INLINE_EDIT": False}, "name", "cannot be changed"),
    ],
)
def test_what_the_operator_may_not_change_in_place_is_refused(demo_url, tmp_path, settings, column, message):
    site = make_site(demo_url, tmp_path, **settings)
    try:
        assert column not in editable_columns(site.text(site.url("customers")))
        assert site.client.get(site.url("customers", "cell") + f"?id=2&column={column}").status_code == 403
        before = rows(demo_url, "customers", "id")
        response = site.client.post(
            site.url("customers", "cell"),
            data={
                "csrf_token": site.token(),
                "id": "2",
                "column": column,
                "value": "x",
                "fingerprint": "0" * 64,
            },
        )
        assert response.status_code == 403
        assert message in response.get_json()["error"]
        assert rows(demo_url, "customers", "id") == before
    finally:
        site.state.engine.dispose()


@pytest.mark.parametrize("token", [None, "forged"])
def test_an_inline_edit_without_its_csrf_token_is_refused(site, demo_url, token):
    opened = open_cell(site, "customers", "2", "name")
    data = {"id": "2", "column": "name", "value": "Forged", "fingerprint": opened["fingerprint"]}
    if token:
        data["csrf_token"] = token
    response = site.client.post(site.url("customers", "cell"), data=data)
    assert response.status_code == 400
    assert names(demo_url)[2] != "Forged"


def test_a_value_the_column_refuses_gets_its_message_in_place(site, demo_url):
    before = rows(demo_url, "products", "id")
    opened = open_cell(site, "products", "1", "stock")
    response = save_cell(site, "products", "1", "stock", "many", opened)
    assert response.status_code == 400
    error = response.get_json()["error"]
    # The message the edit form gives for the same value.
    edit_url = site.url("products", "edit", "1")
    values = site.form_values(edit_url)
    values["stock"] = "many"
    assert error and error in html.unescape(site.post(edit_url, values).get_data(as_text=True))
    assert rows(demo_url, "products", "id") == before


def test_a_value_the_database_refuses_gets_its_message_in_place(site, demo_url):
    before = rows(demo_url, "orders", "id")
    opened = open_cell(site, "orders", "1", "status")
    response = save_cell(site, "orders", "1", "status", "lost-in-space", opened)
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert rows(demo_url, "orders", "id") == before


def test_the_message_after_a_create_links_to_the_new_row_and_the_list_shows_it(site, demo_url):
    assert "A new tag" not in site.text(site.url("tags"))  # the list page is kept from now on
    page = site.post(site.url("tags", "new"), {"name": "A <new> tag"}, follow=True).get_data(as_text=True)
    tag_id = next(row[0] for row in rows(demo_url, "tags") if row[1] == "A <new> tag")
    link = re.search(r'Record was successfully created\. <a href="([^"]*)">Open row (\d+)</a>', page)
    assert link, site.flashes(page)
    assert link.group(2) == str(tag_id)
    assert site.get(html.unescape(link.group(1))).status_code == 200
    assert "A &lt;new&gt; tag" in site.text(html.unescape(link.group(1)))
    assert "A &lt;new&gt; tag" in site.text(site.url("tags"))


def test_pick_lists_offer_their_choices_and_foreign_keys_answer_their_linked_label(site, demo_url):
    opened = open_cell(site, "customers", "4", "is_active")
    # The edit form's pick list, where it has one (a MariaDB boolean is a number typed in).
    picked = re.search(
        r'<select[^>]*name="is_active"[^>]*>(.*?)</select>', site.text(site.url("customers", "edit", "4"))
    )
    offered = re.findall(r'<option[^>]*value="([^"]*)"', picked.group(1)) if picked else None
    assert (opened["choices"] and [value for value, _label in opened["choices"]]) == offered
    answer = save_cell(site, "customers", "4", "is_active", "false" if offered else "0", opened)
    assert answer.status_code == 200
    # The cell as the list, read afresh, renders it.
    assert answer.get_json()["html"] == listed_cell(site.text(site.url("customers")), "4", "is_active")
    assert not next(row for row in rows(demo_url, "customers") if row[0] == 4)[5]
    other = next(row[0] for row in rows(demo_url, "customers") if row[0] != 4)
    opened = open_cell(site, "orders", "1", "customer_id")
    answer = save_cell(site, "orders", "1", "customer_id", str(other), opened)
    assert answer.status_code == 200
    assert f'details/?id={other}">{escape(names(demo_url)[other])} ({other})</a>' in answer.get_json()["html"]
    assert next(row for row in rows(demo_url, "orders") if row[0] == 1)[1] == other


def test_every_editable_cell_of_the_hostile_schema_opens_and_saves_unchanged(module_hostile_site):
    """Every type, key shape and hostile name: the cells a list offers open with their value as the
    edit form shows it, and saving it unchanged answers the cell as the list renders it."""
    site = module_hostile_site
    opened_any = False
    for table_id, view in site.state.views.items():
        page = site.text(site.url(table_id))
        columns = editable_columns(page)
        assert set(columns) <= {key for key, _label in view.get_list_columns()}, table_id
        ids = row_ids(page)
        for column in columns if ids else []:
            query = urlencode({"id": ids[0], "column": column})
            response = site.client.get(site.url(table_id, "cell") + "?" + query)
            assert response.status_code == 200, (table_id, column, response.get_data(as_text=True))
            opened = response.get_json()
            assert opened["value"] == site.form_values(site.url(table_id, "edit", ids[0])).get(column, ""), column
            saved = save_cell(site, table_id, ids[0], column, opened["value"], opened)
            assert saved.status_code == 200, (table_id, column, saved.get_data(as_text=True))
            assert "<script" not in saved.get_json()["html"]
            opened_any = True
    assert opened_any


def test_a_database_user_without_update_gets_the_privilege_refusal(demo_url, restricted, tmp_path):
    site = make_site(restricted(demo_url, {"*": {"SELECT"}}), tmp_path)
    try:
        assert editable_columns(site.text(site.url("customers"))) == []
        before = rows(demo_url, "customers", "id")
        response = site.client.post(
            site.url("customers", "cell"),
            data={"csrf_token": site.token(), "id": "2", "column": "name", "value": "x", "fingerprint": "0" * 64},
        )
        assert response.status_code == 403
        assert "this database user lacks the UPDATE privilege on customers" in response.get_json()["error"]
        assert rows(demo_url, "customers", "id") == before
    finally:
        site.state.engine.dispose()


@pytest.mark.parametrize("fingerprint", ["", "not a fingerprint"])
def test_an_inline_edit_without_the_rows_fingerprint_writes_nothing(site, demo_url, fingerprint):
    opened = open_cell(site, "customers", "2", "name")
    response = save_cell(site, "customers", "2", "name", "Blind", {**opened, "fingerprint": fingerprint})
    assert response.status_code == 409
    assert "did not say which version of the row" in response.get_json()["error"]
    assert response.get_json()["fingerprint"] == opened["fingerprint"]
    assert names(demo_url)[2] != "Blind"
