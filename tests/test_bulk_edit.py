"""One value set on the rows selected in a list (dashboard/web/bulk_edit.py): "With selected" ->
"Set a value", preview, apply; all rows or none, one audit entry per row; on every dialect."""

from __future__ import annotations

import json
import re
import typing as t

import pytest
import sqlalchemy as sa

from dashboard import statedb
from dashboard.db.codecs import codec_for
from dashboard.web.keys import encode_key
from tests import schemas
from tests.apps import logged_in
from tests.checklist import site_on
from tests.site import Site, form_values, make_site, rows


@pytest.fixture
def site(demo_site: Site) -> Site:
    return demo_site


def entries(site: Site) -> list[dict[str, t.Any]]:
    return statedb.get_store(site.app).audit_entries({}, limit=100)


def choose(site: Site, table: str, ids: list[str]) -> t.Any:
    """Tick ``ids`` in the list and pick "Set a value" in its "With selected" menu."""
    return site.post(
        site.url(table, "action"),
        {"action": "set_value", "rowid": ids, "url": site.url(table)},
        token_from=site.url(table),
    )


def preview(site: Site, table: str, ids: list[str], column: str, value: str) -> t.Any:
    """Pick ``column`` and type ``value`` on the page the action answered, and ask for the preview."""
    page = choose(site, table, ids)
    assert page.status_code == 200, page.get_data(as_text=True)
    sent = {**_form(page.get_data(as_text=True), "dashboard-bulk-edit-form"), "column": column, "value": value}
    return site.client.post(site.url(table, "bulk-edit"), data=sent)


def apply(site: Site, previewed: t.Any) -> t.Any:
    """Press "Apply" on a preview page; follows the redirect to the list."""
    sent = _form(previewed.get_data(as_text=True), "dashboard-bulk-edit-apply")
    return site.client.post(sent.pop("_action"), data=sent, follow_redirects=True)


def _form(page: str, css_class: str) -> dict[str, str]:
    found = re.search(rf'<form method="POST" action="([^"]*)" class="{css_class}[^"]*">(.*?)</form>', page, re.S)
    assert found, page
    return {**form_values(found.group(2)), "_action": found.group(1)}


def count_sentence(page: str) -> str:
    found = re.search(r'class="card-text dashboard-bulk-edit-count">(.*?)</p>', page, re.S)
    assert found, page
    return " ".join(found.group(1).split())


def countries(url: str) -> dict[int, t.Any]:
    return {row[0]: row[3] for row in rows(url, "customers")}


def test_the_preview_counts_the_rows_that_change_and_apply_writes_them_with_an_entry_each(site, demo_url):
    before = countries(demo_url)
    ids = [1, 2, 3, 4]
    target = "ZZ"
    engine = sa.create_engine(demo_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE customers SET country = 'ZZ' WHERE id = 3"))
    engine.dispose()
    before[3] = target
    site.text(site.url("customers"))  # the list, now kept in the page cache
    previewed = preview(site, "customers", [str(i) for i in ids], "country", target)
    assert previewed.status_code == 200
    page = previewed.get_data(as_text=True)
    assert count_sentence(page) == "3 of the selected rows will change. 1 already holds this value."
    assert rows(demo_url, "customers", "id") and countries(demo_url) == before  # a preview writes nothing
    assert entries(site) == []
    listed = apply(site, previewed)
    assert listed.status_code == 200
    assert "3 rows were changed." in site.flashes(listed.get_data(as_text=True))
    after = countries(demo_url)
    assert [after[i] for i in ids] == [target] * 4
    assert {k: v for k, v in after.items() if k not in ids} == {k: v for k, v in before.items() if k not in ids}
    written = sorted(entries(site), key=lambda e: int(e["row_key"]))
    assert [(e["action"], e["outcome"], e["row_key"]) for e in written] == [
        ("edit", "ok", "1"),
        ("edit", "ok", "2"),
        ("edit", "ok", "4"),
    ]
    assert written[0]["changes"] == {"country": {"old": before[1], "new": target}}
    # The listing cache was made stale: the list shows the new values at once.
    assert site.text(site.url("customers")).count('<td class="col-country">ZZ</td>') >= 4


def test_a_null_value_and_the_examples_of_the_preview(site, demo_url):
    page = preview(site, "customers", ["1", "2"], "country", "").get_data(as_text=True)
    assert "2 of the selected rows will change." in count_sentence(page)
    examples = re.search(r'class="table table-sm dashboard-bulk-edit-examples">(.*?)</table>', page, re.S)
    assert examples and 'text-muted">NULL</span>' in examples.group(1)
    apply(site, preview(site, "customers", ["1", "2"], "country", ""))
    assert countries(demo_url)[1] is None and countries(demo_url)[2] is None


@pytest.fixture
def ranges(empty_database_url, tmp_path):
    """``ranges``: five rows whose ``low`` may not pass their ``high`` (a CHECK), the third one's
    ``high`` lower than the others'; ``code`` is UNIQUE."""
    metadata = sa.MetaData()
    table = sa.Table(
        "ranges",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("low", sa.Integer, nullable=False),
        sa.Column("high", sa.Integer, nullable=False),
        sa.CheckConstraint("low <= high", name="low_below_high"),
    )
    engine = sa.create_engine(empty_database_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                table.insert(),
                [{"id": i, "code": f"c{i}", "low": 0, "high": 2 if i == 3 else 10} for i in range(1, 6)],
            )
    finally:
        engine.dispose()
    site = site_on(empty_database_url, tmp_path, hostile=False)
    yield site, empty_database_url
    site.state.engine.dispose()


@pytest.mark.parametrize(
    ("column", "value", "refused_row", "reason"),
    [("low", "5", "3", "CHECK constraint"), ("code", "same", "2", "unique")],
)
def test_a_bulk_edit_that_fails_half_way_changes_nothing(ranges, column, value, refused_row, reason):
    site, url = ranges
    before = rows(url, "ranges", "id")
    previewed = preview(site, "ranges", ["1", "2", "3", "4", "5"], column, value)
    assert "5 of the selected rows will change." in count_sentence(previewed.get_data(as_text=True))
    listed = apply(site, previewed)
    assert listed.status_code == 200
    [message] = site.flashes(listed.get_data(as_text=True))
    assert f"Nothing was changed: the database refused the row {refused_row}." in message
    assert reason in message
    assert rows(url, "ranges", "id") == before
    [entry] = entries(site)
    assert (entry["action"], entry["outcome"]) == ("edit", "failed")
    assert json.loads(entry["row_key"]) == ["1", "2", "3", "4", "5"]
    assert f"row {refused_row}" in entry["message"]


def test_a_row_changed_after_the_preview_refuses_the_batch(site, demo_url):
    previewed = preview(site, "customers", ["5", "6", "7"], "country", "QQ")
    edit_url = site.url("customers", "edit", "6")
    theirs = site.form_values(edit_url)
    theirs["name"] = "Changed meanwhile"
    assert site.post(edit_url, theirs).status_code == 302
    before = rows(demo_url, "customers", "id")
    listed = apply(site, previewed)
    [message] = [m for m in site.flashes(listed.get_data(as_text=True)) if "Nothing was changed" in m]
    assert "the row 6 was changed or deleted by someone else after the preview" in message
    assert rows(demo_url, "customers", "id") == before
    assert [e["outcome"] for e in entries(site)] == ["failed", "ok"]


def test_a_row_deleted_after_the_preview_refuses_the_batch(ranges):
    site, url = ranges
    previewed = preview(site, "ranges", ["1", "2"], "low", "1")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM ranges WHERE id = 2"))
    engine.dispose()
    before = rows(url, "ranges", "id")
    [message] = site.flashes(apply(site, previewed).get_data(as_text=True))
    assert "the row 2 was changed or deleted" in message
    assert rows(url, "ranges", "id") == before


def test_a_malformed_value_gets_the_codec_message_and_writes_nothing(site, demo_url):
    before = rows(demo_url, "customers", "id")
    page = preview(site, "customers", ["1", "2"], "created_at", "yesterday-ish")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    error = re.search(r'dashboard-bulk-edit-error" role="alert">(.*?)</div>', text, re.S)
    assert error and "date" in error.group(1).lower(), text
    assert "dashboard-bulk-edit-apply" not in text
    # The form is shown again with what was typed.
    assert 'value="yesterday-ish"' in text
    assert rows(demo_url, "customers", "id") == before


def test_a_viewer_may_not_set_values(site, demo_url):
    viewer = Site(site.app)
    viewer.client = logged_in(site.app, "viewer")
    assert "set_value" not in viewer.text(viewer.url("customers"))
    before = rows(demo_url, "customers", "id")
    assert choose(viewer, "customers", ["1"]).status_code == 403
    forged = viewer.post(
        viewer.url("customers", "bulk-edit"),
        {
            "step": "apply",
            "ids": '["1"]',
            "column": "country",
            "value": "XX",
            "rows": json.dumps([["1", "0" * 64]]),
        },
        token_from=viewer.url("customers"),
    )
    assert forged.status_code == 403
    assert rows(demo_url, "customers", "id") == before
    [entry] = entries(site)
    assert (entry["action"], entry["outcome"], entry["message"]) == ("edit", "failed", "Permission denied.")


@pytest.mark.parametrize(
    "settings",
    [{"TABLES": {"customers": {"read_only": True}}}, {"READ_ONLY": True}],
    ids=["read-only table", "read-only site"],
)
def test_a_read_only_table_is_refused(demo_url, tmp_path, settings):
    site = make_site(demo_url, tmp_path, **settings)
    try:
        assert "set_value" not in site.text(site.url("customers"))
        before = rows(demo_url, "customers", "id")
        assert choose(site, "customers", ["1"]).status_code == 403
        response = site.post(
            site.url("customers", "bulk-edit"),
            {"step": "preview", "ids": '["1"]', "column": "country", "value": "XX"},
            token_from=site.url("customers"),
        )
        assert response.status_code == 403
        assert rows(demo_url, "customers", "id") == before
    finally:
        site.state.engine.dispose()


@pytest.mark.parametrize("column", ["id", "email", "notes"])
def test_a_key_or_hidden_or_read_only_column_is_neither_offered_nor_written(demo_url, tmp_path, column):
    settings = {"columns": {"email": {"read_only": True}, "notes": {"hidden": True}}}
    site = make_site(demo_url, tmp_path, TABLES={"customers": settings})
    try:
        page = choose(site, "customers", ["1", "2"]).get_data(as_text=True)
        offered = re.findall(r'<option value="([^"]*)"', page)
        assert "country" in offered and column not in offered
        before = rows(demo_url, "customers", "id")
        # Forged: straight to apply with that column.
        response = site.post(
            site.url("customers", "bulk-edit"),
            {"step": "apply", "ids": '["1", "2"]', "column": column, "value": "x", "rows": "[]"},
            token_from=site.url("customers"),
        )
        assert response.status_code == 200
        assert "Choose a column to change." in response.get_data(as_text=True)
        assert rows(demo_url, "customers", "id") == before
    finally:
        site.state.engine.dispose()


def test_a_post_without_its_csrf_token_writes_nothing(site, demo_url):
    previewed = preview(site, "customers", ["1", "2"], "country", "XX")
    sent = _form(previewed.get_data(as_text=True), "dashboard-bulk-edit-apply")
    url = sent.pop("_action")
    sent.pop("csrf_token")
    before = rows(demo_url, "customers", "id")
    assert site.client.post(url, data=sent).status_code == 400
    assert site.client.post(url, data={**sent, "csrf_token": "forged"}).status_code == 400
    assert rows(demo_url, "customers", "id") == before


def test_more_rows_than_the_setting_allows_are_refused_with_a_message(demo_url, tmp_path):
    site = make_site(demo_url, tmp_path, BULK_EDIT_MAX_ROWS=2)
    try:
        response = choose(site, "customers", ["1", "2", "3"])
        assert response.status_code == 302
        listed = site.text(response.headers["Location"])
        [message] = site.flashes(listed)
        assert "3 rows are selected, and one bulk edit changes at most 2" in message
        assert "BULK_EDIT_MAX_ROWS" in message
    finally:
        site.state.engine.dispose()


def test_the_list_page_carries_the_menu_entry_only(site):
    page = site.text(site.url("customers"))
    assert 'data-dashboard-action="set_value"' in page
    assert "bulk-column" not in page and "bulk-edit" not in page
    assert len(page.encode()) < 25 * 1024


def test_a_get_of_the_bulk_edit_page_is_not_served(site):
    assert site.client.get(site.url("customers", "bulk-edit")).status_code == 405


def test_a_database_user_that_may_not_update_is_offered_no_bulk_edit(demo_url, tmp_path, restricted):
    # SQLite has no users: its restricted URL opens the file read-only, which refuses the same.
    url = restricted(demo_url, {"*": {"SELECT"}})
    site = make_site(url, tmp_path)
    try:
        assert "set_value" not in site.text(site.url("customers"))
        before = rows(demo_url, "customers", "id")
        response = site.post(
            site.url("customers", "bulk-edit"),
            {
                "step": "apply",
                "ids": '["1"]',
                "column": "country",
                "value": "XX",
                "rows": json.dumps([["1", "0" * 64]]),
            },
            token_from=site.url("customers"),
        )
        assert response.status_code == 403
        assert rows(demo_url, "customers", "id") == before
    finally:
        site.state.engine.dispose()


def test_a_boolean_is_typed_then_picked_from_the_edit_forms_list(site, demo_url, dialect):
    if dialect == "mariadb":
        pytest.skip("MariaDB's BOOLEAN is TINYINT(1), a number on the edit form as well")
    previewed = preview(site, "customers", ["1", "2"], "is_active", "no")
    page = previewed.get_data(as_text=True)
    picker = re.search(r'<select class="form-control" id="bulk-value" name="value">(.*?)</select>', page, re.S)
    assert picker, page
    assert '<option value="false" selected>No</option>' in picker.group(1)
    apply(site, previewed)
    assert [row[5] for row in rows(demo_url, "customers", "id")[:2]] == [False, False]


def test_hostile_keys_address_exactly_the_selected_rows(hostile_site, hostile_database_url):
    site = hostile_site
    codecs = [codec_for(sa.String()), codec_for(sa.Integer())]
    chosen = [("a,b", 1), ("a.", 2)]
    ids = [encode_key(key, codecs) for key in chosen]
    before = {(row[0], row[1]): row[2] for row in rows(hostile_database_url, schemas.COMPOSITE_KEYS_TABLE)}
    apply(site, preview(site, schemas.COMPOSITE_KEYS_TABLE, ids, "label", "<b>set</b>"))
    after = {(row[0], row[1]): row[2] for row in rows(hostile_database_url, schemas.COMPOSITE_KEYS_TABLE)}
    assert after == {key: "<b>set</b>" if key in chosen else label for key, label in before.items()}
    texts = ['quo"te', "<b>tag</b>", "a,b", "L" * 190]
    previewed = preview(site, schemas.TEXT_KEYS_TABLE, texts, "label", "x")
    assert "4 of the selected rows will change." in count_sentence(previewed.get_data(as_text=True))
    apply(site, previewed)
    labels = {row[0]: row[1] for row in rows(hostile_database_url, schemas.TEXT_KEYS_TABLE)}
    assert {key for key, label in labels.items() if label == "x"} == set(texts)
