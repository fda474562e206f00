"""The API explorer at ``/api/`` in a real Chromium, under the site's Content-Security-Policy.

One walk: an anonymous visit goes through the login page and back; the bundled Swagger UI
loads the caller's OpenAPI document and lists its operations; "Try it out" of a GET lists the
demo's tags with the session; a POST creates a tag, sent with the session's CSRF token in
``X-CSRFToken``. No console error, no CSP violation, no failed request along the way. A
screenshot of the page and one of the POST's answer go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import threading
import typing as t

import pytest

from dashboard.db.demo import write_demo_database
from dashboard.site_state import current_site
from tests.apps import PASSWORD, add_user, make_app
from tests.browser import require_browser
from tests.site import rows
from tests.test_e2e import ARTIFACTS, Operator

pytestmark = pytest.mark.e2e

#: Reports every CSP violation as a console error, which :class:`Operator` counts as a problem.
_REPORT_CSP = (
    "document.addEventListener('securitypolicyviolation', function (event) {"
    " console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI); });"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[str, str]]:
    """The demo shop on SQLite with an admin ``alice``, served on a free port; yields the base
    URL and the database URL."""
    require_browser()
    from werkzeug.serving import make_server

    folder = tmp_path_factory.mktemp("api-explorer")
    url = f"sqlite:///{folder}/demo.db"
    write_demo_database(url, rows=20)
    app = make_app(url, folder / "instance")
    add_user(app, "alice", "admin")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        current_site(app).engine.dispose()


def _operation(page: t.Any, method: str, table: str) -> t.Any:
    """The explorer's block of ``method`` on a table's rows (``/api/<table>/``), opened."""
    block = page.locator(f'.opblock-{method}:has(.opblock-summary-path[data-path$="/{table}/"])').first
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    return block


def _answer(block: t.Any) -> tuple[str, str]:
    """The status and body of the call the block just made."""
    live = block.locator(".live-responses-table .response")
    live.wait_for()
    status = live.locator(".response-col_status").inner_text().strip()
    body = live.locator(".response-col_description .microlight, .response-col_description pre").first.inner_text()
    return status, body


def test_the_explorer_lists_the_operations_and_calls_the_api_with_the_session(
    chromium: t.Any, served: tuple[str, str]
) -> None:
    base, database_url = served
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script(_REPORT_CSP)
        page = context.new_page()
        operator = Operator(page, base)
        sent: list[dict[str, str]] = []
        api = base + "/api/"
        page.on("request", lambda r: sent.append(r.headers) if r.method == "POST" and r.url.startswith(api) else None)

        operator.go("/api/")
        assert "/login" in page.url
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        operator.through(lambda: page.click("button[type=submit]"))
        assert page.url == base + "/api/"
        page.locator(".opblock").first.wait_for()
        operator.settle()
        paths = page.locator(".opblock-summary-path").evaluate_all("nodes => nodes.map(n => n.dataset.path)")
        assert any(path.endswith("/orders/") for path in paths), paths
        assert any(path.endswith("/tags/") for path in paths), paths
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-explorer.png"))

        listing = _operation(page, "get", "tags")
        listing.locator("button.execute").click()
        status, body = _answer(listing)
        assert status == "200", body
        assert "rows" in json.loads(body)
        operator.settle()

        create = _operation(page, "post", "tags")
        create.locator("textarea.body-param__text").fill(json.dumps({"values": {"name": "from the explorer"}}))
        create.locator("button.execute").click()
        status, body = _answer(create)
        assert status == "201", body
        operator.settle()
        token = page.locator("#swagger-ui").get_attribute("data-csrf-token")
        assert token and [headers.get("x-csrftoken") for headers in sent] == [token]
        assert any(re.search("from the explorer", str(row)) for row in rows(database_url, "tags"))
        create.screenshot(path=str(ARTIFACTS / "api-explorer-post.png"))
    finally:
        context.close()
