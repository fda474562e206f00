"""Columns of types for which SQLAlchemy declares no operators sort and filter like any other.

SQLAlchemy 2.1 warns (a future release will refuse) when a comparison or an ORDER BY
involves such a type: PostgreSQL domains and MONEY, MariaDB's YEAR and BIT. Pagila's
``film.release_year`` is a domain and Sakila's a YEAR, so sorting or filtering on it
answered 500 under the suite's warnings-as-errors (and will fail outright later).
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.checklist import filter_arg, row_ids
from tests.databases import make_database
from tests.site import Site, make_site

# dialect -> (statements making table ``films``, the columns of uncommon types, and for
# each a value typed in the "equals" filter that matches row 2 only).
SCHEMAS: dict[str, tuple[list[str], dict[str, str]]] = {
    "postgresql": (
        [
            "CREATE DOMAIN year AS integer CHECK (VALUE >= 1901 AND VALUE <= 2155)",
            "CREATE TABLE films (id integer PRIMARY KEY, title text NOT NULL, release_year year, price money)",
            "INSERT INTO films VALUES (1, 'one', 2006, 1.50), (2, 'two', 2012, 2.50), (3, 'three', NULL, NULL)",
        ],
        {"release_year": "2012"},
    ),
    "mariadb": (
        [
            "CREATE TABLE films (id integer PRIMARY KEY, title varchar(20) NOT NULL, release_year YEAR, flags BIT(8))",
            "INSERT INTO films VALUES (1, 'one', 2006, b'1'), (2, 'two', 2012, b'10'), (3, 'three', NULL, NULL)",
        ],
        {"release_year": "2012"},
    ),
}


@pytest.fixture(scope="module", params=sorted(SCHEMAS))
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Site]]:
    """(dialect, an admin's site on table ``films`` of that dialect)."""
    dialect = t.cast(str, request.param)
    with make_database(dialect) as url:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            for statement in SCHEMAS[dialect][0]:
                connection.exec_driver_sql(statement)
        engine.dispose()
        site = make_site(url, tmp_path_factory.mktemp("instance"))
        yield dialect, site
        site.state.engine.dispose()


def test_every_column_sorts(served: tuple[str, Site]) -> None:
    _dialect, site = served
    sorts = sorted(set(re.findall(r"\?sort=(\d+)", site.text(site.url("films")))), key=int)
    assert len(sorts) >= 3  # id, title, release_year at least
    for index in sorts:
        for order in ("", "&desc=1"):
            response = site.get(f"{site.url('films')}?sort={index}{order}")
            assert response.status_code == 200, (index, order)
            assert sorted(row_ids(response.get_data(as_text=True))) == ["1", "2", "3"]


def test_uncommon_types_filter(served: tuple[str, Site]) -> None:
    dialect, site = served
    for column, value in SCHEMAS[dialect][1].items():
        argument = filter_arg(site, "films", column, "equals")
        page = site.text(f"{site.url('films')}?{argument}={value}")
        assert row_ids(page) == ["2"], column
