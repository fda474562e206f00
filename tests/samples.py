"""Public sample databases nobody here wrote (Chinook, Pagila, Sakila), loaded into throw-away databases.

The samples ship with the repository, small: ``tests/samples/<name>/`` holds each sample's
scripts trimmed by :mod:`tests.sample_trim` to a few hundred rows per table (whole rows
dropped so that every foreign key still resolves; the few statements that would not run in a
throw-away database removed), named as upstream, with the upstream licence file unchanged
(Sakila's New BSD licence is the header of ``sakila-schema.sql``, kept, and copied into
``LICENSE``) and :data:`TRIMMED_MARKER`, which names the source: ``repo@commit``, and the
path and SHA-256 of each upstream file. ``tests/samples/README.md`` says the same for people;
``python -m tests.sample_regenerate --from <upstream files> --to tests/samples`` rewrites them
(:data:`tests.sample_regenerate.UPSTREAM` lists where each file comes from).

``$DASHBOARD_TEST_SAMPLES`` may name another folder of sample folders: one holding
:data:`TRIMMED_MARKER` is loaded as it is; one without it must hold the upstream files,
unchanged, which are trimmed at load time (once per run per sample and dialect).

A sample whose scripts are missing FAILS the tests that need it, naming the folder and the
files expected: the samples are part of the repository, a missing one is a broken checkout.

Each script runs through the driver the dashboard uses, the way its own client would run
it: SQLite's ``executescript``; on PostgreSQL whole batches plus ``COPY ... FROM stdin``
blocks (as ``psql`` does); on MariaDB statement by statement, honouring ``DELIMITER`` (as
the ``mariadb`` client does).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import typing as t
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.databases import make_database
from tests.sample_trim import trim_chinook, trim_pagila, trim_sakila

__all__ = [
    "SAMPLES",
    "SAMPLES_ENV",
    "SHIPPED",
    "TRIMMED_MARKER",
    "Sample",
    "load_sample",
    "require_sample",
    "sample_database",
    "samples_folder",
    "trimmed_scripts",
]

SAMPLES_ENV = "DASHBOARD_TEST_SAMPLES"
#: The samples shipped with the repository, trimmed.
SHIPPED = Path(__file__).resolve().parent / "samples"
#: The file marking a sample's folder as trimmed already; it names the upstream source.
TRIMMED_MARKER = "TRIMMED_FROM"


@dataclass(frozen=True)
class Sample:
    """One sample database: its upstream files and how they become the scripts that build it."""

    name: str
    #: Per dialect, the upstream files whose trimmed text builds the sample, run in order.
    scripts: dict[str, tuple[str, ...]]
    #: The upstream licence file, if upstream has one apart from the scripts.
    licence: str | None
    #: ``trim(dialect, texts of scripts)``: the scripts to run, see :mod:`tests.sample_trim`.
    trim: t.Callable[[str, Sequence[str]], tuple[str, ...]]

    @property
    def dialects(self) -> tuple[str, ...]:
        return tuple(self.scripts)

    @property
    def files(self) -> tuple[str, ...]:
        """Every file its folder holds: the scripts of every dialect, then the licence."""
        names = dict.fromkeys(name for scripts in self.scripts.values() for name in scripts)
        return (*names, *([self.licence] if self.licence else []))


SAMPLES: dict[str, Sample] = {
    sample.name: sample
    for sample in (
        Sample(
            "chinook",
            {
                "sqlite": ("Chinook_Sqlite.sql",),
                "postgresql": ("Chinook_PostgreSql.sql",),
                "mariadb": ("Chinook_MySql.sql",),
            },
            "LICENSE.md",
            trim_chinook,
        ),
        Sample("pagila", {"postgresql": ("pagila-schema.sql", "pagila-data.sql")}, "LICENSE.txt", trim_pagila),
        Sample("sakila", {"mariadb": ("sakila-schema.sql", "sakila-data.sql")}, None, trim_sakila),
    )
}


def samples_folder() -> Path:
    """Where the sample folders are: ``$DASHBOARD_TEST_SAMPLES``, else :data:`SHIPPED`."""
    configured = os.environ.get(SAMPLES_ENV)
    return Path(configured) if configured else SHIPPED


def require_sample(name: str, dialect: str) -> Path:
    """The folder of sample ``name``; fails the test when its scripts for ``dialect`` are missing.

    :param name: a key of :data:`SAMPLES`.
    :param dialect: the dialect whose scripts are needed.
    """
    sample = SAMPLES[name]
    folder = samples_folder() / name
    expected = (
        f"expected {', '.join(sample.files)} (tests/samples/ ships them trimmed; "
        f"{SAMPLES_ENV} may name another folder of samples, trimmed or upstream: see tests/samples.py)"
    )
    if not folder.is_dir():
        pytest.fail(f"sample database {name!r} not found: no folder {folder}; {expected}", pytrace=False)
    missing = [script for script in sample.scripts[dialect] if not (folder / script).is_file()]
    if missing:
        pytest.fail(
            f"sample database {name!r} on {dialect} not found: no {', '.join(missing)} in {folder}; {expected}",
            pytrace=False,
        )
    return folder


@functools.cache
def trimmed_scripts(name: str, dialect: str, folder: Path) -> tuple[str, ...]:
    """The scripts building sample ``name`` on ``dialect`` from ``folder``.

    A folder holding :data:`TRIMMED_MARKER` is trimmed already: its scripts are read as they
    are. Otherwise they are upstream's, trimmed here. Cached: each sample is read (and
    trimmed: a few MB, tenths of a second) once per run, however many databases the tests
    build from it.
    """
    sample = SAMPLES[name]
    texts = [(folder / script).read_text(encoding="utf-8") for script in sample.scripts[dialect]]
    if (folder / TRIMMED_MARKER).is_file():
        return tuple(texts)
    return sample.trim(dialect, texts)


def load_sample(name: str, url: str) -> None:
    """Build sample ``name`` into the (empty) database at ``url``.

    :param url: an SQLAlchemy URL of a dialect the sample has scripts for.
    """
    dialect = _dialect_of(url)
    folder = require_sample(name, dialect)
    for script in trimmed_scripts(name, dialect, folder):
        _RUNNERS[dialect](url, script)


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
                statement.append(line[i : end + 2])
                in_comment = False
                i = end + 2
            elif quote is not None:
                statement.append(char)
                if char == "\\" and quote != "`":
                    statement.append(line[i + 1 : i + 2])
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
            elif char == "#" or (line.startswith("--", i) and line[i + 2 : i + 3] in ("", " ", "\t", "\r", "\n")):
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
