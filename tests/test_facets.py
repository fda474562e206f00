"""The list page's facets panel (dashboard/web/facets.py, dashboard/db/facets.py): counts equal to a
GROUP BY under the list's filters and search on every dialect, foreign-key labels, months, the
``facet`` argument, hidden columns and roles, escaping, and fresh counts after an edit."""

from __future__ import annotations

import datetime as dt
import html
import re
import typing as t
from collections import Counter
from urllib.parse import urljoin

import pytest
import sqlalchemy as sa

from tests.apps import logged_in
from tests.databases import database_with
from tests.site import Site, make_site

HOSTILE_COLUMN = 'we"ird <col>'
HOSTILE_VALUE = "<b>odd</b>"
STATUSES = ("new", "used", HOSTILE_VALUE)
MAKERS = {1: "Acme <Tools>", 2: "Bolt & Co", 3: "Crank"}


def _rows() -> list[dict[str, t.Any]]:
    rows = []
    for i in range(1, 41):
        rows.append(
            {
                "id": i,
                "maker_id": 1 + (i * 7) % 3 if i % 11 else None,
                "status": STATUSES[(i // 2) % 3],
                "flag": i % 4 == 0,
                "made_at": dt.datetime(2026, 1 + i % 5, 1 + i % 27, i % 24, 30),
                "title": f"item {'red' if i % 3 else 'blue'} {i}",
                HOSTILE_COLUMN: ("x", "<script>y</script>", None)[i % 3],
                "hidden_note": f"private {i % 2}",
                "api_token": f"tok{i % 2}",
            }
        )
    return rows


ROWS = _rows()


def _write_facets(url: str) -> None:
    """The makers and items above, written into the empty database at ``url``."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    makers = sa.Table(
        "makers", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50))
    )
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    items = sa.Table(
        "items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("maker_id", sa.Integer, sa.ForeignKey("makers.id"), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("flag", sa.Boolean, nullable=False),
        sa.Column("made_at", sa.DateTime, nullable=False),
        sa.Column("title", sa.String(40), nullable=False),
        sa.Column(HOSTILE_COLUMN, sa.String(30), nullable=True),
        sa.Column("hidden_note", sa.String(20)),
        sa.Column("api_token", sa.String(20)),
        sa.CheckConstraint(f"status IN ({statuses})", name="ck_items_status"),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(makers.insert(), [{"id": k, "name": v} for k, v in MAKERS.items()])
        connection.execute(items.insert(), ROWS)
    engine.dispose()


@pytest.fixture(scope="module")
def facets_url(dialect: str) -> t.Iterator[str]:
    """The items, one database per dialect shared by the module's tests that only read it."""
    with database_with(dialect, "facets", _write_facets) as url:
        yield url


@pytest.fixture
def own_facets_url(dialect: str) -> t.Iterator[str]:
    """The items in a database of the test's own: for a test that changes rows or statistics."""
    with database_with(dialect, "facets", _write_facets) as url:
        yield url


def _items_site(url: str, folder: t.Any) -> Site:
    return make_site(url, folder, TABLES={"items": {"columns": {"hidden_note": {"hidden": True}}}})


@pytest.fixture(scope="module")
def site(facets_url: str, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Site]:
    """An administrator's site on :func:`facets_url`, shared by the module's readers (its
    listing cache too: nothing they do changes a row)."""
    site = _items_site(facets_url, tmp_path_factory.mktemp("facets-site"))
    yield site
    site.state.engine.dispose()


@pytest.fixture
def own_site(own_facets_url: str, tmp_path: t.Any) -> t.Iterator[Site]:
    """An administrator's site on :func:`own_facets_url`, for a test that writes."""
    site = _items_site(own_facets_url, tmp_path)
    yield site
    site.state.engine.dispose()


def panel(page: str) -> dict[str, dict[str, int]]:
    """The facets panel of a list page: facet heading -> value text -> count, as shown."""
    found = re.search(r"<aside[^>]*dashboard-facets.*?</aside>", page, re.S)
    assert found, "no facets panel"
    facets: dict[str, dict[str, int]] = {}
    for heading, items in re.findall(r"<h3[^>]*>(.*?)</h3>\s*<ul[^>]*>(.*?)</ul>", found.group(0), re.S):
        name = html.unescape(re.sub(r"<span.*|<a .*", "", heading, flags=re.S)).strip()
        values = {}
        for value, count in re.findall(r'<li>(?:<a href="[^"]*">)?(.*?)(?:</a>)? <span>([\d,]+)</span>', items):
            values[html.unescape(value)] = int(count.replace(",", ""))
        facets[name] = values
    return facets


def links(page: str, facet: str, base: str = "/admin/items/") -> dict[str, str]:
    """Value text -> URL of the links of one facet (relative to the list at ``base``)."""
    for heading, items in re.findall(r"<h3[^>]*>(.*?)</h3>\s*<ul[^>]*>(.*?)</ul>", page, re.S):
        if html.unescape(re.sub(r"<span.*|<a .*", "", heading, flags=re.S)).strip() == facet:
            return {
                html.unescape(text): urljoin(base, html.unescape(url))
                for url, text in re.findall(r'<li><a href="([^"]*)">(.*?)</a>', items)
            }
    raise AssertionError(f"no facet {facet}")


def group_by(url: str, column: str, where: t.Callable[[sa.Table], t.Any] | None = None) -> Counter[t.Any]:
    """The count of each value of ``column`` by a GROUP BY computed here, outside the dashboard."""
    engine = sa.create_engine(url)
    try:
        items = sa.Table("items", sa.MetaData(), autoload_with=engine)
        statement = sa.select(items.c[column], sa.func.count()).group_by(items.c[column])
        if where is not None:
            statement = statement.where(where(items))
        with engine.connect() as connection:
            return Counter({value: int(n) for value, n in connection.execute(statement)})
    finally:
        engine.dispose()


def shown(counts: Counter[t.Any], labels: t.Callable[[t.Any], str] = str) -> dict[str, int]:
    return {("(empty)" if value is None else labels(value)): n for value, n in counts.items()}


def flag_text(dialect: str) -> t.Callable[[t.Any], str]:
    """How the list writes the boolean: MariaDB has none (BOOLEAN is TINYINT(1)), so a number there."""
    return str if dialect == "mariadb" else (lambda value: "Yes" if value else "No")


def test_default_facets_count_what_a_group_by_counts(site, facets_url, dialect):
    page = site.text(site.url("items"))
    facets = panel(page)
    # The pick list, the boolean, and the first few-valued column (a foreign key, with labels).
    assert list(facets) == ["maker_id", "status", "flag"]
    assert facets["status"] == shown(group_by(facets_url, "status"))
    assert facets["flag"] == shown(group_by(facets_url, "flag"), flag_text(dialect))
    assert facets["maker_id"] == shown(group_by(facets_url, "maker_id"), lambda v: f"{MAKERS[v]} ({v})")
    # Dates are offered, not counted unasked; hidden and secret columns never appear.
    assert "made_at" not in facets and "?facet=made_at" in page
    assert "hidden_note" not in page and "private" not in page and "tok1" not in page
    assert "api_token" not in re.search(r"<aside.*?</aside>", page, re.S).group(0)  # named in the notice only
    asked = panel(site.text(site.url("items") + "?" + _query({"facet": HOSTILE_COLUMN})))
    assert asked[HOSTILE_COLUMN] == shown(group_by(facets_url, HOSTILE_COLUMN))


def test_counts_follow_the_list_filter_and_search(site, facets_url, dialect):
    page = site.text(site.url("items"))
    used = links(page, "status")["used"]
    filtered = site.text(used)
    assert panel(filtered)["flag"] == shown(
        group_by(facets_url, "flag", lambda t: t.c.status == "used"), flag_text(dialect)
    )
    # A search ("red" in the title) and the filter together, and the facet links keep both.
    searched = site.text(used + "&search=red")
    expected = group_by(facets_url, "flag", lambda t: sa.and_(t.c.status == "used", t.c.title.like("%red%")))
    assert panel(searched)["flag"] == shown(expected, flag_text(dialect))
    yes = links(searched, "flag")[flag_text(dialect)(1)]
    assert "search=red" in yes and "flt" in yes
    narrowed = site.text(yes)
    rows = [r for r in ROWS if r["status"] == "used" and "red" in r["title"] and r["flag"]]
    assert panel(narrowed)["status"] == {"used": len(rows)}


def test_a_click_on_a_value_lists_exactly_its_rows(site, facets_url):
    page = site.text(site.url("items"))
    target = links(page, "status")[HOSTILE_VALUE]
    listed = site.text(target)
    expected = sum(1 for r in ROWS if r["status"] == HOSTILE_VALUE)
    assert f"{expected} rows." in listed
    # Empty values link to the "empty" filter.
    page = site.text(site.url("items") + "?" + _query({"facet": HOSTILE_COLUMN}))
    empty = site.text(links(page, HOSTILE_COLUMN)["(empty)"])
    assert panel(empty)[HOSTILE_COLUMN] == {"(empty)": sum(1 for r in ROWS if r[HOSTILE_COLUMN] is None)}


def test_foreign_key_facet_shows_the_parent_rows_labels(site, facets_url):
    page = site.text(site.url("items") + "?facet=maker_id")
    facets = panel(page)
    assert facets["maker_id"] == shown(group_by(facets_url, "maker_id"), lambda v: f"{MAKERS[v]} ({v})")
    assert "Acme &lt;Tools&gt; (1)" in page
    # Removable: the facet's remove link is the list without it.
    assert 'href="/admin/items/" title="Remove this facet"' in page


def test_dates_are_counted_by_month_and_link_to_that_month(site):
    page = site.text(site.url("items") + "?facet=made_at")
    expected = Counter(r["made_at"].strftime("%Y-%m") for r in ROWS)
    assert panel(page)["made_at"] == dict(expected)
    assert "+to+" in links(page, "made_at")["2026-03"]  # one "between" filter
    march = site.text(links(page, "made_at")["2026-03"])
    assert panel(march)["made_at"] == {"2026-03": expected["2026-03"]}
    assert f"{expected['2026-03']} rows." in march


@pytest.mark.parametrize(
    "asked",
    ["hidden_note", "api_token", "no_such_column", "<script>alert(1)</script>", "x" * 5000, "", "id\x00"],
)
def test_facet_argument_on_a_column_one_may_not_see_or_none_is_ignored(site, asked):
    response = site.get(site.url("items") + "?" + _query({"facet": asked}))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "private 1" not in page and "tok1" not in page
    assert "<script>alert(1)</script>" not in page
    facets = panel(page)
    assert set(facets) == {"maker_id", "status", "flag"}


def test_hostile_values_and_names_are_escaped(site):
    page = site.text(site.url("items") + "?" + _query({"facet": HOSTILE_COLUMN}))
    assert "<script>y</script>" not in page and "&lt;script&gt;y&lt;/script&gt;" in page
    assert HOSTILE_VALUE not in page and "&lt;b&gt;odd&lt;/b&gt;" in page
    assert "we&#34;ird &lt;col&gt;" in page or "we&quot;ird &lt;col&gt;" in page


def test_viewer_sees_facets_without_labels_of_a_table_it_may_not_open(facets_url, tmp_path):
    site = make_site(
        facets_url,
        tmp_path,
        role="viewer",
        TABLES={"makers": {"roles": {"viewer": []}}, "items": {"columns": {"hidden_note": {"hidden": True}}}},
    )
    try:
        page = site.text(site.url("items") + "?facet=maker_id&facet=hidden_note")
        assert panel(page)["maker_id"] == shown(group_by(facets_url, "maker_id"))
        assert "Acme" not in page and "private" not in page
        assert site.get(site.url("makers") + "?facet=name").status_code == 403
    finally:
        site.state.engine.dispose()


def test_an_edit_through_the_dashboard_shows_new_counts_at_once(own_site, own_facets_url):
    before = panel(own_site.text(own_site.url("items")))["status"]
    assert panel(own_site.text(own_site.url("items")))["status"] == before  # the kept page
    row = next(r for r in ROWS if r["status"] == "new")
    values = own_site.form_values(own_site.url("items", "edit", str(row["id"])))
    values["status"] = "used"
    response = own_site.post(own_site.url("items", "edit", str(row["id"])), values)
    assert response.status_code == 302
    after = panel(own_site.text(own_site.url("items")))["status"]
    assert after == {**before, "new": before["new"] - 1, "used": before["used"] + 1}
    assert after == shown(group_by(own_facets_url, "status"))


def test_writes_by_other_programs_show_on_refresh(own_site, own_facets_url):
    before = panel(own_site.text(own_site.url("items")))["status"]
    engine = sa.create_engine(own_facets_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE items SET status = 'used' WHERE status = 'new'"))
    engine.dispose()
    assert panel(own_site.text(own_site.url("items")))["status"] == before  # kept until LISTING_TTL_SECONDS
    refreshed = panel(own_site.text(own_site.url("items") + "?refresh=1"))["status"]
    assert refreshed == shown(group_by(own_facets_url, "status")) != before


def test_the_panel_is_kept_per_facet_argument_and_role(facets_url, tmp_path):
    site = make_site(facets_url, tmp_path)
    try:
        plain = site.text(site.url("items"))
        asked = site.text(site.url("items") + "?facet=made_at")
        assert "made_at" not in panel(plain) and "made_at" in panel(asked)
        viewer = logged_in(site.app, "viewer")
        seen = viewer.get(site.url("items") + "?facet=made_at").get_data(as_text=True)
        # The viewer may not create rows: the kept admin page (with its Create link) is not what it gets.
        assert 'href="/admin/items/new/' in asked and 'href="/admin/items/new/' not in seen
        assert "made_at" in panel(seen)
    finally:
        site.state.engine.dispose()


def _query(args: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(args)


def test_counts_stop_at_the_count_cap_and_say_so_until_asked_to_count_exactly(facets_url, tmp_path, dialect):
    site = make_site(facets_url, tmp_path, COUNT_CAP=10)
    try:
        page = site.text(site.url("items"))
        assert "Counted in the first 10 matching rows." in page
        assert sum(panel(page)["status"].values()) <= 11
        exact = site.text(html.unescape(re.search(r'<a href="([^"]*exact_count=1)">Count exactly</a>', page).group(1)))
        assert "Counted in the first" not in exact
        assert panel(exact)["status"] == shown(group_by(facets_url, "status"))
    finally:
        site.state.engine.dispose()


def test_planner_statistics_pick_the_same_few_valued_columns(own_facets_url, tmp_path, dialect):
    if dialect != "postgresql":
        pytest.skip("only PostgreSQL's statistics are read (pg_stats.n_distinct)")
    engine = sa.create_engine(own_facets_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE items")
    engine.dispose()
    site = make_site(own_facets_url, tmp_path)
    try:
        assert list(panel(site.text(site.url("items")))) == ["maker_id", "status", "flag"]
    finally:
        site.state.engine.dispose()


def test_an_empty_text_counts_as_empty_as_the_empty_filter_has_it(own_site, own_facets_url):
    engine = sa.create_engine(own_facets_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE items SET title = '' WHERE id IN (1, 2)"))
        connection.execute(sa.update(sa.table("items", sa.column(HOSTILE_COLUMN))).values({HOSTILE_COLUMN: ""}))
    engine.dispose()
    # A text column that cannot be NULL: its empty texts, linked to the "empty" filter.
    page = own_site.text(own_site.url("items") + "?facet=title")
    assert panel(page)["title"]["(empty)"] == 2
    assert "2 rows." in own_site.text(links(page, "title")["(empty)"])
    # One that can: NULL and '' are one value.
    page = own_site.text(own_site.url("items") + "?" + _query({"facet": HOSTILE_COLUMN}))
    assert panel(page)[HOSTILE_COLUMN] == {"(empty)": len(ROWS)}
