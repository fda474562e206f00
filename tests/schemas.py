"""A deliberately hostile database, the same on SQLite, PostgreSQL and MariaDB.

:func:`create_hostile_schema` builds it in an empty database and fills it with a few rows.
Each relation reproduces a way generic admin tools are known to break; the constants
below say what is there, so tests name a table or a key through them instead of
repeating literals.

======================  ===============================================================
relation                what it reproduces
======================  ===============================================================
``customers``           Column names that are reserved words (``order``, ``group``), have
                        spaces, non-ASCII letters, ``;`` or HTML/attribute markup in them:
                        unquoted SQL, broken form field names and markup injected through
                        headers. Values ``<script>…`` and ``=HYPERLINK(…)``: stored XSS and
                        CSV formula injection. ``email`` is UNIQUE with NULLs in it.
``order``               A reserved word as table name (unquoted ``FROM order`` fails), with
                        a foreign key to ``customers``, a ``group`` column and money in
                        ``NUMERIC(12,2)`` (floats would round it).
``we"ird table``        A double quote and a space in a table name: naive quoting, URLs and
                        endpoint names built from table names.
``<b>bold</b>``         Markup and ``/`` in a table name: menus and titles that render it as
                        HTML, and routes that split on ``/``.
``x`y] UNION…``         A backtick, a bracket, ``;`` and an SQL tail in a table name, a ``"``
                        and a reserved word as column names, and URL-looking values
                        (``javascript:``, ``data:``, ``\\host``) that must not become links.
``text_keys``           A text primary key without autoincrement whose values contain
                        ``,`` ``/`` ``%`` ``#`` ``?`` ``&`` quotes, backslash, markup, non-ASCII,
                        ``.`` and ``..``: keys that get split, unescaped, path-normalised or
                        mistaken for a composite key in URLs.
``composite_keys``      A two-column primary key whose text part holds ``,`` ``.`` and ``/``,
                        so a naive ``split(",")`` of an encoded key addresses another row.
``unique_keyed``        No primary key, only a UNIQUE NOT NULL column: tools that refuse it,
                        or that should (and can) address rows by the unique column.
``log_lines``           No primary key and no unique index, with two identical rows: editing
                        or deleting "one" row would hit both, so it must be read-only.
``tags``,               A pure association table (two foreign keys forming the primary
``customer_tags``       key): many-to-many relations that tools mis-render as plain tables.
``employees``           A nullable foreign key to its own table: self-references that loop
                        forever when relations are followed eagerly.
``all_types``           One column of each common type (64-bit integers beyond 2**53,
                        38-digit decimals, microseconds, time zones, intervals, enums, JSON,
                        binary, UUID, and PG/MariaDB-only types) plus ``password_hash``, and a
                        row of NULLs: formatters, form fields and secret-looking columns.
``customer_names``      A view: it has no primary key and cannot be written to.
``things`` elsewhere    A table outside the default schema (PostgreSQL schema ``other``,
                        MariaDB database ``<db>_other``; none on SQLite): tools that only
                        reflect the default schema, or mix tables of the same name.
======================  ===============================================================
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import typing as t
import uuid
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Time,
    Uuid,
    create_engine,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema

__all__ = [
    "ALL_TYPES",
    "ALL_TYPES_EXTRA",
    "ALL_TYPES_NULL_ID",
    "ALL_TYPES_ROW",
    "BIG_DECIMAL",
    "BIG_INTEGER",
    "COMPOSITE_KEYS",
    "COMPOSITE_KEYS_TABLE",
    "CUSTOMERS",
    "CUSTOMER_NAMES",
    "CUSTOMER_ROWS",
    "CUSTOMER_TAGS",
    "DUPLICATE_LOG_LINE",
    "EMPLOYEES",
    "FORMULA_CUSTOMER_ID",
    "FORMULA_NAME",
    "HOSTILE_COLUMNS",
    "INJECTION_TABLE",
    "KEYLESS_TABLES",
    "LOG_LINES",
    "MARKUP_TABLE",
    "ORDER",
    "OTHER_ROW_COUNT",
    "OTHER_TABLE",
    "ROW_COUNTS",
    "TABLES",
    "TAGS",
    "TEXT_KEYS",
    "TEXT_KEYS_TABLE",
    "UNIQUE_KEYED",
    "URL_LIKE_VALUES",
    "VIEWS",
    "WEIRD_TABLE",
    "XSS_CUSTOMER_ID",
    "XSS_NAME",
    "all_types_row",
    "create_hostile_schema",
    "dialect_of",
    "hostile_metadata",
    "other_schema_name",
]

# -- relation names ------------------------------------------------------------------------

CUSTOMERS = "customers"
ORDER = "order"
# MariaDB, PostgreSQL and SQLite all accept a backtick in a quoted table name too; the
# plain double quote and space are what the fixture was asked to carry.
WEIRD_TABLE = 'we"ird table'
MARKUP_TABLE = "<b>bold</b>"
INJECTION_TABLE = "x`y] UNION SELECT 1;--"
TEXT_KEYS_TABLE = "text_keys"
COMPOSITE_KEYS_TABLE = "composite_keys"
UNIQUE_KEYED = "unique_keyed"
LOG_LINES = "log_lines"
TAGS = "tags"
CUSTOMER_TAGS = "customer_tags"
EMPLOYEES = "employees"
ALL_TYPES = "all_types"
CUSTOMER_NAMES = "customer_names"
#: The table in the second schema (see :func:`other_schema_name`).
OTHER_TABLE = "things"

#: Base tables of the default schema.
TABLES: tuple[str, ...] = (
    CUSTOMERS,
    ORDER,
    WEIRD_TABLE,
    MARKUP_TABLE,
    INJECTION_TABLE,
    TEXT_KEYS_TABLE,
    COMPOSITE_KEYS_TABLE,
    UNIQUE_KEYED,
    LOG_LINES,
    TAGS,
    CUSTOMER_TAGS,
    EMPLOYEES,
    ALL_TYPES,
)
VIEWS: tuple[str, ...] = (CUSTOMER_NAMES,)
#: Tables without a primary key (``unique_keyed`` still has a UNIQUE NOT NULL column).
KEYLESS_TABLES: tuple[str, ...] = (UNIQUE_KEYED, LOG_LINES)

# -- customers -----------------------------------------------------------------------------

#: Column names of ``customers`` beyond id, name and email, each awkward in its own way.
HOSTILE_COLUMNS: tuple[str, ...] = (
    "order",
    "group",
    "with space",
    "naïve ü",
    "a;b",
    "<img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)',
)
XSS_NAME = '<script>alert("xss")</script>'
FORMULA_NAME = '=HYPERLINK("http://evil")'
XSS_CUSTOMER_ID = 2
FORMULA_CUSTOMER_ID = 3


def _customer(id_: int, name: str, email: str | None, *extras: t.Any) -> dict[str, t.Any]:
    values = extras + (None,) * (len(HOSTILE_COLUMNS) - len(extras))
    return {
        "id": id_,
        "name": name,
        "email": email,
        **dict(zip(HOSTILE_COLUMNS, values, strict=True)),
    }


#: Rows of ``customers`` as inserted; ids are assigned by the database in this order.
CUSTOMER_ROWS: list[dict[str, t.Any]] = [
    _customer(1, "Alice", "alice@example.com", 1, "a", "x y", "ünï", "1;2", "<i>img</i>", '"q"'),
    _customer(
        XSS_CUSTOMER_ID,
        XSS_NAME,
        "xss@example.com",
        2,
        "<b>g</b>",
        None,
        None,
        None,
        "<img src=x onerror=alert(2)>",
        '" onclick="alert(3)',
    ),
    _customer(FORMULA_CUSTOMER_ID, FORMULA_NAME, "formula@example.com", 3, "=1+1", "@SUM(A1)"),
    _customer(4, "Bob", None),
    _customer(5, "Zoë 😀", None, None, "", " leading and trailing "),
]

# -- the other small tables ----------------------------------------------------------------

ORDER_ROWS: list[dict[str, t.Any]] = [
    {"id": 1, "customer_id": 1, "group": "x", "amount": Decimal("10.50")},
    {"id": 2, "customer_id": 1, "group": "y", "amount": Decimal("0.01")},
    {"id": 3, "customer_id": XSS_CUSTOMER_ID, "group": None, "amount": Decimal("9999999999.99")},
    {"id": 4, "customer_id": 4, "group": "x", "amount": Decimal("-3.00")},
]
VALUE_ROWS: list[dict[str, t.Any]] = [
    {"id": 1, "value": "one"},
    {"id": 2, "value": "<script>alert(2)</script>"},
]
#: Rows of ``INJECTION_TABLE``: values that look like URLs a browser would run or fetch.
URL_LIKE_VALUES: tuple[str, ...] = (
    "javascript:alert(5)",
    "data:text/html,<script>alert(6)</script>",
    "\\\\evil.example\\share",
    "JaVaScRiPt:alert(7)",
)
INJECTION_ROWS: list[dict[str, t.Any]] = [
    {"id": 1, 'x"y': URL_LIKE_VALUES[0], "select": URL_LIKE_VALUES[1]},
    {"id": 2, 'x"y': URL_LIKE_VALUES[2], "select": URL_LIKE_VALUES[3]},
]

#: Primary keys of ``text_keys``; ``label`` is ``"label " + code``.
TEXT_KEYS: list[str] = [
    "a,b",
    "x/y",
    "50%",
    "#hash",
    "?q=1&r=2",
    "sp ace",
    'quo"te',
    "apo'strophe",
    "back\\slash",
    "<b>tag</b>",
    "ünïcödé",
    "1.2",
    "..",
    "a.,b",
    "semi;colon",
    "plus+sign",
    "ta\tb",
    "L" * 190,
    "plain",
]

#: Primary keys ``(part_a, part_b)`` of ``composite_keys``: joined naively with ``,``,
#: ``("a,b", 1)`` reads as three parts and ``("a.", 2)`` collides with escaping schemes
#: that use ``.``.
COMPOSITE_KEYS: list[tuple[str, int]] = [
    ("a,b", 1),
    ("a", 1),
    ("b", 1),
    ("a.", 2),
    ("a", 2),
    ("x/y", 3),
]

UNIQUE_KEYED_ROWS: list[dict[str, t.Any]] = [
    {"code": "alpha", "label": "A"},
    {"code": "be ta", "label": "B"},
    {"code": "x/y", "label": "slash"},
]

#: The row ``log_lines`` holds twice.
DUPLICATE_LOG_LINE: dict[str, t.Any] = {
    "at": dt.datetime(2024, 1, 1, 12, 0, 0),
    "level": "INFO",
    "message": "started",
}
LOG_LINE_ROWS: list[dict[str, t.Any]] = [
    DUPLICATE_LOG_LINE,
    dict(DUPLICATE_LOG_LINE),
    {"at": dt.datetime(2024, 1, 1, 12, 5, 0), "level": "WARN", "message": "disk 91% full"},
    {"at": dt.datetime(2024, 1, 1, 12, 6, 0), "level": "ERROR", "message": "Traceback:\n  <boom>"},
]

TAG_ROWS: list[dict[str, t.Any]] = [
    {"id": 1, "name": "vip"},
    {"id": 2, "name": "<i>new</i>"},
    {"id": 3, "name": "a,b"},
]
CUSTOMER_TAG_ROWS: list[dict[str, t.Any]] = [
    {"customer_id": 1, "tag_id": 1},
    {"customer_id": 1, "tag_id": 2},
    {"customer_id": XSS_CUSTOMER_ID, "tag_id": 3},
    {"customer_id": 4, "tag_id": 1},
]
#: A chain: 3 reports to 2, who reports to 1, who reports to nobody.
EMPLOYEE_ROWS: list[dict[str, t.Any]] = [
    {"id": 1, "name": "Ada", "manager_id": None},
    {"id": 2, "name": "Grace", "manager_id": 1},
    {"id": 3, "name": "Linus", "manager_id": 2},
]
OTHER_ROWS: list[dict[str, t.Any]] = [
    {"id": 1, "name": "thing one"},
    {"id": 2, "name": "customers"},
]
OTHER_ROW_COUNT = len(OTHER_ROWS)

# -- all_types -----------------------------------------------------------------------------

#: Beyond 2**53: JavaScript numbers and float conversions round it to 2**53.
BIG_INTEGER = 2**53 + 1
#: 30 significant digits; floats keep about 16. SQLite stores NUMERIC as a float, so there
#: it reads back rounded.
BIG_DECIMAL = Decimal("12345678901234567890.1234567890")
_TZ = dt.timezone(dt.timedelta(hours=5, minutes=30))

#: Row 1 of ``all_types`` as inserted on PostgreSQL, for the columns every dialect has.
#: :func:`all_types_row` gives what each dialect was actually given.
ALL_TYPES_ROW: dict[str, t.Any] = {
    "id": 1,
    "integer_col": -(2**31),
    "bigint_col": BIG_INTEGER,
    "numeric_col": BIG_DECIMAL,
    "float_col": 2.5,
    "boolean_col": True,
    "date_col": dt.date(1969, 7, 20),
    "datetime_col": dt.datetime(2024, 2, 29, 23, 59, 59, 123456),
    "datetime_tz_col": dt.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=_TZ),
    "time_col": dt.time(13, 37, 42, 123456),
    "interval_col": dt.timedelta(days=3, hours=4, minutes=5, seconds=6),
    "text_col": "first line\nsecond line — ✓ 😀\n\t<b>not bold</b>",
    "string_col": "exactly twenty chars",
    "enum_col": "green",
    "json_col": {"nested": {"list": [1, 2, 3], "null": None}, "html": "<b>x</b>", "ü": "ö"},
    "binary_col": bytes(range(256)) * 16,
    "uuid_col": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "password_hash": "pbkdf2:sha256:600000$hostile$5f4dcc3b5aa765d61d8327deb882cf99",
}
#: Columns only one dialect has, with their row 1 values.
ALL_TYPES_EXTRA: dict[str, dict[str, t.Any]] = {
    "postgresql": {
        "int_array_col": [1, 2, 3],
        # psycopg reads inet as an ipaddress object, so that is what goes in.
        "inet_col": ipaddress.ip_address("192.0.2.1"),
        "jsonb_col": {"a": [1, {"b": None}]},
    },
    "mariadb": {
        "year_col": 2024,
        "set_col": {"a", "c"},
        # MySQL spells BOOL as TINYINT(1), but the column holds any small integer: a tool
        # that shows it as a checkbox loses the 2.
        "tinyint1_col": 2,
    },
}
#: Row 2 of ``all_types`` has NULL in every column but its id.
ALL_TYPES_NULL_ID = 2

#: Rows in each relation of the default schema.
ROW_COUNTS: dict[str, int] = {
    CUSTOMERS: len(CUSTOMER_ROWS),
    ORDER: len(ORDER_ROWS),
    WEIRD_TABLE: len(VALUE_ROWS),
    MARKUP_TABLE: len(VALUE_ROWS),
    INJECTION_TABLE: len(INJECTION_ROWS),
    TEXT_KEYS_TABLE: len(TEXT_KEYS),
    COMPOSITE_KEYS_TABLE: len(COMPOSITE_KEYS),
    UNIQUE_KEYED: len(UNIQUE_KEYED_ROWS),
    LOG_LINES: len(LOG_LINE_ROWS),
    TAGS: len(TAG_ROWS),
    CUSTOMER_TAGS: len(CUSTOMER_TAG_ROWS),
    EMPLOYEES: len(EMPLOYEE_ROWS),
    ALL_TYPES: 2,
    CUSTOMER_NAMES: len(CUSTOMER_ROWS),
}


def dialect_of(url: str) -> str:
    """Return ``sqlite``, ``postgresql`` or ``mariadb`` for an SQLAlchemy URL.

    :param url: a database URL; ``mysql`` URLs count as MariaDB.
    """
    backend = make_url(url).get_backend_name()
    return "mariadb" if backend == "mysql" else backend


def other_schema_name(url: str) -> str | None:
    """Name of the second schema of the hostile database at ``url``, or ``None`` (SQLite).

    On MariaDB a schema is a database, so it is a sibling database named after the main
    one, which whoever drops the main database must drop too.

    :param url: the hostile database's URL.
    """
    dialect = dialect_of(url)
    if dialect == "postgresql":
        return "other"
    if dialect == "mariadb":
        return f"{make_url(url).database}_other"
    return None


def all_types_row(dialect: str) -> dict[str, t.Any]:
    """Row 1 of ``all_types`` exactly as inserted on ``dialect``.

    :param dialect: one of ``sqlite``, ``postgresql``, ``mariadb``.
    """
    row = dict(ALL_TYPES_ROW)
    if dialect != "postgresql":
        # Only PostgreSQL stores the offset; elsewhere the column is a plain DATETIME, so
        # the fixture stores the UTC wall-clock time rather than let drivers guess.
        aware = row["datetime_tz_col"]
        row["datetime_tz_col"] = aware.astimezone(dt.UTC).replace(tzinfo=None)
    row.update(ALL_TYPES_EXTRA.get(dialect, {}))
    return row


# -- building ------------------------------------------------------------------------------


def _fsp6(type_: t.Any, mysql_type: t.Any) -> t.Any:
    # MariaDB's DATETIME and TIME drop fractions of a second unless asked for them.
    return type_.with_variant(mysql_type, "mysql", "mariadb")


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _value_table(metadata: MetaData, name: str) -> Table:
    return Table(name, metadata, _id(), Column("value", String(100)))


def _customers(metadata: MetaData) -> Table:
    column_types: dict[str, t.Any] = {"order": Integer}
    hostile = [Column(name, column_types.get(name, String(50))) for name in HOSTILE_COLUMNS]
    return Table(
        CUSTOMERS,
        metadata,
        _id(),
        Column("name", String(100), nullable=False),
        Column("email", String(200), unique=True),
        *hostile,
    )


def _all_types_columns(dialect: str) -> list[Column[t.Any]]:
    columns: list[Column[t.Any]] = [
        _id(),
        Column("integer_col", Integer),
        Column("bigint_col", BigInteger),
        Column("numeric_col", Numeric(38, 10)),
        Column("float_col", Float),
        Column("boolean_col", Boolean),
        Column("date_col", Date),
        Column("datetime_col", _fsp6(DateTime(), mysql.DATETIME(fsp=6))),
        Column("datetime_tz_col", _fsp6(DateTime(timezone=True), mysql.DATETIME(fsp=6))),
        Column("time_col", _fsp6(Time(), mysql.TIME(fsp=6))),
        # Native on PostgreSQL; SQLAlchemy stores it as a DATETIME after the epoch elsewhere.
        Column("interval_col", Interval),
        Column("text_col", Text),
        Column("string_col", String(20)),
        Column("enum_col", Enum("red", "green", "blue", name="colour")),
        Column("json_col", JSON),
        Column("binary_col", LargeBinary),
        Column("uuid_col", Uuid),
        Column("password_hash", String(200)),
    ]
    if dialect == "postgresql":
        columns += [
            Column("int_array_col", postgresql.ARRAY(Integer)),
            Column("inet_col", postgresql.INET),
            Column("jsonb_col", postgresql.JSONB),
        ]
    if dialect == "mariadb":
        columns += [
            Column("year_col", mysql.YEAR),
            Column("set_col", mysql.SET("a", "b", "c")),
            Column("tinyint1_col", mysql.TINYINT(display_width=1)),
        ]
    return columns


def _build_tables(metadata: MetaData, dialect: str) -> dict[str, Table]:
    customers = _customers(metadata)
    tags = Table(TAGS, metadata, _id(), Column("name", String(50), unique=True))
    tables = [
        customers,
        Table(
            ORDER,
            metadata,
            _id(),
            Column("customer_id", ForeignKey(customers.c.id)),
            Column("group", String(50)),
            Column("amount", Numeric(12, 2)),
        ),
        _value_table(metadata, WEIRD_TABLE),
        _value_table(metadata, MARKUP_TABLE),
        Table(INJECTION_TABLE, metadata, _id(), Column('x"y', String(100)), Column("select", String(100))),
        Table(
            TEXT_KEYS_TABLE,
            metadata,
            Column("code", String(200), primary_key=True, autoincrement=False),
            Column("label", String(250)),
        ),
        Table(
            COMPOSITE_KEYS_TABLE,
            metadata,
            Column("part_a", String(100)),
            Column("part_b", Integer, autoincrement=False),
            Column("label", String(100)),
            PrimaryKeyConstraint("part_a", "part_b"),
        ),
        Table(
            UNIQUE_KEYED,
            metadata,
            Column("code", String(50), nullable=False, unique=True),
            Column("label", String(100)),
        ),
        Table(
            LOG_LINES,
            metadata,
            Column("at", DateTime),
            Column("level", String(10)),
            Column("message", Text),
        ),
        tags,
        Table(
            CUSTOMER_TAGS,
            metadata,
            Column("customer_id", ForeignKey(customers.c.id), primary_key=True),
            Column("tag_id", ForeignKey(tags.c.id), primary_key=True),
        ),
        Table(
            EMPLOYEES,
            metadata,
            _id(),
            Column("name", String(100), nullable=False),
            Column("manager_id", ForeignKey("employees.id"), nullable=True),
        ),
        Table(ALL_TYPES, metadata, *_all_types_columns(dialect)),
    ]
    return {table.name: table for table in tables}


def _insert_numbered(connection: Connection, table: Table, rows: list[dict[str, t.Any]]) -> None:
    # Let the database number the rows (one statement each, so in order): explicit ids
    # would leave PostgreSQL's sequences behind, and the first insert through the admin
    # would then collide with row 1.
    for row in rows:
        values = {key: value for key, value in row.items() if key != "id"}
        result = connection.execute(table.insert(), values)
        if result.inserted_primary_key[0] != row["id"]:
            got = result.inserted_primary_key
            raise RuntimeError(f"{table.name}: expected id {row['id']}, the database gave {got}")


def _fill(connection: Connection, tables: dict[str, Table], dialect: str) -> None:
    _insert_numbered(connection, tables[CUSTOMERS], CUSTOMER_ROWS)
    _insert_numbered(connection, tables[ORDER], ORDER_ROWS)
    _insert_numbered(connection, tables[WEIRD_TABLE], VALUE_ROWS)
    _insert_numbered(connection, tables[MARKUP_TABLE], VALUE_ROWS)
    _insert_numbered(connection, tables[INJECTION_TABLE], INJECTION_ROWS)
    _insert_numbered(connection, tables[TAGS], TAG_ROWS)
    _insert_numbered(connection, tables[EMPLOYEES], EMPLOYEE_ROWS)
    _insert_numbered(connection, tables[ALL_TYPES], [all_types_row(dialect)])
    _insert_numbered(connection, tables[ALL_TYPES], [{"id": ALL_TYPES_NULL_ID}])
    text_key_rows = [{"code": code, "label": f"label {code}"} for code in TEXT_KEYS]
    connection.execute(tables[TEXT_KEYS_TABLE].insert(), text_key_rows)
    connection.execute(
        tables[COMPOSITE_KEYS_TABLE].insert(),
        [{"part_a": a, "part_b": b, "label": f"label {a} {b}"} for a, b in COMPOSITE_KEYS],
    )
    connection.execute(tables[UNIQUE_KEYED].insert(), UNIQUE_KEYED_ROWS)
    connection.execute(tables[LOG_LINES].insert(), LOG_LINE_ROWS)
    connection.execute(tables[CUSTOMER_TAGS].insert(), CUSTOMER_TAG_ROWS)


def _create_view(connection: Connection) -> None:
    quote = connection.dialect.identifier_preparer.quote
    connection.exec_driver_sql(
        f"CREATE VIEW {quote(CUSTOMER_NAMES)} AS SELECT {quote('id')}, {quote('name')} FROM {quote(CUSTOMERS)}"
    )


def _create_other_schema(connection: Connection, schema: str) -> None:
    # On MariaDB CREATE SCHEMA is CREATE DATABASE, so one statement serves both.
    connection.execute(CreateSchema(schema))
    metadata = MetaData(schema=schema)
    things = Table(OTHER_TABLE, metadata, _id(), Column("name", String(100)))
    metadata.create_all(connection)
    _insert_numbered(connection, things, OTHER_ROWS)


def hostile_metadata(dialect: str) -> MetaData:
    """The tables of the default schema as declared for ``dialect`` (views and the second
    schema are not in it); handy for typed reads of what the fixture stored.

    :param dialect: one of ``sqlite``, ``postgresql``, ``mariadb``.
    """
    metadata = MetaData()
    _build_tables(metadata, dialect)
    return metadata


def create_hostile_schema(url: str) -> None:
    """Create and fill every relation described in this module in the empty database ``url``.

    :param url: an SQLAlchemy URL of an empty SQLite, PostgreSQL or MariaDB database.
    """
    dialect = dialect_of(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            tables = _build_tables(metadata, dialect)
            metadata.create_all(connection)
            _fill(connection, tables, dialect)
            _create_view(connection)
            schema = other_schema_name(url)
            if schema is not None:
                _create_other_schema(connection, schema)
    finally:
        engine.dispose()
