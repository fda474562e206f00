"""Full-text search through the list's search box in a real Chromium, on PostgreSQL (a
``tsvector`` under a GIN index) and on SQLite (an FTS5 table), served by ``dashboard serve``.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from tests.browser import require_browser
from tests.databases import make_database
from tests.fulltext_library import create_library
from tests.test_e2e import ARTIFACTS, Operator, logged_in, serve_to_operator

pytestmark = pytest.mark.e2e

INDEX = {"postgresql": "PostgreSQL tsvector: document (english)", "sqlite": "SQLite FTS5: documents_fts"}


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[str, str]]:
    """The documents library served with an admin ``operator``; yields the dialect and the base URL."""
    require_browser()
    instance: Path = tmp_path_factory.mktemp("instance")
    with make_database(request.param) as url:
        create_library(url)
        with serve_to_operator(instance, url) as base:
            yield request.param, base


@pytest.fixture
def operator(chromium: t.Any, served: tuple[str, str]) -> t.Iterator[Operator]:
    with logged_in(chromium, served[1]) as who:
        yield who


def test_the_search_box_finds_a_word_by_its_stem_and_says_which_search_ran(
    operator: Operator, served: tuple[str, str]
) -> None:
    dialect = served[0]
    page = operator.page
    operator.go("/admin/documents/")
    box = page.locator("input[name=search]")
    assert box.get_attribute("placeholder") == "Full-text search: " + (
        "document" if dialect == "postgresql" else "title, body"
    )
    box.fill("running")  # in no row: "runs" is, and both stem to "run"
    operator.through(lambda: page.keyboard.press("Enter"))
    assert page.locator("td.col-title").all_inner_texts() == ["Morning routine"]
    assert page.locator(".dashboard-search-ran").inner_text() == f"Full-text search ({INDEX[dialect]})."
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"fulltext-search-{dialect}.png"), full_page=True)


def test_search_syntax_typed_in_the_box_finds_nothing_and_fails_nothing(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/documents/")
    page.fill("input[name=search]", 'NEAR( "glaciers - *')
    # Operator.through fails on any response of 400 or more, a console error or a script error.
    operator.through(lambda: page.keyboard.press("Enter"))
    assert page.locator("td.col-title").count() == 0
    assert "Full-text search" in page.locator(".dashboard-search-ran").inner_text()
