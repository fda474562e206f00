"""Case 36 of shared/SECURITY-CHECKLIST.md: read-only mode, on SQLite, PostgreSQL and MariaDB.

``READ_ONLY`` (``dashboard serve --read-only``) answers 403 on every write route and bulk
action, and opens the database connection read-only where the dialect allows it, so that
even a write sent straight through the app's engine (a buggy plugin) fails.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.cli.common import app_settings
from tests import schemas
from tests.checklist import site_on
from tests.site import rows

WRITE_TABLES = (schemas.CUSTOMERS, schemas.ORDER, schemas.TAGS, schemas.TEXT_KEYS_TABLE)


@pytest.fixture
def read_only(hostile_database_url, tmp_path):
    site = site_on(hostile_database_url, tmp_path, READ_ONLY=True)
    yield site
    site.state.engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    return {table: sorted(rows(url, table), key=repr) for table in schemas.TABLES}


def test_36_every_write_route_answers_403_and_changes_nothing(read_only, hostile_database_url):
    site = read_only
    before = snapshot(hostile_database_url)
    for table in WRITE_TABLES:
        key = "1" if table != schemas.TEXT_KEYS_TABLE else "a,b"
        listing = site.url(table)
        assert site.get(site.url(table, "new")).status_code == 403
        assert site.get(site.url(table, "edit", key)).status_code == 403
        attempts = [
            (site.url(table, "new"), {"name": "forged", "code": "forged", "amount": "1"}),
            (site.url(table, "edit", key), {"name": "forged", "group": "forged", "label": "forged"}),
            (site.url(table, "delete"), {"id": key}),
            (site.url(table, "action"), {"action": "delete", "rowid": [key]}),
        ]
        for url, data in attempts:
            response = site.post(url, data, token_from=listing)
            assert response.status_code == 403, (url, response.status_code)
            assert "read-only" in response.get_data(as_text=True)
    assert snapshot(hostile_database_url) == before


def test_36_pages_offer_no_write_and_say_why(read_only):
    page = read_only.text(read_only.url(schemas.CUSTOMERS))
    assert "read-only mode" in page
    assert "/new/" not in page and "edit/?id=" not in page and 'data-dashboard-action="delete"' not in page
    assert read_only.get(read_only.url(schemas.CUSTOMERS, "details", "1")).status_code == 200
    assert read_only.get(read_only.url(schemas.CUSTOMERS, "export/csv")).status_code == 200


def test_36_the_connection_itself_refuses_writes(read_only, hostile_database_url):
    engine = read_only.state.engine
    table = engine.dialect.identifier_preparer.quote(schemas.TAGS)
    for statement in (
        f"INSERT INTO {table} (id, name) VALUES (99, 'raw write')",
        f"UPDATE {table} SET name = 'raw write' WHERE id = 1",
        f"DELETE FROM {table} WHERE id = 3",
        "CREATE TABLE sneaky (id INTEGER)",
    ):
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    assert sorted(rows(hostile_database_url, schemas.TAGS)) == [(1, "vip"), (2, "<i>new</i>"), (3, "a,b")]
    outside = sa.create_engine(hostile_database_url)
    try:
        assert "sneaky" not in sa.inspect(outside).get_table_names()
    finally:
        outside.dispose()


def test_36_audit_log_and_logins_still_work(read_only):
    site = read_only
    site.post(site.url(schemas.TAGS, "delete"), {"id": "1"}, token_from=site.url(schemas.TAGS))
    audit = site.text("/admin/-/audit/")
    assert "This table is read-only." in audit
    other = site.app.test_client()
    assert other.get("/login").status_code == 200


def test_36_serve_read_only_sets_the_setting():
    assert app_settings(None, (), True, None)["READ_ONLY"] is True
    assert "READ_ONLY" not in app_settings(None, (), False, None)
