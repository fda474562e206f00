"""A wide schema: hundreds of ordinary tables, the way a long-lived application grows them.

:func:`create_wide_schema` writes ``count`` relations into an empty database on any
dialect, with the features that cost the dashboard something per table at start-up:
primary keys, a UNIQUE column, a CHECK pick list, a date column, a foreign key to the
table before, every 20th table without any key (SQLite then looks for ``WITHOUT ROWID``)
and every 25th relation a view. A quarter of the tables go to ``second_schema`` when one
is given (PostgreSQL schema, MariaDB sibling database). Each table holds two rows whose
``name`` says which table they are in, so a page can be checked to show *its* rows.

Used by tests/test_schema_size.py and bench/schema_size.py.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa

#: Words table names are made of, so that a search narrows hundreds of tables usefully.
TOPICS = (
    "customer",
    "invoice",
    "shipment",
    "ledger",
    "payroll",
    "audit_trail",
    "inventory",
    "ticket",
    "campaign",
    "contract",
    "warehouse",
    "supplier",
)
ROWS_PER_TABLE = 2


@dataclass(frozen=True)
class WideRelation:
    """One relation of the wide schema."""

    schema: str | None
    name: str
    kind: str  # "table" or "view"

    @property
    def id(self) -> str:
        """``schema.name`` or ``name``, as :attr:`dashboard.db.reflection.TableInfo.id` spells it."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def row_name(self, number: int) -> str:
        """The ``name`` value of row ``number`` (1 or 2): unique across the whole schema."""
        return f"{self.name} row {number}"


def wide_relations(count: int, second_schema: str | None = None) -> list[WideRelation]:
    """The relations :func:`create_wide_schema` makes, in creation order."""
    relations = []
    for number in range(count):
        topic = TOPICS[number % len(TOPICS)]
        schema = second_schema if second_schema and number % 4 == 3 else None
        kind = "view" if number % 25 == 24 else "table"
        prefix = "v_" if kind == "view" else ""
        relations.append(WideRelation(schema, f"{prefix}{topic}_{number:04d}", kind))
    return relations


def create_wide_schema(url: str, count: int, second_schema: str | None = None) -> list[WideRelation]:
    """Create ``count`` relations with their rows in the empty database at ``url``; return them.

    :param second_schema: an existing schema (PostgreSQL) or database (MariaDB) that gets a
        quarter of the tables; ``None`` puts all of them in the default schema.
    """
    relations = wide_relations(count, second_schema)
    metadata = sa.MetaData()
    tables: dict[str, sa.Table] = {}
    previous: dict[str | None, sa.Table] = {}
    views: list[tuple[WideRelation, sa.Table]] = []
    for number, relation in enumerate(relations):
        if relation.kind == "view":
            base = previous.get(relation.schema)
            if base is not None:
                views.append((relation, base))
            continue
        table = _table(metadata, relation, number, previous.get(relation.schema))
        tables[relation.id] = table
        previous[relation.schema] = table
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            metadata.create_all(connection, checkfirst=False)  # an empty database: no 600 lookups first
            when = dt.datetime(2024, 1, 1, 12, 0)
            for relation in relations:
                table = tables.get(relation.id)
                if table is None:
                    continue
                rows = [{"name": relation.row_name(n), "status": "open", "created_at": when} for n in (1, 2)]
                if "id" in table.c:
                    rows = [{"id": n, **row} for n, row in zip((1, 2), rows, strict=True)]
                connection.execute(table.insert(), rows)
            preparer = connection.dialect.identifier_preparer
            for relation, base in views:
                name = preparer.format_table(sa.table(relation.name, schema=relation.schema))
                source = preparer.format_table(base)
                # A view's rows are its own: the base table's names with the view's in front.
                connection.exec_driver_sql(
                    f"CREATE VIEW {name} AS SELECT id, {_concat(connection, relation.name)} AS name, status "
                    f"FROM {source}"
                )
    finally:
        engine.dispose()
    return [r for r in relations if r.kind == "table" or any(v[0] == r for v in views)]


def view_row_name(relation: WideRelation, base_row: str) -> str:
    """What a wide view shows in ``name`` for a row of its base table named ``base_row``."""
    return f"{relation.name}: {base_row}"


def _concat(connection: sa.Connection, view_name: str) -> str:
    literal = "'" + view_name.replace("'", "''") + ": '"
    if connection.dialect.name in ("mysql", "mariadb"):
        return f"CONCAT({literal}, name)"
    return f"{literal} || name"


def _table(metadata: sa.MetaData, relation: WideRelation, number: int, previous: sa.Table | None) -> sa.Table:
    columns: list[t.Any] = []
    keyless = number % 20 == 19
    if not keyless:
        columns.append(sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    columns += [
        sa.Column("name", sa.String(80), nullable=False, unique=not keyless),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime),
        sa.Column("amount", sa.Numeric(10, 2)),
        sa.Column("note", sa.Text),
        sa.CheckConstraint("status IN ('new', 'open', 'closed')", name=f"ck_{relation.name}_status"),
    ]
    if previous is not None and not keyless and "id" in previous.c:
        columns.append(sa.Column("previous_id", sa.Integer, sa.ForeignKey(previous.c.id)))
    return sa.Table(relation.name, metadata, *columns, schema=relation.schema)
