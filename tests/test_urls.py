"""One address per relation and per page of the dashboard's own, whatever the tables are called.

Checklist case 39: tables named like the dashboard's own pages and blueprints (``audit``,
``static``, ``login``, ``navigation``, ``pages``, ``page-charts``...) and names that slug
alike (``a b``, ``a_b``, ``a-b``, ``a.b``, ``A_B``, a schema's ``s.t`` next to a table
named ``s.t``). The app must start, every relation's list page must show that relation's
rows, every page of the dashboard's own must still be itself, and no two share a URL.
"""

from __future__ import annotations

import html
import json
import random
import re
import typing as t
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import url_for

from dashboard.db.reflection import reflect_schema
from dashboard.urls import assign_addresses, make_slug
from tests import schemas
from tests.apps import csrf_token
from tests.databases import make_database
from tests.site import Site, make_site

#: Names of the dashboard's own pages, blueprints, endpoints and URL prefixes, as table names.
BUILTIN_NAMES = (
    "admin",
    "audit",
    "static",
    "login",
    "logout",
    "api",
    "healthz",
    "language",
    "navigation",
    "navigation.json",
    "pages",
    "i18n",
    "auth",
    "dashboard",
    "dashboard_static",
    "dashboard-static",
    "plugins-static",
    "page-charts",
    "page-plugins",
    "charts",
    "plugins",
    "home",
    "babel",
    "favicon.ico",
    "-",
    "-audit",
    "dashboard:audit",
)
#: Names whose slugs would meet: ``a b`` slugs to ``a_b-<hash>``, which is also a table here.
ALIKE_NAMES = ("a b", "a_b", "a-b", "a.b", make_slug("a b"), "a_b-2")
#: Only where table names are case-sensitive (not SQLite).
CASE_NAME = "A_B"
#: A table of the default schema and of the second schema (PostgreSQL, MariaDB); the default
#: schema also gets tables named ``<schema>.t`` (its URL and id) and ``<schema>__t`` (its
#: endpoint). SQLite has no second schema: there ``main`` stands in for its name.
SCHEMA_TABLE = "t"
_MARKER = re.compile(r"marker (\d{3})")
_HEADING = re.compile(r'<h4 class="mb-4">\s*(.*?)\s*</h4>', re.S)


Names = tuple[str | None, str]


def _names(other: str | None, case_sensitive: bool) -> list[Names]:
    names: list[Names] = [(None, name) for name in BUILTIN_NAMES + ALIKE_NAMES]
    if case_sensitive:
        names.append((None, CASE_NAME))
    schema = other or "main"
    names += [(None, SCHEMA_TABLE), (None, f"{schema}.{SCHEMA_TABLE}"), (None, f"{schema}__{SCHEMA_TABLE}")]
    if other is not None:
        names.append((other, SCHEMA_TABLE))
    return names


def _create(url: str, dialect: str) -> dict[Names, str]:
    """Create one table per name, each holding one row marked with its own number; return (schema, name) -> marker."""
    other = schemas.other_schema_name(url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            case_sensitive = dialect == "postgresql" or (
                dialect == "mariadb" and connection.exec_driver_sql("SELECT @@lower_case_table_names").scalar() == 0
            )
            if other is not None:
                connection.execute(sa.schema.CreateSchema(other))
            markers: dict[Names, str] = {}
            for number, (schema, name) in enumerate(_names(other, case_sensitive)):
                # A MetaData each: SQLAlchemy itself would take schema s's "t" and a table "s.t" for one.
                table = sa.Table(
                    name,
                    sa.MetaData(),
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("label", sa.String(50)),
                    schema=schema,
                )
                table.create(connection)
                markers[(schema, name)] = f"marker {number:03d}"
                connection.execute(table.insert(), [{"id": 1, "label": markers[(schema, name)]}])
    finally:
        engine.dispose()
    return markers


@pytest.fixture(scope="module")
def named_like_us(dialect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, dict[Names, str]]]:
    """An admin's session on a database whose tables are named like the dashboard's pages (read only)."""
    with make_database(dialect) as url:
        markers = _create(url, dialect)
        other = schemas.other_schema_name(url)
        site = make_site(url, tmp_path_factory.mktemp("urls"), SCHEMAS=[other] if other else [])
        try:
            yield site, markers
        finally:
            site.state.engine.dispose()


def _views(site: Site) -> dict[Names, t.Any]:
    return {(view.info.schema, view.info.name): view for view in site.state.views.values()}


def _heading(page: str) -> str:
    match = _HEADING.search(page)
    assert match, "the page has no heading"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_39_every_table_named_like_our_pages_is_served_with_its_own_rows(named_like_us) -> None:
    site, markers = named_like_us
    views = _views(site)
    assert set(views) == set(markers), "every relation is served"
    assert len(site.state.views) == len(markers), "under ids of their own"
    for names, view in views.items():
        page = site.text(f"/admin/{view.info.url_path}/")
        assert _heading(page) == view.info.name, names
        assert set(_MARKER.findall(page)) == {markers[names][-3:]}, f"{names} shows its own row only"


def test_39_the_dashboards_own_pages_stay_themselves(named_like_us) -> None:
    site, markers = named_like_us
    assert _heading(site.text("/admin/")) == "Home"
    assert _heading(site.text("/admin/-/audit/")) == "Audit log"
    assert _heading(site.text("/admin/-/pages/plugins/")) == "Plugins"
    assert _heading(site.text("/admin/-/pages/charts/")) == "Charts"
    finder = json.loads(site.text("/admin/-/navigation.json"))
    assert {entry["id"] for entry in finder["tables"]} == set(site.state.views)
    for static, content in (
        ("/admin/-/static/admin/js/helpers.js", "function"),
        ("/dashboard-static/dashboard.css", ".dashboard-"),
    ):
        with site.client.get(static) as response:
            assert response.status_code == 200 and content in response.get_data(as_text=True), static
    anonymous = site.app.test_client()
    assert anonymous.get("/healthz").get_data(as_text=True) == "ok\n"
    assert "Log in" in anonymous.get("/login").get_data(as_text=True)
    language = site.client.post(
        "/language", data={"locale": "en", "next": "/admin/audit/", "csrf_token": csrf_token(site.client)}
    )
    assert language.status_code == 302 and language.headers["Location"] == "/admin/audit/"


def test_39_every_address_is_distinct(named_like_us) -> None:
    site, markers = named_like_us
    views = site.state.views
    own = [
        "admin.index",
        "dashboard:audit.index",
        "dashboard:page:plugins.index",
        "dashboard:page:charts.index",
        "dashboard:navigation.tables_json",
        "dashboard:auth.login",
        "dashboard:auth.logout",
        "dashboard:i18n.set_language",
        "healthz",
    ]
    with site.app.test_request_context():
        table_urls = {table_id: url_for(f"{view.endpoint}.index_view") for table_id, view in views.items()}
        own_urls = [url_for(endpoint) for endpoint in own]
    every = [*table_urls.values(), *own_urls]
    assert len(set(every)) == len(every) == len(markers) + len(own)
    assert not any(u.startswith("/admin/-") for u in table_urls.values()), "no table under the dashboard's prefix"
    assert not any(":" in view.endpoint for view in views.values()), "no table in the dashboard's endpoint namespace"
    finder = json.loads(site.text("/admin/-/navigation.json"))
    assert {entry["id"]: entry["url"] for entry in finder["tables"]} == table_urls


def test_39_urlsafe_names_keep_their_own_url_and_derived_slugs_give_way(named_like_us) -> None:
    site, _markers = named_like_us
    views = {name: view for (schema, name), view in _views(site).items() if schema is None}
    for name in ("audit", "static", "login", "admin", "pages", "page-charts", "dashboard_static", "a_b", "a-b"):
        assert views[name].info.url_path == name
    assert views["admin"].info.endpoint != "admin", "Flask-Admin's home keeps its endpoint"
    # "a b" slugs to the name another table has: that table keeps it, "a b" takes a suffix,
    # and the suffixed slug is not the one a table called "a_b-2" has either.
    taken = make_slug("a b")
    assert views[taken].info.url_path == taken
    assert views["a b"].info.url_path == f"{taken}-2"
    assert views["a_b-2"].info.url_path == "a_b-2"
    assert views["-"].info.url_path != "-" and not views["-"].info.url_path.startswith("-")


def test_39_a_schema_table_and_a_table_named_like_it_differ(named_like_us) -> None:
    site, _markers = named_like_us
    views = _views(site)
    other = next((schema for schema, _name in views if schema is not None), None)
    schema = other or "main"
    plain, dotted = views[(None, SCHEMA_TABLE)].info, views[(None, f"{schema}.{SCHEMA_TABLE}")].info
    joined = views[(None, f"{schema}__{SCHEMA_TABLE}")].info
    assert plain.url_path == SCHEMA_TABLE
    assert joined.endpoint == f"{schema}__{SCHEMA_TABLE}", "an exact name keeps its endpoint"
    # A dot in a default-schema table's slug would read as "schema.table": it never has one.
    assert "." not in dotted.url_path
    if other is not None:
        in_schema = views[(other, SCHEMA_TABLE)].info
        assert in_schema.url_path == f"{other}.{SCHEMA_TABLE}"
        assert in_schema.endpoint not in (joined.endpoint, plain.endpoint)
        assert in_schema.id == f"{other}.{SCHEMA_TABLE}" != dotted.id


def test_39_addresses_are_the_same_at_every_start(named_like_us) -> None:
    site, _markers = named_like_us
    first = {table_id: (view.info.url_path, view.info.endpoint) for table_id, view in site.state.views.items()}
    schema = reflect_schema(site.state.engine, [s for s in {v.info.schema for v in site.state.views.values()} if s])
    assert {info.id: (info.url_path, info.endpoint) for info in schema.tables} == first
    shuffled = list(schema.tables)
    random.Random(11).shuffle(shuffled)
    for info in shuffled:
        info.url_path = info.endpoint = ""
    assign_addresses(shuffled)
    assert {info.id: (info.url_path, info.endpoint) for info in shuffled} == first


@pytest.mark.parametrize("name", ["-", "-x", "--", "a b", "é", "", "a.b", "dashboard:x"])
def test_a_slug_is_urlsafe_and_never_starts_with_a_dash(name: str) -> None:
    slug = make_slug(name)
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", slug), slug
