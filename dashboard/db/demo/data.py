"""The demo shop's rows: deterministic for a seed and a day, generated as plain tuples.

Dates are spread over the three years up to midnight (UTC) today, so the demo always looks
current; sizes follow from the number of orders (:func:`demo_sizes`).
"""

from __future__ import annotations

import functools
import math
import random
import typing as t
import unicodedata
from datetime import date, timedelta

from sqlalchemy import (
    Table,
)

from dashboard.db.demo.words import (
    ADJECTIVES,
    CATEGORIES,
    COLOURS,
    COUNTRIES,
    CUSTOMER_NOTES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    LINES_PER_ORDER,
    LOG_LEVELS,
    LOG_MESSAGES,
    ORDER_NOTES,
    QUANTITIES,
    STATUS_OLD,
    STATUS_RECENT,
    STATUS_WEEK,
    TAGS,
    TAGS_PER_PRODUCT,
)

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


def demo_sizes(rows: int) -> dict[str, int]:
    """Return how many customers, products, orders, tags and events ``rows`` orders imply.

    ``order_lines`` (1-4 per order) and ``product_tags`` (0-3 per product) are random.

    :param rows: the number of orders.
    """
    return {
        "customers": max(50, rows // 10),
        "products": min(2000, max(50, rows // 100)),
        "orders": rows,
        "tags": len(TAGS),
        # At least a handful so that even a tiny demo shows duplicate log lines.
        "event_log": min(_MAX_EVENTS, max(10, rows // 10)),
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
        self.times = _times_of_day()

    def __call__(self, seconds: int) -> str:
        day, second = divmod(seconds, _DAY)
        return self.days[day] + self.times[second]


@functools.cache
def _times_of_day() -> list[str]:
    # 86,400 strings take ~0.2 s to make: once per process, not once per demo database
    # (the test suite writes hundreds of small ones).
    return [
        f"{hour:02d}:{minute:02d}:{second:02d}.000000"
        for hour in range(24)
        for minute in range(60)
        for second in range(60)
    ]


def _money(cents: int) -> str:
    # Text keeps exact decimals on every driver (SQLite converts it to a number itself).
    return f"{cents // 100}.{cents % 100:02d}"


def _ascii(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def _sorted_times(rng: random.Random, count: int, start: int, end: int, growth: float = 0.0) -> list[int]:
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


class Shop:
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
        yield from self._emit("tags", [(i, name) for i, name in enumerate(TAGS, 1)])
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
        country, domain = _weighted(rng, COUNTRIES), _weighted(rng, EMAIL_DOMAINS)
        ascii_first = {name: _ascii(name) for name in FIRST_NAMES}
        ascii_last = {name: _ascii(name) for name in LAST_NAMES}
        self.customer_since = _sorted_times(rng, count, 0, self.end, growth=2.0)
        self.customer_since[0] = 0  # someone must exist before the first order
        self.emails: list[str] = []
        taken: dict[str, int] = {}
        rows = []
        for customer_id, since in enumerate(self.customer_since, 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
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
            notes = rng.choice(CUSTOMER_NOTES) if rnd() < 0.04 else None
            active = rnd() < 0.92
            rows.append((customer_id, f"{first} {last}", email, country(), clock(since), active, notes))
        return rows

    def _products(self) -> list[Row]:
        rng, rnd, clock = self.rng, self.rng.random, self.clock
        count = self.sizes["products"]
        categories = list(CATEGORIES)
        # The catalogue grows too, but stops a month before today.
        self.product_since = _sorted_times(rng, count, 0, self.end - 30 * _DAY)
        self.product_since[0] = 0
        self.price_cents = [0]  # index = product id
        self.prices = [""]
        self.skus = [""]
        rows = []
        for product_id, since in enumerate(self.product_since, 1):
            category = rng.choice(categories)
            prefix, low, high, nouns = CATEGORIES[category]
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)}"
            if rnd() < 0.4:
                name = f"{name}, {rng.choice(COLOURS)}"
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
        rng, how_many = self.rng, _weighted(self.rng, TAGS_PER_PRODUCT)
        tag_ids = list(range(1, len(TAGS) + 1))
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
        recent, week, old = _spread(STATUS_RECENT), _spread(STATUS_WEEK), _spread(STATUS_OLD)
        n_recent, n_week, n_old = len(recent), len(week), len(old)
        line_counts, quantities = _spread(LINES_PER_ORDER), _spread(QUANTITIES)
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
            note = rng.choice(ORDER_NOTES) if rnd() < 0.03 else None
            day, second = divmod(when, _DAY)
            orders.append((order_id, customer_id, status, days[day] + seconds[second], _money(total), note))
            if len(orders) >= _BATCH:
                yield orders, lines
                orders, lines = [], []
        if orders:
            yield orders, lines

    def _events(self) -> list[Row]:
        rng, rnd, clock = self.rng, self.rng.random, self.clock
        count, orders = self.sizes["event_log"], self.sizes["orders"]
        level = _weighted(rng, LOG_LEVELS)
        times = _sorted_times(rng, count, self.end - _EVENT_DAYS * _DAY, self.end)
        rows: list[Row] = []
        for i, when in enumerate(times):
            # Real logs repeat lines exactly (retries, double handlers); keep at least one.
            if rows and (rnd() < 0.04 or i == 1):
                rows.append(rows[-1])
                continue
            lvl = level()
            message = rng.choice(LOG_MESSAGES[lvl]).format(
                email=rng.choice(self.emails),
                order=1 + int(orders * rnd()),
                sku=self.skus[1 + int((len(self.skus) - 1) * rnd())],
                ms=100 + int(5000 * rnd()),
            )
            rows.append((clock(when), lvl, message))
        return rows
