"""``dashboard serve`` under gunicorn, as an operator runs it.

Several workers see a write at once; a CSV export streaming for a long time does not stall
the other pages; a port already in use is one clear error, before anything is announced.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
from pathlib import Path

import pytest

from dashboard.cli import server
from dashboard.instance import file_cache_dir
from tests.served import Browser, dashboard_cli, serving
from tests.site import form_values

PASSWORD = "server test password"


@pytest.fixture
def two_workers(tmp_path: Path):
    env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(tmp_path)}
    dashboard_cli("demo", "--rows", "300", "--output", str(tmp_path / "shop.db"), env=env)
    dashboard_cli("users", "add", "op", "--role", "editor", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    with serving(f"sqlite:///{tmp_path / 'shop.db'}", "--workers", "2", env=env, log=tmp_path / "serve.log") as served:
        yield served


LIST = "/admin/customers/?page_size=20"


def _ask_every_worker(browser: Browser, log: Path, since: int) -> list[str]:
    """Request the list until both workers have answered it.

    Each request is a new connection; both gthread workers wait on the listening socket
    and whichever accepts first answers, so a few requests reach both.
    """
    pages: list[str] = []
    for _attempt in range(200):
        pages.append(browser.get(LIST))
        lines = log.read_text().splitlines()[since:]
        answered_by = {
            m for line in lines for m in re.findall(r'"GET ' + re.escape(LIST) + r' HTTP/1.1" 200 .* pid=<(\d+)>', line)
        }
        if len(answered_by) == 2:
            return pages
    raise AssertionError("one worker answered every request; the test would prove nothing")


def test_a_write_is_seen_at_once_on_every_worker(two_workers):
    log = two_workers.log
    browser = Browser(two_workers.base)
    browser.login("op", PASSWORD)
    before = _ask_every_worker(browser, log, since=0)  # both workers now hold the listing in cache
    assert not any("seen-by-every-worker" in page for page in before)
    edit = "/admin/customers/edit/?id=1"
    fields = form_values(browser.get(edit))
    fields.pop("csrf_token", None)
    fields["name"] = "seen-by-every-worker"
    browser.post(edit, fields, token_from=edit)
    after = _ask_every_worker(browser, log, since=len(log.read_text().splitlines()))
    assert all("seen-by-every-worker" in page for page in after)
    folder = file_cache_dir(two_workers.log.parent, f"sqlite:///{two_workers.log.parent / 'shop.db'}")
    assert f"2 workers share the listing cache in {folder} " in two_workers.output()


# -- an export streaming while other pages answer ---------------------------------------------

#: Rows of the exported table: about 30 MB of CSV, far more than the kernel's socket
#: buffers hold, so an export whose client stops reading cannot finish.
EXPORT_ROWS = 400_000
EXPORT = "/admin/readings/export/csv/"


@pytest.fixture(scope="module")
def big_database(tmp_path_factory) -> str:
    """An SQLite database with one table of :data:`EXPORT_ROWS` rows."""
    path = tmp_path_factory.mktemp("big") / "readings.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, value INTEGER)")
        connection.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO readings SELECT i, 'sensor-' || (i % 97) || '-' || hex(randomblob(20)), i * 7 FROM n",
            (EXPORT_ROWS,),
        )
    connection.close()
    return f"sqlite:///{path}"


@pytest.mark.parametrize("options", [(), ("--workers", "1")], ids=["default", "one-worker"])
def test_pages_answer_while_an_export_streams(big_database, tmp_path, options):
    env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(tmp_path / "instance")}
    dashboard_cli("users", "add", "op", "--role", "viewer", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    with serving(big_database, *options, env=env, log=tmp_path / "serve.log") as served:
        browser = Browser(served.base)
        browser.login("op", PASSWORD)
        with browser.open(EXPORT) as export:
            first = export.read(4096)  # the first chunk; the rest waits on the server's side
            assert first.startswith(b"id,sensor,value\r\n1,sensor-1-")

            with browser.open("/admin/readings/?page_size=20") as page:
                assert page.status == 200
                assert "sensor-20-" in page.read().decode()
            # gunicorn logs a request when its response is complete: the export is not.
            assert f"GET {EXPORT}" not in served.output()

            rest = export.read()
        assert (first + rest).count(b"\r\n") == EXPORT_ROWS + 1


def test_serve_defaults_to_threaded_workers_from_the_cpu_count(tmp_path, small_database_url):
    env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(tmp_path / "instance")}
    with serving(small_database_url, env=env, log=tmp_path / "serve.log") as served:
        output = served.output()
    workers = server.default_workers()
    assert 1 <= workers <= min(server.usable_cpus(), server.MAX_DEFAULT_WORKERS)
    assert f"{workers} worker processes with {server.DEFAULT_THREADS} threads each" in output
    assert "Using worker: gthread" in output
    assert output.count("Booting worker") == workers
    assert ("workers share the listing cache in" in output) == (workers > 1)


# -- the port -------------------------------------------------------------------------------------


def test_a_taken_port_is_one_line_on_stderr_and_exit_2(tmp_path, small_database_url):
    instance = tmp_path / "instance"
    env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(instance)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = dashboard_cli("serve", small_database_url, "--port", str(port), env=env, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use by another program. "
        "Stop that program, or choose another port with --port."
    ]
    # Nothing was announced, and no first admin was made whose password nobody could use.
    assert "Open http" not in result.stdout and "password" not in result.stdout
    assert not (instance / "state.db").exists()


def test_an_unknown_host_is_one_line_on_stderr_and_exit_2(tmp_path, small_database_url):
    env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(tmp_path / "instance")}
    result = dashboard_cli("serve", small_database_url, "--host", "no-such-host.invalid", env=env, check=False)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: cannot listen on no-such-host.invalid:") and "--host" in result.stderr
    assert "Open http" not in result.stdout
