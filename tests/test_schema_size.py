"""A schema of 600 relations: the app starts, the home page stays small and grouped, every
relation is reachable through the table finder.

How long start-up takes is measured by bench/schema_size.py, not asserted here: a shared
machine makes timed tests flaky, and a figure in a report says more than a pass.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests import schemas
from tests.databases import make_database
from tests.site import Site, make_site
from tests.wide_schema import WideRelation, create_wide_schema

RELATIONS = 600
#: What the home page of 600 relations may weigh (it was 190 KB, one table of 600 rows).
HOME_LIMIT_KB = 120
_GROUP = re.compile(
    r'<details class="dashboard-table-group" data-group="[^"]*"( open)?( hidden)?>\s*'
    r'<summary[^>]*>(.*?) <span class="badge badge-light">([\d,]+)</span></summary>(.*?)</details>',
    re.S,
)
_ROW = re.compile(r'<tr data-name="([^"]*)"( hidden)?><td><a href="([^"]*)">([^<]*)</a>')


@pytest.fixture(scope="module")
def wide(dialect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, list[WideRelation]]]:
    """An admin's session on 600 relations, a quarter of them in a second schema where there is one."""
    with make_database(dialect) as url:
        other = schemas.other_schema_name(url)
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                if other is not None:
                    connection.execute(sa.schema.CreateSchema(other))
                relations = create_wide_schema(url, RELATIONS, other)
                if dialect == "postgresql":
                    # As a database in use: its statistics known, so the home page shows estimates.
                    connection.exec_driver_sql("ANALYZE")
        finally:
            engine.dispose()
        site = make_site(url, tmp_path_factory.mktemp("wide"), SCHEMAS=[other] if other else [])
        try:
            yield site, relations
        finally:
            site.state.engine.dispose()


def _groups(page: str) -> dict[str, tuple[bool, bool, int, list[tuple[str, bool, str, str]]]]:
    """Group name -> (unfolded, hidden, count shown, rows as (data-name, hidden, href, label))."""
    return {
        html.unescape(name): (
            bool(unfolded),
            bool(hidden),
            int(count.replace(",", "")),
            [(n, bool(h), html.unescape(href), html.unescape(label)) for n, h, href, label in _ROW.findall(body)],
        )
        for unfolded, hidden, name, count, body in _GROUP.findall(page)
    }


def test_every_relation_of_a_wide_schema_is_served(wide) -> None:
    site, relations = wide
    assert len(relations) == RELATIONS
    assert {relation.id for relation in relations} == set(site.state.views)


def test_the_home_page_of_600_relations_is_grouped_folded_and_small(wide) -> None:
    site, relations = wide
    response = site.get("/admin/")
    assert response.status_code == 200
    assert len(response.data) < HOME_LIMIT_KB * 1024, f"{len(response.data) // 1024} KB"
    page = response.get_data(as_text=True)
    groups = _groups(page)
    other = next((r.schema for r in relations if r.schema), None)
    expected = {"Tables", "Views"} | ({f"{other}: tables", f"{other}: views"} if other else set())
    assert set(groups) == expected, "grouped by schema and kind"
    for name, (unfolded, hidden, count, rows) in groups.items():
        assert not unfolded and not hidden, f"{name}: folded, not hidden"
        assert count == len(rows) > 0
        assert not any(row_hidden for _n, row_hidden, _href, _label in rows)
    views = site.state.views
    listed = {href for _unfolded, _hidden, _count, rows in groups.values() for _n, _h, href, _label in rows}
    assert listed == {f"/admin/{view.info.url_path}/" for view in views.values()}, "each relation once"
    in_views = {label for _n, _h, _href, label in groups["Views"][3]}
    assert in_views == {r.name for r in relations if r.kind == "view" and r.schema is None}


def test_the_home_search_without_javascript_shows_the_matches_only(wide) -> None:
    site, relations = wide
    wanted = relations[3]  # the first one in the second schema, where there is one
    page = site.text(f"/admin/?q={wanted.name.upper()}")
    groups = _groups(page)
    shown = [
        (name, label)
        for name, (unfolded, hidden, _count, rows) in groups.items()
        if not hidden
        for _n, row_hidden, _href, label in rows
        if not row_hidden
    ]
    assert shown == [(f"{wanted.schema}: tables" if wanted.schema else "Tables", wanted.name)]
    assert all(unfolded for unfolded, hidden, _count, _rows in groups.values() if not hidden)
    # Words match names and groups alike, as in the navbar's finder.
    page = site.text(f"/admin/?q=views+{wanted.name[:-2]}")
    shown_names = {
        label
        for _u, hidden, _c, rows in _groups(page).values()
        if not hidden
        for _n, row_hidden, _href, label in rows
        if not row_hidden
    }
    assert shown_names and all(name.startswith(f"v_{wanted.name[:-2]}") for name in shown_names)


def test_every_relation_is_reachable_through_the_table_finder(wide) -> None:
    site, relations = wide
    finder = json.loads(site.text("/admin/-/navigation.json"))
    entries = {entry["id"]: entry for entry in finder["tables"]}
    assert set(entries) == {relation.id for relation in relations}
    adapter = site.app.url_map.bind("localhost")
    for table_id, entry in entries.items():
        endpoint, _arguments = adapter.match(entry["url"])
        assert endpoint == f"{site.state.views[table_id].endpoint}.index_view", table_id
    # One of each kind and schema opened for real: the page shows that relation's rows.
    samples = {(relation.schema, relation.kind): relation for relation in relations}
    for relation in samples.values():
        page = site.text(entries[relation.id]["url"])
        if relation.kind == "table":
            assert relation.row_name(1) in page and relation.row_name(2) in page, relation.id
        else:
            assert f"{relation.name}: " in html.unescape(page), relation.id
