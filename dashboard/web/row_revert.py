"""Undoing an audit entry: an edit's old values written back, a deleted row inserted again.

A revert goes through the edit form's own path (:meth:`TableWrites.update_model`): the same
rights, value checks and fingerprint, so a row changed between the check below and the write
is not overwritten either. It is refused, with nothing written, when the row changed after
the entry (a column the entry changed no longer holds the entry's new value). A restore
inserts the values the delete entry recorded (generated columns left to the database), and
is refused while a row with that key exists. Every attempt is audited, refused ones too, its
message starting ``revert of #N`` / ``restore of #N`` (:func:`dashboard.security.audit.note_reason`).

What the log does not hold cannot be written back: values it recorded as ``(changed)``
(secret-looking or hidden columns) or cut at its length limit, and columns the edit form does
not offer (a key, a generated column); such an entry offers no button and a POST is refused.
"""

from __future__ import annotations

import typing as t

from flask import abort, flash, request
from werkzeug.datastructures import MultiDict

from dashboard.db.records import Record, WriteError
from dashboard.i18n.translation import gettext, ngettext, translate
from dashboard.messages import N_
from dashboard.security import audit
from dashboard.web import audit_changes
from dashboard.web.forms import ReadOnlyField
from dashboard.web.keys import encode_key

if t.TYPE_CHECKING:
    from dashboard.web.table_writes import TableWrites

#: Values longer than this were cut by the audit log (``dashboard.security.audit``) and end with "…".
_CUT_LENGTH = 2001


def changes_of(entry: t.Mapping[str, t.Any], table_id: str, row_key: str) -> dict[str, t.Any] | None:
    """The changes ``entry`` made to row ``row_key`` of ``table_id``, if it is a saved edit or
    delete of that row (a bulk delete's changes narrowed to the row); else ``None``."""
    if entry["table_id"] != table_id or entry["outcome"] != "ok" or not isinstance(entry["changes"], dict):
        return None
    if entry["action"] in ("edit", "delete") and entry["row_key"] == row_key:
        return t.cast(dict[str, t.Any], entry["changes"])
    if entry["action"] == "bulk_delete":
        row = entry["changes"].get(row_key)
        return t.cast(dict[str, t.Any], row) if isinstance(row, dict) else None
    return None


def _known(change: t.Any, side: str) -> bool:
    if not isinstance(change, t.Mapping):
        return False  # "(changed)": the value was never recorded
    value = change.get(side)
    return not (isinstance(value, str) and len(value) == _CUT_LENGTH and value.endswith("…"))


def _unwritable(view: TableWrites, changes: t.Mapping[str, t.Any], *, editing: bool) -> list[str]:
    """The columns of ``changes`` that cannot be written back (see the module's docstring)."""
    shown = {column.name for column in view.visible}
    names = {column.name: column for column in view.info.columns}
    refused = []
    for name, change in changes.items():
        column = names.get(name)
        if column is None or name not in shown or not _known(change, "old"):
            refused.append(name)
        elif editing and not _editable(view, column.key):
            refused.append(name)
    return refused


def _editable(view: TableWrites, key: str) -> bool:
    """Whether the edit form lets the operator change column ``key`` (read from its class: no form built)."""
    field = getattr(view._edit_form_class, key, None)
    return field is not None and field.field_class is not ReadOnlyField


def _refused_right(view: TableWrites, right: str, row_key: str) -> t.NoReturn:
    """Record and answer (403) a revert or restore the operator may not make here."""
    recorded = N_("Permission denied.") if not view.allowed(right) else N_("This table is read-only.")
    audit.record_write(right, view.info.id, row_key=row_key, outcome="failed", message=recorded)
    abort(403, description=view._refusal(right))


def restorable(view: TableWrites, changes: t.Mapping[str, t.Any], *, editing: bool = False) -> bool:
    """Whether every value of ``changes`` can be written back (an edit's or a delete's)."""
    return bool(changes) and not _unwritable(view, changes, editing=editing)


def _text(value: t.Any) -> str | None:
    return None if value is None else str(value)


def moved(view: TableWrites, model: Record, changes: t.Mapping[str, t.Any]) -> list[str]:
    """The columns of an edit entry's ``changes`` that no longer hold the value it left in ``model``."""
    found = []
    for name, change in changes.items():
        key = view.info.column(name).key
        value = getattr(model, key)
        if _text(None if value is None else view._codec(key).to_text(value)) != _text(change.get("new")):
            found.append(name)
    return sorted(found)


def _refuse(view: TableWrites, action: str, row_key: str, changes: t.Any, recorded: str, shown: str) -> bool:
    audit.record_write(action, view.info.id, row_key=row_key, changes=changes, outcome="failed", message=recorded)
    flash(shown, "error")
    return False


def revert(view: TableWrites, row_key: str, entry_id: int, changes: t.Mapping[str, t.Any]) -> bool:
    """Write the old values of edit entry ``entry_id`` back into row ``row_key``; whether it was saved."""
    audit.note_reason(f"revert of #{entry_id}")
    if not view.can_edit:
        _refused_right(view, "edit", row_key)
    if _unwritable(view, changes, editing=True):
        message = N_("This entry cannot be reverted: some of its values were not recorded or cannot be edited.")
        return _refuse(view, "edit", row_key, None, message, gettext(message))
    model = view.get_one(row_key)
    if model is None:
        message = N_("Not reverted: the row no longer exists.")
        return _refuse(view, "edit", row_key, None, message, gettext(message))
    keys = {name: view.info.column(name).key for name in changes}
    moved_on = moved(view, model, changes)
    if moved_on:
        message = N_("Not reverted: the row was changed after this entry; its values now differ from the entry's.")
        shown = ngettext(
            "Not reverted: the row was changed after entry #%(entry)s (%(columns)s now holds another value than "
            "the entry left). Nothing was saved.",
            "Not reverted: the row was changed after entry #%(entry)s (%(columns)s now hold other values than "
            "the entry left). Nothing was saved.",
            len(moved_on),
            entry=entry_id,
            columns=", ".join(moved_on),
        )
        return _refuse(view, "edit", row_key, None, message, shown)
    # The edit form as the row is now, with the entry's old values typed in.
    sent = MultiDict({keys[name]: _text(change.get("old")) or "" for name, change in changes.items()})
    sent["fingerprint"] = view.store.fingerprint(model)
    sent["csrf_token"] = request.form.get("csrf_token", "")
    form = view._edit_form_class(sent)
    view._load_row(form, model, fill=False)
    for form_field in form:
        if form_field.name not in sent:
            form_field.data = getattr(form_field, "loaded_text", form_field.data)
    if not form.validate():
        errors = "; ".join(f"{name}: {' '.join(map(str, found))}" for name, found in form.errors.items())
        message = N_("Not reverted: the old values are not accepted by the edit form.")
        return _refuse(view, "edit", row_key, None, message, gettext(message) + " " + errors)
    if not view.update_model(form, model):
        return False
    flash(gettext("Reverted: the values before entry #%(entry)s are back.", entry=entry_id), "success")
    return True


def restore(view: TableWrites, row_key: str, entry_id: int, changes: t.Mapping[str, t.Any]) -> str | None:
    """Insert row ``row_key`` again with the values delete entry ``entry_id`` recorded; the key of
    the row inserted (another one where the database numbers the key itself), or ``None``."""
    audit.note_reason(f"restore of #{entry_id}")
    if not view.can_create:
        _refused_right(view, "create", row_key)
    if _unwritable(view, changes, editing=False):
        message = N_("This row cannot be restored: some of its values were not recorded.")
        _refuse(view, "create", row_key, None, message, gettext(message))
        return None
    if view.get_one(row_key) is not None:
        message = N_("Not restored: a row with this key exists again.")
        _refuse(view, "create", row_key, None, message, gettext(message))
        return None
    values: dict[str, t.Any] = {}
    try:
        for name, change in changes.items():
            column = view.info.column(name)
            if column.database_generated:
                continue
            old = change.get("old")
            values[column.key] = None if old is None else view._codec(column.key).from_text(str(old))
    except ValueError:
        message = N_("This row cannot be restored: a recorded value no longer fits its column.")
        _refuse(view, "create", row_key, None, message, gettext(message))
        return None
    try:
        key = view.store.insert(values)
    except WriteError as exc:
        view._write_failed(
            "create", row_key, audit_changes.created(view, values), exc.message, exc.unavailable, exc.kind
        )
        flash(translate(exc.message), "error")
        return None
    view._after_write()
    restored = encode_key(key, view.store.key_codecs) if all(part is not None for part in key) else row_key
    audit.record_write("create", view.info.id, row_key=restored, changes=audit_changes.created(view, values))
    if restored == row_key:
        flash(gettext("Restored: the row is back as entry #%(entry)s recorded it.", entry=entry_id), "success")
    else:
        # A key the database numbers itself (GENERATED ALWAYS AS IDENTITY) cannot be given back.
        flash(
            gettext(
                "Restored as row %(key)s with the values entry #%(entry)s recorded: the database numbers this "
                "table's rows itself.",
                key=restored,
                entry=entry_id,
            ),
            "success",
        )
    return restored
