"""Writing a table through its pages: create, edit (refusing edits of rows changed meanwhile),
delete and bulk delete, each recorded by the audit log, refused writes included."""

from __future__ import annotations

import json
import typing as t

from flask import (
    abort,
    flash,
    g,
    request,
    session,
)
from flask_admin.actions import action
from flask_admin.base import expose
from flask_admin.helpers import get_redirect_target
from flask_admin.model import BaseModelView
from markupsafe import Markup, escape

from dashboard.db import privileges as db_privileges
from dashboard.db.errors import Kind
from dashboard.db.records import Conflict, Record, RowsGone, WriteError
from dashboard.i18n.translation import exception_text, gettext, lazy_gettext, ngettext, translate
from dashboard.messages import N_, Message
from dashboard.security import audit
from dashboard.web import audit_changes, submissions, violations
from dashboard.web.caching import listing_cache
from dashboard.web.forms import (
    ReadOnlyField,
)
from dashboard.web.keys import BadKey, decode_key, encode_key
from dashboard.web.labels import LocalizedLabel
from dashboard.web.references import blocking_reference
from dashboard.web.rendering import unreadable_note
from dashboard.web.table_reads import TableReads
from dashboard.web.unavailable import DatabaseUnreachable


class TableWrites(TableReads):
    """Create, edit and delete (see :class:`dashboard.web.table_view.TableView`)."""

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
        return submissions.create_once(
            form, lambda: self._create(form), get_redirect_target() or self.get_url(".index_view")
        )

    def _create(self, form: t.Any) -> Record | bool:
        values: dict[str, t.Any] = {}
        try:
            values = self._typed_values(form, only_changed_from=None)
            key = self.store.insert(values)
        except ValueError as exc:
            flash(exception_text(exc), "error")
            return False
        except WriteError as exc:
            self._write_failed(
                "create", None, audit_changes.created(self, values), exc.message, exc.unavailable, exc.kind
            )
            if exc.kind == Kind.CONSTRAINT:
                violations.mark_fields(form, violations.field_errors(self.store, self.stores, values, None))
            flash(translate(exc.message), "error")
            return False
        self._after_write()
        complete = all(part is not None for part in key)
        row_key = encode_key(key, self.store.key_codecs) if complete else None
        audit.record_write("create", self.info.id, changes=audit_changes.created(self, values), row_key=row_key)
        g.dashboard_created_key = row_key  # for the link in the success message (create_view)
        return Record(values, key) if complete else True

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self) -> t.Any:
        # Flask-Admin's own, unwrapped (this method's wrapper already checked access); its
        # success message then links to the new row's details.
        response = BaseModelView.create_view.__wrapped__(self)
        created = g.pop("dashboard_created_key", None)
        if created is not None and self.can_view_details:
            self._link_success_message(self.get_url(".details_view", id=created), created)
        return response

    def _link_success_message(self, url: str, row_key: str) -> None:
        """Add a link to ``url`` to the success message this request flashed (it is in the session
        until the next page shows it; the session keeps it as markup, escaped here)."""
        flashes = session.get("_flashes", [])
        for index in range(len(flashes) - 1, -1, -1):
            category, message = flashes[index]
            if category == "success":
                link = Markup('{} <a href="{}">{}</a>').format(message, url, gettext("Open row %(key)s", key=row_key))
                flashes[index] = (category, link)
                session["_flashes"] = flashes
                return

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
            self._write_failed(
                "edit",
                self.get_pk_value(model),
                audit_changes.edited(self, model, changes),
                N_("Not saved: the row was changed or deleted by someone else after it was opened."),
            )
            # Kept for this request only: the view object is shared by every operator.
            g.dashboard_conflict = self._differences(form, conflict.current)
            flash(
                gettext(
                    "This row was changed by someone else after you opened it. Nothing was saved: "
                    "compare the values below, then save again to overwrite."
                ),
                "error",
            )
            if conflict.current is not None:
                form.fingerprint.data = self.store.fingerprint(conflict.current)
            return False
        except ValueError as exc:
            flash(exception_text(exc), "error")
            return False
        except WriteError as exc:
            self._write_failed(
                "edit",
                self.get_pk_value(model),
                audit_changes.edited(self, model, changes),
                exc.message,
                exc.unavailable,
                exc.kind,
            )
            if exc.kind == Kind.CONSTRAINT:
                violations.mark_fields(form, violations.field_errors(self.store, self.stores, changes, model._key))
            flash(translate(exc.message), "error")
            return False
        self._after_write()
        audit.record_write(
            "edit", self.info.id, row_key=self.get_pk_value(model), changes=audit_changes.edited(self, model, changes)
        )
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
            changes = audit_changes.edited(self, model, self._typed_values(form, only_changed_from=loaded))
        except ValueError:
            pass  # the values are refused as well; the entry keeps the row key and the reason
        self._write_failed(
            "edit",
            self.get_pk_value(model),
            changes,
            N_("Not saved: the form did not say which version of the row it was opened on."),
        )
        g.dashboard_conflict = self._differences(form, model)
        g.dashboard_conflict_unverified = True
        flash(
            gettext(
                "Nothing was saved: the form did not say which version of the row it was opened on, so a "
                "change made by someone else meanwhile could not be noticed. Compare your values with the "
                "row as it is now, then save again."
            ),
            "error",
        )
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
        key, removed = self.get_pk_value(model), audit_changes.deleted(self, model)
        try:
            self.store.delete([model._key])
        except WriteError as exc:
            reason = self._blocked_by(exc, [model._key])
            self._write_failed("delete", key, removed, reason or exc.message, exc.unavailable, exc.kind)
            flash(
                gettext("Nothing was deleted. %(reason)s", reason=translate(reason))
                if reason
                else translate(exc.message),
                "error",
            )
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
            self._load_row(form, obj, fill=request.method == "GET")
        return form

    def _load_row(self, form: t.Any, obj: Record, *, fill: bool) -> None:
        """Tell ``form``'s fields the values of ``obj`` they were opened on; ``fill``: show them
        (a form being drawn, with the row's fingerprint) rather than keep what was sent."""
        for field in form:
            if field.name in ("csrf_token", "fingerprint"):
                continue
            # Sent back unchanged, a value is neither checked nor written (a MySQL zero
            # date, which no codec parses, must not block saving the row's other columns).
            field.loaded_text = self._codec(field.name).to_text(getattr(obj, field.name))
            note = unreadable_note(getattr(obj, field.name))
            if note is not None:
                field.description = escape(note)  # Flask-Admin shows descriptions unescaped
            if fill or isinstance(field, ReadOnlyField):
                field.data = field.loaded_text
        if fill:
            form.fingerprint.data = self.store.fingerprint(obj)

    @action(
        "delete",
        lazy_gettext("Delete"),
        lazy_gettext("Delete {count} selected record(s)? All of them are deleted, or none."),
    )
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
        removed = audit_changes.rows_to_delete(self, keys)
        try:
            deleted = self.store.delete(keys)
        except RowsGone as gone:
            # All or none: a row deleted meanwhile makes the selection stale, and the rows
            # the operator chose it with in mind may have changed too.
            shown = ", ".join(encode_key(key, self.store.key_codecs) for key in gone.keys)
            self._write_failed(
                "bulk_delete",
                listed,
                None,
                Message(N_("Nothing was deleted: these selected rows no longer exist: %(keys)s."), keys=shown),
            )
            flash(
                ngettext(
                    "Nothing was deleted: the selected row %(keys)s no longer exists. Reload the list "
                    "and select again.",
                    "Nothing was deleted: the selected rows %(keys)s no longer exist. Reload the list "
                    "and select again.",
                    len(gone.keys),
                    keys=shown,
                ),
                "error",
            )
            return
        except WriteError as exc:
            blocked = self._blocked_by(exc, keys)
            self._write_failed("bulk_delete", listed, None, blocked or exc.message, exc.unavailable, exc.kind)
            flash(
                gettext("Nothing was deleted. %(reason)s", reason=translate(blocked))
                if blocked
                else translate(exc.message),
                "error",
            )
            return
        self._after_write()
        audit.record_write("bulk_delete", self.info.id, row_key=listed, changes=removed)
        flash(
            ngettext(
                "Record was successfully deleted.",
                "%(count)s records were successfully deleted.",
                deleted,
                count=deleted,
            ),
            "success",
        )

    # -- audit ------------------------------------------------------------------------
    # Every write is recorded by dashboard.security.audit in the state database: after it commits,
    # or as "failed" with the reason when it was refused, so a rolled-back write is on
    # record too.
    def _handle_view(self, name: str, **kwargs: t.Any) -> t.Any:
        if request.method == "POST" and name in audit.WRITE_VIEWS:
            audit_changes.record_refused_post(self, name)
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

    def _write_failed(
        self,
        action: str,
        row_key: str | None,
        changes: t.Any,
        message: str,
        unavailable: bool = False,
        kind: str | None = None,
    ) -> None:
        """Record a refused write (``kind``: why the database refused it, :mod:`dashboard.db.errors`);
        a lost database then answers 503 instead of the form."""
        audit.record_write(
            action, self.info.id, row_key=row_key, changes=changes, outcome="failed", message=message, kind=kind
        )
        if unavailable:
            raise DatabaseUnreachable()

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete" and not self.can_delete:
            return False
        # Bulk actions added by plugins (dashboard.plugins.hooks) need their own right on this table.
        plugin_action_allowed = getattr(self, "plugin_action_allowed", {}).get(name)
        if plugin_action_allowed is not None:
            return bool(plugin_action_allowed())
        return super().is_action_allowed(name)
