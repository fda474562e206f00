"""A row's history from the audit log, and undoing an entry: revert an edit, restore a delete.

The details page shows the newest :data:`SHOWN_ON_DETAILS` saved changes of its row (who,
when, old -> new per column), with a link to ``history/?id=<key>``, which pages through all of
them and also answers for a row that no longer exists (a deleted row is restored from there).
Only columns the table's pages show are listed: the values of secret-looking and hidden
columns were never recorded, and a column hidden since is left out as well.

"Revert" (``POST revert/``, fields ``id``, ``entry`` and the CSRF token) writes an edit
entry's old values back through the edit form's path (:mod:`dashboard.web.row_revert`);
"Restore" does it for a delete entry, through an insert. Each is offered only to operators
who may edit (or create) here, and refused on the server for the others.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from flask import abort, current_app, redirect, request
from flask_admin.base import expose
from werkzeug.wrappers import Response as BaseResponse

from dashboard import statedb, statedb_audit
from dashboard.db.records import Record
from dashboard.i18n.translation import gettext
from dashboard.security import audit
from dashboard.web import row_revert
from dashboard.web.table_writes import TableWrites

#: Entries shown on a details page; the rest are one click away.
SHOWN_ON_DETAILS = 10
#: Entries per page of a row's history.
PAGE_SIZE = 50


@dataclass
class HistoryEntry:
    """One saved change of a row as its history shows it (every text escaped by the template)."""

    id: int
    at: str
    username: str
    role: str
    action: str
    message: str
    lines: list[tuple[str, str]] = field(default_factory=list)
    #: Why, as the writer said it (a plugin's ``transaction(reason=...)``), or ``None``.
    reason: str | None = None
    #: ``"revert"``, ``"restore"`` or ``None``: the button this operator gets.
    undo: str | None = None


@dataclass
class History:
    """A page of a row's history."""

    row_key: str
    entries: list[HistoryEntry]
    total: int
    url: str
    page: int = 0
    pages: int = 1

    @property
    def more(self) -> int:
        """How many entries are not on this page (beyond the shown ones)."""
        return max(0, self.total - self.page * PAGE_SIZE - len(self.entries))


class RowHistory(TableWrites):
    """The ``history/`` and ``revert/`` routes of a table view, and the details page's history."""

    def row_history(self, model: t.Any) -> History | None:
        """The newest entries of ``model``'s row, for its details page (``None``: nothing to show)."""
        if not self.can_view_details or model is None:
            return None
        return self._history(self.get_pk_value(model), current=model, offset=0, limit=SHOWN_ON_DETAILS)

    def _history(self, row_key: str, *, current: Record | None, offset: int, limit: int) -> History:
        store = statedb.get_store(current_app)
        found, total = statedb_audit.row_history(store, self.info.id, row_key, offset=offset, limit=limit)
        entries = [self._entry(entry, entry["changes"], current) for entry in found]
        url = self.get_url(".history_view", id=row_key)
        return History(row_key=row_key, entries=entries, total=total, url=url)

    def _entry(self, entry: dict[str, t.Any], changes: t.Any, current: Record | None) -> HistoryEntry:
        """``entry`` as a row's history shows it: only the columns shown here, and its button."""
        public = audit.shown_entry(entry)
        changes = changes if isinstance(changes, dict) else {}
        shown = {column.name for column in self.visible}
        visible = {name: change for name, change in changes.items() if name in shown}
        action = "delete" if entry["action"] == "bulk_delete" else entry["action"]
        return HistoryEntry(
            id=entry["id"],
            at=public["at"],
            username=entry["username"],
            role=entry["role"],
            action=public["action_shown"],
            message=public["message"],
            lines=audit.change_lines(action, visible),
            undo=self._undo(action, changes, current),
            reason=entry.get("reason"),
        )

    def _undo(self, action: str, changes: t.Mapping[str, t.Any], current: Record | None) -> str | None:
        """The button an entry gets: none where the server would refuse it (a row changed since
        the entry is refused again on POST, should it change after the page was drawn)."""
        if action == "edit" and current is not None and self.can_edit:
            if row_revert.restorable(self, changes, editing=True) and not row_revert.moved(self, current, changes):
                return "revert"
        if action == "delete" and current is None and self.can_create and row_revert.restorable(self, changes):
            return "restore"
        return None

    @expose("/history/")
    def history_view(self) -> t.Any:
        """Every saved change of the row ``?id=``, newest first, :data:`PAGE_SIZE` a page
        (``?page=`` from 0); for a deleted row too, which can be restored from here."""
        if not self.can_view_details:
            abort(403, description=gettext("Permission denied."))
        row_key = request.args.get("id", "")
        current = self.get_one(row_key)
        exists = current is not None
        try:
            page = max(0, min(int(request.args.get("page", "0")), 100_000))
        except ValueError:
            page = 0
        history = self._history(row_key, current=current, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
        if not history.entries and not exists:
            abort(404, description=gettext("This row has no history in the audit log."))
        history.page, history.pages = page, max(1, -(-history.total // PAGE_SIZE))
        details = self.get_url(".details_view", id=row_key) if exists else None
        return self.render(
            "dashboard/row_history.html", history=history, row_key=row_key, row_exists=exists, details_url=details
        )

    @expose("/deleted/")
    def deleted_view(self) -> t.Any:
        """The rows of this table deleted through the dashboard and not back since, newest first,
        each with its values and, for operators who may create rows, "Restore"."""
        if not self.can_view_details:
            abort(403, description=gettext("Permission denied."))
        gone = []
        seen: set[str] = set()
        store = statedb.get_store(current_app)
        for entry, row_key, changes in statedb_audit.deleted_rows(store, self.info.id, limit=PAGE_SIZE):
            if row_key in seen or not isinstance(changes, dict) or self.get_one(row_key) is not None:
                continue
            seen.add(row_key)
            gone.append((row_key, self._entry(entry, changes, None)))
        return self.render("dashboard/row_deleted.html", gone=gone, limit=PAGE_SIZE)

    @expose("/revert/", methods=("POST",))
    def revert_view(self) -> BaseResponse:
        """Revert the edit entry ``entry`` of row ``id``, or restore the row from its delete entry."""
        row_key = request.form.get("id", "")
        try:
            entry_id = int(request.form.get("entry", ""))
        except ValueError:
            abort(400, description=gettext("The form did not say which audit entry to undo."))
        entry = statedb_audit.entry_by_id(statedb.get_store(current_app), entry_id)
        changes = row_revert.changes_of(entry, self.info.id, row_key) if entry is not None else None
        if entry is None or changes is None:
            abort(404, description=gettext("There is no such entry in this row's history."))
        if entry["action"] == "edit":
            row_revert.revert(self, row_key, entry_id, changes)
        else:
            row_key = row_revert.restore(self, row_key, entry_id, changes) or row_key
        if self.get_one(row_key) is not None:
            return redirect(self.get_url(".details_view", id=row_key))
        return redirect(self.get_url(".history_view", id=row_key))
