"""One value set on the rows ticked in a list: "With selected" -> "Set a value", preview, apply.

The list page carries nothing for it but an entry of its "With selected" menu (a Flask-Admin
bulk action, like delete): the action answers a page of its own where the operator picks one
column and types the value. Every later step is a POST of that page's forms (CSRF-checked),
never a GET: ``bulk-edit/`` with ``step=preview`` reads the selected rows and says how many
of them the value would change (rows already holding it do not count), with a few of them
old -> new, and carries each of those rows' fingerprints into its "Apply" form;
``step=apply`` checks everything again and writes them through
:func:`dashboard.db.bulk_update.update_previewed`: one transaction, all rows or none, a row
changed since the preview or refused by the database named in the message. Each row changed
gets its audit entry, as an edit through the form does, and the table's listings are read
afresh.

The same rules as the edit form: the operator's right to edit, a writable table on a
writable site, only a column the edit form lets them change (never a key, a generated, hidden
or read-only column), the value parsed by the column's codec with the form's message.
"""

from __future__ import annotations

import json
import typing as t

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request
from flask_admin.actions import action
from flask_admin.base import expose
from flask_admin.helpers import get_redirect_target
from werkzeug.wrappers import Response
from wtforms import SelectField

from dashboard.db.bulk_update import RowChanged, RowRefused, update_previewed
from dashboard.db.errors import Kind
from dashboard.db.records import Record, WriteError
from dashboard.db.reflection import ColumnInfo
from dashboard.i18n.translation import exception_text, gettext, lazy_gettext, ngettext, translate
from dashboard.messages import N_, Message
from dashboard.security import audit
from dashboard.web import audit_changes
from dashboard.web.forms import ReadOnlyField
from dashboard.web.keys import BadKey, decode_key, encode_key
from dashboard.web.table_writes import TableWrites

#: The bulk action's name in the "With selected" menu and in ``action_view`` POSTs.
ACTION = "set_value"
#: How many of the rows to change the preview shows, old -> new.
EXAMPLES = 10
# Rows read per statement: a condition of 50 keys stays well within every database's limits.
_CHUNK = 50


class Unusable(Exception):
    """What the operator sent cannot be previewed or applied; ``message`` says why, translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BulkEdit(TableWrites):
    """The "Set a value" bulk action and its ``bulk-edit/`` page (see the module's docstring)."""

    @action(ACTION, lazy_gettext("Set a value"))
    def action_set_value(self, ids: list[str]) -> t.Any:
        try:
            keys = self._selected(ids)
        except Unusable as refused:
            flash(refused.message, "error")
            return None  # Flask-Admin goes back to the list
        return self._page(keys=keys, column=None, text="")

    @expose("/bulk-edit/", methods=("POST",))
    def bulk_edit_view(self) -> t.Any:
        """``step=preview``: what the value would change; ``step=apply``: write it (see the module)."""
        applying = request.form.get("step") == "apply"
        refusal = self._bulk_refusal()
        if refusal is not None:
            if applying:
                audit.record_write("edit", self.info.id, row_key=self._listed(), outcome="failed", message=refusal)
            abort(403, description=translate(refusal))
        try:
            keys = self._selected(_json_list(request.form.get("ids", "")))
        except Unusable as refused:
            flash(refused.message, "error")
            return redirect(self._return_url())
        column = self._bulk_column(request.form.get("column", ""))
        text = request.form.get("value", "")
        if column is None:
            return self._page(keys=keys, column=None, text=text, error=gettext("Choose a column to change."))
        try:
            value = self._parsed(column, text)
        except Unusable as refused:
            return self._page(keys=keys, column=column, text=text, error=refused.message)
        if applying:
            return self._apply(column, value)
        # Shown again as the edit form would show the value (``yes`` -> ``true``), which a pick list matches.
        shown = "" if value is None else self._codec(column.key).to_text(value)
        return self._page(keys=keys, column=column, text=shown, preview=self._preview(keys, column, value))

    # -- rights and inputs ------------------------------------------------------------------
    def is_action_allowed(self, name: str) -> bool:
        if name == ACTION:
            return self._bulk_refusal() is None and bool(self.bulk_columns())
        return super().is_action_allowed(name)

    def _bulk_refusal(self) -> str | None:
        """Why the current operator may not set values in bulk here (for :func:`translate`), or ``None``."""
        if not self.info.has_row_identity:
            return Message(N_("This table has no key to address single rows."))
        if not self.can_edit:
            return N_("Permission denied.") if not self.allowed("edit") else self._refusal("edit")
        return None

    def bulk_columns(self) -> list[ColumnInfo]:
        """The columns the edit form lets the operator change, keys and generated columns left out."""
        form = self._edit_form_class
        found = []
        for column in self.visible:
            if column.primary_key or column.name in self.info.row_key or column.database_generated:
                continue
            field = getattr(form, column.key, None)
            if field is not None and field.field_class is not ReadOnlyField:
                found.append(column)
        return found

    def _value_choices(self, column: ColumnInfo) -> list[tuple[str, str]] | None:
        """``(value, label)`` of the edit form's pick list for ``column`` (booleans, enums), or ``None``."""
        field = getattr(self._edit_form_class, column.key, None)
        if field is None or not issubclass(field.field_class, SelectField):
            return None
        return [(choice.value, str(choice.label)) for choice in field.kwargs.get("choices", ())]

    def _bulk_column(self, key: str) -> ColumnInfo | None:
        return next((c for c in self.bulk_columns() if c.key == key), None)

    def _selected(self, ids: t.Sequence[str]) -> list[tuple[t.Any, ...]]:
        """The keys of the rows ``ids`` names, each once, in order; refused past the setting's limit."""
        unique = list(dict.fromkeys(ids))
        limit = int(current_app.config["BULK_EDIT_MAX_ROWS"])
        if not unique:
            raise Unusable(gettext("Please select at least one record."))
        if len(unique) > limit:
            raise Unusable(
                gettext(
                    "Nothing was changed: %(count)s rows are selected, and one bulk edit changes at most "
                    "%(limit)s (the BULK_EDIT_MAX_ROWS setting). Select fewer rows.",
                    count=len(unique),
                    limit=limit,
                )
            )
        try:
            return [decode_key(i, self.store.key_codecs) for i in unique]
        except BadKey:
            raise Unusable(gettext("Some of the selected rows do not exist.")) from None

    def _parsed(self, column: ColumnInfo, text: str) -> t.Any:
        """``text`` as the edit form would write it into ``column``: empty is NULL where allowed."""
        codec = self._codec(column.key)
        if text == "" and column.nullable:
            return None
        if text == "" and codec.kind not in ("string", "text"):
            raise Unusable(gettext("This field is required."))
        try:
            return codec.from_text(text)
        except ValueError as exc:
            raise Unusable(exception_text(exc)) from None

    def _holds(self, record: Record, column: ColumnInfo, value: t.Any) -> bool:
        """Whether ``record`` already holds ``value`` in ``column``, as the edit form compares values (as text)."""
        old = getattr(record, column.key)
        if value is None or old is None:
            return value is None and old is None
        codec = self._codec(column.key)
        return bool(codec.to_text(old) == codec.to_text(value))

    def _return_url(self) -> str:
        return get_redirect_target() or self.get_url(".index_view")

    def _listed(self) -> str:
        """The rows a request names, for an audit entry about all of them."""
        return json.dumps([row[0] for row in _json_rows(request.form.get("rows", ""))], ensure_ascii=False)

    # -- preview -------------------------------------------------------------------------------
    def _read(self, keys: t.Sequence[tuple[t.Any, ...]]) -> list[Record]:
        """The rows with ``keys`` as they are now, in the order of ``keys`` (rows gone are left out)."""
        found: dict[tuple[t.Any, ...], Record] = {}
        for start in range(0, len(keys), _CHUNK):
            condition = sa.or_(*(self.store.key_condition(key) for key in keys[start : start + _CHUNK]))
            for record in self.store.select(where=[condition], limit=None):
                found[tuple(record._key)] = record
        return [found[tuple(key)] for key in keys if tuple(key) in found]

    def _preview(self, keys: t.Sequence[tuple[t.Any, ...]], column: ColumnInfo, value: t.Any) -> dict[str, t.Any]:
        records = self._read(keys)
        changing = [r for r in records if not self._holds(r, column, value)]
        codec = self._codec(column.key)
        new = None if value is None else _short(codec.to_text(value))
        examples = [
            (
                self._row_name(r),
                None if getattr(r, column.key) is None else _short(codec.to_text(getattr(r, column.key))),
                new,
            )
            for r in changing[:EXAMPLES]
        ]
        return {
            "changing": len(changing),
            "holding": len(records) - len(changing),
            "gone": len(keys) - len(records),
            "examples": examples,
            "rows": json.dumps(
                [[self.get_pk_value(r), self.store.fingerprint(r)] for r in changing], ensure_ascii=False
            ),
        }

    def _row_name(self, record: Record) -> str:
        """A row as the preview names it: its key, after its label where the table has one (``Alice (1)``)."""
        key = self.get_pk_value(record)
        display = self.display_column_of(self.info)
        column = next((c for c in self.visible if c.name == display), None)
        if column is None or column.name in self.info.row_key or getattr(record, column.key) is None:
            return key
        return f"{_short(self._codec(column.key).to_text(getattr(record, column.key)), 60)} ({key})"

    def _page(
        self,
        *,
        keys: t.Sequence[tuple[t.Any, ...]],
        column: ColumnInfo | None,
        text: str,
        error: str | None = None,
        preview: dict[str, t.Any] | None = None,
    ) -> str:
        columns = [(c.key, self._label(c)) for c in self.bulk_columns()]
        ids = json.dumps([encode_key(key, self.store.key_codecs) for key in keys], ensure_ascii=False)
        return self.render(
            "dashboard/bulk_edit.html",
            bulk_columns=columns,
            chosen=column.key if column is not None else "",
            value=text,
            value_choices=self._value_choices(column) if column is not None else None,
            error=error,
            selected=len(keys),
            ids=ids,
            preview=preview,
            return_url=self._return_url(),
        )

    # -- apply ---------------------------------------------------------------------------------
    def _apply(self, column: ColumnInfo, value: t.Any) -> Response:
        return_url = self._return_url()
        try:
            rows = self._previewed_rows()
        except Unusable as refused:
            flash(refused.message, "error")
            return redirect(return_url)
        listed = json.dumps([encode_key(key, self.store.key_codecs) for key, _ in rows], ensure_ascii=False)
        changes = {column.key: value}
        written: list[dict[str, t.Any]] = []
        try:
            before = update_previewed(self.store, rows, changes, written)
        except RowChanged as changed:
            shown = encode_key(changed.key, self.store.key_codecs)
            reason = Message(
                N_(
                    "Nothing was changed: the row %(key)s was changed or deleted by someone else after the "
                    "preview. Select the rows and preview again."
                ),
                key=shown,
            )
            self._write_failed("edit", listed, None, reason)
            flash(translate(reason), "error")
            return redirect(return_url)
        except RowRefused as refused:
            shown = encode_key(refused.key, self.store.key_codecs)
            if refused.kind == Kind.REFUSED:
                # A plugin's before_write refused it; its message names the row.
                self._write_failed("edit", listed, None, refused.message, kind=refused.kind)
                flash(gettext("Nothing was changed. %(reason)s", reason=translate(refused.message)), "error")
                return redirect(return_url)
            reason = Message(
                N_("Nothing was changed: the database refused the row %(key)s. %(reason)s"),
                key=shown,
                reason=refused.message,
            )
            self._write_failed("edit", listed, None, reason, refused.unavailable, refused.kind)
            flash(
                gettext(
                    "Nothing was changed: the database refused the row %(key)s. %(reason)s",
                    key=shown,
                    reason=translate(refused.message),
                ),
                "error",
            )
            return redirect(return_url)
        except WriteError as exc:
            self._write_failed("edit", listed, None, exc.message, exc.unavailable, exc.kind)
            flash(gettext("Nothing was changed. %(reason)s", reason=translate(exc.message)), "error")
            return redirect(return_url)
        self._after_write()
        for record, row_changes in zip(before, written, strict=True):
            audit.record_write(
                "edit",
                self.info.id,
                row_key=self.get_pk_value(record),
                changes=audit_changes.edited(self, record, row_changes),
            )
        flash(
            ngettext("%(count)s row was changed.", "%(count)s rows were changed.", len(before), count=len(before)),
            "success",
        )
        return redirect(return_url)

    def _previewed_rows(self) -> list[tuple[tuple[t.Any, ...], str]]:
        """The rows the preview said would change, with the fingerprints they had then."""
        sent = _json_rows(request.form.get("rows", ""))
        keys = self._selected([row_id for row_id, _ in sent])
        if len(keys) != len(sent) or not all(self.store.is_fingerprint(print_) for _, print_ in sent):
            raise Unusable(gettext("Nothing was changed: the preview did not say which rows it showed."))
        return [(key, print_) for key, (_, print_) in zip(keys, sent, strict=True)]


def _short(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: a preview shows values, it does not hold them."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_list(text: str) -> list[str]:
    """A JSON list of strings from a form field; anything else is an empty list."""
    try:
        found = json.loads(text)
    except ValueError:
        return []
    return [item for item in found if isinstance(item, str)] if isinstance(found, list) else []


def _json_rows(text: str) -> list[tuple[str, str]]:
    """``[[row id, fingerprint], ...]`` from a form field; anything else is an empty list."""
    try:
        found = json.loads(text)
    except ValueError:
        return []
    if not isinstance(found, list):
        return []
    return [
        (row[0], row[1])
        for row in found
        if isinstance(row, list) and len(row) == 2 and all(isinstance(part, str) for part in row)
    ]
