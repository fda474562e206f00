"""The audit log: every write through the dashboard, saved or refused, and the page that shows it.

Writes run against the demo database on every dialect; the log itself lives in the state
database (SQLite in the instance folder). Test names carry the number of the case they
cover in shared/SECURITY-CHECKLIST.md (38).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from markupsafe import escape

from dashboard import statedb
from dashboard.security import audit
from tests.apps import csrf_token, logged_in, make_app, table_rows
from tests.site import Site, make_site, rows

HOSTILE = "<script>alert(1)</script>"


def _close(site: Site) -> None:
    # Close pooled connections before the fixture drops the database under them.
    site.state.engine.dispose()


@pytest.fixture
def site(demo_site: Site) -> Site:
    return demo_site


def entries(app: Flask, **filters: str) -> list[dict[str, t.Any]]:
    """The audit log of ``app``, newest first."""
    return statedb.get_store(app).audit_entries(filters, limit=1000)


def _unreferenced_customers(url: str) -> list[int]:
    referenced = {row[1] for row in rows(url, "orders")}
    return sorted(row[0] for row in rows(url, "customers") if row[0] not in referenced)


def _referenced_customer(url: str) -> int:
    return min(row[1] for row in rows(url, "orders"))


def _as_viewer(site: Site) -> Site:
    viewer = Site(site.app)
    viewer.client = logged_in(site.app, "viewer")
    return viewer


# -- what is recorded, on every dialect ----------------------------------------------------------


def test_38_create_edit_and_delete_are_recorded_with_old_and_new_values(site, demo_url):
    assert site.post(site.url("tags", "new"), {"name": "audited"}).status_code == 302
    tag_id = next(row[0] for row in rows(demo_url, "tags") if row[1] == "audited")
    created = entries(site.app)[0]
    assert (created["action"], created["outcome"], created["table_id"]) == ("create", "ok", "tags")
    assert created["row_key"] == str(tag_id)
    assert created["changes"] == {"name": {"old": None, "new": "audited"}}
    assert (created["username"], created["role"], created["message"]) == ("admin-user", "admin", "")
    at = created["at"] if created["at"].tzinfo else created["at"].replace(tzinfo=dt.UTC)
    assert abs(dt.datetime.now(dt.UTC) - at) < dt.timedelta(minutes=5)

    edit_url = site.url("customers", "edit", "1")
    values = site.form_values(edit_url)
    old_name = values["name"]
    values["name"] = "Renamed"
    assert site.post(edit_url, values).status_code == 302
    edited = entries(site.app)[0]
    assert (edited["action"], edited["outcome"], edited["row_key"]) == ("edit", "ok", "1")
    # Only the column that changed, though the form sent every one.
    assert edited["changes"] == {"name": {"old": old_name, "new": "Renamed"}}

    response = site.post(site.url("tags", "delete"), {"id": str(tag_id)}, token_from=site.url("tags"))
    assert response.status_code == 302
    deleted = entries(site.app)[0]
    assert (deleted["action"], deleted["outcome"], deleted["row_key"]) == ("delete", "ok", str(tag_id))
    assert deleted["changes"] == {"id": {"old": str(tag_id), "new": None}, "name": {"old": "audited", "new": None}}
    assert len(entries(site.app)) == 3


def test_38_bulk_delete_is_one_entry_holding_the_deleted_rows(site, demo_url):
    first, second = _unreferenced_customers(demo_url)[:2]
    names = {row[0]: row[1] for row in rows(demo_url, "customers")}
    response = site.post(
        site.url("customers", "action"),
        {"action": "delete", "rowid": [str(first), str(second)]},
        token_from=site.url("customers"),
    )
    assert response.status_code == 302
    assert {first, second}.isdisjoint(row[0] for row in rows(demo_url, "customers"))
    [entry] = entries(site.app)
    assert (entry["action"], entry["outcome"], entry["table_id"]) == ("bulk_delete", "ok", "customers")
    assert json.loads(entry["row_key"]) == [str(first), str(second)]
    assert set(entry["changes"]) == {str(first), str(second)}
    assert entry["changes"][str(first)]["name"] == {"old": names[first], "new": None}


def test_38_bulk_delete_blocked_by_a_foreign_key_is_one_failed_entry(site, demo_url):
    free, referenced = _unreferenced_customers(demo_url)[0], _referenced_customer(demo_url)
    before = rows(demo_url, "customers", "id")
    response = site.post(
        site.url("customers", "action"),
        {"action": "delete", "rowid": [str(free), str(referenced)]},
        token_from=site.url("customers"),
        follow=True,
    )
    assert any("Nothing was deleted" in f for f in site.flashes(response.get_data(as_text=True)))
    assert rows(demo_url, "customers", "id") == before
    [entry] = entries(site.app)
    assert (entry["action"], entry["outcome"]) == ("bulk_delete", "failed")
    assert json.loads(entry["row_key"]) == [str(free), str(referenced)]
    assert "foreign key" in entry["message"] and entry["changes"] is None
    # The database's own error text (SQL, parameters) is never recorded or shown.
    assert "DELETE" not in entry["message"] and "[SQL" not in entry["message"]


def test_38_write_refused_by_the_database_is_a_failed_entry(site, demo_url):
    before = rows(demo_url, "tags", "id")
    page = site.post(site.url("tags", "new"), {"name": "sale"}).get_data(as_text=True)
    assert any("unique" in f for f in site.flashes(page))
    assert rows(demo_url, "tags", "id") == before
    [entry] = entries(site.app)
    assert (entry["action"], entry["outcome"], entry["row_key"]) == ("create", "failed", None)
    assert "unique" in entry["message"]
    assert entry["changes"] == {"name": {"old": None, "new": "sale"}}


def test_38_conflicting_edit_is_a_failed_entry(site, demo_url):
    edit_url = site.url("customers", "edit", "2")
    mine, theirs = site.form_values(edit_url), site.form_values(edit_url)
    theirs["name"] = "theirs"
    assert site.post(edit_url, theirs).status_code == 302
    mine["name"] = "mine"
    page = site.post(edit_url, mine).get_data(as_text=True)
    assert any("changed by someone else" in f for f in site.flashes(page))
    conflict, saved = entries(site.app)
    assert (saved["action"], saved["outcome"]) == ("edit", "ok")
    assert (conflict["action"], conflict["outcome"], conflict["row_key"]) == ("edit", "failed", "2")
    assert "someone else" in conflict["message"]
    assert conflict["changes"]["name"]["new"] == "mine"
    assert {row[0]: row[1] for row in rows(demo_url, "customers")}[2] == "theirs"


def test_38_writes_a_viewer_may_not_make_are_failed_entries(site, demo_url):
    viewer = _as_viewer(site)
    token = csrf_token(viewer.client, site.url("customers"))
    before = rows(demo_url, "customers", "id")
    free = str(_unreferenced_customers(demo_url)[0])
    attempts = [
        (site.url("customers", "new"), {"name": "x", "email": "x@example.com", "is_active": "true"}),
        (site.url("customers", "edit", "1"), {"name": "forged"}),
        (site.url("customers", "delete"), {"id": free}),
        (site.url("customers", "action"), {"action": "delete", "rowid": [free, "1"]}),
    ]
    for url, data in attempts:
        assert viewer.client.post(url, data={**data, "csrf_token": token}).status_code in (302, 403)
    assert rows(demo_url, "customers", "id") == before
    logged = entries(site.app, user="viewer-user")
    assert [(e["action"], e["outcome"], e["message"]) for e in reversed(logged)] == [
        ("create", "failed", "Permission denied."),
        ("edit", "failed", "Permission denied."),
        ("delete", "failed", "Permission denied."),
        ("bulk_delete", "failed", "Permission denied."),
    ]
    assert [e["row_key"] for e in reversed(logged)] == [None, "1", free, json.dumps([free, "1"])]
    assert {e["role"] for e in logged} == {"viewer"}


def test_38_secret_looking_columns_are_recorded_without_values(demo_url, tmp_path):
    site = make_site(
        demo_url,
        tmp_path,
        SENSITIVE_COLUMN_PATTERNS=["email"],
        TABLES={"customers": {"columns": {"email": {"visible": True}}}},
    )
    try:
        edit_url = site.url("customers", "edit", "1")
        values = site.form_values(edit_url)
        old_email = values["email"]
        values["email"] = "new-secret@example.com"
        values["name"] = "Also renamed"
        assert site.post(edit_url, values).status_code == 302
        edited = entries(site.app)[0]
        assert edited["changes"]["email"] == audit.REDACTED
        assert edited["changes"]["name"]["new"] == "Also renamed"
        free = _unreferenced_customers(demo_url)[0]
        free_email = {row[0]: row[2] for row in rows(demo_url, "customers")}[free]
        site.post(site.url("customers", "delete"), {"id": str(free)}, token_from=site.url("customers"))
        deleted = entries(site.app)[0]
        assert (deleted["action"], deleted["changes"]["email"]) == ("delete", audit.REDACTED)
        logged = repr(entries(site.app))
        page = site.text("/admin/-/audit/")
        for secret in (old_email, "new-secret@example.com", free_email):
            assert secret not in logged and secret not in page
    finally:
        _close(site)


# -- 43: values of columns the dashboard does not show stay out of the log, on every dialect -------

#: Values that must never reach the audit log: a column hidden by TABLES, and a secret-looking one.
SALARIES = {1: 424242, 2: 515151, 3: 636363, 4: 747474, 5: 858585}
TOKENS = {key: f"tok-{key}-{'x' * 12}" for key in SALARIES}


@pytest.fixture
def staff_site(empty_database_url: str, tmp_path: t.Any) -> t.Iterator[Site]:
    """``staff`` (``salary`` hidden by ``TABLES``, ``api_token`` secret-looking) and ``staff_notes``
    referring to staff 1, served to an admin."""
    metadata = sa.MetaData()
    staff = sa.Table(
        "staff",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("salary", sa.Integer),
        sa.Column("api_token", sa.String(50)),
    )
    notes = sa.Table(
        "staff_notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id")),
        sa.Column("note", sa.String(50)),
    )
    engine = sa.create_engine(empty_database_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            # Keys from the database (1 to 5, in this order), so its sequence knows them.
            connection.execute(
                staff.insert(),
                [
                    {"name": f"person {key}", "salary": salary, "api_token": TOKENS[key]}
                    for key, salary in SALARIES.items()
                ],
            )
            connection.execute(notes.insert(), [{"id": 1, "staff_id": 1, "note": "keeps staff 1"}])
    finally:
        engine.dispose()
    site = make_site(empty_database_url, tmp_path, TABLES={"staff": {"columns": {"salary": {"hidden": True}}}})
    yield site
    _close(site)


def _plugin_writes(site: Site) -> None:
    """What a plugin writes through ``dashboard.writes``, as the logged-in admin."""
    from flask_login import login_user

    from dashboard.security.auth import User
    from dashboard.writes import WriteFailed, table_writer

    with site.app.test_request_context("/"):
        login_user(User(statedb.get_store(site.app).user_by_name("admin-user")))
        writer = table_writer("staff", plugin="payroll")
        writer.insert({"id": 16, "name": "person 16", "salary": 969696, "api_token": "tok-16-secret"})
        writer.update({"id": 16}, {"salary": 979797, "name": "person sixteen"})
        writer.delete({"id": 16})
        with pytest.raises(WriteFailed):
            writer.delete({"id": 1})  # staff_notes refers to it: a failed entry
        audit.record_write("plugin", "payroll_history", changes={"amount": {"old": "989898", "new": "999999"}})


def test_43_hidden_and_secret_columns_are_recorded_as_changed_in_every_kind_of_entry(staff_site, empty_database_url):
    site = staff_site
    # Create and edit through the forms: the hidden column is not on them, and a value
    # posted for it anyway is neither written nor recorded.
    assert site.post(site.url("staff", "new"), {"name": "person 7", "salary": "919191"}).status_code == 302
    edit_url = site.url("staff", "edit", "2")
    values = site.form_values(edit_url)
    values.update(name="person two", salary="929292")
    assert site.post(edit_url, values).status_code == 302
    # Deletes: one, one refused by a foreign key, and two at once.
    assert site.post(site.url("staff", "delete"), {"id": "3"}, token_from=site.url("staff")).status_code == 302
    site.post(site.url("staff", "delete"), {"id": "1"}, token_from=site.url("staff"))
    assert (
        site.post(
            site.url("staff", "action"), {"action": "delete", "rowid": ["4", "5"]}, token_from=site.url("staff")
        ).status_code
        == 302
    )
    _plugin_writes(site)

    logged = list(reversed(entries(site.app)))
    assert [(e["action"], e["outcome"]) for e in logged] == [
        ("create", "ok"),
        ("edit", "ok"),
        ("delete", "ok"),
        ("delete", "failed"),
        ("bulk_delete", "ok"),
        ("plugin", "ok"),
        ("plugin", "ok"),
        ("plugin", "ok"),
        ("plugin", "failed"),
        ("plugin", "ok"),
    ]
    created, edited, deleted, refused, bulk, inserted, updated, removed, refused_plugin, unserved = logged
    assert "salary" not in created["changes"] and "salary" not in edited["changes"]
    assert edited["changes"] == {"name": {"old": "person 2", "new": "person two"}}
    for entry in (deleted, refused, removed, refused_plugin, *bulk["changes"].values()):
        changes = entry.get("changes", entry)
        assert changes["salary"] == changes["api_token"] == audit.REDACTED, entry
        assert changes["name"]["old"].startswith("person"), entry
    assert inserted["changes"]["salary"] == inserted["changes"]["api_token"] == audit.REDACTED
    assert inserted["changes"]["name"] == {"old": None, "new": "person 16"}
    assert updated["changes"] == {"salary": audit.REDACTED, "name": {"old": "person 16", "new": "person sixteen"}}
    # A table the dashboard does not serve: none of its values are shown anywhere, nor here.
    assert unserved["changes"] == {"amount": audit.REDACTED}

    secrets = [
        *map(str, SALARIES.values()),
        *TOKENS.values(),
        "919191",
        "929292",
        "969696",
        "979797",
        "tok-16-secret",
        "989898",
        "999999",
    ]
    audit_url = next(view.url for view in site.state.admin._views if isinstance(view, audit.AuditView))
    page = site.text(audit_url + "/")
    everything = json.dumps([e["changes"] for e in logged]) + " ".join(e["message"] for e in logged)
    for secret in secrets:
        assert secret not in everything and secret not in page, secret
    assert "person two" in page
    # The writes themselves happened as asked; only the log leaves the values out.
    assert [row[0] for row in rows(empty_database_url, "staff", "id")] == [1, 2, 6]
    assert rows(empty_database_url, "staff", "id")[1][2] == SALARIES[2]


# -- the page, and plugins (the target database is not involved) -------------------------------


@pytest.fixture
def app(small_database_url, tmp_path):
    return make_app(small_database_url, tmp_path / "instance")


def _entry_rows(page: str) -> int:
    return page.count('class="dashboard-audit-entry"')


def test_38_audit_page_is_for_admins_only(app, logged_in_client):
    anonymous = app.test_client()
    response = anonymous.get("/admin/-/audit/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for role in ("viewer", "editor"):
        client = logged_in_client(app, role)
        assert client.get("/admin/-/audit/").status_code == 403
        assert client.get("/admin/-/audit/?page=2&user=x").status_code == 403
        assert 'href="/admin/-/audit/"' not in client.get("/admin/").get_data(as_text=True)
    admin = logged_in_client(app, "admin")
    assert admin.get("/admin/-/audit/").status_code == 200
    assert 'href="/admin/-/audit/"' in admin.get("/admin/").get_data(as_text=True)


def test_38_audit_page_escapes_hostile_values(app, logged_in_client):
    admin = logged_in_client(app, "admin")
    token = csrf_token(admin, "/admin/parent/")
    assert admin.post("/admin/parent/new/", data={"name": HOSTILE, "csrf_token": token}).status_code == 302
    viewer = logged_in_client(app, "viewer")
    viewer_token = csrf_token(viewer, "/admin/parent/")
    viewer.post(
        "/admin/parent/edit/",
        query_string={"id": '"><script>alert(2)</script>'},
        data={"name": HOSTILE, "csrf_token": viewer_token},
    )
    page = admin.get("/admin/-/audit/", query_string={"table": "<script>alert(3)</script>"}).get_data(as_text=True)
    assert "<script>alert" not in page
    assert str(escape("<script>alert(3)</script>")) in page  # the filter, shown back escaped
    page = admin.get("/admin/-/audit/").get_data(as_text=True)
    assert "<script>alert" not in page
    assert str(escape(HOSTILE)) in page
    assert str(escape('"><script>alert(2)</script>')) in page
    assert _entry_rows(page) == 2


def test_38_audit_page_filters_and_pages(app, logged_in_client, small_database_url):
    admin = logged_in_client(app, "admin")
    token = csrf_token(admin, "/admin/parent/")
    admin.post("/admin/parent/new/", data={"name": "third", "csrf_token": token})
    site = Site(app)
    site.client = admin
    values = site.form_values("/admin/child/edit/?id=1")
    values["note"] = "edited"
    assert admin.post("/admin/child/edit/?id=1", data=values).status_code == 302
    admin.post("/admin/parent/action/", data={"action": "delete", "rowid": ["1"], "csrf_token": token})
    viewer = logged_in_client(app, "viewer")
    viewer.post("/admin/payments/delete/", data={"id": "1", "csrf_token": csrf_token(viewer, "/admin/payments/")})
    with app.test_request_context("/"):
        for number in range(60):
            audit.record_write(
                "plugin",
                "payments",
                row_key=str(number),
                username="nightly-job",
                role="admin",
                changes={"amount": {"old": str(number), "new": str(number + 1)}},
            )

    def shown(**query: str) -> str:
        response = admin.get("/admin/-/audit/", query_string=query)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert _entry_rows(shown()) == audit.PAGE_SIZE
    assert _entry_rows(shown(page="1")) == 64 - audit.PAGE_SIZE
    assert _entry_rows(shown(page="999")) == 64 - audit.PAGE_SIZE  # clamped to the last page
    assert _entry_rows(shown(page="nonsense")) == audit.PAGE_SIZE
    newest = shown(action="plugin")
    assert newest.index(">59<") < newest.index(">58<")  # newest first
    assert _entry_rows(shown(action="plugin", page="1")) == 10
    child = shown(table="child")
    assert _entry_rows(child) == 1 and "edited" in child
    failed = shown(outcome="failed")
    assert _entry_rows(failed) == 2  # the blocked bulk delete and the viewer's delete
    assert _entry_rows(shown(user="viewer-user")) == 1
    assert _entry_rows(shown(user="viewer-user", outcome="ok")) == 0
    assert _entry_rows(shown(table="parent", action="create", outcome="ok", user="admin-user")) == 1
    assert _entry_rows(shown(table="no such table")) == 0
    assert 'option value="child" selected' in child
    assert [row[0] for row in table_rows(small_database_url, "parent")] == [1, 2, 3]


def test_38_writes_refused_by_read_only_mode_are_failed_entries(small_database_url, tmp_path, logged_in_client):
    app = make_app(small_database_url, tmp_path / "instance", READ_ONLY=True)
    admin = logged_in_client(app, "admin")
    token = csrf_token(admin, "/admin/parent/")
    before = table_rows(small_database_url, "parent")
    admin.post("/admin/parent/new/", data={"name": "forbidden", "csrf_token": token})
    admin.post("/admin/parent/delete/", data={"id": "2", "csrf_token": token})
    assert table_rows(small_database_url, "parent") == before
    assert [(e["action"], e["outcome"], e["message"]) for e in entries(app)] == [
        ("delete", "failed", "This table is read-only."),
        ("create", "failed", "This table is read-only."),
    ]


def test_38_record_write_for_plugins(app):
    with app.test_request_context("/"):
        assert audit.record_write(
            "plugin",
            "parent",
            row_key="1",
            message="recomputed totals",
            changes={"password": {"old": "hunter2", "new": "hunter3"}, "name": {"old": "a", "new": "b" * 5000}},
        )
        with pytest.raises(ValueError):
            audit.record_write("drop", "parent")
        with pytest.raises(ValueError):
            audit.record_write("plugin", "parent", outcome="maybe")
    [entry] = entries(app)
    assert (entry["username"], entry["action"], entry["message"]) == ("(system)", "plugin", "recomputed totals")
    assert entry["changes"]["password"] == audit.REDACTED
    assert len(entry["changes"]["name"]["new"]) < 2100


def test_38_a_lost_audit_entry_does_not_undo_the_write_and_is_logged(app, logged_in_client, small_database_url, caplog):
    admin = logged_in_client(app, "admin")
    token = csrf_token(admin, "/admin/parent/")
    engine = statedb.get_store(app).engine

    def garble(_conn: t.Any, _cursor: t.Any, statement: str, parameters: t.Any, *_args: t.Any) -> t.Any:
        return ("INSERT INTO no_such_table VALUES (1)" if "audit_log" in statement else statement), parameters

    sa.event.listen(engine, "before_cursor_execute", garble, retval=True)
    try:
        with caplog.at_level(logging.ERROR, logger="dashboard.security.audit"):
            response = admin.post("/admin/parent/new/", data={"name": "kept", "csrf_token": token})
    finally:
        sa.event.remove(engine, "before_cursor_execute", garble)
    assert response.status_code == 302
    assert "kept" in [row[1] for row in table_rows(small_database_url, "parent")]
    assert entries(app) == []
    assert re.search(r"audit entry could not be written.*\"kept\"", caplog.text)
