"""A realistic demo "shop" database, built fast.

``dashboard demo`` writes customers, products, orders with their lines, tags, an event log
and a summary view into an empty database, so there is something to click through before
pointing the dashboard at real data. The schema is small but covers what the admin site has
to cope with: autoincrement and composite primary keys, foreign keys, unique columns, a CHECK
constraint, a pure association table, a table without any primary key (holding exact
duplicate rows, as real logs do) and a view.

The data is deterministic for a given ``seed`` and day: dates are spread over the three
years up to midnight (UTC) today, so the demo always looks current.

Speed comes from skipping the ORM: rows are generated as plain tuples and handed to each
driver's fastest bulk path (``executemany`` in one transaction for SQLite and MySQL/MariaDB,
``COPY`` for PostgreSQL).
"""

from __future__ import annotations

import math
import random
import time
import typing as t
import unicodedata
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import (
    URL,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    inspect,
    make_url,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.schema import AddConstraint, CreateTable

from dashboard.database import DatabaseUnavailable, make_engine
from dashboard.dberrors import first_line
from dashboard.messages import N_, Message

__all__ = [
    "ORDER_STATUSES",
    "VIEW_NAME",
    "DemoError",
    "DemoTargetNotEmpty",
    "build_metadata",
    "demo_command",
    "demo_sizes",
    "write_demo_database",
]

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
VIEW_NAME = "customer_order_totals"

Row = tuple[t.Any, ...]
Batch = tuple[Table, list[Row]]

# Rows per executemany/COPY call: big enough that per-call overhead vanishes, small enough
# that orders and their lines never sit in memory all at once.
_BATCH = 20_000
_DAY = 86_400
_HISTORY_DAYS = 3 * 365
# Customers and products may predate the first order by up to a year.
_PREHISTORY_DAYS = 365
_EVENT_DAYS = 30
_MAX_EVENTS = 100_000

# MySQL/MariaDB only (other dialects ignore mysql_* options): InnoDB for foreign keys,
# utf8mb4 because the demo has accented names whatever the server's default charset.
_TABLE_OPTIONS: dict[str, t.Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


class DemoError(Exception):
    """The demo database cannot be written; the message says why."""


class DemoTargetNotEmpty(DemoError):
    """The target database already holds tables or views; the demo only fills empty ones."""


# --------------------------------------------------------------------------- schema


def build_metadata() -> MetaData:
    """Return the demo schema: seven tables (the view is created separately)."""
    metadata = MetaData()
    Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(120), nullable=False),
        Column("email", String(200), nullable=False, unique=True),
        Column("country", String(2)),
        Column("created_at", DateTime),
        Column("is_active", Boolean, nullable=False),
        Column("notes", Text, nullable=True),
        **_TABLE_OPTIONS,
    )
    Table(
        "products",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("sku", String(32), nullable=False, unique=True),
        Column("name", String(200), nullable=False),
        Column("category", String(50)),
        Column("price", Numeric(10, 2), nullable=False),
        Column("stock", Integer, nullable=False),
        Column("created_at", DateTime),
        **_TABLE_OPTIONS,
    )
    statuses = ", ".join(f"'{status}'" for status in ORDER_STATUSES)
    Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
        Column("status", String(20), nullable=False, index=True),
        Column("ordered_at", DateTime, nullable=False, index=True),
        Column("total", Numeric(12, 2), nullable=False),
        Column("note", Text, nullable=True),
        CheckConstraint(f"status IN ({statuses})", name="ck_orders_status"),
        **_TABLE_OPTIONS,
    )
    Table(
        "order_lines",
        metadata,
        Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
        Column("line_no", Integer, primary_key=True),
        Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("unit_price", Numeric(10, 2), nullable=False),
        **_TABLE_OPTIONS,
    )
    Table(
        "tags",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(50), nullable=False, unique=True),
        **_TABLE_OPTIONS,
    )
    Table(
        "product_tags",
        metadata,
        Column("product_id", Integer, ForeignKey("products.id"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True),
        **_TABLE_OPTIONS,
    )
    # Deliberately no primary key and no unique index: the admin has to cope with such tables.
    Table(
        "event_log",
        metadata,
        Column("happened_at", DateTime),
        Column("level", String(10)),
        Column("message", Text),
        **_TABLE_OPTIONS,
    )
    return metadata


def _view_sql(engine: Engine) -> str:
    q = engine.dialect.identifier_preparer.quote
    return (
        f"CREATE VIEW {q(VIEW_NAME)} AS "  # nosec B608 -- constant names quoted by the dialect, no input
        f"SELECT c.{q('id')} AS {q('customer_id')}, c.{q('name')} AS {q('name')}, "
        f"COUNT(o.{q('id')}) AS {q('order_count')}, "
        # ROUND: SQLite sums NUMERIC as floating point and would show 1234.5699999.
        f"ROUND(COALESCE(SUM(o.{q('total')}), 0), 2) AS {q('total_spent')} "
        f"FROM {q('customers')} c LEFT JOIN {q('orders')} o ON o.{q('customer_id')} = c.{q('id')} "
        f"GROUP BY c.{q('id')}, c.{q('name')}"
    )


def demo_sizes(rows: int) -> dict[str, int]:
    """Return how many customers, products, orders, tags and events ``rows`` orders imply.

    ``order_lines`` (1-4 per order) and ``product_tags`` (0-3 per product) are random.

    :param rows: the number of orders.
    """
    return {
        "customers": max(50, rows // 10),
        "products": min(2000, max(50, rows // 100)),
        "orders": rows,
        "tags": len(_TAGS),
        # At least a handful so that even a tiny demo shows duplicate log lines.
        "event_log": min(_MAX_EVENTS, max(10, rows // 10)),
    }


# --------------------------------------------------------------------------- word lists

_FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Elias", "Sofia", "Mateo",
    "Chloé", "Léa", "Hugo", "Zoë", "Jonas", "Lena", "Finn", "Hanna", "Lars", "Ingrid",
    "José", "María", "Lucía", "Pablo", "Giulia", "Marco", "Francesca", "Matteo", "Aisha",
    "Omar", "Fatima", "Yusuf", "Priya", "Arjun", "Ananya", "Wei", "Mei", "Hiroshi", "Yuki",
    "Sakura", "Olga", "Dmitri", "Anna", "Piotr", "Zofia", "Björn", "Astrid", "Seán", "Niamh",
    "Grace", "James", "Charlotte", "Oliver", "Amelia", "Jack", "Isla", "Ethan", "Harper",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Walker",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Martin", "Bernard", "Dubois",
    "Lefèvre", "Moreau", "García", "Fernández", "López", "Martínez", "Rossi", "Russo",
    "Ferrari", "Bianchi", "de Jong", "Jansen", "van Dijk", "Nowak", "Kowalski", "Novák",
    "Andersson", "Johansson", "Nielsen", "Hansen", "O'Brien", "Murphy", "Kelly", "Silva",
    "Santos", "Oliveira", "Sato", "Suzuki", "Tanaka", "Kim", "Lee", "Park", "Chen", "Wang",
    "Singh", "Patel", "Kumar", "Ivanova", "Petrov", "Yilmaz", "Kaya", "Haddad", "Nguyen",
)
# Reserved example domains (RFC 2606/6761): demo addresses must never reach a real inbox.
_EMAIL_DOMAINS = (
    ("example.com", 40), ("example.net", 20), ("example.org", 15), ("mail.example", 15),
    ("post.example", 10),
)
_COUNTRIES = (
    ("US", 28), ("GB", 10), ("DE", 10), ("FR", 8), ("NL", 5), ("ES", 5), ("IT", 5),
    ("CA", 5), ("AU", 3), ("SE", 3), ("PL", 3), ("BR", 3), ("JP", 3), ("IN", 3), ("IE", 2),
    ("BE", 2), ("CH", 2), (None, 2),
)
_CUSTOMER_NOTES = (
    "VIP customer, answer within the hour.",
    "Prefers contact by email.",
    "Wholesale account, invoice monthly.",
    "Asked not to receive the newsletter.",
    "Address changed last spring; double-check before shipping.",
    "Frequently returns items.",
    "Referred by a friend.",
)
# category: (SKU prefix, lowest and highest price in whole units, nouns)
_CATEGORIES: dict[str, tuple[str, int, int, tuple[str, ...]]] = {
    "Books": ("BOK", 5, 60, ("Novel", "Cookbook", "Atlas", "Field Guide", "Notebook", "Comic")),
    "Electronics": (
        "ELE", 10, 1500, ("Headphones", "Speaker", "Charger", "Keyboard", "Monitor", "Camera"),
    ),
    "Home & Kitchen": (
        "HOM", 4, 400, ("Kettle", "Mug", "Frying Pan", "Lamp", "Blanket", "Knife Set"),
    ),
    "Garden": (
        "GAR", 3, 300, ("Watering Can", "Planter", "Hose", "Shears", "Seed Kit", "Bird Feeder"),
    ),
    "Toys": (
        "TOY", 3, 150, ("Puzzle", "Building Set", "Plush Bear", "Kite", "Board Game", "Yo-yo"),
    ),
    "Sports": ("SPO", 5, 800, ("Yoga Mat", "Football", "Water Bottle", "Tennis Racket", "Helmet")),
    "Clothing": ("CLO", 8, 250, ("T-Shirt", "Hoodie", "Raincoat", "Scarf", "Socks", "Sneakers")),
    "Beauty": ("BEA", 3, 120, ("Shampoo", "Face Cream", "Lip Balm", "Perfume", "Soap Bar")),
    "Office": ("OFF", 1, 600, ("Stapler", "Desk Chair", "Pen Set", "Binder", "Desk Lamp")),
    "Grocery": (
        "GRO", 1, 40, ("Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Honey"),
    ),
}
_ADJECTIVES = (
    "Classic", "Compact", "Deluxe", "Eco", "Essential", "Everyday", "Premium", "Rustic",
    "Smart", "Vintage", "Nordic", "Ultra", "Organic", "Travel", "Pro", "Mini", "Large",
)
_COLOURS = ("Red", "Blue", "Green", "Black", "White", "Grey", "Oak", "Sand", "Navy", "Olive")
_TAGS = (
    "new", "sale", "bestseller", "eco-friendly", "limited edition", "gift idea", "clearance",
    "premium", "handmade", "imported", "bundle", "seasonal",
)
_ORDER_NOTES = (
    "Please leave the parcel at the back door.",
    "Gift wrap, no invoice in the box.",
    "Deliver after 5 pm.",
    "Customer called to confirm the address.",
    "Partial refund agreed by support.",
    "Combine with the previous order if possible.",
)
# Statuses by the order's age: recent orders are still in flight, old ones mostly delivered.
_STATUS_RECENT = (("pending", 35), ("paid", 45), ("shipped", 15), ("cancelled", 5))
_STATUS_WEEK = (
    ("pending", 3), ("paid", 12), ("shipped", 55), ("delivered", 25), ("cancelled", 5),
)
_STATUS_OLD = (
    ("pending", 1), ("paid", 1), ("shipped", 2), ("delivered", 89), ("cancelled", 7),
)
_LINES_PER_ORDER = ((1, 45), (2, 30), (3, 15), (4, 10))
_QUANTITIES = ((1, 72), (2, 18), (3, 6), (4, 2), (6, 1), (10, 1))
_TAGS_PER_PRODUCT = ((0, 25), (1, 40), (2, 25), (3, 10))
_LOG_LEVELS = (("INFO", 80), ("WARNING", 12), ("ERROR", 6), ("DEBUG", 2))
_LOG_MESSAGES: dict[str, tuple[str, ...]] = {
    "INFO": (
        "user {email} logged in",
        "order #{order} paid",
        "order #{order} shipped",
        "nightly backup finished",
        "cache rebuilt",
        "password reset requested for {email}",
    ),
    "WARNING": (
        "stock low for {sku}",
        "failed login for {email}",
        "slow query took {ms} ms",
        "payment for order #{order} retried",
    ),
    "ERROR": (
        "payment provider timed out after 30 s (order #{order})",
        "could not send confirmation email to {email}",
        "webhook returned HTTP 502",
    ),
    "DEBUG": ("session cleanup removed {ms} sessions", "cache miss for product {sku}"),
}


# --------------------------------------------------------------------------- generation


def _spread(choices: t.Sequence[tuple[t.Any, int]]) -> list[t.Any]:
    # Each value repeated by its (small, whole) weight: ``table[int(random() * len(table))]``
    # is then a weighted pick with no function call or search, which the hot loops need.
    return [value for value, weight in choices for _ in range(weight)]


def _weighted(rng: random.Random, choices: t.Sequence[tuple[t.Any, int]]) -> t.Callable[[], t.Any]:
    table, rnd = _spread(choices), rng.random
    size = len(table)

    def pick() -> t.Any:
        return table[int(rnd() * size)]

    return pick


class _Clock:
    """Seconds since ``origin`` to the text SQLite, PostgreSQL and MySQL all accept.

    Two lookups (the day, the second of the day) are much faster than ``datetime``
    arithmetic, and the layout is SQLAlchemy's SQLite storage format, so the values compare
    correctly with those the app writes later.
    """

    def __init__(self, origin: date, days: int) -> None:
        self.days = [(origin + timedelta(days=d)).isoformat() + " " for d in range(days + 1)]
        self.times = [
            f"{hour:02d}:{minute:02d}:{second:02d}.000000"
            for hour in range(24)
            for minute in range(60)
            for second in range(60)
        ]

    def __call__(self, seconds: int) -> str:
        day, second = divmod(seconds, _DAY)
        return self.days[day] + self.times[second]


def _money(cents: int) -> str:
    # Text keeps exact decimals on every driver (SQLite converts it to a number itself).
    return f"{cents // 100}.{cents % 100:02d}"


def _ascii(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def _sorted_times(
    rng: random.Random, count: int, start: int, end: int, growth: float = 0.0
) -> list[int]:
    """``count`` sorted instants in [start, end); with ``growth`` g the rate rises linearly
    to (1 + g) times the initial one, as for a growing shop."""
    rnd = rng.random
    fractions = sorted(rnd() for _ in range(count))
    span = end - start
    if growth:
        # Inverse of the CDF (x + g x^2 / 2) / (1 + g / 2) of a linearly rising density.
        g, scale = growth, 1 + growth / 2
        return [start + int(span * (math.sqrt(1 + 2 * g * u * scale) - 1) / g) for u in fractions]
    return [start + int(span * u) for u in fractions]


class _Shop:
    """Generates the demo rows, table by table, from one random stream."""

    def __init__(self, tables: dict[str, Table], rows: int, seed: int, today: date) -> None:
        self.tables = tables
        self.sizes = demo_sizes(rows)
        self.rng = random.Random(seed)  # nosec B311 -- reproducible demo rows from a seed, never a secret
        origin = today - timedelta(days=_HISTORY_DAYS + _PREHISTORY_DAYS)
        self.clock = _Clock(origin, _HISTORY_DAYS + _PREHISTORY_DAYS)
        # All instants are whole seconds since ``origin``; orders fall in [start, end).
        self.end = (_HISTORY_DAYS + _PREHISTORY_DAYS) * _DAY
        self.start = _PREHISTORY_DAYS * _DAY
        self.counts: dict[str, int] = dict.fromkeys(tables, 0)

    def batches(self) -> t.Iterator[Batch]:
        """Yield ``(table, rows)`` in an order that satisfies the foreign keys."""
        yield from self._emit("customers", self._customers())
        yield from self._emit("products", self._products())
        yield from self._emit("tags", [(i, name) for i, name in enumerate(_TAGS, 1)])
        yield from self._emit("product_tags", self._product_tags())
        for orders, lines in self._orders():
            yield from self._emit("orders", orders)
            yield from self._emit("order_lines", lines)
        yield from self._emit("event_log", self._events())

    def _emit(self, name: str, rows: list[Row]) -> t.Iterator[Batch]:
        self.counts[name] += len(rows)
        for first in range(0, len(rows), _BATCH):
            yield self.tables[name], rows[first : first + _BATCH]

    def _customers(self) -> list[Row]:
        rng, rnd, clock = self.rng, self.rng.random, self.clock
        count = self.sizes["customers"]
        country, domain = _weighted(rng, _COUNTRIES), _weighted(rng, _EMAIL_DOMAINS)
        ascii_first = {name: _ascii(name) for name in _FIRST_NAMES}
        ascii_last = {name: _ascii(name) for name in _LAST_NAMES}
        self.customer_since = _sorted_times(rng, count, 0, self.end, growth=2.0)
        self.customer_since[0] = 0  # someone must exist before the first order
        self.emails: list[str] = []
        taken: dict[str, int] = {}
        rows = []
        for customer_id, since in enumerate(self.customer_since, 1):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            given, family = ascii_first[first], ascii_last[last]
            local = (
                f"{given}.{family}",
                f"{given}{family}",
                f"{given[0]}{family}",
                f"{given}_{family}",
                f"{family}.{given}",
            )[int(5 * rnd())]
            at = f"@{domain()}"
            # The base never ends in a digit, so "anna.kim2" cannot clash with another base.
            seen = taken.get(local + at, 0)
            taken[local + at] = seen + 1
            email = f"{local}{seen + 1 if seen else ''}{at}"
            self.emails.append(email)
            notes = rng.choice(_CUSTOMER_NOTES) if rnd() < 0.04 else None
            active = rnd() < 0.92
            rows.append(
                (customer_id, f"{first} {last}", email, country(), clock(since), active, notes)
            )
        return rows

    def _products(self) -> list[Row]:
        rng, rnd, clock = self.rng, self.rng.random, self.clock
        count = self.sizes["products"]
        categories = list(_CATEGORIES)
        # The catalogue grows too, but stops a month before today.
        self.product_since = _sorted_times(rng, count, 0, self.end - 30 * _DAY)
        self.product_since[0] = 0
        self.price_cents = [0]  # index = product id
        self.prices = [""]
        self.skus = [""]
        rows = []
        for product_id, since in enumerate(self.product_since, 1):
            category = rng.choice(categories)
            prefix, low, high, nouns = _CATEGORIES[category]
            name = f"{rng.choice(_ADJECTIVES)} {rng.choice(nouns)}"
            if rnd() < 0.4:
                name = f"{name}, {rng.choice(_COLOURS)}"
            # Cheap items are far more common than expensive ones.
            cents = int(low + (high - low) * rnd() ** 3) * 100 + rng.choice((99, 99, 95, 49, 0))
            sku = f"{prefix}-{product_id:06d}"
            stock = 0 if rnd() < 0.05 else 1 + int(500 * rnd() ** 2)
            self.price_cents.append(cents)
            self.prices.append(_money(cents))
            self.skus.append(sku)
            rows.append((product_id, sku, name, category, self.prices[-1], stock, clock(since)))
        return rows

    def _product_tags(self) -> list[Row]:
        rng, how_many = self.rng, _weighted(self.rng, _TAGS_PER_PRODUCT)
        tag_ids = list(range(1, len(_TAGS) + 1))
        rows = []
        for product_id in range(1, self.sizes["products"] + 1):
            for tag_id in sorted(rng.sample(tag_ids, how_many())):
                rows.append((product_id, tag_id))
        return rows

    def _orders(self) -> t.Iterator[tuple[list[Row], list[Row]]]:
        # The hot loop of the whole build (a million orders, two million lines): weighted
        # picks are table lookups and everything is bound to a local name.
        rng, rnd, end = self.rng, self.rng.random, self.end
        days, seconds = self.clock.days, self.clock.times
        recent, week, old = _spread(_STATUS_RECENT), _spread(_STATUS_WEEK), _spread(_STATUS_OLD)
        n_recent, n_week, n_old = len(recent), len(week), len(old)
        line_counts, quantities = _spread(_LINES_PER_ORDER), _spread(_QUANTITIES)
        n_line_counts, n_quantities = len(line_counts), len(quantities)
        customer_since, product_since = self.customer_since, self.product_since
        price_cents, prices = self.price_cents, self.prices
        n_customers, n_products = len(customer_since), len(product_since)
        two_days, one_week = end - 2 * _DAY, end - 7 * _DAY
        known_customers = known_products = 0
        orders: list[Row] = []
        lines: list[Row] = []
        times = _sorted_times(rng, self.sizes["orders"], self.start, end, growth=2.0)
        for order_id, when in enumerate(times, 1):
            # Orders come in time order, so "who/what existed then" is a moving boundary.
            while known_customers < n_customers and customer_since[known_customers] <= when:
                known_customers += 1
            while known_products < n_products and product_since[known_products] <= when:
                known_products += 1
            customer_id = 1 + int(known_customers * rnd())
            # Recent orders are still in flight; old ones are mostly delivered.
            if when >= two_days:
                status = recent[int(rnd() * n_recent)]
            elif when >= one_week:
                status = week[int(rnd() * n_week)]
            else:
                status = old[int(rnd() * n_old)]
            count = line_counts[int(rnd() * n_line_counts)]
            if count > known_products:
                count = known_products
            chosen: list[int] = []
            total = 0
            for line_no in range(1, count + 1):
                product_id = 1 + int(known_products * rnd())
                while product_id in chosen:  # one line per product, as a cart does
                    product_id = 1 + int(known_products * rnd())
                chosen.append(product_id)
                quantity = quantities[int(rnd() * n_quantities)]
                total += quantity * price_cents[product_id]
                lines.append((order_id, line_no, product_id, quantity, prices[product_id]))
            note = rng.choice(_ORDER_NOTES) if rnd() < 0.03 else None
            day, second = divmod(when, _DAY)
            orders.append(
                (order_id, customer_id, status, days[day] + seconds[second], _money(total), note)
            )
            if len(orders) >= _BATCH:
                yield orders, lines
                orders, lines = [], []
        if orders:
            yield orders, lines

    def _events(self) -> list[Row]:
        rng, rnd, clock = self.rng, self.rng.random, self.clock
        count, orders = self.sizes["event_log"], self.sizes["orders"]
        level = _weighted(rng, _LOG_LEVELS)
        times = _sorted_times(rng, count, self.end - _EVENT_DAYS * _DAY, self.end)
        rows: list[Row] = []
        for i, when in enumerate(times):
            # Real logs repeat lines exactly (retries, double handlers); keep at least one.
            if rows and (rnd() < 0.04 or i == 1):
                rows.append(rows[-1])
                continue
            lvl = level()
            message = rng.choice(_LOG_MESSAGES[lvl]).format(
                email=rng.choice(self.emails),
                order=1 + int(orders * rnd()),
                sku=self.skus[1 + int((len(self.skus) - 1) * rnd())],
                ms=100 + int(5000 * rnd()),
            )
            rows.append((clock(when), lvl, message))
        return rows


# --------------------------------------------------------------------------- loading


def _insert_sql(engine: Engine, table: Table, placeholder: str) -> str:
    q = engine.dialect.identifier_preparer.quote
    columns = ", ".join(q(column.name) for column in table.columns)
    values = ", ".join([placeholder] * len(table.columns))
    return f"INSERT INTO {q(table.name)} ({columns}) VALUES ({values})"  # nosec B608 -- quoted demo names, values bound


def _defers_foreign_keys(connection: Connection) -> bool:
    # PostgreSQL checks foreign keys per row through triggers, which more than doubles the
    # COPY time; one ALTER TABLE after the load checks them all at once instead. SQLite
    # cannot add constraints later, and MySQL would rebuild the table, so both get theirs
    # up front and skip the checks during the load instead.
    return connection.dialect.name == "postgresql"


def _create_tables(connection: Connection, metadata: MetaData) -> None:
    """Like ``metadata.create_all`` minus what is faster to add after the load, plus the view.

    Building an index once from the finished table is about three times faster than
    updating it row by row; :func:`_complete_tables` adds the indexes (and, on PostgreSQL,
    the foreign keys) afterwards.
    """
    foreign_keys: list[ForeignKeyConstraint] | None = None  # None: all of them
    if _defers_foreign_keys(connection):
        foreign_keys = []
    for table in metadata.sorted_tables:
        connection.execute(CreateTable(table, include_foreign_key_constraints=foreign_keys))
    connection.execute(text(_view_sql(connection.engine)))


def _complete_tables(connection: Connection, metadata: MetaData) -> None:
    """Add what :func:`_create_tables` left out, then refresh the planner statistics."""
    for table in metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            index.create(connection)
    if _defers_foreign_keys(connection):
        for table in metadata.sorted_tables:
            constraints = sorted(table.foreign_key_constraints, key=lambda c: tuple(c.column_keys))
            for constraint in constraints:
                connection.execute(AddConstraint(constraint))
    if connection.dialect.name in ("sqlite", "postgresql"):
        # Fresh statistics let the planner use the indexes from the first page view on
        # (SQLite has none until ANALYZE runs; InnoDB gathers its own).
        connection.execute(text("ANALYZE"))


def _load_sqlite(engine: Engine, batches: t.Iterable[Batch]) -> None:
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        if connection is None:
            raise DemoError(Message(N_("the SQLite connection closed before the demo could be written")))
        cursor = connection.cursor()
        # Crash safety is pointless for a file we are creating from scratch; these settings
        # live on this connection only and the engine is disposed after the build.
        # foreign_keys/ignore_check_constraints: the rows are valid by construction, and
        # SQLite re-evaluates "status IN (...)" from scratch for every row (3x slower load).
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "foreign_keys=OFF",
            "ignore_check_constraints=ON",
            "cache_size=-65536",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        statements: dict[str, str] = {}
        for table, rows in batches:
            sql = statements.setdefault(table.name, _insert_sql(engine, table, "?"))
            cursor.executemany(sql, rows)  # the first INSERT opens the one transaction
        connection.commit()
        cursor.close()
    finally:
        raw.close()


def _load_postgresql(engine: Engine, batches: t.Iterable[Batch]) -> None:
    q = engine.dialect.identifier_preparer.quote
    raw = engine.raw_connection()
    try:
        connection = t.cast(t.Any, raw.driver_connection)  # a psycopg.Connection
        with connection.cursor() as cursor:
            tables: dict[str, Table] = {}
            for table, rows in batches:
                tables[table.name] = table
                columns = ", ".join(q(column.name) for column in table.columns)
                with cursor.copy(f"COPY {q(table.name)} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            # COPY wrote explicit ids without touching the sequences; move them past the
            # data so that the next INSERT through the app does not collide with row 1.
            for table in tables.values():
                column = table.autoincrement_column
                if column is None:
                    continue
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # nosec B608 -- quoted demo names, values bound
                    f"(SELECT max({q(column.name)}) FROM {q(table.name)}))",
                    (q(table.name), column.name),
                )
        connection.commit()
    finally:
        raw.close()


def _load_mysql(engine: Engine, batches: t.Iterable[Batch]) -> None:
    raw = engine.raw_connection()
    try:
        connection = t.cast(t.Any, raw.driver_connection)  # a pymysql.Connection
        with connection.cursor() as cursor:
            # Session-only and on the demo's own connection: the data is consistent by
            # construction, so per-row foreign key lookups would only slow the load down.
            cursor.execute("SET SESSION foreign_key_checks = 0")
            statements: dict[str, str] = {}
            for table, rows in batches:
                sql = statements.setdefault(table.name, _insert_sql(engine, table, "%s"))
                # PyMySQL turns this into multi-row INSERT ... VALUES statements.
                cursor.executemany(sql, rows)
            connection.commit()
            cursor.execute("SET SESSION foreign_key_checks = 1")
    finally:
        raw.close()


_Loader = t.Callable[[Engine, t.Iterable[Batch]], None]
# Keyed by dialect name; "mariadb" is what SQLAlchemy calls a mariadb:// URL's dialect.
_LOADERS: dict[str, _Loader] = {
    "sqlite": _load_sqlite,
    "postgresql": _load_postgresql,
    "mysql": _load_mysql,
    "mariadb": _load_mysql,
}


# --------------------------------------------------------------------------- public API


def _sqlite_file(database_url: str) -> Path | None:
    """The file a ``sqlite://`` URL points at, or None (other databases, memory, bad URL)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") or url.database.startswith("file:"):
        return None  # URI filenames carry their own options; do not guess the path
    return Path(url.database)


def _create_sqlite_file(database_url: str) -> Path | None:
    """Create the missing SQLite file the URL names; return it, or None if nothing was made.

    :func:`dashboard.database.make_engine` refuses missing files (a typo must not conjure
    an empty database), but writing a new file is the whole point here.
    """
    path = _sqlite_file(database_url)
    if path is None or path.exists():
        return None
    if not path.parent.is_dir():
        raise DemoError(Message(N_("the folder %(path)s does not exist"), path=str(path.parent)))
    try:
        path.open("xb").close()
    except FileExistsError:
        return None  # created meanwhile by someone else: theirs, not ours
    except OSError as exc:
        raise DemoError(Message(N_("cannot create %(path)s: %(reason)s"), path=str(path), reason=exc.strerror)) from None
    return path


def _open(database_url: str) -> Engine:
    created = _create_sqlite_file(database_url)
    try:
        return make_engine(database_url)
    except DatabaseUnavailable as exc:
        if created is not None:
            created.unlink(missing_ok=True)  # the empty file this call made, nothing else
        raise DemoError(exc.args[0] if exc.args else str(exc)) from None


def _existing_names(engine: Engine) -> list[str]:
    try:
        inspector = inspect(engine)
        return sorted(inspector.get_table_names()) + sorted(inspector.get_view_names())
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise DemoError(Message(N_("cannot read the list of tables of %(where)s: %(reason)s"), where=where,
                                reason=first_line(exc, limit=1000))) from None


def write_demo_database(database_url: str, rows: int = 10_000, *, seed: int = 0) -> dict[str, int]:
    """Create the demo schema in an EMPTY database and fill it; return row counts per table.

    Sizes follow from ``rows`` (see :func:`demo_sizes`); the data depends only on ``seed``
    and today's date (UTC).

    :param database_url: any SQLAlchemy URL; SQLite, PostgreSQL (psycopg) and MySQL/MariaDB
        (PyMySQL) use their fastest bulk-load path. A missing SQLite file is created.
    :param rows: the number of orders, at least 1.
    :param seed: seed of the random generator.
    :returns: ``{table name: rows written}`` for the seven tables, in load order.
    :raises DemoTargetNotEmpty: if the database already has tables or views.
    :raises DemoError: if the database cannot be reached or the load fails.
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise DemoError(Message(N_("rows must be a positive whole number, not %(rows)s"), rows=repr(rows)))
    engine = _open(database_url)
    sqlite_path = _sqlite_file(database_url)
    where = str(sqlite_path) if sqlite_path else engine.url.render_as_string(hide_password=True)
    try:
        backend = engine.dialect.name
        if backend not in _LOADERS:
            raise DemoError(Message(
                N_("the demo supports SQLite, PostgreSQL and MySQL/MariaDB, not %(backend)s"), backend=backend
            ))
        existing = _existing_names(engine)
        if existing:
            shown = ", ".join(existing[:5]) + (", ..." if len(existing) > 5 else "")
            raise DemoTargetNotEmpty(Message(
                N_("%(where)s already contains %(count)s table(s) or view(s) (%(names)s); "
                   "the demo only writes into an empty database"), where=where, count=len(existing), names=shown
            ))
        metadata = build_metadata()
        shop = _Shop(dict(metadata.tables), rows, seed, datetime.now(UTC).date())
        try:
            with engine.begin() as connection:
                _create_tables(connection, metadata)
            _LOADERS[backend](engine, shop.batches())
            with engine.begin() as connection:
                _complete_tables(connection, metadata)
        except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
            # The loaders use the driver directly, so its own exceptions arrive unwrapped.
            raise DemoError(Message(
                N_("writing the demo into %(where)s failed: %(reason)s. It may hold a partial "
                   "demo now; drop its tables (or delete the SQLite file) before trying again."),
                where=where, reason=first_line(exc, limit=1000)
            )) from None
        return shop.counts
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- command line

# The first 16 bytes of every SQLite 3 database file.
_SQLITE_HEADER = b"SQLite format 3\x00"
# Files SQLite keeps beside a database; a stale -wal next to a new file would corrupt it.
_SQLITE_SIDECARS = ("-journal", "-wal", "-shm")


def _is_sqlite_file(path: Path) -> bool:
    # A zero-byte file is what SQLite itself leaves before the first write.
    if path.stat().st_size == 0:
        return True
    with path.open("rb") as handle:
        return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def _replace_sqlite_file(path: Path) -> None:
    """Delete the SQLite database ``path`` (and its journal files) so it can be rewritten."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_file():
        raise DemoError(Message(N_("%(path)s is not a regular file; refusing to replace it"), path=str(path)))
    if not _is_sqlite_file(path):
        raise DemoError(Message(N_("%(path)s is not a SQLite database; refusing to replace it"), path=str(path)))
    for suffix in _SQLITE_SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        if sidecar.is_file() and not sidecar.is_symlink():
            sidecar.unlink()
    path.unlink()


def _resolve_target(output: Path | None, url: str | None, force: bool) -> tuple[str, Path | None]:
    """Return the database URL to write and, for SQLite, its file; apply ``--force``."""
    if output is not None and url is not None:
        raise DemoError(Message(N_("give either --output FILE or --url URL, not both")))
    path: Path | None
    if url is None:
        path = output if output is not None else Path("demo.db")
        database_url = URL.create("sqlite", database=str(path)).render_as_string()
    else:
        database_url, path = url, _sqlite_file(url)
    if path is None:
        if force:
            raise DemoError(Message(
                N_("--force only replaces a SQLite file; empty the database at --url yourself")
            ))
        return database_url, None
    if not path.parent.is_dir():
        raise DemoError(Message(N_("the folder %(path)s does not exist"), path=str(path.parent)))
    if path.exists() and not force and path.is_file() and not _is_sqlite_file(path):
        raise DemoError(Message(N_("%(path)s exists and is not a SQLite database; choose another --output"),
                                path=str(path)))
    if force:
        _replace_sqlite_file(path)
    return database_url, path


@click.command("demo")
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    metavar="N",
    default=10_000,
    show_default=True,
    help="Number of orders; customers, products and log events scale with it.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file to create.  [default: demo.db]",
)
@click.option(
    "--url", metavar="URL", help="Fill this empty database instead (any SQLAlchemy URL)."
)
@click.option("--force", is_flag=True, help="Replace the SQLite file if it exists.")
@click.option(
    "--seed", type=int, metavar="N", default=0, show_default=True, help="Seed of the random data."
)
@click.pass_context
def demo_command(
    ctx: click.Context, rows: int, output: Path | None, url: str | None, force: bool, seed: int
) -> None:
    """Write a demo shop database to try the dashboard on.

    Customers, products, orders with their lines, tags, an event log and a summary view go
    into a new SQLite file (demo.db here unless --output says otherwise) or, with --url,
    into an empty PostgreSQL or MySQL/MariaDB database. Refuses to touch a database that
    already has tables; --force replaces an existing SQLite file.
    """
    from dashboard.i18n import exception_text, ngettext
    from dashboard.i18n import gettext as _

    started = time.perf_counter()
    path: Path | None = None
    try:
        database_url, path = _resolve_target(output, url, force)
        counts = write_demo_database(database_url, rows, seed=seed)
    except DemoError as exc:
        message = exception_text(exc)
        if isinstance(exc, DemoTargetNotEmpty) and path is not None:
            message = _("%(message)s; pass --force to replace %(path)s", message=message, path=path)
        click.echo(_("error: %(message)s", message=message), err=True)
        ctx.exit(2)
    elapsed = time.perf_counter() - started
    for name, count in counts.items():
        rows_text = ngettext("%(count)s row", "%(count)s rows", count, count=f"{count:>12,}")
        click.echo(f"{name:<22} {rows_text}")
    view_text = _("view")
    click.echo(f"{VIEW_NAME:<22} {view_text:>17}")
    target = str(path) if path is not None else make_url(database_url).render_as_string()
    click.echo(_("wrote %(target)s in %(seconds)s s", target=target, seconds=f"{elapsed:.1f}"))
