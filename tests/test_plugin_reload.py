"""``dashboard serve --reload`` restarts when a plugin's file changes, also a plugin that failed
to import (never imported, so Werkzeug's reloader alone would not watch it).

One real development server in a subprocess; the test waits for each change by polling with a
deadline, never by sleeping a fixed time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

from dashboard.cli.serve import plugin_files
from tests.apps import PASSWORD, add_user, make_app, make_small_database
from tests.plugin_kit import write_plugin
from tests.served import Browser, free_port, stop

#: Long enough to fail the test rather than hang it; no assertion is about time.
DEADLINE_S = 90

FIXED = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, Page


class Mended(Page):
    title = "Mended"
    roles = ALL_ROLES
    template = "mended/page.html"


@hookimpl
def register_pages():
    return [Mended]
"""
PAGE = """
{% extends "dashboard/page.html" %}
{% block page_content %}<p id="mended">The plugin works now.</p>{% endblock %}
"""


def _status(browser: Browser, path: str) -> tuple[int, str]:
    try:
        with browser.open(path, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:  # the server is restarting: nothing listens for a moment
        return 0, ""


def _wait_for(browser: Browser, path: str, wanted: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status, page = _status(browser, path)
        if status == 200 and wanted in page:
            return
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{path} never showed {wanted!r} (last status {status}):\n{log.read_text()}")
        time.sleep(0.2)


def test_fixing_a_plugin_that_failed_to_import_restarts_the_server_with_its_page(tmp_path: Path) -> None:
    """A plugin whose import fails, fixed while the server runs: its page answers; then an
    edit of its template shows."""
    database = make_small_database(tmp_path / "target.db")
    instance = tmp_path / "instance"
    plugins = tmp_path / "plugins"
    package = write_plugin(plugins, "mended", "import no_such_module_for_the_reload_test\n" + FIXED)
    (package / "templates" / "mended").mkdir(parents=True)
    (package / "templates" / "mended" / "page.html").write_text(PAGE)
    # The operator who logs in: in the state database the server will use.
    add_user(make_app(database, instance), "developer", "admin")
    port = free_port()
    env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(instance)}
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "serve", database, "--reload", "--plugins", str(plugins)]
            + ["--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        _wait_for(browser, "/login", "csrf_token", process, log)
        browser.login("developer", PASSWORD)
        _wait_for(browser, "/admin/-/pages/plugins/", "no_such_module_for_the_reload_test", process, log)
        assert _status(browser, "/admin/-/pages/mended/")[0] == 404

        (package / "__init__.py").write_text(FIXED)  # the fix: the failing import goes
        _wait_for(browser, "/admin/-/pages/mended/", "The plugin works now.", process, log)

        (package / "templates" / "mended" / "page.html").write_text(PAGE.replace("works now", "shows its edit"))
        _wait_for(browser, "/admin/-/pages/mended/", "The plugin shows its edit.", process, log)
    finally:
        stop(process)


def test_the_reloader_watches_every_file_of_the_plugins_folder(tmp_path: Path) -> None:
    """Code, templates and static files of every plugin, the folder itself (new ``.py`` files),
    no byte code and no hidden folders."""
    write_plugin(
        tmp_path,
        "broken",
        "raise RuntimeError\n",
        {"templates/broken/page.html": "x", "static/style.css": "x", "__pycache__/x.pyc": "", ".git/HEAD": ""},
    )
    assert plugin_files(tmp_path) == [
        str(tmp_path),
        str(tmp_path / "broken" / "__init__.py"),
        str(tmp_path / "broken" / "static" / "style.css"),
        str(tmp_path / "broken" / "templates" / "broken" / "page.html"),
    ]
    assert plugin_files(tmp_path / "missing") == []
