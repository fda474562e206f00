"""The machinery behind :mod:`dashboard.writes`, the plugins' public write API.

- :mod:`~dashboard.plugins.write_api.failures`: :class:`WriteFailed` and its subclasses, and
  the message each classified database error becomes.
- :mod:`~dashboard.plugins.write_api.transactions`: one database transaction shared by
  several writes (:func:`dashboard.writes.transaction`), audited and announced after commit.
- :mod:`~dashboard.plugins.write_api.reading`: the filters, order and paging of
  :meth:`dashboard.writes.TableWriter.rows`.

Plugins import none of this: :mod:`dashboard.writes` re-exports what is public. These
modules never import :mod:`dashboard.writes` (it imports them).
"""
