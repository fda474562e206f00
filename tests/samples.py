"""Public sample databases nobody here wrote (Chinook, Pagila, Sakila), loaded into throw-away databases.

The samples are the upstream files, unchanged and named as upstream, one folder per sample
under ``samples/`` in the ``shared/`` folder beside the repository (CI gets a copy of
``shared/`` beside its clone), or under ``$DASHBOARD_TEST_SAMPLES``. They are not part of
this repository. At load time :mod:`tests.sample_trim` trims each script to a few hundred
rows per table (every foreign key kept consistent) and drops the few statements that would
not run in a throw-away database; each script is trimmed once per test run.

A sample whose folder or scripts are missing skips the tests that need it, naming the folder
and the files expected, in CI too (``DASHBOARD_TEST_REQUIRE_SERVICES=1`` does not turn this
skip into a failure): a missing data folder is not a service a run can start.

Where the files come from (copy each unchanged; ``<repo>@<commit>:<path>``)::

    samples/chinook/Chinook_Sqlite.sql      lerocha/chinook-database@7f67772503d71ba90f19283c38e93923addb43fa
    samples/chinook/Chinook_PostgreSql.sql      :ChinookDatabase/DataSources/<same name>
    samples/chinook/Chinook_MySql.sql           (Chinook 1.4.5)
    samples/chinook/LICENSE.md                  :LICENSE.md (MIT, Luis Rocha)
    samples/pagila/pagila-schema.sql        devrimgunduz/pagila@e0e35a666f31a786b9d3c06cb83799fc46db25d4
    samples/pagila/pagila-data.sql              :<same name> (at the repository's root)
    samples/pagila/LICENSE.txt                  :LICENSE.txt (MIT-style; its README says
                                                 PostgreSQL licence; Devrim Gündüz)
    samples/sakila/sakila-schema.sql        aFemzz/Sakila-db@44864c2865dff5004bfb6b77d055426e0ba29996
    samples/sakila/sakila-data.sql              :sakila-db/<same name> (Oracle's Sakila 1.5,
                                                 as Oracle distributes it)

Sakila has no licence file upstream: its New BSD licence (Copyright (c) 2006, 2024, Oracle
and/or its affiliates) is the header of ``sakila-schema.sql``. A file
``https://raw.githubusercontent.com/<repo>/<commit>/<path>`` is each file as GitHub serves
it. Their SHA-256 (``cd shared/samples && sha256sum -c``)::

    caf31d698a4a79c628215b552dfe6575e71be052ae02b8f18e763498f55f5d44  chinook/Chinook_Sqlite.sql
    e3fde5c1a5b51a2a91429a702c9ca6e69ba56e6c7f5e112724d70c3d03db695e  chinook/Chinook_PostgreSql.sql
    68768623bac1fe6f92c317235735c706a54a28cc76ab175c194e99f994dadbd6  chinook/Chinook_MySql.sql
    5064d720db431474b0a0b0cef9d2b5e362b6c6f80602b35c6443b07cbc979f77  chinook/LICENSE.md
    8ce358e4c8014087b85296694a0893887bd7a4190e3ce407f2721b86b98e5707  pagila/pagila-schema.sql
    880580fb2cd4daaa99f290ced264988cdd657b3158be63cd281466f796f6dbf2  pagila/pagila-data.sql
    516e7dac679ac1eeb62d5614b01c4e7318154e9a147377d6264954215997ff38  pagila/LICENSE.txt
    d80d69e78c800020126847678dfebe6bc40f78a828b2e33a9db38d7a6c84c123  sakila/sakila-schema.sql
    9e4d588622957ae7fa5bbb29f9d75e08b8276071deedf1d5dec9309f5ba22119  sakila/sakila-data.sql

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
    "Sample",
    "load_sample",
    "require_sample",
    "sample_database",
    "samples_folder",
    "trimmed_scripts",
]

SAMPLES_ENV = "DASHBOARD_TEST_SAMPLES"


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
    """Where the sample folders are: ``$DASHBOARD_TEST_SAMPLES``, else ``shared/samples`` beside the repository."""
    configured = os.environ.get(SAMPLES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "samples"


def require_sample(name: str, dialect: str) -> Path:
    """The folder of sample ``name``; skips the test when its scripts for ``dialect`` are missing.

    :param name: a key of :data:`SAMPLES`.
    :param dialect: the dialect whose scripts are needed.
    """
    sample = SAMPLES[name]
    folder = samples_folder() / name
    expected = (
        f"expected {', '.join(sample.files)} from upstream, unchanged "
        f"(tests/samples.py says where from; {SAMPLES_ENV} may name another folder of samples)"
    )
    if not folder.is_dir():
        pytest.skip(f"sample database {name!r} not found: no folder {folder}; {expected}")
    missing = [script for script in sample.scripts[dialect] if not (folder / script).is_file()]
    if missing:
        pytest.skip(f"sample database {name!r} on {dialect} not found: no {', '.join(missing)} in {folder}; {expected}")
    return folder


@functools.cache
def trimmed_scripts(name: str, dialect: str, folder: Path) -> tuple[str, ...]:
    """The scripts building sample ``name`` on ``dialect`` from the upstream files in ``folder``.

    Cached: each sample is trimmed once per run (reading and trimming a few MB takes tenths
    of a second), however many databases the tests build from it.
    """
    sample = SAMPLES[name]
    texts = [(folder / script).read_text(encoding="utf-8") for script in sample.scripts[dialect]]
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
