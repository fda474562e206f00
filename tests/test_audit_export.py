"""The audit log exported (the audit page's CSV and JSON-lines files, ``dashboard audit export``)
and pruned by age (``dashboard audit prune --older-than``), entries dated by the app's injected
clock (dashboard/clock.py); and a row's history capped on its details page with the rest a link
away. The target database is hardly involved (the log lives in the state database): SQLite."""

from __future__ import annotations

import csv
import io
import json
import time
import typing as t
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from dashboard import clock, statedb
from dashboard.cli import main
from dashboard.security import audit
from dashboard.site_state import current_site
from tests.apps import logged_in, make_app, make_small_database

DAY = 86_400.0


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Iterator[Flask]:
    """An app on a small SQLite database; the CLI gets the same settings through the environment."""
    url = make_small_database(tmp_path / "small.db")
    monkeypatch.setenv("DASHBOARD_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", url)
    app = make_app(url, tmp_path / "instance")
    yield app
    current_site(app).engine.dispose()


def record(app: Flask, days_ago: float, message: str, **fields: t.Any) -> None:
    """An audit entry written ``days_ago`` days before now, by the app's clock."""
    when = time.time() - days_ago * DAY
    clock.set_clock(app, lambda: when)
    with app.test_request_context("/"):
        assert audit.record_write(
            fields.pop("action", "plugin"), fields.pop("table", "parent"), message=message, **fields
        )


def messages(app: Flask) -> list[str]:
    return [entry["message"] for entry in statedb.get_store(app).audit_entries({}, limit=1000)]


def cli(*args: str) -> t.Any:
    return CliRunner().invoke(main, ["audit", *args])


def test_prune_deletes_only_the_entries_older_than_the_age_given_and_records_itself(app):
    record(app, 120, "ancient")
    record(app, 91, "just too old")
    record(app, 89, "recent enough")
    record(app, 0, "today")
    result = cli("prune", "--older-than", "90d")
    assert result.exit_code == 0, result.output
    assert "Deleted 2 audit entries older than" in result.output
    left = messages(app)
    assert left[1:] == ["today", "recent enough"]
    assert left[0].startswith("Deleted 2 entries older than")
    assert statedb.get_store(app).audit_entries({}, limit=1)[0]["action"] == "prune"
    assert cli("prune", "--older-than", "ninety").exit_code == 2


def test_export_as_csv_and_json_lines_from_the_command_and_the_audit_page(app):
    formula = '=HYPERLINK("http://evil")'
    record(app, 2, "first", row_key="1", changes={"name": {"old": "a", "new": formula}})
    record(app, 1, "=second", username="someone")
    jsonl = cli("export", "--format", "jsonl")
    assert jsonl.exit_code == 0, jsonl.output
    lines = [json.loads(line) for line in jsonl.output.splitlines()]
    assert [line["message"] for line in lines] == ["first", "=second"]  # oldest first
    assert lines[0]["changes"] == {"name": {"old": "a", "new": formula}}
    assert lines[0]["at"].endswith("+00:00") and lines[1]["username"] == "someone"

    rows = list(csv.DictReader(io.StringIO(cli("export").output)))
    assert [row["message"] for row in rows] == ["first", "'=second"]  # a spreadsheet runs no formula
    assert json.loads(rows[0]["changes"])["name"]["new"] == formula  # JSON, not a formula cell
    assert rows[0]["row_key"] == "1" and rows[1]["username"] == "someone"

    admin = logged_in(app, "admin")
    page = admin.get("/admin/-/audit/")
    assert "/admin/-/audit/export/jsonl/" in page.get_data(as_text=True)
    assert 'href="/admin/parent/history/?id=1"' in page.get_data(as_text=True)  # the row's history
    answer = admin.get("/admin/-/audit/export/jsonl/?user=someone")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    assert [json.loads(line)["message"] for line in answer.get_data(as_text=True).splitlines()] == ["=second"]
    # The page's filters apply (logging in may be an entry of its own).
    answer = admin.get("/admin/-/audit/export/csv/?action=plugin")
    shown = [row["message"] for row in csv.DictReader(io.StringIO(answer.get_data(as_text=True)))]
    assert shown == ["first", "'=second"]
    assert admin.get("/admin/-/audit/export/xml/").status_code == 404
    assert logged_in(app, "editor").get("/admin/-/audit/export/csv/").status_code == 403


def test_a_details_page_shows_the_newest_changes_and_links_to_the_rest(app):
    for number in range(12):
        record(app, 0, "", action="edit", row_key="1", changes={"name": {"old": f"v{number}", "new": f"v{number + 1}"}})
    viewer = logged_in(app, "viewer")
    page = viewer.get("/admin/parent/details/?id=1").get_data(as_text=True)
    assert page.count('class="dashboard-history-entry"') == 10
    assert "v11 → v12" in page and "v0 → v1" not in page
    assert "2 more changes: the whole history" in page
    whole = viewer.get("/admin/parent/history/?id=1").get_data(as_text=True)
    assert whole.count('class="dashboard-history-entry"') == 12 and "v0 → v1" in whole
    # Another row's history holds none of them; a row never written has no history page.
    assert 'class="dashboard-history-entry"' not in viewer.get("/admin/parent/details/?id=2").get_data(as_text=True)
    assert viewer.get("/admin/parent/history/?id=99").status_code == 404
