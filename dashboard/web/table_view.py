"""Reflected relations -> Flask-Admin views.

:class:`TableView` is a Flask-Admin ``BaseModelView`` backed by :class:`RecordStore`
(SQLAlchemy Core) instead of the ORM, so relations without a primary key, views,
composite and text keys, and hostile names are all served. Options come from the
reflection and the ``TABLES`` settings, in Flask-Admin's own vocabulary.
"""

from __future__ import annotations

import logging
import typing as t

from flask import (
    Response,
    abort,
    flash,
    redirect,
    request,
    stream_with_context,
)
from flask_admin.base import expose
from flask_admin.helpers import get_redirect_target
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from dashboard.db.errors import Kind, classify, read_message
from dashboard.db.records import Record
from dashboard.i18n.formatting import format_number
from dashboard.i18n.translation import gettext, translate
from dashboard.web import export, facets
from dashboard.web.bulk_edit import BulkEdit
from dashboard.web.export_formats import FORMATS, ExportContent, ExportFormat
from dashboard.web.import_page import ImportPage
from dashboard.web.lookup_field import RowLookup
from dashboard.web.plugin_actions import PluginActions
from dashboard.web.row_history import RowHistory
from dashboard.web.table_cells import TableCells

log = logging.getLogger(__name__)


class TableView(TableCells, BulkEdit, ImportPage, RowHistory, PluginActions, RowLookup):
    """List, search, filter, details, create, edit, delete and export for one relation.

    Built in floors: :class:`~dashboard.web.table_base.TableBase` (set-up, permissions, one
    value), :class:`~dashboard.web.table_reads.TableReads` (listings, rows, pages) and
    :class:`~dashboard.web.table_writes.TableWrites` (create, edit, delete) and
    :class:`~dashboard.web.table_cells.TableCells` (a value edited in the list),
    :class:`~dashboard.web.bulk_edit.BulkEdit` (one value set on the selected rows),
    :class:`~dashboard.web.import_page.ImportPage` (a file imported),
    :class:`~dashboard.web.row_history.RowHistory` (a row's history, revert and restore),
    :class:`~dashboard.web.plugin_actions.PluginActions` (plugins' row and table actions) and
    :class:`~dashboard.web.lookup_field.RowLookup` (plugin forms' row lookups); here the
    export (CSV, JSON, XLSX: :mod:`~dashboard.web.export_formats`) and binary downloads.
    """

    export_types = list(FORMATS)

    # -- export and download ------------------------------------------------------
    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> BaseResponse:
        """The rows of the list as it is filtered, searched and sorted, in one of
        :data:`~dashboard.web.export_formats.FORMATS` (Flask-Admin's route, with a 404 that
        names the formats for one it does not know, instead of "Permission denied.")."""
        chosen = FORMATS.get(export_type) if export_type in self.export_types else None
        if chosen is None:
            abort(
                404,
                description=gettext(
                    "There is no export in that format. Formats: %(formats)s.", formats=", ".join(self.export_types)
                ),
            )
        return_url = get_redirect_target() or self.get_url(".index_view")
        if not self.can_export:
            flash(gettext("Permission denied."), "error")
            return redirect(return_url)
        return self._export(chosen, return_url)

    def export_label(self, export_type: str) -> str:
        """A format's name in the list page's export menu."""
        return str(FORMATS[export_type].label)

    def _export_csv(self, return_url: t.Any) -> BaseResponse:
        return self._export(FORMATS["csv"], return_url)

    def _export(self, chosen: ExportFormat, return_url: t.Any) -> BaseResponse:
        view_args = self._get_list_extra_args()
        column = self._get_column_by_idx(view_args.sort)
        order = self._order(column[0] if column else None, view_args.sort_desc)
        where = self._conditions(view_args.search, view_args.filters)
        keys = list(self.column_export_list)
        # A format's own limit (an XLSX sheet's rows) may be below EXPORT_MAX_ROWS.
        limit = min(self.export_max_rows, chosen.max_rows or self.export_max_rows)
        try:
            # The first row is read now: a refusal (privilege, timeout, an unpopulated view)
            # is a message on the list page rather than a download cut short.
            # One row more than the limit: the sign that the file must say it was cut.
            rows = export.started(self.store.stream(keys, where=where, order=order, limit=limit + 1))
        except (SQLAlchemyError, OverflowError) as exc:
            error = classify(exc)
            if error.kind in (Kind.GONE, Kind.OTHER):
                raise
            log.info("export of %s failed (%s): %s", self.info.id, error.kind, error.reason)
            flash(translate(read_message(error, self.info.name)), "error")
            return redirect(return_url)
        # Header and notice are written in the operator's language now, while the request is there.
        content = ExportContent(
            title=self.info.name,
            labels=[str(self.column_labels.get(key, key)) for key in keys],
            names=[self.info.column_by_key(key).name for key in keys],
            codecs=[self._codec(key) for key in keys],
            rows=export.RowLimit(rows, limit),
            cut_text=self.export_cut_text(limit if limit < self.export_max_rows else None),
        )
        filename = export.filename(self.info.name, chosen.extension)
        return Response(
            stream_with_context(chosen.write(content)),
            mimetype=chosen.mimetype,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def facet_panel(self) -> facets.FacetPanel | None:
        """The list page's facets panel (:mod:`dashboard.web.facets`)."""
        return facets.facet_panel(self)

    def export_cut_text(self, format_limit: int | None = None) -> str:
        """The last line of an export cut at ``EXPORT_MAX_ROWS`` (or at ``format_limit``, the
        most rows the format holds), in the operator's language."""
        if format_limit is not None:
            return gettext(
                "Export cut at %(count)s rows, the most this format holds: more rows match. "
                "Narrow it with a search or a filter, or export CSV or JSON.",
                count=format_number(format_limit),
            )
        return gettext(
            "Export cut at %(count)s rows (the EXPORT_MAX_ROWS setting): more rows match. "
            "Narrow it with a search or a filter to export the rest.",
            count=format_number(self.export_max_rows),
        )

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
        return Response(
            bytes(data),
            mimetype="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"},
        )

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, OperationalError):
            return False
        return super().handle_view_exception(exc)

    def get_save_return_url(self, model: Record, is_created: bool = False) -> str:
        return get_redirect_target() or self.get_url(".index_view")
