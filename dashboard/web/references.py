"""Which row blocked a delete, and through which foreign key.

A database that refuses a delete because another row still refers to it says so in its
own words, which hold SQL and values and differ per dialect (SQLite does not even name
the constraint). Those words go to the log; the operator is told which of the selected
rows is still referred to, from which table and through which foreign key, found with one
query per referring foreign key after the delete was rolled back.
"""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.records import RecordStore
from dashboard.i18n.translation import gettext
from dashboard.web.keys import encode_key

log = logging.getLogger(__name__)

#: Most selected rows looked at: a bulk delete selects one list page (at most 1000 rows).
_MAX_KEYS = 1000


def blocking_reference(
    store: RecordStore,
    stores: t.Mapping[str, RecordStore],
    keys: t.Sequence[t.Sequence[t.Any]],
    may_see: t.Callable[[str], bool],
) -> str | None:
    """A sentence naming the first of ``keys`` that a row of another table still refers to.

    :param store: the table rows were to be deleted from.
    :param stores: every table's store, by table id.
    :param keys: row keys of the rows to delete.
    :param may_see: whether the operator may open a table (by id); a table they may not
        open is not named.
    :returns: ``None`` when no referring row is found (the refusal had another cause).
    """
    if not keys or store.info.row_key_source not in ("primary_key", "unique"):
        return None
    selected = sa.or_(*(store.key_condition(key) for key in keys[:_MAX_KEYS]))
    for child_id, fk in store.info.referenced_by:
        child = stores.get(child_id)
        if child is None or not child.info.readable:
            continue  # a table the database user may not read is never queried
        parent = store.table
        # A table referring to itself (a manager_id) joins a second copy of itself.
        referring = child.table.alias("referring") if child.table is parent else child.table
        joined = sa.and_(
            *(referring.c[own] == parent.c[target] for own, target in zip(fk.columns, fk.target_columns, strict=True))
        )
        statement = sa.select(*store.key_columns()).select_from(parent.join(referring, joined)).where(selected).limit(1)
        try:
            with store.engine.connect() as connection:
                row = connection.execute(statement).first()
        except SQLAlchemyError as exc:
            log.warning("could not look for rows of %s referring to %s: %s", child_id, store.info.id, exc)
            continue
        if row is None:
            continue
        key = encode_key(tuple(row), store.key_codecs)
        if not may_see(child_id):
            return gettext("Row %(key)s is still referred to by a row of another table.", key=key)
        constraint = (
            fk.name or f"{child.info.name}({', '.join(fk.columns)}) → {store.info.name}({', '.join(fk.target_columns)})"
        )
        return gettext(
            "Row %(key)s is still referred to by a row of %(table)s (%(columns)s), "
            "through the foreign key %(constraint)s.",
            key=key,
            table=child.info.name,
            columns=", ".join(fk.columns),
            constraint=constraint,
        )
    return None
