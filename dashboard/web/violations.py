"""Which field a refused create or edit was about, so the form can say it next to the field.

The database names a violated constraint in its own words (with SQL and values, differing
per dialect), and those go to the log only. The form is told what the reflected schema can
find out with a query or two after the write was rolled back: the value a UNIQUE key
already holds in another row, the foreign-key value no referenced row has, the required
value left empty. A CHECK constraint is an expression and names no field; it stays a
message above the form.
"""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.records import RecordStore
from dashboard.i18n.translation import gettext

log = logging.getLogger(__name__)


def field_errors(
    store: RecordStore,
    stores: t.Mapping[str, RecordStore],
    values: t.Mapping[str, t.Any],
    key: t.Sequence[t.Any] | None,
) -> dict[str, str]:
    """Messages by column key for the ``values`` (by column key) the database refused.

    :param store: the table written to.
    :param stores: every table's store, by table id.
    :param values: the values the write tried to set.
    :param key: the row key of the edited row (``None`` on create), which may keep its own values.
    """
    info = store.info
    by_name = {info.column_by_key(k).name: v for k, v in values.items()}
    errors: dict[str, str] = {}
    for name, value in by_name.items():
        column = info.column(name)
        if value is None and not column.nullable:
            errors[column.key] = gettext("This field is required.")
    try:
        with store.engine.connect() as connection:
            for columns in [info.primary_key, *info.unique_sets]:
                if not columns or not set(columns) <= set(by_name) or any(by_name[c] is None for c in columns):
                    continue
                taken = (
                    sa.select(sa.literal(1))
                    .select_from(store.table)
                    .where(*(store.table.c[c] == by_name[c] for c in columns))
                )
                if key is not None:
                    taken = taken.where(sa.not_(store.key_condition(key)))
                if connection.execute(taken.limit(1)).first() is not None:
                    errors.setdefault(
                        info.column(columns[0]).key, gettext("Another row already has this value; it must be unique.")
                    )
            for fk in info.foreign_keys:
                target = stores.get(fk.target_id)
                if target is None or not set(fk.columns) <= set(by_name) or any(by_name[c] is None for c in fk.columns):
                    continue
                found = (
                    sa.select(sa.literal(1))
                    .select_from(target.table)
                    .where(
                        *(
                            target.table.c[own] == by_name[mine]
                            for mine, own in zip(fk.columns, fk.target_columns, strict=True)
                        )
                    )
                )
                if connection.execute(found.limit(1)).first() is None:
                    errors.setdefault(
                        info.column(fk.columns[0]).key, gettext("No row of the referenced table has this value.")
                    )
    except SQLAlchemyError as exc:
        log.warning("could not tell which field of %s was refused: %s", info.id, exc)
    return errors


def mark_fields(form: t.Any, errors: t.Mapping[str, str]) -> None:
    """Show ``errors`` next to their fields of ``form`` (those it has)."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
