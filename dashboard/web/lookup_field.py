"""A plugin form's field for choosing a row of a served table: the lookup the core forms use.

:class:`LookupField` (public as ``dashboard.pages.LookupField``) renders the same
search-as-you-type input as a foreign key on a create or edit form (Flask-Admin's select2
AJAX widget, :mod:`dashboard.web.lookups`), asking the chosen table's ``lookup/`` route
(:class:`RowLookup`) for ten matches at a time. That route is one of the table's own pages,
so only an operator who may view the table gets an answer; it searches the table's display
column (and a text key), and labels each row ``display (key)``.

The field's ``data`` is the chosen row's key: the value for a one-column key, a dict by
column name for a composite one. A key that names no row (or a table the operator may not
view) is a field error, never a server error.
"""

from __future__ import annotations

import json
import typing as t

import sqlalchemy as sa
from flask import Response, request, url_for
from flask_admin.base import expose
from markupsafe import Markup
from wtforms import Form, StringField
from wtforms.validators import StopValidation
from wtforms.widgets import html_params

from dashboard.db.records import Record
from dashboard.db.search import search_condition
from dashboard.i18n.translation import gettext, lazy_gettext
from dashboard.site_state import current_site
from dashboard.web.keys import BadKey, decode_key, encode_key
from dashboard.web.table_base import TableBase

#: Most rows one lookup answers.
MAX_MATCHES = 50


class RowLookup(TableBase):
    """A table's ``lookup/`` route: its rows matching ``query``, as ``[[key, label], ...]``."""

    @expose("/lookup/")
    def row_lookup_view(self) -> Response:
        """Rows for a :class:`LookupField` (the view's access check already asked for ``view``)."""
        limit = max(1, min(request.args.get("limit", 10, type=int) or 10, MAX_MATCHES))
        offset = max(0, request.args.get("offset", 0, type=int) or 0)
        records = self.lookup_rows(request.args.get("query", ""), offset, limit)
        data = [[self.get_pk_value(r), self.lookup_label(r)] for r in records]
        return Response(json.dumps(data), mimetype="application/json")

    def _lookup_display(self) -> str | None:
        display = self.display_column_of(self.info)
        return display if display and any(c.name == display for c in self.visible) else None

    def lookup_rows(self, query: str, offset: int = 0, limit: int = 10) -> list[Record]:
        """Rows whose display column (or text key) holds every word of ``query``; with neither
        to search, the row whose key is ``query``."""
        if not self.info.has_row_identity or not self.info.readable:
            return []
        display = self._lookup_display()
        columns = [self.store.column(self.info.column(display).key)] if display else []
        keys = [self.info.column(name) for name in self.info.row_key]
        columns += [self.store.column(column.key) for column in keys if column.is_text]
        where: list[sa.ColumnElement[bool]] = []
        condition = search_condition(columns, query or "")
        if condition is not None:
            where.append(condition)
        elif query and not columns:
            record = self.get_one(query) if not offset else None
            return [record] if record is not None else []
        order = [(self.info.column(display).key, False)] if display else []
        return self.store.select(where=where, order=order, offset=offset, limit=limit)

    def lookup_label(self, record: Record) -> str:
        """A row as a lookup shows it: ``display (key)``, or its key."""
        key = self.get_pk_value(record)
        display = self._lookup_display()
        value = getattr(record, self.info.column(display).key) if display else None
        return key if value is None else f"{value} ({key})"


class LookupWidget:
    """Flask-Admin's select2 AJAX input, pointed at the chosen table's ``lookup/`` route."""

    def __call__(self, field: LookupField, **kwargs: t.Any) -> Markup:
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("class", "form-control")
        view = field._table_view()
        kwargs["type"] = "hidden"
        kwargs["data-role"] = "select2-ajax"
        kwargs["data-minimum-input-length"] = 0
        kwargs["data-placeholder"] = gettext("Type to search")
        if view is not None and view.is_accessible():
            kwargs["data-url"] = url_for(f"{view.endpoint}.row_lookup_view")
        if not field.flags.required:
            kwargs["data-allow-blank"] = "1"
        text = field.raw_text
        if text:
            kwargs["value"] = text
            record = field.record
            label = view.lookup_label(record) if view is not None and record is not None else text
            kwargs["data-json"] = json.dumps([text, label])
        # html_params escapes every value, the way WTForms' own widgets build their markup.
        return Markup(f"<input {html_params(name=field.name, **kwargs)}>")  # nosec B704 -- values escaped by html_params


class LookupField(StringField):
    """A form field choosing one row of served table ``table`` by searching it, as a foreign key
    is chosen on the dashboard's own create and edit forms.

    ``field.data`` is the chosen row's key: its value for a one-column key, a dict by column
    name for a composite key; ``None`` when nothing is chosen. A key that names no row, or a
    table the operator may not view, fails validation with a message on the field.

    :param table: the served table's id (``name`` or ``schema.name``).
    :param label: the field's label (default: the table's name).
    :param validators: WTForms validators, e.g. ``[DataRequired()]``.
    :param kwargs: what any WTForms field takes (``description``, ``default``...).
    """

    widget = LookupWidget()

    def __init__(self, table: str, label: t.Any = None, validators: t.Any = None, **kwargs: t.Any) -> None:
        super().__init__(label if label is not None else table, validators, **kwargs)
        self.table = table
        #: The posted (or default) key as the lookup sends it; the row it names, once found.
        self.raw_text = ""
        self.data: t.Any = None
        self.record: Record | None = None
        self._problem: t.Any = None

    def _table_view(self) -> t.Any:
        """The chosen table's view, or ``None`` when the dashboard does not serve it."""
        view = current_site().views.get(self.table)
        return view if isinstance(view, RowLookup) else None

    def process_formdata(self, valuelist: list[t.Any]) -> None:
        self.raw_text = str(valuelist[0]).strip() if valuelist else ""
        self.data = None
        self.record = None
        if self.raw_text:
            self._find(self.raw_text)

    def process_data(self, value: t.Any) -> None:
        # A default (or object data) is a key value, or a dict by key column name.
        self.data = None
        self.raw_text = ""
        view = self._table_view()
        if value is None or value == "" or view is None:
            return
        names = view.info.row_key
        values = [value[n] for n in names] if isinstance(value, t.Mapping) else [value]
        try:
            self.raw_text = encode_key(values, view.store.key_codecs)
        except (ValueError, TypeError):
            return
        self._find(self.raw_text)

    def _find(self, text: str) -> None:
        view = self._table_view()
        self._problem = None
        if view is None or not view.is_accessible() or not view.info.has_row_identity:
            self._problem = lazy_gettext("You may not choose rows of this table.")
            return
        try:
            key = decode_key(text, view.store.key_codecs)
        except BadKey:
            key = None
        record = view.store.get(key) if key is not None else None
        if key is None or record is None:
            self._problem = lazy_gettext("No such row: choose one from the list.")
            return
        self.record = record
        names = view.info.row_key
        self.data = key[0] if len(names) == 1 else dict(zip(names, key, strict=True))

    def pre_validate(self, form: t.Any) -> None:
        # StopValidation: the field's own validators (DataRequired) would see no data and
        # replace this message with "This field is required."
        if self.raw_text and self._problem is not None:
            raise StopValidation(str(self._problem))

    def _value(self) -> str:
        return self.raw_text


def has_lookup(form: t.Any) -> bool:
    """Whether ``form`` (a WTForms form) holds a :class:`LookupField`, so its page loads the lookup's scripts."""
    return isinstance(form, Form) and any(isinstance(field, LookupField) for field in form)
