"""The list's search box runs on the database's own full-text index where there is one
(dashboard.db.fulltext): a PostgreSQL ``tsvector`` under a GIN index, a SQLite FTS5 table,
a MariaDB ``FULLTEXT`` index; elsewhere ``LIKE``. The page says which search ran."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dashboard.cli import main
from dashboard.db.fulltext import detect, fts5_arguments, fts5_query
from tests.databases import make_database
from tests.fulltext_library import ROWS, create_library
from tests.site import Site, make_site

#: What each dialect's index is called on the page.
LABELS = {
    "postgresql": "Full-text search (PostgreSQL tsvector: document (english)).",
    "sqlite": "Full-text search (SQLite FTS5: documents_fts).",
    "mariadb": "Full-text search (MariaDB FULLTEXT: title, body).",
}
HOSTILE = ['"', "-", "NEAR(", 'a" OR "b', "\x00", "x" * 2000, "*", "title:run", "AND", "^", "' OR 1=1 --", "+-~<>()@"]


@pytest.fixture(scope="module")
def library(dialect: str) -> Iterator[str]:
    """The tables above, one database per dialect for the module (the tests only read)."""
    with make_database(dialect) as url:
        create_library(url)
        yield url


@pytest.fixture(scope="module")
def site(library: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An administrator's site on :func:`library`, shared by the module's tests of a dialect:
    they only search and read (a test wanting other settings builds its own)."""
    site = make_site(library, tmp_path_factory.mktemp("fulltext-site"))
    yield site
    site.state.engine.dispose()


def _search(site: Site, table: str, text: str) -> str:
    response = site.client.get(site.url(table), query_string={"search": text})
    assert response.status_code == 200, (text[:20], response.status_code)
    return html.unescape(response.get_data(as_text=True))


def _search_ran(page: str) -> str:
    found = re.search(r'<span class="dashboard-search-ran">(.*?)</span>', page, re.S)
    assert found, "the page does not say which search ran"
    return found.group(1).strip()


def _titles(page: str) -> set[str]:
    return {row["title"] for row in ROWS if row["title"] in page}


def test_full_text_search_finds_rows_by_a_word_and_says_so(site, dialect):
    page = _search(site, "documents", "glaciers")
    assert _titles(page) == {"Quiet evenings"}
    assert _search_ran(page) == LABELS[dialect]


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"], indirect=True)
def test_full_text_search_finds_a_word_by_its_stem_where_like_would_not(site, dialect):
    # "running" is in no row; the English stemmer (PostgreSQL's config, SQLite's porter
    # tokenizer) reduces it and the row's "runs" to "run".
    page = _search(site, "documents", "running")
    assert _titles(page) == {"Morning routine"}


# MariaDB's natural language mode finds the rows holding any of the words.
@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"], indirect=True)
def test_every_word_must_match(site):
    assert _titles(_search(site, "documents", "glaciers penguins")) == {"Quiet evenings"}
    assert _titles(_search(site, "documents", "glaciers deductions")) == set()


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_search_text_answers_with_a_page(site, dialect, text):
    page = _search(site, "documents", text)
    assert "dashboard-listing-info" in page


def test_a_table_without_an_index_keeps_the_contains_search_and_says_so(site):
    page = _search(site, "plain", "hou")  # inside "Lighthouse": a word's part, as LIKE finds it
    assert "Lighthouse" in page and "Harbour crane" not in page
    assert _search_ran(page) == "Text search (contains) in: name, note."


def test_no_search_no_sentence(site):
    assert 'class="dashboard-search-ran"' not in site.text(site.url("documents"))


def test_the_search_box_says_it_is_full_text(site, dialect):
    page = site.text(site.url("documents"))
    placeholder = "Full-text search: document" if dialect == "postgresql" else "Full-text search: title, body"
    assert f'placeholder="{placeholder}"' in page


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_an_expression_index_is_searched_through_its_expression(site):
    page = _search(site, "notes", "swim")
    assert "Swimming lessons" in page and "Chess" not in page
    assert _search_ran(page) == "Full-text search (PostgreSQL to_tsvector(english, body))."


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_vector_kept_by_a_trigger_is_searched_with_the_trigger_config(site):
    page = _search(site, "films", "dance")
    assert "Dancing Queens" in page and "Jaws" not in page
    assert _search_ran(page) == "Full-text search (PostgreSQL tsvector: fulltext (pg_catalog.english))."


def test_an_index_over_a_hidden_column_is_not_used(library, dialect, tmp_path):
    # Searching through an index that reads a hidden column would find rows by what the
    # operator is not shown: the search falls back to the columns they may search.
    hidden = "document" if dialect == "postgresql" else "body"
    site = make_site(library, tmp_path, TABLES={"documents": {"columns": {hidden: {"hidden": True}}}})
    try:
        page = _search(site, "documents", "glaciers")
    finally:
        site.state.engine.dispose()
    assert _search_ran(page).startswith("Text search (contains) in: ")
    if dialect != "postgresql":  # there the body, still shown, is searched with LIKE
        assert _titles(page) == set()


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("table", "notice"),
    [
        ("documents_fts", "This is the SQLite FTS5 full-text index of documents"),
        ("documents_fts_data", "This is an internal table of the SQLite FTS5 full-text index documents_fts"),
        ("documents_fts_idx", "This is an internal table of the SQLite FTS5 full-text index documents_fts"),
    ],
)
def test_the_fts5_tables_are_served_read_only_and_say_what_they_are(site, table, notice):
    page = site.text(site.url(table))
    assert notice in html.unescape(page)
    assert site.client.get(site.url(table, "new")).status_code in (403, 404)
    assert 'href="' + site.url(table, "new") not in page


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_the_fts5_table_searches_itself(site):
    page = _search(site, "documents_fts", "penguins")
    assert _titles(page) == {"Quiet evenings"}
    assert _search_ran(page) == "Full-text search (SQLite FTS5: documents_fts)."


@pytest.mark.parametrize(
    ("sql", "columns", "options"),
    [
        (
            "CREATE VIRTUAL TABLE d_fts USING fts5(title, body, content='d', content_rowid='id')",
            ["title", "body"],
            {"content": "d", "content_rowid": "id"},
        ),
        # sqlite-utils' enable_fts writes square brackets
        (
            "CREATE VIRTUAL TABLE [d_fts] USING FTS5 (\n [title], [body],\n content=[d]\n)",
            ["title", "body"],
            {"content": "d"},
        ),
        (
            """create virtual table x using fts5("a, b", 'c' UNINDEXED, tokenize = 'porter unicode61', content='')""",
            ["a, b"],
            {"tokenize": "porter unicode61", "content": ""},
        ),
    ],
)
def test_fts5_arguments_are_read_whatever_their_quoting(sql, columns, options):
    assert fts5_arguments(sql) == (columns, options)


def test_fts5_arguments_of_other_tables_are_none():
    assert fts5_arguments("CREATE VIRTUAL TABLE x USING fts4(a)") is None
    assert fts5_arguments("CREATE TABLE fts5(a)") is None


def test_every_word_becomes_a_quoted_phrase():
    assert fts5_query('say "hi" NEAR( -x \x00') == '"say" """hi""" "NEAR(" "-x"'
    assert fts5_query("   ") == ""


def test_a_catalog_that_cannot_be_read_leaves_the_like_search(tmp_path, caplog):
    # SQLite refuses to read the catalog of a schema that is not attached, as a server
    # refuses a user without the right: the tables keep LIKE, and the log says why.
    engine = sa.create_engine(f"sqlite:///{tmp_path}/library.db")
    table = sa.Table("documents", sa.MetaData(), sa.Column("title", sa.Text), schema="not_attached")
    try:
        found = detect(engine, "not_attached", [table])
    finally:
        engine.dispose()
    assert found.indexes == {} and found.internal == {}
    assert "searching with LIKE" in caplog.text


def test_inspect_names_each_full_text_index_and_what_the_fts5_tables_are(library, dialect):
    result = CliRunner().invoke(main, ["inspect", library])
    assert result.exit_code == 0, result.output
    assert LABELS[dialect] in result.output
    if dialect == "sqlite":
        assert "This is the SQLite FTS5 full-text index of documents" in result.output
        assert "This is an internal table of the SQLite FTS5 full-text index documents_fts" in result.output


ODD = 'odd "name" [x]'


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_fts5_over_a_table_with_a_hostile_name_and_no_key_searches_by_rowid(empty_database_url, tmp_path):
    engine = sa.create_engine(empty_database_url)
    quote = engine.dialect.identifier_preparer.quote
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE TABLE {quote(ODD)} (txt TEXT, n INTEGER)")
            connection.exec_driver_sql(f"INSERT INTO {quote(ODD)} VALUES ('alpha beta', 1), ('gamma', 2)")
            fts = quote(ODD + "_fts")
            content = "'" + ODD.replace("'", "''") + "'"
            connection.exec_driver_sql(f"CREATE VIRTUAL TABLE {fts} USING fts5(txt, content={content})")
            connection.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    finally:
        engine.dispose()
    site = make_site(empty_database_url, tmp_path)
    try:
        page = _search(site, ODD, "gamma")
    finally:
        site.state.engine.dispose()
    assert "gamma" in page and "alpha beta" not in page
    assert _search_ran(page) == f"Full-text search (SQLite FTS5: {ODD}_fts)."
