"""Single sign-on and the users page in a real Chromium.

A person signs in through the local OpenID Connect provider (:mod:`tests.oidc_provider`)
and lands logged in; an administrator adds an operator on ``/admin/-/users/``, who then
logs in with the password given. Screenshots of the login page with its "Sign in with"
button and of the users page go to ``test-artifacts/``.
"""

from __future__ import annotations

import tempfile
import threading
import typing as t
from collections.abc import Iterator

import pytest

from dashboard.site_state import current_site
from tests.apps import PASSWORD, add_user, make_app, make_small_database
from tests.browser import require_browser
from tests.oidc_provider import LocalProvider, oidc_provider  # noqa: F401 -- a fixture: this worker's provider
from tests.test_e2e import Operator

pytestmark = pytest.mark.e2e

_PASSWORD_BUTTON = "form:has(input[name=password]) button[type=submit]"


@pytest.fixture(scope="module")
def served(oidc_provider: LocalProvider) -> Iterator[str]:  # noqa: F811
    """A small SQLite site with single sign-on through the local provider and an admin ``root``."""
    require_browser()
    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory(prefix="dash_sso_") as folder:
        app = make_app(make_small_database(f"{folder}/small.db"), f"{folder}/instance", **oidc_provider.settings())
        add_user(app, "root", "admin")
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


def test_sign_in_through_the_openid_provider(chromium: t.Any, served: str, oidc_provider: LocalProvider) -> None:  # noqa: F811
    oidc_provider.reset(sub="browser-1", preferred_username="grace", groups=["staff"])
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        operator = Operator(context.new_page(), served)
        page = operator.page
        operator.go("/login?next=/admin/parent/")
        assert page.locator("#sso-login").inner_text().strip() == "Sign in with Local ID"
        operator.shot("login-sso")
        operator.through(lambda: page.click("#sso-login"))
        assert page.url == served + "/admin/parent/"
        assert "grace" in page.locator(".dashboard-account").inner_text()
    finally:
        context.close()


def test_an_administrator_adds_an_operator_who_then_logs_in(chromium: t.Any, served: str) -> None:
    admin_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        admin = Operator(admin_context.new_page(), served)
        page = admin.page
        admin.go("/login")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", PASSWORD)
        admin.through(lambda: page.click(_PASSWORD_BUTTON))
        admin.go("/admin/-/users/")
        page.fill("#user-name", "olga")
        page.select_option("#user-role", "editor")
        page.fill("#user-password", "olga's long password")
        admin.through(lambda: page.click(".dashboard-user-form button[type=submit]"))
        assert "User olga added as editor." in page.locator(".alert-success").inner_text()
        assert page.locator('.dashboard-user[data-user="olga"] .dashboard-user-role').inner_text() == "editor"
        admin.shot("users")
    finally:
        admin_context.close()
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        olga = Operator(context.new_page(), served)
        page = olga.page
        olga.go("/login")
        page.fill("input[name=username]", "olga")
        page.fill("input[name=password]", "olga's long password")
        olga.through(lambda: page.click(_PASSWORD_BUTTON))
        assert page.url == served + "/admin/"
        assert "olga" in page.locator(".dashboard-account").inner_text()
    finally:
        context.close()
