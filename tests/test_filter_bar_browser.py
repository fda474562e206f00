"""Checklist case 41 in a real Chromium: column names reach the page's scripts as text, never as HTML.

Flask-Admin's filter bar script appends a filter's name (the column's label) with jQuery's
``append``, which parses a string that looks like markup: a column named
``<a href=//evil.example style=position:fixed;inset:0>`` covered the whole page with a
link. The table served here has that column, one whose name is an HTML entity, a column
comment with markup (the header's tooltip) and a date column with a hostile name (the
home page's chart of rows per month). Served on PostgreSQL, which keeps column comments;
what reaches the browser is the same on every dialect. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.browser import require_browser
from tests.databases import make_database
from tests.test_e2e import (
    ARTIFACTS,
    Operator,
    logged_in,
    serve_to_operator,
)

pytestmark = pytest.mark.e2e

LINK = "<a href=//evil.example style=position:fixed;inset:0>"
ENTITY = "x &amp; y"
COMMENT = "<a href=//evil.example/tip>tip</a><img src=x>"
DATED = "<img src=x onerror=alert(41)>"

#: Anything only markup made from a name could have put on the page.
_INJECTED = """() => {
  const found = [];
  for (const link of document.querySelectorAll('a[href]')) {
    if ((link.getAttribute('href') || '').includes('evil.example')) { found.push('link ' + link.outerHTML); }
  }
  for (const element of document.querySelectorAll('[style*="fixed"], img[src="x"]')) { found.push(element.outerHTML); }
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      if (attribute.name.startsWith('on')) { found.push(element.tagName + '[' + attribute.name + ']'); }
    }
  }
  return found;
}"""


def _write_table(url: str) -> None:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    people = sa.Table(
        "people",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, comment=COMMENT),
        sa.Column(LINK, sa.Text),
        sa.Column(ENTITY, sa.Text),
        sa.Column(DATED, sa.Date),
    )
    today = dt.date.today()
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                people.insert(),
                [
                    {
                        "name": f"person {n}",
                        LINK: f"value {n}",
                        ENTITY: f"other {n}",
                        DATED: today - dt.timedelta(days=9 * n),
                    }
                    for n in range(1, 30)
                ],
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    """The ``people`` table on PostgreSQL, served by ``dashboard serve`` with an admin ``operator``."""
    require_browser()
    instance: Path = tmp_path_factory.mktemp("instance")
    with make_database("postgresql") as url:
        _write_table(url)
        with serve_to_operator(instance, url) as base:
            yield base


@pytest.fixture
def operator(chromium: t.Any, served: str) -> t.Iterator[Operator]:
    with logged_in(chromium, served) as who:
        yield who


def _nothing_injected(operator: Operator, where: str) -> None:
    assert operator.page.evaluate(_INJECTED) == [], where
    # What sits in the middle of the page is the page, not a link laid over it.
    covering = operator.page.evaluate(
        "() => { const e = document.elementFromPoint(640, 450);"
        " return e && e.closest('a[href*=\"evil\"]') ? e.outerHTML : null; }"
    )
    assert covering is None, where


def test_41_a_column_name_in_the_filter_bar_is_text_not_a_link(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/people/")
    page.click("a.nav-link:has-text('Add Filter')")
    page.locator(".field-filters a.filter").get_by_text(LINK, exact=True).click()
    chosen = page.locator("#filter_form a.remove-filter")
    assert chosen.count() == 1
    assert LINK in chosen.inner_text()
    assert page.locator("#filter_form a.remove-filter a").count() == 0
    _nothing_injected(operator, "filter added from the menu")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "filter-bar-hostile-column-added.png"))

    # Applied, the filter comes back from the address: Flask-Admin's other path to append().
    page.locator("#filter_form input.filter-val").first.fill("value 7")
    operator.through(lambda: page.click("#filter_form button[type=submit]"))
    assert page.locator("td.col-id").all_inner_texts() == ["7"]
    assert LINK in page.locator("#filter_form a.remove-filter").inner_text()
    _nothing_injected(operator, "active filter after reload")
    page.screenshot(path=str(ARTIFACTS / "filter-bar-hostile-column-active.png"), full_page=True)


def test_41_a_column_name_that_is_an_entity_is_shown_as_typed(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/people/")
    page.click("a.nav-link:has-text('Add Filter')")
    page.locator(".field-filters a.filter").get_by_text(ENTITY, exact=True).click()
    assert ENTITY in page.locator("#filter_form a.remove-filter").inner_text()


def test_41_a_column_comment_in_the_header_tooltip_is_text(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/people/")
    page.hover("th.column-header.col-name [data-role=tooltip]")
    tooltip = page.locator(".tooltip-inner")
    tooltip.wait_for()
    assert tooltip.inner_text() == COMMENT
    assert tooltip.locator("a, img").count() == 0
    _nothing_injected(operator, "header tooltip")


def test_41_a_hostile_date_column_in_the_home_chart_is_text(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/")
    chart = page.locator("figure.dashboard-chart", has_text="people")
    assert chart.count() == 1
    assert DATED in chart.locator("figcaption").inner_text()
    assert chart.locator("canvas[data-chart-drawn]").count() == 1
    _nothing_injected(operator, "home page")
    page.screenshot(path=str(ARTIFACTS / "home-chart-hostile-column.png"), full_page=True)
    operator.through(lambda: page.click(".navbar a.nav-link:text-is('Charts')"))
    assert DATED in page.locator("figure.dashboard-chart", has_text="people").inner_text()
    _nothing_injected(operator, "charts page")
