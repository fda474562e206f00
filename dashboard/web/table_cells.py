"""Editing one value of a list in place, through the edit form's own path.

Like Flask-Admin's ``column_editable_list`` or Django's ``list_editable``, but without a
single byte per row or cell: the list page names its editable columns once (on the table,
:meth:`TableCells.inline_columns`), and ``static/inline_edit.js`` finds a row's key in its
check box or links. When the operator starts editing, the script asks ``cell/`` for the
value as the edit form shows it and the row's fingerprint; saving posts them back, and
the view fills the table's edit form with the row as it was opened plus the one value
typed, so the same checks run as on the edit page: the operator's right to edit, the
column being editable on the form, CSRF, the codec, the fingerprint (a row changed
meanwhile is a conflict and nothing is written), the audit entry with old -> new, and the
listing cache of the table made stale. The answer is JSON: the cell as the list renders
it, or the message to show in place. Nothing here is per row in the kept list page.
"""

from __future__ import annotations

import typing as t

from flask import current_app, g, jsonify, request, session
from flask_admin.base import expose
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from dashboard.db.records import Record
from dashboard.i18n.translation import gettext
from dashboard.messages import N_
from dashboard.security import audit
from dashboard.web import list_rows
from dashboard.web.forms import ReadOnlyField
from dashboard.web.table_writes import TableWrites


class TableCells(TableWrites):
    """The ``cell/`` endpoint: read one value to edit it in the list, or save it."""

    def inline_columns(self, list_columns: t.Sequence[tuple[str, t.Any]]) -> str:
        """The keys of the listed columns the current operator may edit in place, space separated.

        The same for every reader of one permission scope (the list page's cache key holds it).
        """
        return " ".join(key for key, _label in list_columns if self._editable_in_place(key))

    def _editable_in_place(self, key: str) -> bool:
        """Whether column ``key`` may be changed in the list: the edit form lets the operator change
        it, and it is neither part of the row's key, filled by the database, nor long text or JSON
        (a text area's worth, which a cell has no room for)."""
        if not (current_app.config.get("INLINE_EDIT", True) and self.can_edit and self.info.has_row_identity):
            return False
        column = next((c for c in self.visible if c.key == key), None)
        if column is None or column.primary_key or column.name in self.info.row_key or column.database_generated:
            return False
        field = getattr(self._edit_form_class, key, None)
        if field is None or field.field_class is ReadOnlyField:
            return False
        return not self._codec(key).multiline

    @expose("/cell/", methods=("GET", "POST"))
    def cell_view(self) -> Response | tuple[Response, int]:
        """GET ``?id=&column=``: the value to edit and the row's fingerprint. POST ``id``, ``column``,
        ``value``, ``fingerprint`` (and ``csrf_token``): save it, answering the new cell."""
        source = request.form if request.method == "POST" else request.args
        row_id, key = source.get("id", ""), source.get("column", "")
        refusal = self._cell_refusal(key)
        if refusal is not None:
            recorded, shown = refusal
            if request.method == "POST":
                self._record_refused_cell(row_id, recorded)
            return jsonify(error=shown), 403
        model = self.get_one(row_id)
        if model is None:
            return jsonify(error=gettext("This row no longer exists. Reload the list.")), 404
        if request.method == "GET":
            return self._cell_to_edit(model, key)
        return self._save_cell(model, row_id, key)

    def _cell_refusal(self, key: str) -> tuple[str, str] | None:
        """Why the current operator may not change column ``key`` in place, for the audit log
        (untranslated) and for the operator (as the edit page would say it); ``None``: they may."""
        if not self.can_edit:
            recorded = N_("Permission denied.") if not self.allowed("edit") else N_("This table is read-only.")
            return recorded, self._refusal("edit")
        if not self._editable_in_place(key):
            recorded = N_("This value cannot be changed in the list; open the row's edit page.")
            return recorded, gettext(recorded)
        return None

    def _record_refused_cell(self, row_id: str, message: str) -> None:
        audit.record_write("edit", self.info.id, row_key=row_id or None, outcome="failed", message=message)

    def _cell_to_edit(self, model: Record, key: str) -> Response:
        form = self.edit_form(obj=model)
        field = form[key]
        choices = [[str(c[0]), str(c[1])] for c in field.iter_choices()] if hasattr(field, "iter_choices") else None
        return jsonify(
            value=field.data or "",
            fingerprint=form.fingerprint.data,
            choices=choices,
            placeholder=self._codec(key).placeholder or "",
            # Per session, so never in the kept list page: the script takes it from here.
            csrf_token=generate_csrf(),
            texts={
                "save": gettext("Save"),
                "cancel": gettext("Cancel"),
                "now": gettext("Value now:"),
                "failed": gettext("Not saved: the answer could not be read. Reload the page and try again."),
            },
        )

    def _save_cell(self, model: Record, row_id: str, key: str) -> tuple[Response, int] | Response:
        # The edit form as the row was opened, with the one value typed: the edit page's checks.
        sent = MultiDict(
            {
                key: request.form.get("value", ""),
                "fingerprint": request.form.get("fingerprint", ""),
                "csrf_token": request.form.get("csrf_token", ""),
            }
        )
        form = self._edit_form_class(sent)
        self._load_row(form, model, fill=False)
        for field in form:
            if field.name not in (key, "csrf_token", "fingerprint"):
                field.data = getattr(field, "loaded_text", field.data)
        if not form.validate():
            errors = form.errors.get(key) or [e for found in form.errors.values() for e in found]
            return jsonify(error=" ".join(str(e) for e in errors)), 400
        if form[key].data == form[key].loaded_text and self.store.fingerprint(model) == form.fingerprint.data:
            return self._cell_saved(model, key)  # nothing to write: the value is what the row holds
        saved, messages = _with_flashes_taken(lambda: self.update_model(form, model))
        if saved:
            current = self.get_one(row_id)
            return self._cell_saved(current, key) if current is not None else jsonify(html="")
        errors = list(form.errors.get(key) or [])
        message = " ".join(str(m) for m in (errors or messages))
        if g.get("dashboard_conflict") is None:
            return jsonify(error=message), 400
        # Changed (or deleted) meanwhile: the value now and its fingerprint, so that saving
        # again is a decision taken with the current value in view, as on the edit page.
        current = self.get_one(row_id)
        if current is None:
            return jsonify(error=message), 409
        return jsonify(
            error=message,
            value=self._codec(key).to_text(getattr(current, key)),
            fingerprint=self.store.fingerprint(current),
        ), 409

    def _cell_saved(self, record: Record, key: str) -> Response:
        """The cell as the list renders it (escaped), and the value as the edit form shows it."""
        html = list_rows.cell_html(self, self.column_formatters, record, key)
        return jsonify(html=str(html), value=self._codec(key).to_text(getattr(record, key)))


def _with_flashes_taken(run: t.Callable[[], bool]) -> tuple[bool, list[str]]:
    """Run ``run()`` and take back the messages it flashed: the answer carries them instead of
    the next page (an unrelated message already waiting for that page stays)."""
    before = len(session.get("_flashes", []))
    result = run()
    flashes = list(session.get("_flashes", []))
    taken = [str(message) for _category, message in flashes[before:]]
    if taken:
        if flashes[:before]:
            session["_flashes"] = flashes[:before]
        else:
            session.pop("_flashes", None)
    return bool(result), taken
