"""Full-text indexes the database already has, found at start, and the search conditions that use them.

This module imports no Flask. A list's search box runs a ``LIKE`` over the text columns
(:mod:`dashboard.db.search`) unless the table carries a full-text index the database
answers from, found by reflection with no configuration and one catalog query per schema:

- PostgreSQL: a ``tsvector`` column under a GIN (or GiST) index, searched with
  ``col @@ websearch_to_tsquery(config, :q)``; or a GIN index on the expression
  ``to_tsvector(config, col)``, searched with that same expression so the index serves it.
  ``config`` is the one the vector is built with when that can be read (a generated
  column's expression, a ``tsvector_update_trigger``), else ``simple``.
- SQLite: an FTS5 table whose ``content=`` option names the table (external content, with
  ``content_rowid``), or one named ``<table>_fts`` without content of its own elsewhere,
  searched with ``rowid IN (SELECT rowid FROM fts WHERE fts MATCH :q)``; every FTS5 table
  also searches itself that way. The FTS5 table and its shadow tables (``*_data``,
  ``*_idx``, ``*_docsize``, ``*_config``, ``*_content``) are marked read-only with the reason:
  a row written there by hand corrupts the index.
- MySQL/MariaDB: ``FULLTEXT`` indexes, searched with
  ``MATCH(cols) AGAINST (:q IN NATURAL LANGUAGE MODE)``, one per index, ORed.

The operator's text is always a bound parameter, cut and cleaned as for ``LIKE``; for FTS5
every word becomes a quoted phrase, so FTS5's query syntax (quotes, ``-``, ``NEAR(``,
``AND``) is searched for as text and can never make the statement fail. When a catalog
cannot be read, the tables keep the ``LIKE`` search and the failure is logged.
"""

from __future__ import annotations

import logging
import re
import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.search import MAX_SEARCH_LENGTH, MAX_SEARCH_TERMS
from dashboard.messages import N_, Message

log = logging.getLogger(__name__)

#: The tables SQLite's FTS5 keeps beside a full-text table ``x``: ``x_data``, ``x_idx``...
FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_docsize", "_config", "_content")
FTS5_INDEX = N_(
    "This is the SQLite FTS5 full-text index of %(table)s: it is served read-only, as a change "
    "made here by hand would leave the index out of step. Search %(table)s with its search box."
)
FTS5_SHADOW = N_(
    "This is an internal table of the SQLite FTS5 full-text index %(index)s: it is served "
    "read-only, as a change made here by hand would corrupt the index."
)
DEFAULT_CONFIG = "simple"
_SQLITE_QUOTING = sqlite.dialect().identifier_preparer
_NOT_A_WORD = re.compile(r"[^\w']+")


def clean_text(text: str) -> str:
    """``text`` as every search takes it: at most :data:`MAX_SEARCH_LENGTH` characters, no NUL."""
    # PostgreSQL text cannot hold NUL, and no stored value contains one: drop it.
    return text[:MAX_SEARCH_LENGTH].replace("\x00", "").strip()


def fts5_query(text: str) -> str:
    """An FTS5 query matching rows holding every word of ``text``, each word taken literally.

    Each word becomes a phrase in double quotes (a quote inside doubled), so nothing the
    operator types is FTS5 syntax.
    """
    terms = clean_text(text).split()[:MAX_SEARCH_TERMS]
    return " ".join('"{}"'.format(term.replace('"', '""')) for term in terms)


class FullTextIndex:
    """A full-text index that can answer a table's search box."""

    #: The columns of the table the index reads: only when the operator may search every
    #: one of them is the index used (a hidden column must not be found by searching).
    columns: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """What the index is, in the database's own terms (``PostgreSQL tsvector: document``)."""
        raise NotImplementedError

    def condition(self, table: sa.Table, text: str) -> sa.ColumnElement[bool] | None:
        """The ``WHERE`` condition finding ``text`` in ``table``; ``None`` when there is nothing to find."""
        raise NotImplementedError


@dataclass(frozen=True)
class Vector:
    """One PostgreSQL text vector: a ``tsvector`` column, or ``to_tsvector(config, column)`` (``expression``)."""

    column: str
    config: str = DEFAULT_CONFIG
    expression: bool = False

    @property
    def label(self) -> str:
        if self.expression:
            return f"to_tsvector({self.config}, {self.column})"
        return f"tsvector: {self.column} ({self.config})"


@dataclass(frozen=True)
class TsvectorIndexes(FullTextIndex):
    """PostgreSQL: the table's indexed text vectors, searched each with ``@@``, ORed."""

    vectors: tuple[Vector, ...]

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys(vector.column for vector in self.vectors))

    @property
    def label(self) -> str:
        return "PostgreSQL " + ", ".join(vector.label for vector in self.vectors)

    def condition(self, table: sa.Table, text: str) -> sa.ColumnElement[bool] | None:
        text = clean_text(text)
        if not text:
            return None
        matches = []
        for vector in self.vectors:
            column: sa.ColumnElement[t.Any] = table.c[vector.column]
            if vector.expression:
                # The index's own expression, so that the index answers it.
                column = sa.func.to_tsvector(vector.config, column)
            matches.append(column.bool_op("@@")(sa.func.websearch_to_tsquery(vector.config, text)))
        return sa.or_(*matches)


@dataclass(frozen=True)
class Fts5Index(FullTextIndex):
    """SQLite: an FTS5 table whose rowids are the table's rowids (or ``rowid_column`` values)."""

    fts_table: str
    schema: str | None
    columns: tuple[str, ...] = ()
    #: The table's column the FTS5 rowid stands for (``content_rowid``); ``None``: its rowid.
    rowid_column: str | None = None

    @property
    def label(self) -> str:
        return f"SQLite FTS5: {self.fts_table}"

    def condition(self, table: sa.Table, text: str) -> sa.ColumnElement[bool] | None:
        query = fts5_query(text)
        if not query:
            return None
        # The FTS5 table's hidden column named like the table is the one MATCH searches.
        fts = sa.table(self.fts_table, sa.column(self.fts_table), sa.column("rowid"), schema=self.schema)
        matching = sa.select(fts.c.rowid).where(fts.c[self.fts_table].match(query))
        if self.rowid_column is not None:
            return table.c[self.rowid_column].in_(matching)
        return _rowid_of(table).in_(matching)


@dataclass(frozen=True)
class MysqlFulltextIndexes(FullTextIndex):
    """MySQL/MariaDB: the table's ``FULLTEXT`` indexes, each a tuple of columns."""

    indexes: tuple[tuple[str, ...], ...]
    server: str = "MySQL"

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys(c for index in self.indexes for c in index))

    @property
    def label(self) -> str:
        return f"{self.server} FULLTEXT: {', '.join(self.columns)}"

    def condition(self, table: sa.Table, text: str) -> sa.ColumnElement[bool] | None:
        text = clean_text(text)
        if not text:
            return None
        # Even in natural language mode InnoDB parses operators (a lone ``*`` is a syntax
        # error); its parser splits words at everything but letters, digits, ``_`` and ``'``.
        words = _NOT_A_WORD.sub(" ", text).strip()
        if not words:
            return sa.false()
        # MATCH must name exactly the columns of one FULLTEXT index: one MATCH per index.
        return sa.or_(
            *(
                mysql.match(*(table.c[c] for c in index), against=words).in_natural_language_mode()
                for index in self.indexes
            )
        )


def _rowid_of(table: sa.Table) -> sa.ColumnElement[t.Any]:
    # SQLite's rowid is no reflected column: qualified by the table as SQLite's own quoting writes it.
    return sa.literal_column(f"{_SQLITE_QUOTING.format_table(table)}.rowid", sa.Integer())


@dataclass
class Found:
    """What :func:`detect` found in one schema: indexes by table name, and the index's own tables."""

    indexes: dict[str, FullTextIndex] = field(default_factory=dict)
    #: Tables that belong to a full-text index (FTS5 tables and shadow tables): why they are read-only.
    internal: dict[str, Message] = field(default_factory=dict)


def detect(engine: Engine, schema: str | None, tables: t.Sequence[sa.Table]) -> Found:
    """The full-text indexes of ``schema``'s ``tables`` (as reflected), in one catalog query.

    A catalog the database user may not read leaves every table with the ``LIKE`` search.
    """
    names = {table.name: table for table in tables}
    if not names:
        return Found()
    dialect = engine.dialect.name
    try:
        if dialect == "postgresql":
            return _postgresql(engine, schema, names)
        if dialect in ("mysql", "mariadb"):
            return _mysql(engine, schema, names)
        if dialect == "sqlite":
            return _sqlite(engine, schema, names)
    except SQLAlchemyError as exc:
        log.warning("could not read the full-text indexes of schema %s; searching with LIKE: %s", schema, exc)
    return Found()


# -- PostgreSQL -----------------------------------------------------------------------------

# Both questions in one statement: GIN/GiST indexes holding a tsvector column or an
# expression, and tsvector_update_trigger triggers, whose arguments name the vector's config.
_PG_CATALOG = sa.text(
    "SELECT 'index' AS kind, t.relname, a.attname, pg_get_expr(i.indexprs, i.indrelid) AS expression, NULL AS args"
    " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
    " JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam"
    " LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) AND a.attnum > 0"
    " AND a.atttypid = 'tsvector'::regtype AND NOT a.attisdropped"
    " WHERE n.nspname = COALESCE(:schema, current_schema()) AND am.amname IN ('gin', 'gist')"
    " UNION ALL SELECT 'trigger', t.relname, NULL, NULL, tg.tgargs"
    " FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
    " JOIN pg_proc p ON p.oid = tg.tgfoid"
    " WHERE n.nspname = COALESCE(:schema, current_schema()) AND p.proname = 'tsvector_update_trigger'"
    " AND NOT tg.tgisinternal"
)
_PG_IDENTIFIER = r'"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*'
_PG_CONFIG = r"'((?:[^']|'')+)'::regconfig"
# to_tsvector('english'::regconfig, body), or (title)::text for a column of another text type.
_PG_VECTOR_EXPRESSION = re.compile(
    rf"^to_tsvector\({_PG_CONFIG}, (?:\((?P<cast>{_PG_IDENTIFIER})\)::[a-z ]+|(?P<plain>{_PG_IDENTIFIER}))\)$"
)
_PG_CONFIG_USED = re.compile(rf"to_tsvector\({_PG_CONFIG}")


def _pg_identifier(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


def _postgresql(engine: Engine, schema: str | None, tables: dict[str, sa.Table]) -> Found:
    with engine.connect() as connection:
        rows = connection.execute(_PG_CATALOG, {"schema": schema}).all()
    trigger_configs: dict[tuple[str, str], str] = {}
    for kind, table_name, _column, _expression, args in rows:
        if kind == "trigger" and args:
            # tsvector_update_trigger(vector_column, config, source columns...)
            parts = bytes(args).split(b"\x00")
            if len(parts) >= 2:
                trigger_configs[(str(table_name), parts[0].decode())] = parts[1].decode()
    vectors: dict[str, list[Vector]] = {}
    for kind, table_name, column_name, expression, _args in rows:
        table = tables.get(str(table_name))
        if kind != "index" or table is None:
            continue
        vector = None
        if column_name is not None and column_name in table.c:
            config = trigger_configs.get((table.name, column_name)) or _generated_config(table.c[column_name])
            vector = Vector(str(column_name), config or DEFAULT_CONFIG)
        elif expression is not None:
            match = _PG_VECTOR_EXPRESSION.match(str(expression))
            name = _pg_identifier(match.group("cast") or match.group("plain")) if match else ""
            if match and name in table.c:
                vector = Vector(name, match.group(1).replace("''", "'"), expression=True)
        if vector is not None and vector not in vectors.setdefault(table.name, []):
            vectors[table.name].append(vector)
    return Found(indexes={name: TsvectorIndexes(tuple(found)) for name, found in vectors.items() if found})


def _generated_config(column: sa.Column[t.Any]) -> str | None:
    """The config of a column ``GENERATED ALWAYS AS (to_tsvector('english', ...))``."""
    if column.computed is None:
        return None
    match = _PG_CONFIG_USED.search(str(column.computed.sqltext))
    return match.group(1).replace("''", "'") if match else None


# -- MySQL / MariaDB ------------------------------------------------------------------------

_MYSQL_CATALOG = sa.text(
    "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS"
    " WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE()) AND INDEX_TYPE = 'FULLTEXT'"
    " ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
)


def _mysql(engine: Engine, schema: str | None, tables: dict[str, sa.Table]) -> Found:
    with engine.connect() as connection:
        rows = connection.execute(_MYSQL_CATALOG, {"schema": schema}).all()
    indexes: dict[str, dict[str, list[str]]] = {}
    for table_name, index_name, column_name in rows:
        indexes.setdefault(str(table_name), {}).setdefault(str(index_name), []).append(str(column_name))
    server = "MariaDB" if engine.dialect.is_mariadb else "MySQL"  # type: ignore[attr-defined]
    found = Found()
    for name, by_index in indexes.items():
        table = tables.get(name)
        usable = tuple(
            tuple(cols) for cols in by_index.values() if table is not None and all(c in table.c for c in cols)
        )
        if usable:
            found.indexes[name] = MysqlFulltextIndexes(usable, server)
    return found


# -- SQLite ---------------------------------------------------------------------------------

_FTS5_ARGUMENTS = re.compile(r"\bUSING\s+fts5\s*\((?P<arguments>.*)\)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
# A name or value quoted in any of SQLite's four ways.
_SQLITE_QUOTED = r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]"""
_FTS5_PIECES = re.compile(rf"""{_SQLITE_QUOTED}|,|[^,'"`\[]+""")
# One argument: a column (``name [UNINDEXED]``) or an option (``key = value``).
_FTS5_ARGUMENT = re.compile(rf"""\s*({_SQLITE_QUOTED}|[^\s='"`\[]+)\s*(=?)\s*(.*)$""", re.DOTALL)


def _sqlite_unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] in "'\"`" and text[-1] == text[0]:
        return text[1:-1].replace(text[0] * 2, text[0])
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        return text[1:-1]
    return text


def fts5_arguments(sql: str) -> tuple[list[str], dict[str, str]] | None:
    """The indexed columns and the options (``content``, ``content_rowid``...) of an FTS5 table's
    ``CREATE VIRTUAL TABLE`` statement; ``None`` when it is not an FTS5 table."""
    found = _FTS5_ARGUMENTS.search(sql)
    if found is None:
        return None
    arguments, current = [], ""
    for piece in _FTS5_PIECES.finditer(found.group("arguments")):
        if piece.group(0) == ",":  # a comma outside quotes ends an argument
            arguments.append(current)
            current = ""
        else:
            current += piece.group(0)
    arguments.append(current)
    columns: list[str] = []
    options: dict[str, str] = {}
    for argument in arguments:
        parsed = _FTS5_ARGUMENT.match(argument)
        if parsed is None:
            continue
        head, equals, rest = parsed.groups()
        if equals:
            options[_sqlite_unquote(head).lower()] = _sqlite_unquote(rest)
        elif "UNINDEXED" not in rest.upper():
            columns.append(_sqlite_unquote(head))
    return columns, options


def _sqlite(engine: Engine, schema: str | None, tables: dict[str, sa.Table]) -> Found:
    master = sa.table("sqlite_master", sa.column("type"), sa.column("name"), sa.column("sql"), schema=schema)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(master.c.name, master.c.sql).where(master.c.type == "table")).all()
    statements = {str(name): str(sql or "") for name, sql in rows}
    found = Found()
    for fts_name in sorted(statements):
        parsed = fts5_arguments(statements[fts_name])
        if parsed is None or fts_name not in tables:
            continue
        columns, options = parsed
        for suffix in FTS5_SHADOW_SUFFIXES:
            found.internal[fts_name + suffix] = Message(FTS5_SHADOW, index=fts_name)
        # The FTS5 table searches itself; its rowids are its own.
        found.indexes[fts_name] = Fts5Index(fts_name, schema, tuple(columns))
        content = options.get("content")
        target = content if content else fts_name.removesuffix("_fts") if fts_name.endswith("_fts") else None
        table = tables.get(target or "")
        if table is None or target in found.indexes or "WITHOUT ROWID" in statements.get(target or "", "").upper():
            continue
        rowid = options.get("content_rowid") if content else None
        if rowid is not None and rowid.lower() != "rowid" and rowid not in table.c:
            continue
        found.indexes[table.name] = Fts5Index(
            fts_name,
            schema,
            tuple(c for c in columns if c in table.c),
            rowid_column=None if rowid is None or rowid.lower() == "rowid" else rowid,
        )
        found.internal[fts_name] = Message(FTS5_INDEX, table=table.name)
    return found
