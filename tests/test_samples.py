"""Every page of the dashboard on public sample databases nobody here wrote (see :mod:`tests.samples`).

An admin walks each sample the way an operator's browser would: the home page, then for
each relation its list page, a sorted, a searched and a second page, the details and edit
pages of its first rows, the create form, the CSV export, the foreign-key lookups of its
forms and the first operation of each filter with a value taken from the data. A page the
site links to must answer 200; any other answer must be below 500. Each test walks every
relation and reports every bad answer at once, so one failure does not hide the others.
Each sample is built once per worker and dialect and shared by every test here: the walks
only read, and the one row a test creates changes nothing the others check.
"""

from __future__ import annotations

import contextlib
import html
import re
import typing as t
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from tests.roles import ALL_TABLES, restricted_url
from tests.samples import SAMPLES, mysql_statements, sample_database
from tests.site import Site, make_site

#: (sample, dialect) pairs: every sample on every dialect it has scripts for.
CASES = [(name, dialect) for name, sample in SAMPLES.items() for dialect in sample.dialects]
#: Rows whose details and edit pages each walk opens, per relation.
ROWS_VISITED = 2
#: The few tables a least-privilege role may SELECT, per sample (names compared without
#: case: Chinook spells them ``Album`` on SQLite and MariaDB, ``album`` on PostgreSQL).
#: SQLite has no roles (only a read-only file), so it has no such case.
FEW_TABLES = {
    "chinook": ("album", "artist", "track"),
    "pagila": ("actor", "film", "customer"),
    "sakila": ("actor", "film", "customer"),
}
FEW_TABLE_CASES = [(name, dialect) for name, dialect in CASES if dialect != "sqlite"]
#: The row an operator creates in each sample through the create form: table, and the
#: fields typed (by name, without case); every other field is left as the form offers it.
#: Pagila's and Sakila's ``actor`` leave ``actor_id`` and ``last_update`` to the database
#: (a sequence or AUTO_INCREMENT, and ``DEFAULT now()``/``CURRENT_TIMESTAMP``); Chinook's
#: ``Genre`` has no default for its key outside SQLite, so the operator types one there.
NEW_ROWS = {
    "chinook": ("genre", {"genreid": "1000", "genre_id": "1000", "name": "Chiptune"}),
    "pagila": ("actor", {"first_name": "ADA", "last_name": "LOVELACE"}),
    "sakila": ("actor", {"first_name": "ADA", "last_name": "LOVELACE"}),
}


# -- walking -------------------------------------------------------------------------------


@dataclass
class Walk:
    """The answers of one walk: every URL visited and the bad ones."""

    site: Site
    visited: int = 0
    failures: list[str] = field(default_factory=list)

    def visit(self, url: str, *, linked: bool) -> str | None:
        """GET ``url`` and read it whole; note a 500 (or a non-200 for a ``linked`` page).

        :returns: the page's text when it answered 200, else ``None``.
        """
        self.visited += 1
        try:
            response = self.site.get(url)
            body = response.get_data(as_text=True)  # an export fails while it streams
        except Exception as exc:  # noqa: BLE001 -- the test reports any server error with its URL
            self.failures.append(f"{url}: raised {_exception_line(exc)}")
            return None
        if response.status_code >= 500 or (linked and response.status_code != 200):
            self.failures.append(f"{url}: {response.status_code}")
        return body if response.status_code == 200 else None

    def report(self) -> str:
        return f"{len(self.failures)} of {self.visited} pages failed:\n" + "\n".join(self.failures)


def _exception_line(exc: BaseException) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {message.splitlines()[0] if message else ''}"


def list_url(site: Site, table_id: str, query: str = "") -> str:
    return site.url(table_id) + (f"?{query}" if query else "")


def row_links(page: str, kind: str) -> list[str]:
    """The ``kind`` ("details" or "edit") links of a list page's rows, without their ``url=`` return address."""
    found = re.findall(r'href="(/admin/[^"]*?/' + kind + r'/\?id=[^"&]*)', page)
    return list(dict.fromkeys(html.unescape(link) for link in found))


def sort_queries(page: str) -> list[str]:
    """The first and the last sort of a list page's column headers, the last one descending."""
    indexes = list(dict.fromkeys(re.findall(r"\?sort=(\d+)", page)))
    if not indexes:
        return []
    return [f"sort={indexes[0]}", f"sort={indexes[-1]}&desc=1"]


def lookup_urls(page: str) -> list[str]:
    """The foreign-key lookups a form's select boxes ask as the operator types."""
    found = re.findall(r'data-url="([^"]*ajax/lookup[^"]*)"', page)
    return [html.unescape(url) + "&query=1" for url in dict.fromkeys(found)]


def plausible_filter_values(site: Site, table_id: str, reader: sa.Engine) -> list[tuple[str, str]]:
    """``(argument, value)`` for the first operation of each column's filters, the value typed
    as an operator would: one the column holds (a part of it for "contains"), read by ``reader``."""
    view = site.state.views[table_id]
    chosen: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, flt in enumerate(view._filters or ()):
        if flt.column.key in seen:
            continue
        seen.add(flt.column.key)
        arg = f"flt0_{view.get_filter_arg(index, flt)}"
        operation = str(flt.operation())
        if operation == "empty":
            chosen.append((arg, "1"))
            continue
        value = first_value(reader, flt.column)
        text = flt.codec.to_text(value) if value is not None else "1"
        chosen.append((arg, text[:3] if operation in ("contains", "not contains") else text))
    return chosen


def first_value(reader: sa.Engine, column: sa.ColumnElement[t.Any]) -> t.Any:
    """A value ``column`` holds, or ``None`` when it holds none or cannot be read (an
    unpopulated materialized view): the walk then types ``1``, as an operator might."""
    try:
        with reader.connect() as connection:
            # No operator on the column: SQLAlchemy warns about some dialect types (MySQL's YEAR) in comparisons.
            values = connection.execute(sa.select(column).limit(50)).scalars().all()
    except sa.exc.DBAPIError:
        return None
    return next((value for value in values if value is not None), None)


def walk_relation(walk: Walk, table_id: str, reader: sa.Engine, *, readable: bool = True, filters: bool = True) -> None:
    """Visit every page of relation ``table_id``; pages must answer 200 where ``readable``.

    :param filters: whether to try each column's filter too (the admin's walk does; the
        restricted users' walks leave them out: a filter reads nothing a list page does not).
    """
    site = walk.site
    page = walk.visit(list_url(site, table_id), linked=readable)
    linked = page is not None
    for query in (sort_queries(page) if page else ["sort=0"]) + ["search=a", "page=1"]:
        walk.visit(list_url(site, table_id, query), linked=linked)
    for arg, value in plausible_filter_values(site, table_id, reader) if filters else ():
        walk.visit(list_url(site, table_id, f"{arg}={quote(value, safe='')}"), linked=linked)
    details = row_links(page, "details")[:ROWS_VISITED] if page else []
    edits = row_links(page, "edit")[:ROWS_VISITED] if page else []
    for url in details:
        walk.visit(url, linked=True)
    for url in details:
        edit = url.replace("/details/", "/edit/")
        form = walk.visit(edit, linked=edit in edits)
        for lookup in lookup_urls(form or ""):
            walk.visit(lookup, linked=True)
    create = site.url(table_id, "new")
    form = walk.visit(create, linked=bool(page) and f'href="{create}' in page)
    for lookup in lookup_urls(form or ""):
        walk.visit(lookup, linked=True)
    export = site.url(table_id, "export/csv")
    walk.visit(export, linked=bool(page) and f'href="{export}' in page)


def relation_ids(site: Site) -> list[str]:
    return sorted(site.state.views)


def relation_named(site: Site, name: str) -> str:
    """The id of the relation called ``name``, compared without case."""
    return next(table_id for table_id, view in site.state.views.items() if view.info.name.lower() == name)


def home_problems(walk: Walk) -> list[str]:
    """The error panels of the home page (a chart or overview that failed)."""
    page = walk.visit("/admin/", linked=True) or ""
    return [
        html.unescape(m).strip() for m in re.findall(r'class="dashboard-plugin-error-message">(.*?)</div>', page, re.S)
    ]


# -- fixtures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """A sample loaded into a database: its name (a key of :data:`SAMPLES`) and URL."""

    name: str
    url: str


class SampleDatabases:
    """This worker's sample databases, each built on first use and dropped at the end of the run."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self._urls: dict[tuple[str, str], str] = {}

    def get(self, name: str, dialect: str) -> Loaded:
        if (name, dialect) not in self._urls:
            self._urls[name, dialect] = self._stack.enter_context(sample_database(name, dialect))
        return Loaded(name, self._urls[name, dialect])


@pytest.fixture(scope="session")
def sample_databases() -> Iterator[SampleDatabases]:
    with contextlib.ExitStack() as stack:
        yield SampleDatabases(stack)


@pytest.fixture(scope="module", params=CASES, ids=[f"{name}-{dialect}" for name, dialect in CASES])
def sample(request: pytest.FixtureRequest, sample_databases: SampleDatabases) -> Loaded:
    """A sample database on a dialect (built once per worker, see :class:`SampleDatabases`)."""
    name, dialect = request.param
    return sample_databases.get(name, dialect)


@pytest.fixture(scope="module")
def reader(sample: Loaded) -> Iterator[sa.Engine]:
    """An engine with the sample's owner account, to read values an operator would type."""
    engine = sa.create_engine(sample.url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def admin_site(sample: Loaded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = make_site(sample.url, tmp_path_factory.mktemp("instance"))
    yield site
    site.state.engine.dispose()


# -- the sample as loaded ------------------------------------------------------------------


def test_every_foreign_key_of_the_trimmed_sample_points_at_a_row(reader: sa.Engine) -> None:
    """Trimming kept whole rows only where their references were kept too.

    Not a given at load time: SQLite does not check foreign keys unless asked, and Sakila's
    data script turns ``FOREIGN_KEY_CHECKS`` off while it loads.
    """
    inspector = sa.inspect(reader)
    dangling: dict[str, int] = {}
    checked = 0
    with reader.connect() as connection:
        for name in inspector.get_table_names():
            for key in inspector.get_foreign_keys(name):
                pairs = list(zip(key["constrained_columns"], key["referred_columns"], strict=True))
                child = sa.table(name, *(sa.column(column) for column, _ in pairs))
                parent = sa.table(
                    key["referred_table"], *(sa.column(column) for _, column in pairs), schema=key["referred_schema"]
                ).alias("referred")
                orphans = (
                    sa.select(sa.func.count())
                    .select_from(child)
                    .where(*(child.c[column].is_not(None) for column, _ in pairs))
                    .where(~sa.exists().where(*(child.c[c] == parent.c[p] for c, p in pairs)))
                )
                count = connection.execute(orphans).scalar_one()
                checked += 1
                if count:
                    dangling[f"{name}({', '.join(key['constrained_columns'])})"] = count
    assert checked >= 10
    assert dangling == {}


# -- the admin's walk ----------------------------------------------------------------------


def test_every_relation_is_served(admin_site: Site, reader: sa.Engine) -> None:
    inspector = sa.inspect(reader)
    relations = set(inspector.get_table_names()) | set(inspector.get_view_names())
    if reader.dialect.name == "postgresql":
        relations |= set(inspector.get_materialized_view_names())
    served = {admin_site.state.views[table_id].info.name for table_id in admin_site.state.views}
    assert relations <= served


def test_home_page(admin_site: Site) -> None:
    walk = Walk(admin_site)
    page = walk.visit("/admin/", linked=True)
    assert not walk.failures, walk.report()
    for table_id in relation_ids(admin_site):
        assert f'href="{admin_site.url(table_id)}' in t.cast(str, page), table_id
    assert home_problems(walk) == []


def test_every_page_of_every_relation(admin_site: Site, reader: sa.Engine) -> None:
    walk = Walk(admin_site)
    for table_id in relation_ids(admin_site):
        walk_relation(walk, table_id, reader)
    assert not walk.failures, walk.report()


def test_create_a_row_through_the_form(admin_site: Site, reader: sa.Engine, sample: Loaded) -> None:
    table, typed = NEW_ROWS[sample.name]
    table_id = relation_named(admin_site, table)
    create = admin_site.url(table_id, "new")
    values = admin_site.form_values(create)
    values.update({field: typed[field.lower()] for field in values if field.lower() in typed})
    response = admin_site.post(create, values)
    assert response.status_code == 302, admin_site.flashes(response.get_data(as_text=True))
    listed = admin_site.text(response.headers["Location"])
    # The message links to the new row ("Open row <key>"), whose key the database chose.
    created_flashes = [
        f for f in admin_site.flashes(listed) if re.fullmatch(r"Record was successfully created\. Open row \S+", f)
    ]
    assert len(created_flashes) == 1, admin_site.flashes(listed)
    relation = sa.Table(admin_site.state.views[table_id].info.name, sa.MetaData(), autoload_with=reader)
    columns = {c.name.lower(): c for c in relation.c}
    wanted = [
        columns[field] == value
        for field, value in typed.items()
        if field in columns and field not in ("genreid", "genre_id")
    ]
    with reader.connect() as connection:
        created = connection.execute(sa.select(relation).where(*wanted)).mappings().all()
    assert len(created) == 1
    if "last_update" in columns:  # the server's default filled it
        assert created[0]["last_update"] is not None


# -- least-privilege database users --------------------------------------------------------


@pytest.fixture(scope="module")
def select_only_site(sample: Loaded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An admin's session on a site connecting as a user who may SELECT everything and write
    nothing (on SQLite: the file opened read-only)."""
    with restricted_url(sample.url, {ALL_TABLES: {"SELECT"}}) as url:
        site = make_site(url, tmp_path_factory.mktemp("instance"))
        yield site
        site.state.engine.dispose()


def test_select_only_user_every_page(select_only_site: Site, reader: sa.Engine) -> None:
    walk = Walk(select_only_site)
    problems = home_problems(walk)
    for table_id in relation_ids(select_only_site):
        walk_relation(walk, table_id, reader, filters=False)
    assert not walk.failures and not problems, (problems, walk.report())


def test_select_only_user_is_offered_no_writes(select_only_site: Site) -> None:
    offered = []
    for table_id in relation_ids(select_only_site):
        page = select_only_site.text(list_url(select_only_site, table_id))
        create = select_only_site.url(table_id, "new")
        if f'href="{create}' in page or row_links(page, "edit"):
            offered.append(table_id)
    assert offered == []


def test_select_only_user_cannot_create(select_only_site: Site, reader: sa.Engine, sample: Loaded) -> None:
    table, typed = NEW_ROWS[sample.name]
    table_id = relation_named(select_only_site, table)
    create = select_only_site.url(table_id, "new")
    relation = sa.Table(select_only_site.state.views[table_id].info.name, sa.MetaData(), autoload_with=reader)
    with reader.connect() as connection:
        before = connection.execute(sa.select(sa.func.count()).select_from(relation)).scalar()
    values = {field: "" for field in typed} | {"first_name": "EVE", "last_name": "READER", "name": "Reader"}
    response = select_only_site.post(create, values, token_from=select_only_site.url(table_id))
    assert response.status_code < 500
    with reader.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(relation)).scalar() == before


@pytest.fixture(scope="module", params=FEW_TABLE_CASES, ids=[f"{n}-{d}" for n, d in FEW_TABLE_CASES])
def few_tables_sample(request: pytest.FixtureRequest, sample_databases: SampleDatabases) -> Loaded:
    """A sample database on a dialect with roles, for a user who may SELECT only :data:`FEW_TABLES`."""
    name, dialect = request.param
    return sample_databases.get(name, dialect)


def test_user_reading_few_tables_every_page(
    few_tables_sample: Loaded, tmp_path_factory: pytest.TempPathFactory
) -> None:
    owner = sa.create_engine(few_tables_sample.url)
    granted = {
        table: {"SELECT"}
        for table in sa.inspect(owner).get_table_names()
        if table.lower() in FEW_TABLES[few_tables_sample.name]
    }
    assert len(granted) == len(FEW_TABLES[few_tables_sample.name])
    try:
        with restricted_url(few_tables_sample.url, granted) as restricted:
            site = make_site(restricted, tmp_path_factory.mktemp("instance"))
            try:
                walk = Walk(site)
                problems = home_problems(walk)
                for table_id in relation_ids(site):
                    readable = site.state.views[table_id].info.name in granted
                    walk_relation(walk, table_id, owner, readable=readable, filters=False)
            finally:
                site.state.engine.dispose()
    finally:
        owner.dispose()
    assert not walk.failures and not problems, (problems, walk.report())


# -- the loader ----------------------------------------------------------------------------


def test_mysql_scripts_split_as_the_mysql_client_splits_them() -> None:
    script = """-- a comment; not a statement
SET NAMES utf8mb4;
INSERT INTO t VALUES ('a;b', "c;d", 'it\\'s;'), /*!50705 0x01,*/ (`x;y`);  # trailing; comment
DELIMITER ;;
CREATE TRIGGER t1 AFTER INSERT ON t FOR EACH ROW BEGIN
    INSERT INTO u VALUES (1);
  END;;
DELIMITER ;
/* a block; comment */ SELECT 1;
"""
    assert list(mysql_statements(script)) == [
        "SET NAMES utf8mb4",
        "INSERT INTO t VALUES ('a;b', \"c;d\", 'it\\'s;'), /*!50705 0x01,*/ (`x;y`)",
        "CREATE TRIGGER t1 AFTER INSERT ON t FOR EACH ROW BEGIN\n    INSERT INTO u VALUES (1);\n  END",
        "/* a block; comment */ SELECT 1",
    ]
