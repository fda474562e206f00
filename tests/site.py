"""A test client that behaves like an operator's browser: it logs in and posts forms with their CSRF token."""

from __future__ import annotations

import html
import re
import typing as t
from urllib.parse import quote

import sqlalchemy as sa
from flask import Flask

from dashboard.site_state import current_site
from tests.apps import csrf_token, logged_in, make_app


class Site:
    """One operator's session on a dashboard app."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.state = current_site(app)

    def url(self, table_id: str, page: str = "", key: str | None = None) -> str:
        """The URL of a table's page (``""`` list, ``details``, ``edit``, ``new``), for row ``key``."""
        view = self.state.views[table_id]
        base = f"/admin/{view.info.url_path}/{page + '/' if page else ''}"
        return base if key is None else f"{base}?id={quote(key, safe='')}"

    def get(self, url: str) -> t.Any:
        return self.client.get(url)

    def text(self, url: str) -> str:
        response = self.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)

    def token(self, url: str = "/admin/") -> str:
        """The CSRF token the forms of the page at ``url`` carry, whatever the order of their attributes."""
        return csrf_token(self.client, url)

    def post(self, url: str, data: dict[str, t.Any], *, token_from: str | None = None, follow: bool = False) -> t.Any:
        """POST ``data`` with the CSRF token a real form on ``token_from`` (default: ``url``) carries."""
        payload = dict(data)
        payload.setdefault("csrf_token", self.token(token_from or url))
        return self.client.post(url, data=payload, follow_redirects=follow)

    def form_values(self, url: str) -> dict[str, str]:
        """The values an edit or create form is pre-filled with, as the browser would send them."""
        return form_values(self.text(url))

    def flashes(self, page: str) -> list[str]:
        found = re.findall(r'class="alert alert-[a-z]+[^"]*"[^>]*>(.*?)</div>', page, re.S)
        return [html.unescape(re.sub(r"<[^>]+>|&times;", "", f)).strip() for f in found]


def form_values(page: str) -> dict[str, str]:
    """The values the form on ``page`` would send as it stands (inputs, textareas, selected options)."""
    values: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]*)"', tag)
        # A browser sends neither buttons, unticked boxes nor disabled (read-only) fields.
        if not name or re.search(r'type="(submit|checkbox)"', tag) or _disabled(tag):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    for attributes, body in re.findall(r"<textarea([^>]*)>(.*?)</textarea>", page, re.S):
        name = re.search(r'name="([^"]*)"', attributes)
        if name and not _disabled(f"<textarea{attributes}>"):
            values[html.unescape(name.group(1))] = html.unescape(body.removeprefix("\r\n").removeprefix("\n"))
    for name, body in re.findall(r'<select[^>]*name="([^"]*)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        values[html.unescape(name)] = html.unescape(chosen.group(1) or chosen.group(2)) if chosen else ""
    return values


def _disabled(tag: str) -> bool:
    """Whether the tag carries the ``disabled`` attribute (not merely the word inside a value)."""
    return re.search(r"\sdisabled[\s>=/]", re.sub(r'"[^"]*"', '""', tag)) is not None


def make_site(database_url: str, instance_path: t.Any, role: str = "admin", **settings: t.Any) -> Site:
    """A dashboard on ``database_url`` with its instance folder in ``instance_path``, logged in as ``role``."""
    app = make_app(database_url, instance_path, **settings)
    app.config["PROPAGATE_EXCEPTIONS"] = True  # a server error fails the test with its traceback
    site = Site(app)
    site.client = logged_in(app, role)
    return site


def rows(database_url: str, table: str, order_by: str | None = None) -> list[tuple[t.Any, ...]]:
    """Every row of ``table`` as the database has it, read outside the dashboard."""
    engine = sa.create_engine(database_url)
    try:
        relation = sa.Table(table, sa.MetaData(), autoload_with=engine)
        statement = sa.select(relation)
        if order_by:
            statement = statement.order_by(relation.c[order_by])
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement)]
    finally:
        engine.dispose()
