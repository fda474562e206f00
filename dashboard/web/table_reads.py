"""Reading a table for its pages: listings (search, filters, sort, cached pages and counts), one
row, and what a page shows around the rows (notices, links to related rows)."""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from flask import (
    current_app,
    flash,
    g,
    request,
    url_for,
)
from flask_admin.base import expose
from flask_admin.model import BaseModelView
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.errors import Kind, classify, is_gone, read_message
from dashboard.db.listing import ListingQuery
from dashboard.db.records import Record
from dashboard.i18n.translation import gettext, translate
from dashboard.site_state import current_site
from dashboard.web import column_choices, filter_bar, form_rendering, list_rows, page_cache, saved_views, text_search
from dashboard.web.caching import listing_cache
from dashboard.web.column_choices import ColumnChoices
from dashboard.web.filters import EqualFilter
from dashboard.web.keys import BadKey, decode_key
from dashboard.web.links import linked_rows
from dashboard.web.saved_views import SavedViews
from dashboard.web.table_base import MAX_PAGE

log = logging.getLogger(__name__)


class TableReads(ColumnChoices, SavedViews):
    """Listings, rows and the pages around them (see :class:`dashboard.web.table_view.TableView`),
    in the columns the operator chose (:class:`~dashboard.web.column_choices.ColumnChoices`) or
    an open saved view shows (:class:`~dashboard.web.saved_views.SavedViews`)."""

    # -- reading ------------------------------------------------------------------
    def _conditions(self, search: str | None, filters: t.Sequence[t.Any] | None) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if search:
            condition = text_search.condition(self, search)
            if condition is not None:
                where.append(condition)
        return [*where, *filter_bar.conditions(self._filters or (), filters or ())]

    def _refresh_filters_cache(self) -> None:
        super()._refresh_filters_cache()
        filter_bar.add_any_of_twins(self)

    def get_filter_arg(self, index: int, flt: t.Any) -> str:
        if isinstance(flt, filter_bar.AnyOfFilter):
            return filter_bar.ANY_PREFIX + super().get_filter_arg(flt.base_index, flt.base)
        return super().get_filter_arg(index, flt)

    def get_invalid_value_msg(self, value: str, filter: t.Any) -> str:
        return filter_bar.invalid_value_message(filter, value, super().get_invalid_value_msg(value, filter))

    def filter_groups_data(self, filter_groups: t.Any) -> Markup:
        """The filter menu's operations as the list page's script reads them (:mod:`dashboard.web.filter_bar`)."""
        return filter_bar.groups_data(filter_groups)

    def active_filters_data(self, active_filters: t.Any) -> Markup:
        """The filters of the address as the list page's script reads them."""
        return filter_bar.active_data(self._filters or (), active_filters)

    def get_list(
        self,
        page: int | None,
        sort_field: t.Any,
        sort_desc: bool,
        search: str | None,
        filters: t.Any,
        execute: bool = True,
        page_size: int | None = None,
    ) -> tuple[int | None, list[Record]]:
        where = self._conditions(search, filters)
        order = self._order(sort_field, sort_desc)
        size = page_size or self.page_size
        # A page number past any real table would overflow the database's OFFSET (a 500).
        number = min(max(0, page or 0), MAX_PAGE)
        args = {
            "order": order,
            "search": search or "",
            "size": size,
            "filters": filter_bar.cache_args(self._filters or (), filters or ()),
        }
        if columns := column_choices.page_key_part(self):
            args["columns"] = columns  # the rows are kept with their foreign keys' labels, per shown column
        query = ListingQuery(self.store, listing_cache(), self.cache_scope(), where, order, args)
        g.dashboard_listing_query = query  # the facets count under the same conditions (web/facets.py)
        fresh = request.args.get("refresh") == "1"
        try:
            result = query.page(number, size, self._load_fk_labels, fresh=fresh)
            count = query.count(
                exact=request.args.get("exact_count") == "1",
                estimate_above=int(current_app.config["COUNT_ESTIMATE_ABOVE"]),
                cap=int(current_app.config["COUNT_CAP"]),
            )
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

    def cache_scope(self) -> list[t.Any]:
        """Who is asking, as far as it could change a listing: the role and its rights on this table."""
        from flask_login import current_user

        actions = [a for a in ("view", "create", "edit", "delete", "export") if self.allowed(a)]
        return [getattr(current_user, "role", None), actions]

    def rows_html(
        self,
        records: t.Sequence[Record],
        columns: t.Sequence[tuple[str, t.Any]],
        return_url: str,
        with_checkboxes: bool,
    ) -> Markup:
        """The list page's rows (:mod:`dashboard.web.list_rows`)."""
        return list_rows.rows_html(self, records, [key for key, _label in columns], return_url, with_checkboxes)

    def has_button_cell(self, columns: t.Sequence[tuple[str, t.Any]]) -> bool:
        """Whether the list's rows have a cell of buttons, for the header's empty column above it."""
        return list_rows.has_button_cell(self, [key for key, _label in columns])

    def details_rows(self, record: Record, columns: t.Sequence[tuple[str, t.Any]]) -> Markup:
        """The details page's fields, one ``<tr>`` each: label and value as the detail formatters write it."""
        formatters = self.column_formatters_detail
        parts = [
            f"<tr><td><b>{escape(label)}</b></td><td>{list_rows.cell_html(self, formatters, record, key)}</td></tr>"
            for key, label in columns
        ]
        return Markup("".join(parts))  # nosec B704 -- labels escaped, values escaped or formatter Markup

    def form_fields_html(self, form: t.Any, form_opts: t.Any = None) -> Markup | None:
        """A create or edit form's fields (:mod:`dashboard.web.form_rendering`)."""
        return form_rendering.form_fields_html(form, form_opts)

    def listing_url(self, **changes: str) -> str:
        """The current listing's URL with ``changes`` to its arguments."""
        args: dict[str, t.Any] = request.args.to_dict(flat=False)
        args.update({name: [value] for name, value in changes.items()})
        return url_for(f"{self.endpoint}.index_view", **args)

    def _get_list_url(self, view_args: t.Any) -> str:
        """Flask-Admin's list URL, without ``page_size`` when it is the default: every sort,
        pager and return link of a page carried ``page_size=20`` for nothing."""
        args: dict[str, t.Any] = {
            "page": view_args.page or None,
            "sort": view_args.sort,
            "desc": 1 if view_args.sort_desc else None,
            "search": view_args.search,
            **view_args.extra_args,
        }
        size = self.get_safe_page_size(view_args.page_size)
        if size != self.page_size:
            args["page_size"] = size
        args.update(self._get_filters(view_args.filters))
        return self.get_url(".index_view", **args)

    def row_url(self, endpoint: str, row_id: str, return_url: str) -> str:
        """The URL of a row's details or edit page, for the list's row buttons."""
        return self.cheap_url(endpoint, id=row_id, url=return_url)

    def listing_info(self) -> dict[str, t.Any] | None:
        """How the current listing was read: its count kind and when its rows were read."""
        return g.get("dashboard_listing")

    def search_ran(self) -> str | None:
        """Which search the current listing ran (full-text or ``LIKE``), in a sentence (web/text_search.py)."""
        return text_search.ran()

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
        listed = {key for key, _label in self._list_columns}  # this operator's (dashboard.web.column_choices)
        for column_name in self.fk_by_column:
            column = self.info.column(column_name)
            if column.key not in listed and len(records) > 1:
                continue
            values = {getattr(r, column.key) for r in records}
            labels.update(((column.key, value), label) for value, label in self.fk_labels(column_name, values).items())
        return labels

    def fk_labels(self, column_name: str, values: t.Iterable[t.Any]) -> dict[t.Any, str]:
        """Labels of the parent rows that foreign key ``column_name`` points at with ``values``
        (none when the operator may not see the parent table or its label column)."""
        fk = self.fk_by_column.get(column_name)
        if fk is None:
            return {}
        target = self.stores[fk.target_id]
        display = self.display_column_of(target.info)
        wanted = list(set(values) - {None})[:500]
        if display is None or not wanted or not self.may_see(target.info.id, display):
            return {}
        target_column = target.info.column(fk.target_columns[0])
        statement = sa.select(target.table.c[target_column.name], target.table.c[display]).where(
            target.table.c[target_column.name].in_(wanted)
        )
        labels: dict[t.Any, str] = {}
        try:
            with target.engine.connect() as connection:
                for value, label in connection.execute(statement):
                    labels[value] = "" if label is None else str(label)
        except SQLAlchemyError as exc:
            log.warning("could not load labels from %s: %s", target.info.id, exc)
        return labels

    # -- rendering ------------------------------------------------------------------
    @expose("/")
    def index_view(self) -> t.Any:
        # A saved view (dashboard.web.saved_views): its address redirects to its arguments,
        # and it shows its columns in place of the operator's.
        if (answer := saved_views.open_for_request(self)) is not None:
            return answer
        # A list page kept whole for readers like this one (dashboard.web.page_cache): only
        # the layout around it is rendered.
        extras = filter_bar.page_key_extras(self)
        # The operator's chosen columns (dashboard.web.column_choices) change the page too.
        columns = [*column_choices.page_key_part(self), *saved_views.page_key_part(self)]
        key = None if extras is None else page_cache.page_key(self.info.id, [*self.cache_scope(), *extras, *columns])
        if key is not None:
            parts = page_cache.cached_parts(key)
            if parts is not None:
                return self.render("dashboard/list_kept.html", kept=parts)
            g.dashboard_page_key = key
        # Flask-Admin's own listing, unwrapped: this method's wrapper already checked access.
        return BaseModelView.index_view.__wrapped__(self)

    def render(self, template: str, **kwargs: t.Any) -> str:
        if template == self.list_template:
            html = self._render_page(template, **kwargs)
            page_cache.store_page()
            return html
        return self._render_page(template, **kwargs)

    def _render_page(self, template: str, **kwargs: t.Any) -> str:
        kwargs.setdefault("table_info", self.info)
        kwargs.setdefault("table_notice", self._notice() + saved_views.notes(self))
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
            notes.append(
                gettext("Hidden because they look secret: %(columns)s.", columns=", ".join(self.hidden_sensitive))
            )
        return notes

    def _related_links(self, model: Record | None) -> list[tuple[str, str]]:
        """Links from a row's details to the rows of other tables that refer to it."""
        if model is None or not isinstance(model, Record):
            return []
        links = []
        for child_id, fk in self.info.referenced_by:
            child_view = current_site().views.get(child_id)
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
