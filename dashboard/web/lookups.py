"""Search-as-you-type lookups for foreign-key fields.

Flask-Admin's default renders a ``<select>`` of every parent row; at 1M rows that is a
110 MB page. The lookup asks the referenced table for ten matches at a time instead.
"""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from flask_admin.model.ajax import AjaxModelLoader
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.errors import first_line, is_gone
from dashboard.db.records import Record, RecordStore
from dashboard.db.search import search_condition

log = logging.getLogger(__name__)


class ForeignKeyLoader(AjaxModelLoader):
    """Answers the search-as-you-type lookups of a foreign-key field from the referenced table."""

    def __init__(
        self,
        name: str,
        target: RecordStore,
        target_column: str,
        display: str | None,
        allowed: t.Callable[[], bool] = lambda: True,
        readable: t.Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(name, {})
        self.target = target
        #: Whether the current operator may see the rows' labels (the referenced table and
        #: its display column); when not, a lookup finds a row only by its exact key and
        #: shows nothing but that key.
        self.allowed = allowed
        #: Whether the current operator may read the referenced table at all; when not, a
        #: lookup answers nothing and never queries it: even "is there a row with key 5"
        #: is an answer about a table they may not see (an existence oracle).
        self.readable = readable
        self.target_column = target.info.column(target_column)
        self.display = target.info.column(display) if display else None
        self.codec = target.codecs[self.target_column.key]

    def format(self, model: Record | None) -> tuple[str, str] | None:
        if model is None:
            return None
        value = getattr(model, self.target_column.key)
        text = self.codec.to_text(value)
        if self.display is None or not self.allowed():
            return text, text
        return text, f"{getattr(model, self.display.key)} ({text})"

    def get_one(self, pk: t.Any) -> Record | None:
        try:
            value = self.codec.from_text(str(pk))
        except ValueError:
            return None
        rows = self._select(where=[self.target.column(self.target_column.key) == value], limit=1)
        return rows[0] if rows else None

    def get_list(self, query: str, offset: int = 0, limit: int = 10) -> list[Record]:
        limit = max(1, min(int(limit or 10), 50))
        offset = max(0, int(offset or 0))
        if not self.readable():
            return []
        if not self.allowed():
            record = self.get_one(query) if query and not offset else None
            return [record] if record is not None else []
        where: list[sa.ColumnElement[bool]] = []
        columns = [self.target.column(self.display.key)] if self.display else []
        if self.target_column.is_text:
            columns.append(self.target.column(self.target_column.key))
        condition = search_condition(columns, query or "") if columns else None
        if condition is not None:
            where.append(condition)
        elif query and not columns:
            try:
                where.append(self.target.column(self.target_column.key) == self.codec.from_text(query))
            except ValueError:
                return []
        order = [(self.display.key, False)] if self.display else []
        return self._select(where=where, order=order, offset=offset, limit=limit)

    def _select(self, **query: t.Any) -> list[Record]:
        """Rows of the referenced table; none when the database refuses the query (a privilege
        the probe at start did not see, a statement timeout): a field's label or a lookup is
        not worth a server error. A lost database still answers 503."""
        try:
            return self.target.select(**query)
        except (SQLAlchemyError, OverflowError) as exc:
            if is_gone(exc):
                raise
            log.info("lookup in %s refused: %s", self.target.info.id, first_line(exc))
            return []

    def label_for(self, text: str) -> str:
        """The label shown for the current value of the field."""
        if not self.readable():
            return text
        record = self.get_one(text)
        formatted = self.format(record)
        return formatted[1] if formatted else text
