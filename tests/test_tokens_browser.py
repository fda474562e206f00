"""The API tokens page in a real Chromium: from the operator's menu, make a read-only token for
one table, see it once, call the API with it, and revoke it. A screenshot of the page with
the new token goes to ``test-artifacts/``."""

from __future__ import annotations

import tempfile
import threading
import typing as t
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from dashboard.site_state import current_site
from tests.apps import PASSWORD, add_user, make_app, make_small_database
from tests.browser import require_browser
from tests.test_e2e import Operator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """A small SQLite site with an editor ``eddie``, served on a free port."""
    require_browser()
    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory(prefix="dash_tokens_") as folder:
        app = make_app(make_small_database(f"{folder}/small.db"), f"{folder}/instance")
        add_user(app, "eddie", "editor")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
            current_site(app).engine.dispose()


def api_status(base: str, path: str, token: str) -> int:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 -- our own test server
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_make_use_and_revoke_a_token_in_the_browser(chromium: t.Any, served: str) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        operator = Operator(context.new_page(), served)
        page = operator.page
        operator.go("/login")
        page.fill("input[name=username]", "eddie")
        page.fill("input[name=password]", PASSWORD)
        operator.through(lambda: page.click("form button.btn-primary"))
        operator.through(lambda: page.click(".dashboard-account a.nav-link"))
        assert page.url == served + "/admin/-/tokens/"
        page.fill("#token-name", "nightly report")
        page.select_option("#token-expires", "7d")
        page.check("#token-read-only")
        page.select_option("#token-tables", ["payments"])
        operator.through(lambda: page.click(".dashboard-token-form button[type=submit]"))
        token = page.locator("#dashboard-new-token").inner_text().strip()
        assert token.startswith("dash_")
        assert page.locator(".dashboard-token-name").all_inner_texts() == ["nightly report"]
        operator.shot("api-tokens")
        assert api_status(served, "/api/payments/", token) == 200
        assert api_status(served, "/api/parent/", token) == 404
        operator.go("/admin/-/tokens/")
        assert token not in page.content()  # shown once
        operator.through(lambda: page.click(".dashboard-token button[type=submit]"))
        assert "revoked" in page.locator(".alert-success").inner_text()
        assert page.locator(".dashboard-token").count() == 0
        assert api_status(served, "/api/payments/", token) == 401
    finally:
        context.close()
