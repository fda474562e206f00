"""Rows linked to a row through a pure association table, for its details page.

A product's details page lists its tags (through ``product_tags``) and a tag's page lists
its products: the rows on the far side by their labels, each a link to its own details,
with a link that opens the association's create form with this row already chosen, and
one to the association's list filtered to this row (where links are removed). The
writes go through the association table's own views, so they are permission-checked,
audited, atomic and refresh every listing like any other write; this module only reads.

One query per association table: the association joined to the far table, ``LIMIT``.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import request, url_for
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.errors import is_gone
from dashboard.db.records import Record
from dashboard.db.reflection import ForeignKeyInfo
from dashboard.i18n.translation import gettext
from dashboard.site_state import current_site

if t.TYPE_CHECKING:
    from dashboard.web.table_base import TableBase

log = logging.getLogger(__name__)

#: Linked rows shown on a details page; the association's list has the rest.
LIMIT = 50


@dataclass
class LinkedRows:
    """The rows of one far table linked to a row, as its details page shows them."""

    title: str
    #: ``(label, url)``; the URL is ``None`` where the operator may not open the far row.
    items: list[tuple[str, str | None]] = field(default_factory=list)
    #: More than :data:`LIMIT` rows are linked: only the first ones are in ``items``.
    more: bool = False
    list_url: str | None = None
    add_url: str | None = None


def linked_rows(view: TableBase, model: Record | None) -> list[LinkedRows]:
    """Every association table's links from ``model`` (a row of ``view``) to its far rows."""
    if not isinstance(model, Record):
        return []
    views = current_site().views
    found = []
    for child_id, fk in view.info.referenced_by:
        association = views.get(child_id)
        if (
            association is None
            or len(fk.columns) != 1
            or not association.info.is_association
            or not view.may_see(child_id)
        ):
            continue
        for far_fk in association.info.foreign_keys:
            if far_fk.columns == fk.columns or len(far_fk.columns) != 1:
                continue
            linked = _linked(view, association, fk, far_fk, model)
            if linked is not None:
                found.append(linked)
    return found


def _linked(
    view: TableBase, association: TableBase, fk: ForeignKeyInfo, far_fk: ForeignKeyInfo, model: Record
) -> LinkedRows | None:
    far_view = current_site().views.get(far_fk.target_id)
    if far_view is None:
        return None
    own_column = view.info.column(fk.target_columns[0])
    value = getattr(model, own_column.key)
    value_text = view.store.codecs[own_column.key].to_text(value)
    links = association.store.table
    far = far_view.store
    far_key = far.table.c[far_fk.target_columns[0]]
    far_codec = far.codecs[far.info.column(far_fk.target_columns[0]).key]
    display = view.display_column_of(far.info)
    # A far table the operator may not open shows its keys only, read from the association.
    readable = view.may_see(far.info.id, display)
    if readable:
        label = far.table.c[display] if display else far_key
        statement = (
            sa.select(far_key, label)
            .select_from(links.join(far.table, links.c[far_fk.columns[0]] == far_key))
            .where(links.c[fk.columns[0]] == value)
            .order_by(label, far_key)
        )
    else:
        key = links.c[far_fk.columns[0]]
        statement = sa.select(key, key.label("shown")).where(links.c[fk.columns[0]] == value).order_by(key)
    try:
        with association.store.engine.connect() as connection:
            rows = connection.execute(statement.limit(LIMIT + 1)).all()
    except SQLAlchemyError as exc:
        if is_gone(exc):
            raise
        log.warning("could not read the links of %s through %s: %s", view.info.id, association.info.id, exc)
        return None
    linkable = readable and far.info.has_row_identity and tuple(far.info.row_key) == tuple(far_fk.target_columns)
    items = []
    for key_value, label_value in rows[:LIMIT]:
        key_text = far_codec.to_text(key_value)
        shown = f"{label_value} ({key_text})" if readable and display and label_value is not None else key_text
        url = far_view.cheap_url(f"{far_view.endpoint}.details_view", id=key_text) if linkable else None
        items.append((shown, url))
    add_url = None
    if association.can_create:
        field_name = association.info.column(fk.columns[0]).key
        args: dict[str, t.Any] = {field_name: value_text, "url": request.full_path}
        add_url = url_for(f"{association.endpoint}.create_view", **args)
    return LinkedRows(
        title=gettext("%(table)s, linked through %(association)s", table=far_view.name, association=association.name),
        items=items,
        more=len(rows) > LIMIT,
        list_url=association.filtered_url(fk.columns[0], value_text),
        add_url=add_url,
    )
