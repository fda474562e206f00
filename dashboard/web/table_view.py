"""Reflected relations -> Flask-Admin views.

:class:`TableView` is a Flask-Admin ``BaseModelView`` backed by :class:`RecordStore`
(SQLAlchemy Core) instead of the ORM, so relations without a primary key, views,
composite and text keys, and hostile names are all served. Options come from the
reflection and the ``TABLES`` settings, in Flask-Admin's own vocabulary.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import typing as t
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_admin.actions import action
from flask_admin.base import expose
from flask_admin.helpers import get_redirect_target
from flask_admin.model import BaseModelView
from flask_admin.model.ajax import AjaxModelLoader
from markupsafe import Markup, escape
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from dashboard.db import privileges as db_privileges
from dashboard.db.codecs import Codec
from dashboard.db.errors import Kind, classify, is_gone, read_message
from dashboard.db.list_columns import default_list_columns
from dashboard.db.listing import ListingQuery
from dashboard.db.records import Conflict, Record, RecordStore, RowsGone, WriteError
from dashboard.db.reflection import ColumnInfo, SchemaInfo, TableInfo
from dashboard.db.search import search_condition
from dashboard.i18n.formatting import NUMBER_KINDS, format_number
from dashboard.i18n.translation import exception_text, gettext, lazy_gettext, ngettext, translate
from dashboard.messages import N_, Message
from dashboard.security import audit
from dashboard.urls import ADMIN_URL
from dashboard.web import export, submissions, violations
from dashboard.web.caching import listing_cache
from dashboard.web.filters import ColumnFilter, EqualFilter, filters_for
from dashboard.web.forms import (
    DashboardForm,
    ReadOnlyField,
    build_form_class,
    field_for,
    read_only_reason,
)
from dashboard.web.keys import BadKey, decode_key, encode_key
from dashboard.web.labels import LocalizedLabel, column_label, table_label
from dashboard.web.links import linked_rows
from dashboard.web.lookups import ForeignKeyLoader
from dashboard.web.references import blocking_reference
from dashboard.web.rendering import render_value, unreadable_note
from dashboard.web.table_options import TableOptions, is_sensitive
from dashboard.web.unavailable import DatabaseUnreachable

log = logging.getLogger(__name__)

LIST_TEXT_LIMIT = 120
MAX_LIST_COLUMNS = 15
#: The deepest list page served (pages from 0): 10 million pages of 100 rows.
MAX_PAGE = 10_000_000
# The characters Werkzeug leaves unquoted in query strings, so URLs look as url_for makes them.
URL_SAFE = "!$'()*,/:;?@"


class TableView(BaseModelView):
    """List, search, filter, details, create, edit, delete and export for one relation."""

    list_template = "dashboard/list.html"
    details_template = "dashboard/details.html"
    edit_template = "dashboard/edit.html"
    create_template = "dashboard/create.html"
    form_base_class = DashboardForm
    export_types = ["csv"]
    can_set_page_size = True
    page_size_options: tuple[int, ...] = (20, 50, 100)
    column_type_formatters: dict[type, t.Any]

    def __init__(self, store: RecordStore, schema: SchemaInfo, stores: dict[str, RecordStore], *,
                 options: TableOptions, read_only_site: bool, sensitive_patterns: t.Sequence[str],
                 page_size: int, page_sizes: t.Sequence[int], export_max_rows: int,
                 category: str | LocalizedLabel | None) -> None:
        self.store = store
        self.info: TableInfo = store.info
        self.schema = schema
        self.stores = stores
        self.options = options
        self.read_only_site = read_only_site
        self.page_size = page_size
        self.page_size_options = tuple(page_sizes)
        self.export_max_rows = export_max_rows
        self.visible = [c for c in self.info.columns if self._is_visible(c, sensitive_patterns)]
        self.hidden_sensitive = [c.name for c in self.info.columns
                                 if is_sensitive(c.name, sensitive_patterns) and not self.options.column(c.name).get("visible")]
        # A relation the database user may neither insert into, update nor delete from is
        # served read-only, like a view: no button, no route (dashboard.db.privileges).
        self.writable = (self.info.editable and not read_only_site and not options.read_only
                         and self.info.readable and bool(self.info.privileges & db_privileges.WRITES))
        self.fk_by_column = {fk.columns[0]: fk for fk in self.info.foreign_keys
                             if len(fk.columns) == 1 and fk.target_id in stores}
        self.column_labels = {c.key: self._label(c) for c in self.info.columns}
        self.column_list = self._list_keys()
        #: Extra classes of list cells by column key: numbers right-aligned (foreign keys show labels).
        self.cell_classes = {c.key: " dashboard-number" for c in self.visible
                             if self._codec(c.key).kind in NUMBER_KINDS and c.name not in self.fk_by_column}
        self.column_details_list = [c.key for c in self.visible]
        self.column_export_list = [c.key for c in self.visible]
        self.column_formatters = {c.key: self._formatter(c, detail=False) for c in self.visible}
        self.column_formatters_detail = {c.key: self._formatter(c, detail=True) for c in self.visible}
        self.column_type_formatters = {}
        self.column_descriptions = {c.key: c.comment for c in self.visible if c.comment}
        name = table_label(options, self.info.name, self.info.endpoint)
        self._scaffolding = True
        super().__init__(model=self.info, name=name, category=category,
                         endpoint=self.info.endpoint, url=f"{ADMIN_URL}/{self.info.url_path}")
        self._scaffolding = False

    # -- permissions ------------------------------------------------------------
    # What the relation allows (``writable``, a row identity) combined with what the
    # current operator may do, asked of the app's authorizer on every request, so a
    # hidden button is never the only thing standing between a role and a write.
    def allowed(self, action: str) -> bool:
        """Whether the current operator may ``action`` ("view", "create", "edit", "delete", "export")."""
        if self._scaffolding:
            # Flask-Admin builds forms, detail and export columns once, at start-up, and
            # only for the capabilities it sees then: every one the relation supports.
            return True
        if not _has_app():
            return False
        authorize = current_app.extensions["dashboard"].authorize
        return authorize is not None and bool(authorize(self.info, action))

    @property
    def can_create(self) -> bool:
        return self.writable and self.info.may("INSERT") and self.allowed("create")

    @property
    def can_edit(self) -> bool:
        return self.writable and self.info.may("UPDATE") and self.allowed("edit")

    @property
    def can_delete(self) -> bool:
        return self.writable and self.info.may("DELETE") and self.allowed("delete")

    @property
    def can_export(self) -> bool:
        # A list page whose own read was refused (an unpopulated materialized view, a
        # timeout) offers no export: the same read would only bounce back with the message.
        refused = has_request_context() and g.get("dashboard_listing_refused")
        return self.info.readable and self.allowed("export") and not refused

    @property
    def can_view_details(self) -> bool:
        return self.info.has_row_identity and self.info.readable and self.allowed("view")

    def is_visible(self) -> bool:
        # Tables are found with the navbar's search (dashboard/web/navigation.py), not in
        # Flask-Admin's menu, whose one dropdown per category cannot hold 300 tables.
        return False

    def is_accessible(self) -> bool:
        return self.allowed("view")

    # -- configuration ------------------------------------------------------------
    def _is_visible(self, column: ColumnInfo, patterns: t.Sequence[str]) -> bool:
        override = self.options.column(column.name)
        if override.get("hidden"):
            return False
        if is_sensitive(column.name, patterns):
            return bool(override.get("visible"))
        return True

    def _label(self, column: ColumnInfo) -> LocalizedLabel:
        """The column's label in the operator's language (``TABLES`` ``label``/``labels``)."""
        return column_label(self.options, column.name, self.info.endpoint)

    def _list_keys(self) -> list[str]:
        order = self.options.column_order
        visible = {c.name: c for c in self.visible}
        ordered = [visible[name] for name in order if name in visible]
        ordered += [c for c in self.visible if c not in ordered]
        if not order:
            # Long text, search vectors, blobs and JSON crowd a list; they stay on the details page.
            keep = {*self.info.row_key, self.info.display_column or ""}
            ordered = default_list_columns(ordered, self.store.codecs, self.schema.dialect, keep=keep,
                                           limit=MAX_LIST_COLUMNS)
        return [c.key for c in ordered]

    def _codec(self, key: str) -> Codec:
        return self.store.codecs[key]

    def get_pk_value(self, model: Record) -> str:
        return encode_key(model._key, self.store.key_codecs)

    def scaffold_list_columns(self) -> list[str]:
        return [c.key for c in self.visible]

    def scaffold_sortable_columns(self) -> dict[str, str]:
        return {c.key: c.key for c in self.visible if self._codec(c.key).sortable}

    def init_search(self) -> bool:
        self._search_columns = [
            c for c in self.visible
            if self._codec(c.key).searchable and self.options.column(c.name).get("searchable", True)
        ]
        return bool(self._search_columns)

    def search_placeholder(self) -> str | None:
        names = ", ".join(str(self._label(c)) for c in self._search_columns[:4])
        return gettext("Search: %(columns)s", columns=names) if names else None

    def scaffold_filters(self, name: t.Any) -> list[ColumnFilter] | None:
        column = self.info.column_by_key(name)
        if not self.options.column(column.name).get("filterable", True):
            return None
        return filters_for(self.store.column(name), self._label(column), self._codec(name), column.nullable)

    def get_filters(self) -> list[t.Any] | None:
        collected: list[t.Any] = []
        for column in self.visible:
            collected.extend(self.scaffold_filters(column.key) or [])
        return collected or None

    def scaffold_form(self) -> type[DashboardForm]:
        return self._form_class(creating=False)

    def get_create_form(self) -> type[DashboardForm]:
        return self._form_class(creating=True)

    def get_edit_form(self) -> type[DashboardForm]:
        return self._form_class(creating=False)

    def _form_class(self, *, creating: bool) -> type[DashboardForm]:
        fields = {}
        for column in self.visible:
            override = self.options.column(column.name)
            read_only = read_only_reason(column, self._codec(column.key), creating=creating,
                                         configured=bool(override.get("read_only")))
            lookup = None
            fk = self.fk_by_column.get(column.name)
            if fk is not None:
                loader = self._form_ajax_refs.get(column.key) if hasattr(self, "_form_ajax_refs") else None
                if loader is not None:
                    lookup = (column.key, loader.label_for)
            fields[column.key] = field_for(column, self._codec(column.key), creating=creating,
                                           label=self._label(column), lookup=lookup, read_only=read_only)
        return build_form_class(fields, with_fingerprint=not creating)

    # -- what Flask-Admin prepares for every view at start-up, prepared when first needed --
    # On a schema of 600 tables, building every view's create and edit form classes and
    # scanning every view's attributes for actions took a quarter of the start-up, for
    # pages most of which no one opens (bench/schema_size.py).
    def _refresh_forms_cache(self) -> None:
        # Flask-Admin's own, except that the create and edit forms wait for their first use.
        self._form_ajax_refs = self._process_ajax_references()
        widget_args: dict[str, t.Any] | None = getattr(self, "form_widget_args", None)
        self.form_widget_args = widget_args or {}
        self._delete_form_class = self.get_delete_form()
        self._action_form_class = self.get_action_form()
        self.column_editable_list: dict[str, t.Any] = {}
        self._built_forms: dict[bool, type[DashboardForm]] = {}

    @property
    def _create_form_class(self) -> type[DashboardForm]:
        return self._form_on_first_use(creating=True)

    @property
    def _edit_form_class(self) -> type[DashboardForm]:
        return self._form_on_first_use(creating=False)

    def _form_on_first_use(self, *, creating: bool) -> type[DashboardForm]:
        if self._scaffolding:
            # Flask-Admin checks the form classes against form rules as it starts; there are
            # no form rules here, so the bare form passes that check without building one.
            return DashboardForm
        built = self._built_forms.get(creating)
        if built is None:
            # Two threads may both build it: the same class either way, and the last one stays.
            built = self._built_forms[creating] = self._form_class(creating=creating)
        return built

    def init_actions(self) -> None:
        # Flask-Admin's own looks through all ~300 attributes of each view; the @action
        # methods belong to the class, so they are looked for once per class.
        self._actions = []
        self._actions_data = {}
        for attribute, (name, text, description) in _action_methods(type(self)):
            self._actions.append((name, text))
            self._actions_data[name] = (getattr(self, attribute), text, description)

    def ajax_update(self) -> t.NoReturn:
        # Flask-Admin's inline editing of list cells, which the dashboard never offers: not
        # exposed here, so it is not a route (one rule fewer per table, and no write path
        # around the edit form's checks).
        abort(404)

    def _process_ajax_references(self) -> dict[str, AjaxModelLoader]:
        loaders: dict[str, AjaxModelLoader] = {}
        for column in self.visible:
            fk = self.fk_by_column.get(column.name)
            if fk is None:
                continue
            target = self.stores[fk.target_id]
            display = self.display_column_of(target.info)
            allowed = functools.partial(self.may_see, target.info.id, display)
            readable = functools.partial(self.may_see, target.info.id, fk.target_columns[0])
            loaders[column.key] = ForeignKeyLoader(column.key, target, fk.target_columns[0], display, allowed,
                                                   readable)
        return loaders

    def may_see(self, table_id: str, column_name: str | None = None) -> bool:
        """Whether the current operator may open table ``table_id`` (and see its ``column_name``).

        Foreign-key labels, links and lookups show nothing of a table the operator may not
        open: they would leak its rows (or, for a hidden column, its values) past its permission.
        """
        view = current_app.extensions["dashboard"].views.get(table_id) if _has_app() else None
        # A table the database user may not read is never queried: its keys show as they are.
        if view is None or not view.info.readable or not view.is_accessible():
            return False
        return column_name is None or any(c.name == column_name for c in view.visible)

    def display_column_of(self, info: TableInfo) -> str | None:
        """The column that labels rows of ``info`` where they are referenced (configured, else reflected)."""
        configured = (current_app.config.get("TABLES", {}).get(info.endpoint, {}) or {}).get("display_column") \
            if _has_app() else None
        if configured and any(c.name == configured for c in info.columns):
            return str(configured)
        return info.display_column

    # -- reading ------------------------------------------------------------------
    def _conditions(self, search: str | None, filters: t.Sequence[t.Any] | None) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if search:
            condition = search_condition([self.store.column(c.key) for c in self._search_columns], search)
            if condition is not None:
                where.append(condition)
        for index, _name, value in filters or ():
            if not 0 <= index < len(self._filters or ()):
                continue
            flt = self._filters[index]
            try:
                where = flt.apply(where, flt.clean(value))
            except ValueError:
                continue
        return where

    def get_list(self, page: int | None, sort_field: t.Any, sort_desc: bool, search: str | None,
                 filters: t.Any, execute: bool = True, page_size: int | None = None) -> tuple[int | None, list[Record]]:
        where = self._conditions(search, filters)
        order = self._order(sort_field, sort_desc)
        size = page_size or self.page_size
        # A page number past any real table would overflow the database's OFFSET (a 500).
        number = min(max(0, page or 0), MAX_PAGE)
        args = {"order": order, "search": search or "", "size": size,
                "filters": [(index, value) for index, _name, value in filters or ()]}
        query = ListingQuery(self.store, listing_cache(), self._cache_scope(), where, order, args)
        fresh = request.args.get("refresh") == "1"
        try:
            result = query.page(number, size, self._load_fk_labels, fresh=fresh)
            count = query.count(exact=request.args.get("exact_count") == "1",
                                estimate_above=int(current_app.config["COUNT_ESTIMATE_ABOVE"]),
                                cap=int(current_app.config["COUNT_CAP"]))
        except (SQLAlchemyError, OverflowError) as exc:
            error = classify(exc)
            if error.kind in (Kind.GONE, Kind.OTHER):
                raise  # a 503 page, or a server error: a statement refused otherwise is a bug
            # A statement timeout, an unpopulated materialized view, a privilege the probe
            # did not see: a message on the page, not a server error.
            log.info("listing of %s failed (%s): %s", self.info.id, error.kind, error.reason)
            flash(translate(read_message(error, self.info.name)), "error")
            g.dashboard_listing_refused = True
            return 0, []
        g.dashboard_fk_labels = result.extras
        g.dashboard_listing = {"count": count, "read_at": result.read_at, "cached": result.cached}
        # An estimate or a capped count is still a number for the pager; the page says which it is.
        return count.rows, result.records

    def _cache_scope(self) -> list[t.Any]:
        """Who is asking, as far as it could change a listing: the role and its rights on this table."""
        from flask_login import current_user

        actions = [a for a in ("view", "create", "edit", "delete", "export") if self.allowed(a)]
        return [getattr(current_user, "role", None), actions]

    def listing_url(self, **changes: str) -> str:
        """The current listing's URL with ``changes`` to its arguments."""
        args: dict[str, t.Any] = request.args.to_dict(flat=False)
        args.update({name: [value] for name, value in changes.items()})
        return url_for(f"{self.endpoint}.index_view", **args)

    def row_url(self, endpoint: str, row_id: str, return_url: str) -> str:
        """The URL of a row's details or edit page, for the list's row buttons."""
        return self.cheap_url(endpoint, id=row_id, url=return_url)

    def cheap_url(self, endpoint: str, **args: str) -> str:
        """``url_for(endpoint, **args)`` for links repeated on every row of a list.

        ``url_for`` runs once per endpoint and request, not once per row and link: on a
        20-row page those ~80 calls were a third of the page's time (bench/).
        """
        bases = g.setdefault("dashboard_url_bases", {})
        base = bases.get(endpoint) or bases.setdefault(endpoint, self.get_url(endpoint))
        return f"{base}?{urlencode(args, safe=URL_SAFE)}"

    def listing_info(self) -> dict[str, t.Any] | None:
        """How the current listing was read: its count kind and when its rows were read."""
        return g.get("dashboard_listing")

    def _order(self, sort_field: t.Any, sort_desc: bool) -> list[tuple[str, bool]]:
        if sort_field and sort_field in self._sortable_columns:
            return [(str(sort_field), bool(sort_desc))]
        return []

    def get_one(self, id: t.Any) -> Record | None:
        if not self.info.has_row_identity or not isinstance(id, str):
            return None
        try:
            key = decode_key(id, self.store.key_codecs)
        except BadKey:
            return None
        try:
            record = self.store.get(key)
        except (SQLAlchemyError, OverflowError) as exc:
            if is_gone(exc):
                raise
            log.info("lookup of %r in %s failed: %s", id, self.info.id, exc)
            return None
        if record is not None:
            g.dashboard_fk_labels = self._load_fk_labels([record])
        return record

    def _load_fk_labels(self, records: t.Sequence[Record]) -> dict[tuple[str, t.Any], str]:
        """Labels of the rows the page's foreign keys point at: one query per foreign key."""
        labels: dict[tuple[str, t.Any], str] = {}
        for column_name, fk in self.fk_by_column.items():
            column = self.info.column(column_name)
            if column.key not in self.column_list and len(records) > 1:
                continue
            target = self.stores[fk.target_id]
            display = self.display_column_of(target.info)
            if display is None or not self.may_see(target.info.id, display):
                continue
            values = {getattr(r, column.key) for r in records} - {None}
            if not values:
                continue
            target_column = target.info.column(fk.target_columns[0])
            statement = sa.select(target.table.c[target_column.name], target.table.c[display]).where(
                target.table.c[target_column.name].in_(list(values)[:500]))
            try:
                with target.engine.connect() as connection:
                    for value, label in connection.execute(statement):
                        labels[(column.key, value)] = "" if label is None else str(label)
            except SQLAlchemyError as exc:
                log.warning("could not load labels from %s: %s", target.info.id, exc)
        return labels

    # -- rendering ------------------------------------------------------------------
    def _formatter(self, column: ColumnInfo, *, detail: bool) -> t.Callable[..., t.Any]:
        """Render a value: foreign keys as labelled links, blobs as downloads (details), the rest escaped."""
        codec = self._codec(column.key)
        fk = self.fk_by_column.get(column.name)
        # Keys are identifiers, not quantities: 10042 is not written 10,042; nor is the year 2006.
        grouping = not column.primary_key and column.name not in self.info.row_key and not _is_year(column)

        def formatter(view: TableView, context: t.Any, model: Record, name: str) -> t.Any:
            value = getattr(model, column.key)
            if fk is not None and value is not None:
                return self._fk_link(column, fk, value)
            if detail and codec.kind == "binary" and value is not None:
                url = self.get_url(".download_view", id=self.get_pk_value(model), column=column.key)
                return Markup('<a href="{}" download>{}</a>').format(url, codec.to_text(value))
            return render_value(codec, value, limit=None if detail else LIST_TEXT_LIMIT, grouping=grouping)

        return formatter

    def _fk_link(self, column: ColumnInfo, fk: t.Any, value: t.Any) -> Markup:
        target = self.stores[fk.target_id]
        text = self._codec(column.key).to_text(value)
        label = g.get("dashboard_fk_labels", {}).get((column.key, value))
        shown = f"{label} ({text})" if label else text
        if (target.info.has_row_identity and tuple(target.info.row_key) == tuple(fk.target_columns)
                and self.may_see(target.info.id)):
            url = self.cheap_url(f"{target.info.endpoint}.details_view", id=text)
            return Markup('<a href="{}">{}</a>').format(url, shown)
        return Markup("{}").format(shown)

    def render(self, template: str, **kwargs: t.Any) -> str:
        kwargs.setdefault("table_info", self.info)
        kwargs.setdefault("table_notice", self._notice())
        kwargs.setdefault("related_links", self._related_links(kwargs.get("model")))
        if template == self.details_template:
            kwargs.setdefault("linked_rows", linked_rows(self, kwargs.get("model")))
        return super().render(template, **kwargs)

    def _notice(self) -> list[str]:
        notes = [translate(note) for note in self.info.notes]
        if self.info.read_only_reason:
            notes.insert(0, translate(self.info.read_only_reason))
        elif self.read_only_site:
            notes.insert(0, gettext("The dashboard runs in read-only mode."))
        elif self.options.read_only:
            notes.insert(0, gettext("This table is configured read-only."))
        elif self.info.readable and self.info.privilege_notice:
            # Otherwise writable: what the database user may not do is why it is not (or only partly).
            notes.insert(0, translate(self.info.privilege_notice))
        if not self.info.readable:
            notes.insert(0, translate(self.info.privilege_notice))
        if self.hidden_sensitive:
            notes.append(gettext("Hidden because they look secret: %(columns)s.", columns=", ".join(self.hidden_sensitive)))
        return notes

    def _related_links(self, model: Record | None) -> list[tuple[str, str]]:
        """Links from a row's details to the rows of other tables that refer to it."""
        if model is None or not isinstance(model, Record):
            return []
        links = []
        for child_id, fk in self.info.referenced_by:
            child_view = current_app.extensions["dashboard"].views.get(child_id)
            if child_view is None or len(fk.columns) != 1 or not self.may_see(child_id):
                continue
            target_column = self.info.column(fk.target_columns[0])
            value = getattr(model, target_column.key)
            url = child_view.filtered_url(fk.columns[0], self._codec(target_column.key).to_text(value))
            if url:
                links.append((f"{child_view.name} ({fk.columns[0]})", url))
        return links

    def filtered_url(self, column_name: str, value_text: str) -> str | None:
        """The list URL showing rows whose ``column_name`` equals ``value_text``."""
        for index, flt in enumerate(self._filters or ()):
            if isinstance(flt, EqualFilter) and flt.column.name == column_name:
                arg = self.get_filter_arg(index, flt)
                args: dict[str, t.Any] = {f"flt0_{arg}": value_text}
                return url_for(f"{self.endpoint}.index_view", **args)
        return None

    # -- writing ----------------------------------------------------------------
    def _typed_values(self, form: t.Any, *, only_changed_from: dict[str, str] | None) -> dict[str, t.Any]:
        values: dict[str, t.Any] = {}
        for field in form:
            if field.name in ("csrf_token", "fingerprint", submissions.FIELD) or isinstance(field, ReadOnlyField):
                continue
            column = self.info.column_by_key(field.name)
            codec = self._codec(field.name)
            text = field.data if isinstance(field.data, str) else ""
            if only_changed_from is not None and text == only_changed_from.get(field.name, ""):
                continue
            if text == "" and only_changed_from is None and (column.has_server_default or column.autoincrement):
                continue  # left out of the INSERT: the database fills it in
            if text == "" and column.nullable:
                values[field.name] = None
            else:
                values[field.name] = codec.from_text(text)
        return values

    def create_model(self, form: t.Any) -> Record | bool:
        # Saved once however often the same form is sent (double click, resend).
        return submissions.create_once(form, lambda: self._create(form),
                                       get_redirect_target() or self.get_url(".index_view"))

    def _create(self, form: t.Any) -> Record | bool:
        values: dict[str, t.Any] = {}
        try:
            values = self._typed_values(form, only_changed_from=None)
            key = self.store.insert(values)
        except ValueError as exc:
            flash(exception_text(exc), "error")
            return False
        except WriteError as exc:
            self._write_failed("create", None, audit.created(self, values), exc.message, exc.unavailable, exc.kind)
            if exc.kind == Kind.CONSTRAINT:
                violations.mark_fields(form, violations.field_errors(self.store, self.stores, values, None))
            flash(translate(exc.message), "error")
            return False
        self._after_write()
        complete = all(part is not None for part in key)
        audit.record_write("create", self.info.id, changes=audit.created(self, values),
                           row_key=encode_key(key, self.store.key_codecs) if complete else None)
        return Record(values, key) if complete else True

    def update_model(self, form: t.Any, model: Record) -> bool:
        loaded = {c.key: self._codec(c.key).to_text(getattr(model, c.key)) for c in self.info.columns}
        changes: dict[str, t.Any] = {}
        fingerprint = form.fingerprint.data
        if not self.store.is_fingerprint(fingerprint):
            return self._refuse_unverified_edit(form, model, loaded)
        try:
            changes = self._typed_values(form, only_changed_from=loaded)
            self.store.update(model._key, changes, fingerprint)
        except Conflict as conflict:
            self._write_failed("edit", self.get_pk_value(model), audit.edited(self, model, changes),
                               N_("Not saved: the row was changed or deleted by someone else after it was opened."))
            # Kept for this request only: the view object is shared by every operator.
            g.dashboard_conflict = self._differences(form, conflict.current)
            flash(gettext("This row was changed by someone else after you opened it. Nothing was saved: "
                          "compare the values below, then save again to overwrite."), "error")
            if conflict.current is not None:
                form.fingerprint.data = self.store.fingerprint(conflict.current)
            return False
        except ValueError as exc:
            flash(exception_text(exc), "error")
            return False
        except WriteError as exc:
            self._write_failed("edit", self.get_pk_value(model), audit.edited(self, model, changes), exc.message,
                               exc.unavailable, exc.kind)
            if exc.kind == Kind.CONSTRAINT:
                violations.mark_fields(form, violations.field_errors(self.store, self.stores, changes, model._key))
            flash(translate(exc.message), "error")
            return False
        self._after_write()
        audit.record_write("edit", self.info.id, row_key=self.get_pk_value(model),
                           changes=audit.edited(self, model, changes))
        return True

    def _refuse_unverified_edit(self, form: t.Any, model: Record, loaded: dict[str, str]) -> bool:
        """Turn away an edit sent without the fingerprint of the row it was opened on.

        Without it no change made meanwhile by someone else can be noticed, so the edit
        would overwrite blindly (a script, or a form whose hidden field was emptied). The
        form comes back as typed, beside the row as it is now, carrying that row's
        fingerprint: saving again is a decision taken with the current values in view.
        """
        changes: t.Any = None
        try:
            changes = audit.edited(self, model, self._typed_values(form, only_changed_from=loaded))
        except ValueError:
            pass  # the values are refused as well; the entry keeps the row key and the reason
        self._write_failed("edit", self.get_pk_value(model), changes,
                           N_("Not saved: the form did not say which version of the row it was opened on."))
        g.dashboard_conflict = self._differences(form, model)
        g.dashboard_conflict_unverified = True
        flash(gettext("Nothing was saved: the form did not say which version of the row it was opened on, so a "
                      "change made by someone else meanwhile could not be noticed. Compare your values with the "
                      "row as it is now, then save again."), "error")
        form.fingerprint.data = self.store.fingerprint(model)
        return False

    def conflict(self) -> list[tuple[LocalizedLabel, str, str]] | None:
        """``(column, your value, value now)`` where this request's save met a changed row."""
        return g.get("dashboard_conflict")

    def conflict_unverified(self) -> bool:
        """Whether :meth:`conflict` is there because the form came without its fingerprint."""
        return bool(g.get("dashboard_conflict_unverified"))

    def _differences(self, form: t.Any, current: Record | None) -> list[tuple[LocalizedLabel, str, str]]:
        if current is None:
            return []
        found = []
        for field in form:
            if field.name in ("csrf_token", "fingerprint") or isinstance(field, ReadOnlyField):
                continue
            now = self._codec(field.name).to_text(getattr(current, field.name))
            yours = field.data if isinstance(field.data, str) else ""
            if yours != now:
                found.append((self._label(self.info.column_by_key(field.name)), yours, now))
        return found

    def delete_model(self, model: Record) -> bool:
        key, removed = self.get_pk_value(model), audit.deleted(self, model)
        try:
            self.store.delete([model._key])
        except WriteError as exc:
            reason = self._blocked_by(exc, [model._key])
            self._write_failed("delete", key, removed, reason or exc.message, exc.unavailable, exc.kind)
            flash(gettext("Nothing was deleted. %(reason)s", reason=translate(reason)) if reason
                  else translate(exc.message), "error")
            return False
        self._after_write()
        audit.record_write("delete", self.info.id, row_key=key, changes=removed)
        return True

    def _blocked_by(self, exc: WriteError, keys: t.Sequence[t.Sequence[t.Any]]) -> str | None:
        """Which of ``keys`` another row still refers to, when that is why a delete was refused.

        Asked only of a foreign key refusal: a refused privilege is never blamed on a row
        that happens to refer to the selected one.
        """
        error = exc.error
        if error is None or error.kind is not Kind.CONSTRAINT or error.detail not in ("foreign_key", None):
            return None
        return blocking_reference(self.store, self.stores, keys, self.may_see)

    def _after_write(self) -> None:
        """Every listing of this table, on every worker, must now be read afresh."""
        cache = listing_cache()
        if cache is not None:
            cache.bump(self.info.id)

    def create_form(self, obj: t.Any = None) -> t.Any:
        form = super().create_form(obj)
        if request.method == "GET":
            # "Add a link" on a details page opens the association's form with the row chosen:
            # foreign-key fields only take a value from the address, and only one that parses.
            for column_name in self.fk_by_column:
                column = self.info.column(column_name)
                text = request.args.get(column.key)
                field = getattr(form, column.key, None)
                if text is None or field is None or isinstance(field, ReadOnlyField):
                    continue
                try:
                    self._codec(column.key).from_text(text)
                except ValueError:
                    continue
                field.data = text
        return form

    def edit_form(self, obj: Record | None = None) -> t.Any:
        form = super().edit_form(obj=None)
        if obj is not None:
            for field in form:
                if field.name in ("csrf_token", "fingerprint"):
                    continue
                # Sent back unchanged, a value is neither checked nor written (a MySQL zero
                # date, which no codec parses, must not block saving the row's other columns).
                field.loaded_text = self._codec(field.name).to_text(getattr(obj, field.name))
                note = unreadable_note(getattr(obj, field.name))
                if note is not None:
                    field.description = escape(note)  # Flask-Admin shows descriptions unescaped
                if request.method == "GET" or isinstance(field, ReadOnlyField):
                    field.data = field.loaded_text
            if request.method == "GET":
                form.fingerprint.data = self.store.fingerprint(obj)
        return form

    @action("delete", lazy_gettext("Delete"), lazy_gettext(
        "Delete {count} selected record(s)? All of them are deleted, or none."))
    def action_delete(self, ids: list[str]) -> None:
        if not self.can_delete:
            flash(gettext("Permission denied."), "error")
            return
        listed = json.dumps(ids, ensure_ascii=False)
        try:
            keys = [decode_key(i, self.store.key_codecs) for i in ids]
        except BadKey:
            self._write_failed("bulk_delete", listed, None, N_("Some of the selected rows do not exist."))
            flash(gettext("Some of the selected rows do not exist."), "error")
            return
        removed = audit.rows_to_delete(self, keys)
        try:
            deleted = self.store.delete(keys)
        except RowsGone as gone:
            # All or none: a row deleted meanwhile makes the selection stale, and the rows
            # the operator chose it with in mind may have changed too.
            shown = ", ".join(encode_key(key, self.store.key_codecs) for key in gone.keys)
            self._write_failed("bulk_delete", listed, None,
                               Message(N_("Nothing was deleted: these selected rows no longer exist: %(keys)s."),
                                       keys=shown))
            flash(ngettext("Nothing was deleted: the selected row %(keys)s no longer exists. Reload the list "
                           "and select again.",
                           "Nothing was deleted: the selected rows %(keys)s no longer exist. Reload the list "
                           "and select again.", len(gone.keys), keys=shown), "error")
            return
        except WriteError as exc:
            blocked = self._blocked_by(exc, keys)
            self._write_failed("bulk_delete", listed, None, blocked or exc.message, exc.unavailable, exc.kind)
            flash(gettext("Nothing was deleted. %(reason)s", reason=translate(blocked)) if blocked
                  else translate(exc.message), "error")
            return
        self._after_write()
        audit.record_write("bulk_delete", self.info.id, row_key=listed, changes=removed)
        flash(ngettext("Record was successfully deleted.", "%(count)s records were successfully deleted.",
                       deleted, count=deleted), "success")

    # -- audit ------------------------------------------------------------------------
    # Every write is recorded by dashboard.security.audit in the state database: after it commits,
    # or as "failed" with the reason when it was refused, so a rolled-back write is on
    # record too.
    def _handle_view(self, name: str, **kwargs: t.Any) -> t.Any:
        if request.method == "POST" and name in audit.WRITE_VIEWS:
            audit.record_refused_post(self, name)
        response = super()._handle_view(name, **kwargs)
        if response is None and not self.info.readable:
            # Every page of a relation the database user may not read says so, and none of
            # them queries it.
            return self.render("dashboard/unreadable.html"), 403
        if response is None and name in audit.WRITE_VIEWS and not self._may_write(name):
            # Flask-Admin answers a write it will not do with a redirect to the list, which
            # reads like success to a script; a write route the operator may not use is a 403.
            abort(403, description=self._refusal(audit.WRITE_VIEWS[name]))
        return response

    def _refusal(self, right: str) -> str:
        """Why the current operator may not ``right`` ("create", "edit", "delete") here."""
        if not self.allowed(right):
            return gettext("Permission denied.")
        privilege = {"create": "INSERT", "edit": "UPDATE", "delete": "DELETE"}[right]
        if self.info.editable and not (self.read_only_site or self.options.read_only) and not self.info.may(privilege):
            return translate(Message(db_privileges.REFUSED, privilege=privilege, table=self.info.name))
        return gettext("This table is read-only.")

    def _may_write(self, name: str) -> bool:
        if name == "action_view":
            chosen = request.form.get("action", "")
            # Bulk actions, plugins' too, each know their right; Flask-Admin ignores unknown ones.
            return chosen not in self._actions_data or self.is_action_allowed(chosen)
        return bool(getattr(self, f"can_{audit.WRITE_VIEWS[name]}"))

    def _write_failed(self, action: str, row_key: str | None, changes: t.Any, message: str,
                      unavailable: bool = False, kind: str | None = None) -> None:
        """Record a refused write (``kind``: why the database refused it, :mod:`dashboard.db.errors`);
        a lost database then answers 503 instead of the form."""
        audit.record_write(action, self.info.id, row_key=row_key, changes=changes, outcome="failed",
                           message=message, kind=kind)
        if unavailable:
            raise DatabaseUnreachable()

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete" and not self.can_delete:
            return False
        # Bulk actions added by plugins (dashboard.plugins.hooks) need their own right on this table.
        plugin_action = getattr(self, "plugin_actions", {}).get(name)
        if plugin_action is not None:
            return bool(plugin_action.allowed_on(self))
        return super().is_action_allowed(name)

    # -- export and download ------------------------------------------------------
    def _export_csv(self, return_url: t.Any) -> BaseResponse:
        view_args = self._get_list_extra_args()
        column = self._get_column_by_idx(view_args.sort)
        order = self._order(column[0] if column else None, view_args.sort_desc)
        where = self._conditions(view_args.search, view_args.filters)
        keys = list(self.column_export_list)
        try:
            # The first row is read now: a refusal (privilege, timeout, an unpopulated view)
            # is a message on the list page rather than a download cut short.
            # One row more than the limit: the sign that the file must say it was cut.
            rows = export.started(self.store.stream(keys, where=where, order=order,
                                                    limit=self.export_max_rows + 1))
        except (SQLAlchemyError, OverflowError) as exc:
            error = classify(exc)
            if error.kind in (Kind.GONE, Kind.OTHER):
                raise
            log.info("export of %s failed (%s): %s", self.info.id, error.kind, error.reason)
            flash(translate(read_message(error, self.info.name)), "error")
            return redirect(return_url)
        # The header is written in the operator's language now, while the request is there.
        limited = export.RowLimit(rows, self.export_max_rows)
        body = itertools.chain(
            export.csv_stream([str(self.column_labels.get(key, key)) for key in keys], limited,
                              [self._codec(key) for key in keys]),
            export.cut_notice(limited, self.export_cut_text()))
        filename = export.filename(self.info.name)
        return Response(stream_with_context(body), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=\"{filename}\""})

    def export_cut_text(self) -> str:
        """The last line of an export cut at ``EXPORT_MAX_ROWS``, in the operator's language."""
        return gettext("Export cut at %(count)s rows (the EXPORT_MAX_ROWS setting): more rows match. "
                       "Narrow it with a search or a filter to export the rest.",
                       count=format_number(self.export_max_rows))

    def export_limit_notice(self) -> str | None:
        """For the list page: a note beside the export button when the listing has more rows
        than one export writes (an estimate counts; a capped count below the limit cannot tell)."""
        listing = self.listing_info()
        if not listing or listing["count"].rows <= self.export_max_rows:
            return None
        return gettext("An export writes the first %(count)s rows only.", count=format_number(self.export_max_rows))

    @expose("/download/")
    def download_view(self) -> Response:
        """A binary value as a download, never rendered inline."""
        key = request.args.get("column", "")
        column = next((c for c in self.visible if c.key == key and self._codec(c.key).kind == "binary"), None)
        model = self.get_one(request.args.get("id", "")) if column else None
        if column is None or model is None:
            abort(404)
        data = getattr(model, column.key) or b""
        filename = export.filename(f"{self.info.name}-{column.name}", "bin")
        return Response(bytes(data), mimetype="application/octet-stream",
                        headers={"Content-Disposition": f"attachment; filename=\"{filename}\"",
                                 "X-Content-Type-Options": "nosniff"})

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, OperationalError):
            return False
        return super().handle_view_exception(exc)

    def get_save_return_url(self, model: Record, is_created: bool = False) -> str:
        return get_redirect_target() or self.get_url(".index_view")


def _is_year(column: ColumnInfo) -> bool:
    """Whether a number column holds years (MySQL's YEAR, a domain or a column named so)."""
    type_name = str(getattr(column.type, "name", None) or type(column.type).__name__)
    return type_name.lower() == "year" or column.name.lower().endswith("year")


_ACTION_METHODS: dict[type, list[tuple[str, tuple[str, str, str | None]]]] = {}


def _action_methods(cls: type) -> list[tuple[str, tuple[str, str, str | None]]]:
    """``(attribute, (name, text, confirmation))`` of every ``@action`` method of a view class."""
    if cls not in _ACTION_METHODS:
        found = []
        for attribute in dir(cls):
            # From the class dictionaries, as Flask-Admin does: no property is evaluated.
            owner = next((klass for klass in cls.__mro__ if attribute in klass.__dict__), None)
            marked = getattr(owner.__dict__[attribute], "_action", None) if owner is not None else None
            if marked is not None:
                found.append((attribute, marked))
        _ACTION_METHODS[cls] = found
    return _ACTION_METHODS[cls]


def _has_app() -> bool:
    from flask import has_app_context

    return has_app_context()
