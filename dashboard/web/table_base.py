"""The ground floor of a table's view: set-up from the reflection and the settings, permissions,
and how one value is shown (:class:`TableBase`; :mod:`dashboard.web.table_view` builds on it)."""

from __future__ import annotations

import functools
import typing as t
from urllib.parse import urlencode

from flask import (
    abort,
    current_app,
    g,
    has_request_context,
)
from flask_admin.model import BaseModelView
from flask_admin.model.ajax import AjaxModelLoader
from markupsafe import Markup

from dashboard.db import privileges as db_privileges
from dashboard.db.codecs import Codec
from dashboard.db.fulltext import FullTextIndex
from dashboard.db.list_columns import default_list_columns
from dashboard.db.records import Record, RecordStore
from dashboard.db.reflection import ColumnInfo, SchemaInfo, TableInfo
from dashboard.i18n.formatting import NUMBER_KINDS
from dashboard.security.permissions import can
from dashboard.site_state import current_site
from dashboard.urls import ADMIN_URL
from dashboard.web import text_search
from dashboard.web.filter_bar import more_filters_for
from dashboard.web.filters import ColumnFilter, filters_for
from dashboard.web.forms import (
    DashboardForm,
    build_form_class,
    field_for,
    read_only_reason,
)
from dashboard.web.keys import encode_key
from dashboard.web.labels import LocalizedLabel, column_label, table_label
from dashboard.web.lookups import ForeignKeyLoader
from dashboard.web.rendering import render_value
from dashboard.web.table_options import TableOptions, is_sensitive, table_entry

LIST_TEXT_LIMIT = 120
MAX_LIST_COLUMNS = 15
#: The deepest list page served (pages from 0): 10 million pages of 100 rows.
MAX_PAGE = 10_000_000
# The characters Werkzeug leaves unquoted in query strings, so URLs look as url_for makes them.
URL_SAFE = "!$'()*,/:;?@"


class TableBase(BaseModelView):
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
    #: The full-text index the search box runs on, or ``None`` for ``LIKE`` (set by :meth:`init_search`).
    full_text: FullTextIndex | None = None
    _search_columns: list[ColumnInfo]

    def __init__(
        self,
        store: RecordStore,
        schema: SchemaInfo,
        stores: dict[str, RecordStore],
        *,
        options: TableOptions,
        read_only_site: bool,
        sensitive_patterns: t.Sequence[str],
        page_size: int,
        page_sizes: t.Sequence[int],
        export_max_rows: int,
        category: str | LocalizedLabel | None,
    ) -> None:
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
        self.hidden_sensitive = [
            c.name
            for c in self.info.columns
            if is_sensitive(c.name, sensitive_patterns) and not self.options.column(c.name).get("visible")
        ]
        # A relation the database user may neither insert into, update nor delete from is
        # served read-only, like a view: no button, no route (dashboard.db.privileges).
        self.writable = (
            self.info.editable
            and not read_only_site
            and not options.read_only
            and self.info.readable
            and bool(self.info.privileges & db_privileges.WRITES)
        )
        self.fk_by_column = {
            fk.columns[0]: fk for fk in self.info.foreign_keys if len(fk.columns) == 1 and fk.target_id in stores
        }
        self.column_labels = {c.key: self._label(c) for c in self.info.columns}
        self.column_list = self._list_keys()
        #: Extra classes of list cells by column key: numbers right-aligned (foreign keys show labels).
        self.cell_classes = {
            c.key: " dashboard-number"
            for c in self.visible
            if self._codec(c.key).kind in NUMBER_KINDS and c.name not in self.fk_by_column
        }
        self.column_details_list = [c.key for c in self.visible]
        self.column_export_list = [c.key for c in self.visible]
        self.column_formatters = {c.key: self._formatter(c, detail=False) for c in self.visible}
        self.column_formatters_detail = {c.key: self._formatter(c, detail=True) for c in self.visible}
        self.column_type_formatters = {}
        self.column_descriptions = {c.key: c.comment for c in self.visible if c.comment}
        name = table_label(options, self.info.name, self.info.endpoint)
        self._scaffolding = True
        super().__init__(
            model=self.info,
            name=name,
            category=category,
            endpoint=self.info.endpoint,
            url=f"{ADMIN_URL}/{self.info.url_path}",
        )
        self._scaffolding = False

    # -- permissions ------------------------------------------------------------
    # What the relation allows (``writable``, a row identity) combined with what the
    # current operator may do, asked of ``permissions.can`` on every request, so a
    # hidden button is never the only thing standing between a role and a write.
    def allowed(self, action: str) -> bool:
        """Whether the current operator may ``action`` ("view", "create", "edit", "delete", "export")."""
        if self._scaffolding:
            # Flask-Admin builds forms, detail and export columns once, at start-up, and
            # only for the capabilities it sees then: every one the relation supports.
            return True
        if not _has_app():
            return False
        return can(action, self.info)

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
            ordered = default_list_columns(
                ordered, self.store.codecs, self.schema.dialect, keep=keep, limit=MAX_LIST_COLUMNS
            )
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
            c
            for c in self.visible
            if self._codec(c.key).searchable and self.options.column(c.name).get("searchable", True)
        ]
        # The database's own full-text index, when there is one the operator may use (web/text_search.py).
        self.full_text = text_search.usable_index(self)
        return bool(self._search_columns) or self.full_text is not None

    def search_placeholder(self) -> str | None:
        return text_search.placeholder(self)

    def scaffold_filters(self, name: t.Any) -> list[ColumnFilter] | None:
        column = self.info.column_by_key(name)
        if not self.options.column(column.name).get("filterable", True):
            return None
        return filters_for(self.store.column(name), self._label(column), self._codec(name), column.nullable)

    def get_filters(self) -> list[t.Any] | None:
        collected: list[t.Any] = []
        for column in self.visible:
            collected.extend(self.scaffold_filters(column.key) or [])
        # The later operations after every original one: an original's index, so its address, stays.
        for column in self.visible:
            if collected and self.options.column(column.name).get("filterable", True):
                codec = self._codec(column.key)
                label = self._label(column)
                collected.extend(more_filters_for(self.store.column(column.key), label, codec, column.nullable))
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
            read_only = read_only_reason(
                column, self._codec(column.key), creating=creating, configured=bool(override.get("read_only"))
            )
            lookup = None
            fk = self.fk_by_column.get(column.name)
            if fk is not None:
                loader = self._form_ajax_refs.get(column.key) if hasattr(self, "_form_ajax_refs") else None
                if loader is not None:
                    lookup = (column.key, loader.label_for)
            fields[column.key] = field_for(
                column,
                self._codec(column.key),
                creating=creating,
                label=self._label(column),
                lookup=lookup,
                read_only=read_only,
            )
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
            loaders[column.key] = ForeignKeyLoader(column.key, target, fk.target_columns[0], display, allowed, readable)
        return loaders

    def may_see(self, table_id: str, column_name: str | None = None) -> bool:
        """Whether the current operator may open table ``table_id`` (and see its ``column_name``).

        Foreign-key labels, links and lookups show nothing of a table the operator may not
        open: they would leak its rows (or, for a hidden column, its values) past its permission.
        """
        view = current_site().views.get(table_id) if _has_app() else None
        # A table the database user may not read is never queried: its keys show as they are.
        if view is None or not view.info.readable or not view.is_accessible():
            return False
        return column_name is None or any(c.name == column_name for c in view.visible)

    def display_column_of(self, info: TableInfo) -> str | None:
        """The column that labels rows of ``info`` where they are referenced (configured, else reflected)."""
        configured = (
            TableOptions(table_entry(current_app.config.get("TABLES", {}), info)).display_column if _has_app() else None
        )
        if configured and any(c.name == configured for c in info.columns):
            return str(configured)
        return info.display_column

    def cheap_url(self, endpoint: str, **args: str) -> str:
        """``url_for(endpoint, **args)`` for links repeated on every row of a list.

        ``url_for`` runs once per endpoint and request, not once per row and link: on a
        20-row page those ~80 calls were a third of the page's time (bench/).
        """
        bases = g.setdefault("dashboard_url_bases", {})
        base = bases.get(endpoint) or bases.setdefault(endpoint, self.get_url(endpoint))
        return f"{base}?{urlencode(args, safe=URL_SAFE)}"

    # -- rendering one value ------------------------------------------------------
    def _formatter(self, column: ColumnInfo, *, detail: bool) -> t.Callable[..., t.Any]:
        """Render a value: foreign keys as labelled links, blobs as downloads (details), the rest escaped."""
        codec = self._codec(column.key)
        fk = self.fk_by_column.get(column.name)
        # Keys are identifiers, not quantities: 10042 is not written 10,042; nor is the year 2006.
        grouping = not column.primary_key and column.name not in self.info.row_key and not _is_year(column)

        def formatter(view: TableBase, context: t.Any, model: Record, name: str) -> t.Any:
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
        if (
            target.info.has_row_identity
            and tuple(target.info.row_key) == tuple(fk.target_columns)
            and self.may_see(target.info.id)
        ):
            url = self.cheap_url(f"{target.info.endpoint}.details_view", id=text)
            return Markup('<a href="{}">{}</a>').format(url, shown)
        return Markup("{}").format(shown)


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
