"""Stock rules: the write hooks on the demo shop's products, whatever page, API call, bulk
edit or import makes the write.

- ``before_write``: a SKU is stored without surrounding spaces and in capitals (the values
  written are changed), and stock never goes below zero (the write is refused, with the
  reason shown where it was asked for).
- ``after_write``: once a product's stock has dropped below :data:`LOW_STOCK`, the log says so.

Shipped disabled (``disabled_plugins`` in ``config/default.toml``): a plugin that changes what
is written should be switched on knowingly. Once enabled, it acts on the demo shop's
``products`` only (a table of that name with ``sku`` and ``stock`` columns, served beside
``orders`` and ``customers``), never on another database's.
"""

import logging

from dashboard.hookspecs import hookimpl
from dashboard.i18n import gettext
from dashboard.writes import WriteRefused, served_tables

LOW_STOCK = 5
log = logging.getLogger(__name__)


def _products(table):
    names = {column.name for column in table.columns}
    if table.name != "products" or not {"sku", "stock"} <= names:
        return False
    return {"orders", "customers"} <= set(served_tables())


@hookimpl
def before_write(table, action, new):
    if action == "delete" or not _products(table):
        return None
    stock = new.get("stock")
    if stock is not None and stock < 0:
        raise WriteRefused(gettext("Stock cannot go below zero."))
    sku = new.get("sku")
    if isinstance(sku, str) and sku != sku.strip().upper():
        return {**new, "sku": sku.strip().upper()}
    return None


@hookimpl
def after_write(table, action, old, new):
    if action == "delete" or not _products(table):
        return
    was = old["stock"] if old else None
    now = new.get("stock")
    if now is not None and now < LOW_STOCK and (was is None or was >= LOW_STOCK):
        log.warning("product %s: stock is down to %s, restock soon", new.get("sku"), now)
