"""Every relation of the hostile schema served, and exact-row CRUD, on every dialect."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from dashboard.db.codecs import codec_for
from dashboard.web.keys import encode_key
from tests import schemas
from tests.checklist import row_ids
from tests.site import rows

HOSTILE_MARKUP = [
    "<img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)',
    schemas.XSS_NAME,
    "<img src=x onerror=alert(2)>",
    '" onclick="alert(3)',
    "<script>alert(2)</script>",
    "<b>bold</b>",
]


@pytest.fixture
def site(request, dialect):
    """An admin's site on the hostile schema: a database of its own for a test that writes
    (it names ``hostile_database_url`` to read the rows back), else one shared by the module's
    readers (building the schema and logging in once per dialect, not per test)."""
    if "hostile_database_url" in request.fixturenames:
        return request.getfixturevalue("hostile_site")
    return request.getfixturevalue("module_hostile_site")


def composite_key(part_a: str, part_b: int) -> str:
    return encode_key((part_a, part_b), [codec_for(sa.String()), codec_for(sa.Integer())])


def test_5_every_relation_lists_details_and_forms_without_error(site):
    for table_id, view in site.state.views.items():
        page = site.text(site.url(table_id))
        ids = row_ids(page)
        if view.can_view_details:
            assert ids, table_id
        for key in ids:
            assert site.get(site.url(table_id, "details", key)).status_code == 200
            if view.can_edit:
                edit = site.text(site.url(table_id, "edit", key))
                assert "Record does not exist" not in edit
        if view.can_create:
            assert site.get(site.url(table_id, "new")).status_code == 200
        assert site.get(site.url(table_id, "export/csv")).status_code == 200


def test_home_lists_every_relation_with_editability(site):
    page = site.text("/admin/")
    for name in (*schemas.TABLES, *schemas.VIEWS):
        assert str(escape(name)) in page
    assert "read-only" in page
    assert "no primary key" in page


def test_8_hostile_names_and_values_are_escaped_everywhere(site):
    pages = [
        "/admin/",
        site.url(schemas.CUSTOMERS),
        site.url(schemas.CUSTOMERS, "details", str(schemas.XSS_CUSTOMER_ID)),
        site.url(schemas.CUSTOMERS, "edit", str(schemas.XSS_CUSTOMER_ID)),
        site.url(schemas.MARKUP_TABLE),
        site.url(schemas.ORDER),
        site.url(schemas.ORDER, "edit", "3"),
        site.url(schemas.TAGS),
    ]
    for url in pages:
        page = site.text(url)
        for markup in HOSTILE_MARKUP:
            assert markup not in page, (url, markup)
    assert str(escape(schemas.XSS_NAME)) in site.text(site.url(schemas.CUSTOMERS))


@pytest.mark.parametrize("code", schemas.TEXT_KEYS)
def test_7_text_keys_round_trip_to_exactly_their_row(site, hostile_database_url, code):
    details = site.text(site.url(schemas.TEXT_KEYS_TABLE, "details", code))
    assert str(escape(f"label {code}")) in details
    edit_url = site.url(schemas.TEXT_KEYS_TABLE, "edit", code)
    values = site.form_values(edit_url)
    values["label"] = "changed"
    response = site.post(edit_url, values)
    assert response.status_code == 302
    stored = dict(rows(hostile_database_url, schemas.TEXT_KEYS_TABLE))
    assert stored[code] == "changed"
    assert all(label == f"label {other}" for other, label in stored.items() if other != code)


def test_7_delete_of_a_key_containing_a_comma_deletes_only_that_row(site, hostile_database_url):
    response = site.post(
        site.url(schemas.TEXT_KEYS_TABLE, "delete"), {"id": "a,b"}, token_from=site.url(schemas.TEXT_KEYS_TABLE)
    )
    assert response.status_code == 302
    remaining = {code for code, _ in rows(hostile_database_url, schemas.TEXT_KEYS_TABLE)}
    assert remaining == set(schemas.TEXT_KEYS) - {"a,b"}


def test_7_composite_keys_address_exactly_one_row(site, hostile_database_url):
    list_page = site.text(site.url(schemas.COMPOSITE_KEYS_TABLE))
    assert set(row_ids(list_page)) == {composite_key(a, b) for a, b in schemas.COMPOSITE_KEYS}
    edit_url = site.url(schemas.COMPOSITE_KEYS_TABLE, "edit", composite_key("a,b", 1))
    values = site.form_values(edit_url)
    values["label"] = "edited"
    assert site.post(edit_url, values).status_code == 302
    response = site.post(
        site.url(schemas.COMPOSITE_KEYS_TABLE, "delete"),
        {"id": composite_key("a", 1)},
        token_from=site.url(schemas.COMPOSITE_KEYS_TABLE),
    )
    assert response.status_code == 302
    stored = {(a, b): label for a, b, label in rows(hostile_database_url, schemas.COMPOSITE_KEYS_TABLE)}
    assert ("a", 1) not in stored
    assert stored[("a,b", 1)] == "edited"
    assert set(stored) == set(schemas.COMPOSITE_KEYS) - {("a", 1)}
    assert [label for key, label in stored.items() if key != ("a,b", 1)] == [None] * 4 or all(
        label != "edited" for key, label in stored.items() if key != ("a,b", 1)
    )


def test_7_unique_keyed_table_edits_by_its_unique_column(site, hostile_database_url):
    edit_url = site.url(schemas.UNIQUE_KEYED, "edit", "x/y")
    values = site.form_values(edit_url)
    values["label"] = "renamed"
    assert site.post(edit_url, values).status_code == 302
    stored = dict(rows(hostile_database_url, schemas.UNIQUE_KEYED))
    assert stored == {"alpha": "A", "be ta": "B", "x/y": "renamed"}


def test_22_keyless_table_shows_identical_rows_and_refuses_writes(site, hostile_database_url):
    page = site.text(site.url(schemas.LOG_LINES))
    assert page.count(">started<") + page.count("> started <") + page.count("started") >= 2
    assert "no primary key" in page
    before = rows(hostile_database_url, schemas.LOG_LINES)
    site.post(
        site.url(schemas.LOG_LINES, "new"),
        {"level": "X", "message": "injected"},
        token_from=site.url(schemas.CUSTOMERS),
    )
    assert rows(hostile_database_url, schemas.LOG_LINES) == before


def test_view_is_listed_and_read_only(site, hostile_database_url):
    page = site.text(site.url(schemas.CUSTOMER_NAMES))
    assert "Alice" in page
    assert "This is a view" in page
    assert site.state.views[schemas.CUSTOMER_NAMES].can_create is False


def test_28_bulk_delete_with_a_blocked_row_deletes_nothing(site, hostile_database_url):
    before = rows(hostile_database_url, schemas.CUSTOMERS, "id")
    # Customer 5 is referenced by nothing, customer 1 by orders: the batch must fail whole.
    response = site.post(
        site.url(schemas.CUSTOMERS, "action"),
        {"action": "delete", "rowid": ["5", "1"]},
        token_from=site.url(schemas.CUSTOMERS),
        follow=True,
    )
    assert response.status_code == 200
    assert any("Nothing was deleted" in f for f in site.flashes(response.get_data(as_text=True)))
    assert rows(hostile_database_url, schemas.CUSTOMERS, "id") == before
    assert site.get("/admin/").status_code == 200


def test_foreign_key_is_a_search_as_you_type_lookup(site):
    edit = site.text(site.url(schemas.ORDER, "edit", "1"))
    assert 'data-role="select2-ajax"' in edit
    assert "<option" not in edit.split('name="customer_id"')[0][-2000:]
    picker = re.search(r'<input[^>]*name="customer_id"[^>]*>', edit).group(0)
    # It invites a search, not a key typed in (the key column's example once showed as "123").
    assert 'data-placeholder="Type to search"' in picker and " placeholder=" not in picker
    lookup = site.get(site.url(schemas.ORDER, "ajax/lookup") + "?name=customer_id&query=ali")
    assert lookup.status_code == 200
    assert lookup.get_json() == [["1", "Alice (1)"]]


def test_details_link_to_parent_and_to_referring_rows(site):
    details = site.text(site.url(schemas.ORDER, "details", "1"))
    assert "Alice (1)" in details
    customer = site.text(site.url(schemas.CUSTOMERS, "details", "1"))
    link = re.search(r'<a href="([^"]+)">order \(customer_id\)</a>', customer)
    assert link
    filtered = site.text(html.unescape(link.group(1)))
    assert len(row_ids(filtered)) == 2


def test_27_unchanged_columns_round_trip_exactly(site, hostile_database_url):
    before = rows(hostile_database_url, schemas.ALL_TYPES, "id")
    edit_url = site.url(schemas.ALL_TYPES, "edit", "1")
    values = site.form_values(edit_url)
    values["string_col"] = "changed"
    response = site.post(edit_url, values)
    assert response.status_code == 302, site.flashes(response.get_data(as_text=True))
    after = rows(hostile_database_url, schemas.ALL_TYPES, "id")
    names = [c.name for c in site.state.views[schemas.ALL_TYPES].info.columns]
    changed = {names[i] for i, (old, new) in enumerate(zip(before[0], after[0], strict=True)) if old != new}
    assert changed == {"string_col"}
    assert after[1] == before[1]


def test_29_invalid_input_comes_back_with_message_and_typed_values(site, hostile_database_url):
    edit_url = site.url(schemas.ORDER, "edit", "1")
    values = site.form_values(edit_url)
    values["amount"] = "twelve"
    page = site.post(edit_url, values).get_data(as_text=True)
    assert 'value="twelve"' in page
    assert "Enter a number." in page
    assert rows(hostile_database_url, schemas.ORDER, "id")[0][3] is not None


def test_29_unique_violation_is_a_message_and_the_next_request_works(site, hostile_database_url):
    edit_url = site.url(schemas.TAGS, "edit", "2")
    values = site.form_values(edit_url)
    values["name"] = "vip"
    page = site.post(edit_url, values).get_data(as_text=True)
    assert any("unique" in f for f in site.flashes(page))
    assert 'value="vip"' in page
    assert dict(rows(hostile_database_url, schemas.TAGS))[2] == "<i>new</i>"
    assert site.get(site.url(schemas.TAGS)).status_code == 200


def test_create_with_foreign_key_and_defaults(site, hostile_database_url):
    response = site.post(site.url(schemas.ORDER, "new"), {"customer_id": "4", "group": "new", "amount": "1.25"})
    assert response.status_code == 302
    created = [r for r in rows(hostile_database_url, schemas.ORDER, "id") if r[2] == "new"]
    assert len(created) == 1 and created[0][1] == 4


def test_4_search_takes_wildcards_literally(site):
    matched = site.text(site.url(schemas.TEXT_KEYS_TABLE) + "?search=50%25")
    assert row_ids(matched) == ["50%"]
    underscore = site.text(site.url(schemas.TEXT_KEYS_TABLE) + "?search=_")
    assert row_ids(underscore) == []
    long_search = site.get(site.url(schemas.CUSTOMERS) + "?search=" + "x" * 10_000)
    assert long_search.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "sort=999",
        "sort=abc",
        "sort=-1",
        "page=-5",
        "page=abc",
        "page_size=1000000",
        "flt0_0=notanumber",
        "flt99_0=1",
        "desc=1&sort=0",
        "id=",
        "search=%00",
    ],
)
def test_3_bad_list_arguments_never_fail(site, query):
    response = site.get(site.url(schemas.ORDER) + "?" + query)
    assert response.status_code == 200
    assert len(row_ids(response.get_data(as_text=True))) <= 20


@pytest.mark.parametrize("key", ["abc", "", "999999", "1,2", "%", "9" * 40])
def test_3_bad_ids_say_record_does_not_exist(site, key):
    response = site.get(site.url(schemas.ORDER, "details", key))
    assert response.status_code == 302


def test_13_export_is_formula_safe_with_foreign_keys_as_values(site):
    response = site.get(site.url(schemas.CUSTOMERS, "export/csv"))
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    names = {row[1] for row in table[1:]}
    assert "'" + schemas.FORMULA_NAME in names
    assert schemas.XSS_NAME in names
    orders = list(csv.reader(io.StringIO(site.get(site.url(schemas.ORDER, "export/csv")).get_data(as_text=True))))
    assert [row[1] for row in orders[1:]] == ["1", "1", str(schemas.XSS_CUSTOMER_ID), "4"]
    assert "-3.00" in {row[3] for row in orders[1:]}


def test_20_secret_looking_columns_are_hidden(site):
    page = site.text(site.url(schemas.ALL_TYPES, "details", "1"))
    assert "pbkdf2" not in page
    assert "password_hash" in page  # named in the notice, value withheld
    export = site.get(site.url(schemas.ALL_TYPES, "export/csv")).get_data(as_text=True)
    assert "pbkdf2" not in export


def test_24_binary_values_download_as_attachments(site):
    details = site.text(site.url(schemas.ALL_TYPES, "details", "1"))
    link = re.search(r'href="([^"]*download[^"]*)"', details)
    assert link
    response = site.get(html.unescape(link.group(1)))
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.data == schemas.ALL_TYPES_ROW["binary_col"]


def test_self_reference_links_to_the_manager(site):
    details = site.text(site.url(schemas.EMPLOYEES, "details", "3"))
    assert "Grace (2)" in details


def test_26_concurrent_edit_shows_both_versions_and_overwrites_nothing(site, hostile_database_url):
    edit_url = site.url(schemas.ORDER, "edit", "1")
    mine = site.form_values(edit_url)
    theirs = site.form_values(edit_url)
    theirs["group"] = "theirs"
    assert site.post(edit_url, theirs).status_code == 302
    mine["group"] = "mine"
    page = site.post(edit_url, mine).get_data(as_text=True)
    assert any("changed by someone else" in f for f in site.flashes(page))
    assert "dashboard-conflict" in page and ">theirs<" in page
    assert rows(hostile_database_url, schemas.ORDER, "id")[0][2] == "theirs"
    # The conflict belongs to that request alone: the next edit page shows none.
    assert "dashboard-conflict" not in site.text(site.url(schemas.ORDER, "edit", "2"))
