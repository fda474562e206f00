"""Importing a file into a table: reading it as rows, mapping its columns, checking every
value, and writing all of it in one transaction, or nothing.

- :mod:`~dashboard.db.importing.readers`: a CSV, XLSX, JSON (an array of objects) or JSON
  lines file as a stream of rows of text, read again from the start as often as asked, in
  constant memory.
- :mod:`~dashboard.db.importing.plan`: which file column goes to which table column (guessed
  by name, changed by the operator), and each row's values parsed by the columns' codecs
  (:mod:`dashboard.db.codecs`), with every refusal named by row and column.
- :mod:`~dashboard.db.importing.writing`: insert, or upsert by a key, in batches inside one
  transaction of the table's :class:`~dashboard.db.records.RecordStore`; a row the database
  refuses is found and named, and nothing is written.

Like the rest of :mod:`dashboard.db`, nothing here knows of Flask: the pages and the API
decide which columns an operator may write and pass them in as :class:`~.plan.Target`.
"""
