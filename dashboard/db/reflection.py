"""Database -> plain descriptions of its tables, views, keys and foreign keys.

This module imports no Flask. It reflects a whole schema in bulk (``MetaData.reflect``,
not table by table), then decides for every relation how a row is addressed and whether
it can be edited, keeping the reason when it cannot. Nothing is skipped silently: a
relation that cannot be edited is still described, with ``read_only_reason`` saying why.
"""

from __future__ import annotations

import keyword
import re
import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql.operators import OperatorClass

from dashboard.db import fulltext
from dashboard.db import privileges as db_privileges
from dashboard.db.checks import check_choices
from dashboard.messages import N_, Message
from dashboard.urls import assign_addresses

# Names that cannot be a form field or an attribute of a reflected row: WTForms' own
# attributes (a column called ``data`` or ``errors`` would shadow them) and the fields
# the dashboard adds to every form.
_RESERVED_KEYS = frozenset(
    {
        "data",
        "errors",
        "meta",
        "populate_obj",
        "process",
        "validate",
        "csrf_token",
        "form_errors",
        "extra_controls",
        "list_form_pk",
        "url",
        "id_",
        "fingerprint",
        "submission_token",
    }
)
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
DISPLAY_COLUMN_NAMES = ("name", "title", "label", "email", "username", "code", "slug")


@dataclass
class ColumnInfo:
    """One column as the dashboard sees it."""

    #: Its name in the database.
    name: str
    #: A safe attribute name for it (column names are untrusted): what the ORM and forms use.
    key: str
    #: Its SQLAlchemy type (``isinstance(column.type, sa.Numeric)``).
    type: sa.types.TypeEngine[t.Any]
    #: Whether it may hold NULL.
    nullable: bool
    #: Whether it is part of the table's primary key.
    primary_key: bool
    autoincrement: bool
    has_server_default: bool
    computed: bool
    #: The database's comment on it, if any.
    comment: str | None = None
    #: Allowed values from a CHECK constraint (``status IN ('a', 'b')``), if any.
    choices: tuple[str, ...] = ()
    #: ``GENERATED ALWAYS AS IDENTITY``: the database numbers it and refuses any value written.
    identity_always: bool = False

    @property
    def database_generated(self) -> bool:
        """Whether only the database writes this column (a generated column, an always-identity)."""
        return self.computed or self.identity_always

    @property
    def is_text(self) -> bool:
        """Whether the column holds text (searchable, display-worthy)."""
        return isinstance(self.type, (sa.String, sa.Text)) and not isinstance(self.type, sa.Enum)


@dataclass
class ForeignKeyInfo:
    """A foreign key from ``columns`` of one relation to ``target_columns`` of another."""

    #: The referring columns, by name.
    columns: tuple[str, ...]
    #: The id of the table referred to (``name`` or ``schema.name``).
    target_id: str
    #: The columns referred to, in the order of ``columns``.
    target_columns: tuple[str, ...]
    #: The constraint's name, when the database gives one.
    name: str | None = None


@dataclass
class TableInfo:
    """A table or view, how its rows are addressed and whether it can be edited."""

    #: Its schema, or ``None`` for the database's default one.
    schema: str | None
    #: Its name in the database (untrusted text: escaped wherever it is shown).
    name: str
    #: ``table``, ``view`` or ``materialized view``.
    kind: str
    table: sa.Table
    #: Its columns (:class:`ColumnInfo`), in the database's order.
    columns: list[ColumnInfo]
    #: The names of its primary key's columns (empty without one).
    primary_key: tuple[str, ...]
    row_key: tuple[str, ...]
    row_key_source: str
    #: Its foreign keys (:class:`ForeignKeyInfo`).
    foreign_keys: list[ForeignKeyInfo]
    unique_sets: list[tuple[str, ...]]
    #: Whether the dashboard may write to it (a table with a row key, not read-only).
    editable: bool
    read_only_reason: str | None
    notes: list[str] = field(default_factory=list)
    endpoint: str = ""
    url_path: str = ""
    display_column: str | None = None
    referenced_by: list[tuple[str, ForeignKeyInfo]] = field(default_factory=list)
    #: What the connected database user may do with it (``"SELECT"``, ``"INSERT"``...), as
    #: :mod:`dashboard.db.privileges` found at start.
    privileges: frozenset[str] = db_privileges.ALL
    #: For a materialized view: whether it held data when reflected (``None`` otherwise).
    populated: bool | None = None
    #: The database's full-text index that answers its search box (:mod:`dashboard.db.fulltext`), if any.
    full_text: fulltext.FullTextIndex | None = None

    @property
    def readable(self) -> bool:
        """Whether the database user may SELECT from it; when not, it is never queried."""
        return "SELECT" in self.privileges

    def may(self, action: str) -> bool:
        """Whether the database user holds privilege ``action`` (``"INSERT"``, ``"update"``...) on it."""
        return action.upper() in self.privileges

    @property
    def privilege_notice(self) -> str | None:
        """What the database user may not do with it, in a sentence, or ``None``."""
        return db_privileges.notice(self.privileges)

    #: Set by reflection only when a table of the default schema is named like another
    #: relation's id (``s.t`` beside schema ``s``'s table ``t``): its id then names its schema.
    qualified_id: str | None = None

    @property
    def id(self) -> str:
        """``schema.table`` or ``table``: unique within one database."""
        if self.qualified_id:
            return self.qualified_id
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def is_association(self) -> bool:
        """A pure many-to-many link: every column is part of the key and of a foreign key."""
        if len(self.foreign_keys) < 2 or not self.primary_key:
            return False
        fk_columns = {c for fk in self.foreign_keys for c in fk.columns}
        return set(self.primary_key) == {c.name for c in self.columns} <= fk_columns

    @property
    def has_row_identity(self) -> bool:
        """Whether single rows can be addressed (details, edit, delete)."""
        return bool(self.row_key)

    def column(self, name: str) -> ColumnInfo:
        """The column called ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def column_by_key(self, key: str) -> ColumnInfo:
        """The column whose safe key is ``key``."""
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)


@dataclass
class SchemaInfo:
    """Everything reflected from one database."""

    dialect: str
    default_schema: str | None
    tables: list[TableInfo]

    def by_id(self, table_id: str) -> TableInfo | None:
        """The relation called ``schema.table`` (or ``table`` in the default schema)."""
        for info in self.tables:
            if info.id == table_id:
                return info
        return None


def safe_key(name: str, position: int, taken: set[str]) -> str:
    """A Python-identifier key for a column, so hostile names never reach form or attribute names.

    :param name: the column name as the database spells it.
    :param position: the column's position, used when the name itself cannot serve.
    :param taken: keys already given in this table.
    """
    key = name
    if not _IDENTIFIER.match(name) or keyword.iskeyword(name) or name in _RESERVED_KEYS:
        key = f"col_{position}"
    while key in taken:
        key = f"{key}_"
    taken.add(key)
    return key


def reflect_schema(engine: Engine, schemas: t.Sequence[str] = ()) -> SchemaInfo:
    """Reflect every table and view of the default schema and of ``schemas``.

    :param engine: a connected engine.
    :param schemas: further schemas to reflect; ``["*"]`` means every schema there is.
    """
    inspector = sa.inspect(engine)
    default_schema = inspector.default_schema_name
    wanted: list[str | None] = [None]
    if "*" in schemas:
        wanted += [s for s in inspector.get_schema_names() if s != default_schema and not _is_system_schema(s)]
    else:
        wanted += [s for s in schemas if s and s != default_schema]
    tables: list[TableInfo] = []
    for schema in wanted:
        metadata = db_privileges.reflect(engine, schema)
        view_names = set(inspector.get_view_names(schema=schema))
        materialized = db_privileges.materialized_views(engine, schema)
        granted = db_privileges.probe(engine, schema, [t.name for t in metadata.tables.values() if t.schema == schema])
        unique_sets = _unique_sets(metadata)
        indexes = fulltext.detect(engine, schema, [t for t in metadata.tables.values() if t.schema == schema])
        for table in metadata.tables.values():
            if table.schema != schema:
                continue
            kind = (
                "view" if table.name in view_names else "materialized view" if table.name in materialized else "table"
            )
            _declare_operators(table)
            info = _describe(engine, table, kind, unique_sets.get(table.name, []))
            info.privileges = granted.get(table.name, db_privileges.ALL)
            info.populated = materialized.get(table.name)
            info.full_text = indexes.indexes.get(table.name)
            if table.name in indexes.internal:  # part of a full-text index: a write by hand would corrupt it
                info.editable, info.read_only_reason = False, indexes.internal[table.name]
            if kind == "table":
                for name, choices in check_choices(table).items():
                    if any(c.name == name for c in info.columns):
                        info.column(name).choices = choices
            tables.append(info)
    schema_info = SchemaInfo(dialect=engine.dialect.name, default_schema=default_schema, tables=tables)
    _link_tables(schema_info)
    return schema_info


def _declare_operators(table: sa.Table) -> None:
    """Let every column of ``table`` be compared and sorted, whatever its type.

    SQLAlchemy 2.1 warns (and says a future release will refuse) when a comparison or an
    ORDER BY involves a type that declares no operator classes: PostgreSQL domains and
    MONEY, MySQL/MariaDB YEAR and BIT. Pagila's ``film.release_year`` (a domain)
    and Sakila's (a YEAR) are such columns. A domain compares as the type it is based on;
    any other such type gets what the list, its sorting and its filters use: equality,
    ordering and ``IS NULL``. The database still decides what it accepts.
    """
    fallback = OperatorClass.BASE | OperatorClass.EQUALITY | OperatorClass.ORDERING
    for column in table.columns:
        column_type = column.type
        if column_type.operator_classes is not OperatorClass.UNSPECIFIED:
            continue
        base = getattr(column_type, "data_type", None)  # a PostgreSQL DOMAIN's underlying type
        declared = getattr(base, "operator_classes", OperatorClass.UNSPECIFIED)
        # Set on the reflected instance only: the type's class, shared by every app, is left alone.
        column_type.operator_classes = (  # type: ignore[misc]
            fallback if declared is OperatorClass.UNSPECIFIED else declared
        )


def _is_system_schema(schema: str) -> bool:
    system = {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}
    return schema in system or schema.startswith("pg_temp") or schema.startswith("pg_toast")


def _unique_sets(metadata: sa.MetaData) -> dict[str, list[tuple[str, ...]]]:
    # Unique constraints and unique indexes both make a column set a usable row key.
    found: dict[str, list[tuple[str, ...]]] = {}
    for table in metadata.tables.values():
        sets: list[tuple[str, ...]] = []
        for constraint in table.constraints:
            if isinstance(constraint, sa.UniqueConstraint):
                sets.append(tuple(c.name for c in constraint.columns))
        for index in table.indexes:
            if index.unique and all(isinstance(e, sa.Column) for e in index.expressions):
                sets.append(tuple(c.name for c in index.columns))
        found[table.name] = [s for s in sets if s]
    return found


def _describe(engine: Engine, table: sa.Table, kind: str, unique_sets: list[tuple[str, ...]]) -> TableInfo:
    taken: set[str] = set()
    columns = [
        ColumnInfo(
            name=column.name,
            key=safe_key(column.name, position, taken),
            type=column.type,
            nullable=bool(column.nullable),
            primary_key=bool(column.primary_key),
            autoincrement=_is_autoincrement(column),
            has_server_default=column.server_default is not None,
            computed=column.computed is not None,
            comment=column.comment,
            identity_always=column.identity is not None and bool(column.identity.always),
        )
        for position, column in enumerate(table.columns)
    ]
    primary_key = tuple(c.name for c in table.primary_key.columns)
    foreign_keys = [
        ForeignKeyInfo(
            columns=tuple(fk.parent.name for fk in constraint.elements),
            target_id=_target_id(constraint),
            target_columns=tuple(_fk_target_column(fk) for fk in constraint.elements),
            name=constraint.name if isinstance(constraint.name, str) else None,
        )
        for constraint in table.foreign_key_constraints
    ]
    info = TableInfo(
        schema=table.schema,
        name=table.name,
        kind=kind,
        table=table,
        columns=columns,
        primary_key=primary_key,
        row_key=(),
        row_key_source="none",
        foreign_keys=foreign_keys,
        unique_sets=unique_sets,
        editable=False,
        read_only_reason=None,
    )
    _choose_row_key(engine, info)
    return info


def _fk_target_column(fk: sa.ForeignKey) -> str:
    # With resolve_fks=False the target is only known by its spec "schema.table.column".
    return fk.target_fullname.rsplit(".", 1)[-1]


def _target_id(constraint: sa.ForeignKeyConstraint) -> str:
    element = constraint.elements[0]
    table_part = element.target_fullname.rsplit(".", 1)[0]
    return table_part


def _is_autoincrement(column: sa.Column[t.Any]) -> bool:
    if not column.primary_key or not isinstance(column.type, sa.Integer):
        return False
    table = column.table
    return column.autoincrement is True or (column.autoincrement == "auto" and len(table.primary_key.columns) == 1)


def _choose_row_key(engine: Engine, info: TableInfo) -> None:
    """Decide how rows are addressed and whether the relation is editable."""
    if info.kind in ("view", "materialized view"):
        info.read_only_reason = Message(
            N_("This is a view: it is served read-only.") if info.kind == "view" else db_privileges.MATERIALIZED_VIEW
        )
        if info.primary_key:
            info.row_key, info.row_key_source = info.primary_key, "primary_key"
        return
    if info.primary_key:
        info.row_key, info.row_key_source = info.primary_key, "primary_key"
        info.editable = True
        return
    not_null = {c.name for c in info.columns if not c.nullable}
    for unique in info.unique_sets:
        if set(unique) <= not_null:
            # A unique, non-null column set addresses exactly one row, as a key would.
            info.row_key, info.row_key_source = unique, "unique"
            info.editable = True
            info.notes.append(
                Message(
                    N_("This table has no primary key; rows are addressed by its unique key (%(columns)s)."),
                    columns=", ".join(unique),
                )
            )
            return
    dialect = engine.dialect.name
    if dialect == "sqlite" and not _sqlite_without_rowid(engine, info):
        info.row_key, info.row_key_source = ("rowid",), "rowid"
        info.read_only_reason = Message(
            N_(
                "This table has no primary key or unique key, so a row cannot be addressed "
                "safely for editing. It is served read-only; rows are shown by SQLite's rowid."
            )
        )
        return
    info.read_only_reason = Message(
        N_(
            "This table has no primary key or unique key, so a row cannot be addressed "
            "safely. It is served read-only for browsing, search and export."
        )
    )


def _sqlite_without_rowid(engine: Engine, info: TableInfo) -> bool:
    with engine.connect() as connection:
        sql = connection.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:name"),
            {"name": info.name},
        ).scalar()
    return isinstance(sql, str) and "WITHOUT ROWID" in sql.upper()


def _link_tables(info: SchemaInfo) -> None:
    """Give endpoints, display columns and reverse references once all relations are known."""
    _distinct_ids(info)
    # Addresses first: every relation's URL and endpoint, distinct from all others (dashboard.urls).
    assign_addresses(info.tables)
    for table in info.tables:
        table.display_column = choose_display_column(table)
    by_id = {t.id: t for t in info.tables}
    for table in info.tables:
        for fk in table.foreign_keys:
            # Reflected target names omit the default schema.
            target = by_id.get(fk.target_id) or by_id.get(fk.target_id.split(".", 1)[-1])
            if target is not None:
                fk.target_id = target.id
                target.referenced_by.append((table.id, fk))


def _distinct_ids(info: SchemaInfo) -> None:
    # "s.t" is schema s's table t; a default-schema table literally named "s.t" would have
    # the same id and one of the two would be unreachable. The odd name gives way.
    schema_ids = {table.id for table in info.tables if table.schema is not None}
    taken = {table.id for table in info.tables}
    for table in info.tables:
        if table.schema is None and table.name in schema_ids:
            qualified = f"{info.default_schema or ''}.{table.name}"
            while qualified in taken:
                qualified = f".{qualified}"
            table.qualified_id = qualified
            taken.add(qualified)


def choose_display_column(table: TableInfo) -> str | None:
    """The column that labels a row: name/title/label/email, else the first unique text column."""
    text_columns = [c for c in table.columns if c.is_text]
    for wanted in DISPLAY_COLUMN_NAMES:
        for column in text_columns:
            if column.name.lower() == wanted:
                return column.name
    for unique in table.unique_sets:
        if len(unique) == 1 and any(c.name == unique[0] for c in text_columns):
            return unique[0]
    return None
