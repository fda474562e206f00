"""The target database: everything the dashboard knows and does about the operator's database.

- :mod:`~dashboard.db.engine`: engines, connection checks, per-dialect session settings.
- :mod:`~dashboard.db.identity`: whether two engines reach the same database, as the servers tell.
- :mod:`~dashboard.db.reflection`: tables, views, columns, keys and privileges as found at
  start (:mod:`~dashboard.db.privileges`, CHECK-constraint choices in
  :mod:`~dashboard.db.checks`).
- :mod:`~dashboard.db.codecs`: every column value to and from text, whatever its type (JSON
  columns' stored text in :mod:`~dashboard.db.json_text`).
- :mod:`~dashboard.db.records`: reading and writing rows; :mod:`~dashboard.db.counts`,
  :mod:`~dashboard.db.search`, :mod:`~dashboard.db.listing` and
  :mod:`~dashboard.db.list_columns` serve listings.
- :mod:`~dashboard.db.errors`: what a driver's error means, in words an operator can act on.
- :mod:`~dashboard.db.demo`: the demo shop database (schema, generated data, fast loading).

May import: SQLAlchemy, the drivers, and the package's Flask-free shared modules
(:mod:`dashboard.messages`, :mod:`dashboard.urls`). Never Flask or anything that imports it,
nor :mod:`dashboard.web` or any other layer above: reflection runs before any app exists,
and the command line uses this layer without one. ``tests/test_architecture.py`` checks it.
"""
