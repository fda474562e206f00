"""Public sample databases nobody here wrote (Chinook, Pagila, Sakila), loaded into throw-away databases.

The samples are the upstream scripts trimmed to a few hundred rows per table (foreign keys
kept consistent), each folder with its licence and a NOTICE saying where it came from and
what was changed. They are not part of this repository: they live in the ``samples/``
folder of ``shared/`` beside the work tree (CI gets a copy of ``shared/`` beside its clone),
or wherever ``DASHBOARD_TEST_SAMPLES`` points. A missing folder skips the tests that need
it, or fails them under ``DASHBOARD_TEST_REQUIRE_SERVICES=1``, like a missing service.

Each script runs through the driver the dashboard uses, the way its own client would run
it: SQLite's ``executescript``; on PostgreSQL whole batches plus ``COPY ... FROM stdin``
blocks (as ``psql`` does); on MariaDB statement by statement, honouring ``DELIMITER`` (as
the ``mariadb`` client does).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import typing as t
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.databases import REQUIRE_SERVICES_ENV, make_database

__all__ = ["SAMPLES", "SAMPLES_ENV", "Sample", "load_sample", "require_sample", "sample_database", "samples_folder"]

SAMPLES_ENV = "DASHBOARD_TEST_SAMPLES"


@dataclass(frozen=True)
class Sample:
    """One sample database: the scripts that build it, per dialect, run in order."""

    name: str
    scripts: dict[str, tuple[str, ...]]

    @property
    def dialects(self) -> tuple[str, ...]:
        return tuple(self.scripts)


SAMPLES: dict[str, Sample] = {
    sample.name: sample
    for sample in (
        Sample("chinook", {"sqlite": ("sqlite.sql",), "postgresql": ("postgresql.sql",),
                           "mariadb": ("mariadb.sql",)}),
        Sample("pagila", {"postgresql": ("schema.sql", "data.sql")}),
        Sample("sakila", {"mariadb": ("schema.sql", "data.sql")}),
    )
}


def samples_folder() -> Path:
    """Where the sample folders are: ``$DASHBOARD_TEST_SAMPLES``, else ``shared/samples`` beside the work tree."""
    configured = os.environ.get(SAMPLES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "samples"


def require_sample(name: str, dialect: str) -> Path:
    """The folder of sample ``name``; skips the test (fails it in CI) when its scripts are missing.

    :param name: a key of :data:`SAMPLES`.
    :param dialect: the dialect whose scripts are needed.
    """
    folder = samples_folder() / name
    missing = [script for script in SAMPLES[name].scripts[dialect] if not (folder / script).is_file()]
    if missing:
        message = (f"sample database {name!r} not found: no {', '.join(missing)} in {folder} "
                   f"(set {SAMPLES_ENV})")
        if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
            pytest.fail(f"{message}; {REQUIRE_SERVICES_ENV}=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    return folder


def load_sample(name: str, url: str) -> None:
    """Build sample ``name`` into the (empty) database at ``url``.

    :param url: an SQLAlchemy URL of a dialect the sample has scripts for.
    """
    dialect = _dialect_of(url)
    folder = require_sample(name, dialect)
    for script in SAMPLES[name].scripts[dialect]:
        _RUNNERS[dialect](url, (folder / script).read_text(encoding="utf-8"))


@contextlib.contextmanager
def sample_database(name: str, dialect: str) -> Iterator[str]:
    """A fresh database of ``dialect`` holding sample ``name``; yields its URL, then drops it."""
    require_sample(name, dialect)
    with make_database(dialect) as url:
        load_sample(name, url)
        yield url


def _dialect_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    return "mariadb" if backend == "mysql" else backend


# -- SQLite ---------------------------------------------------------------------------------


def _run_sqlite(url: str, script: str) -> None:
    path = make_url(url).database
    assert path, url
    connection = sqlite3.connect(path)
    try:
        connection.executescript(script)
    finally:
        connection.close()


# -- PostgreSQL -----------------------------------------------------------------------------

_COPY = re.compile(r"^COPY .* FROM stdin;$")


def _postgresql_pieces(script: str) -> Iterator[tuple[str, str | None]]:
    """``(sql, None)`` for a batch of statements, ``(copy statement, data)`` for a COPY block."""
    batch: list[str] = []
    lines = iter(script.splitlines())
    for line in lines:
        if _COPY.match(line):
            yield "\n".join(batch), None
            batch = []
            data = []
            for row in lines:
                if row == "\\.":
                    break
                data.append(row + "\n")
            yield line.removesuffix(";"), "".join(data)
        else:
            batch.append(line)
    yield "\n".join(batch), None


def _has_statement(sql: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("--") for line in sql.splitlines())


def _run_postgresql(url: str, script: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        connection = engine.raw_connection()
        try:
            psycopg = t.cast(t.Any, connection.driver_connection)
            psycopg.autocommit = True
            with psycopg.cursor() as cursor:
                for sql, data in _postgresql_pieces(script):
                    if data is None:
                        if _has_statement(sql):
                            # Without parameters psycopg sends the batch as one simple query.
                            cursor.execute(sql)
                        continue
                    with cursor.copy(sql) as copy:
                        copy.write(data)
        finally:
            connection.close()
    finally:
        engine.dispose()


# -- MariaDB --------------------------------------------------------------------------------

_DELIMITER = re.compile(r"^\s*DELIMITER\s+(\S+)\s*$", re.IGNORECASE)


def mysql_statements(script: str) -> Iterator[str]:
    """The statements of a MySQL script, split as the ``mysql`` client splits them.

    Honours ``DELIMITER``, quotes (``'``, ``"`` with backslash escapes, backticks) and
    comments (``-- ``, ``#``, ``/* */``; ``/*! */`` comments are kept, the server runs them).
    """
    delimiter = ";"
    statement: list[str] = []
    quote: str | None = None
    in_comment = False
    for line in script.splitlines(keepends=True):
        if quote is None and not in_comment and not "".join(statement).strip():
            match = _DELIMITER.match(line)
            if match:
                delimiter = match.group(1)
                statement = []
                continue
        i = 0
        while i < len(line):
            char = line[i]
            if in_comment:
                end = line.find("*/", i)
                if end < 0:
                    statement.append(line[i:])
                    break
                statement.append(line[i:end + 2])
                in_comment = False
                i = end + 2
            elif quote is not None:
                statement.append(char)
                if char == "\\" and quote != "`":
                    statement.append(line[i + 1:i + 2])
                    i += 2
                    continue
                if char == quote:
                    quote = None
                i += 1
            elif char in "'\"`":
                quote = char
                statement.append(char)
                i += 1
            elif line.startswith("/*", i):
                in_comment = True
                statement.append("/*")
                i += 2
            elif char == "#" or (line.startswith("--", i) and line[i + 2:i + 3] in ("", " ", "\t", "\r", "\n")):
                break  # the rest of the line is a comment
            elif line.startswith(delimiter, i):
                text = "".join(statement).strip()
                if text:
                    yield text
                statement = []
                i += len(delimiter)
            else:
                statement.append(char)
                i += 1
    text = "".join(statement).strip()
    if text:
        yield text


def _run_mariadb(url: str, script: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for statement in mysql_statements(script):
                cursor.execute(statement)  # no parameters: PyMySQL sends it as written
            connection.commit()
        finally:
            connection.close()
    finally:
        engine.dispose()


_RUNNERS: dict[str, t.Callable[[str, str], None]] = {
    "sqlite": _run_sqlite,
    "postgresql": _run_postgresql,
    "mariadb": _run_mariadb,
}
