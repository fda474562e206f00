"""The demo "shop" database, built fast: :mod:`.schema`, :mod:`.data` (generated rows from the
vocabulary of :mod:`.words`), :mod:`.load`.

``dashboard demo`` (:mod:`dashboard.cli.demo`) writes customers, products, orders with their lines, tags, an event log
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

from dashboard.db.demo.data import demo_sizes
from dashboard.db.demo.load import DemoError, DemoTargetNotEmpty, write_demo_database
from dashboard.db.demo.schema import ORDER_STATUSES, VIEW_NAME, build_metadata

__all__ = [
    "ORDER_STATUSES",
    "VIEW_NAME",
    "DemoError",
    "DemoTargetNotEmpty",
    "build_metadata",
    "demo_sizes",
    "write_demo_database",
]
