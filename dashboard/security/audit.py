"""What was changed, by whom: the audit log of every write made through the dashboard.

Each create, edit, delete and bulk delete made through a table view, whether it was saved
or refused (a database error, a conflicting edit, a role without the right, a lost
connection), becomes one row of ``audit_log`` in the dashboard's own state database
(:mod:`dashboard.statedb`), never in the database being administered. The entry is written
in a transaction of its own on the state database: after the write committed when it
succeeded, and whatever happened to the write's transaction when it failed, so a rolled
back write is still on record.

``changes`` holds, per column, ``{"old": text, "new": text}`` (``null`` for no value) in
the text each column's codec shows operators: every value set for ``create``, every value
removed for ``delete``, only the columns that changed for ``edit``, and that per row key
for ``bulk_delete``. Columns whose values the dashboard does not show are recorded as
``"(changed)"``, without values, in every kind of entry: those whose names look secret
(``SENSITIVE_COLUMN_PATTERNS``), those hidden by ``TABLES`` (``columns.<name>.hidden``), and
every column of a table the dashboard does not serve.

Plugins record their own writes with :func:`record_write` and the action ``"plugin"``.
Administrators read the log at ``/admin/-/audit/``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import typing as t

from flask import Flask, Response, abort, current_app, g, has_request_context, request, stream_with_context, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from dashboard import clock, statedb, statedb_audit
from dashboard.db.errors import KIND_LABELS, first_line
from dashboard.i18n.formatting import format_moment
from dashboard.i18n.translation import gettext, lazy_gettext
from dashboard.messages import N_
from dashboard.security import audit_export
from dashboard.security.permissions import can
from dashboard.site_state import current_site, has_site
from dashboard.urls import own_endpoint, own_url

log = logging.getLogger(__name__)

#: Actions an entry may record; plugins use ``"plugin"``.
ACTIONS: tuple[str, ...] = ("create", "edit", "delete", "bulk_delete", "import", "plugin", "prune", "login", "user")
OUTCOMES: tuple[str, ...] = ("ok", "failed")
#: How actions and outcomes are named on the page; the log itself keeps the codes.
SHOWN_AS: dict[str, str] = {
    "create": N_("create"),
    "edit": N_("edit"),
    "delete": N_("delete"),
    "bulk_delete": N_("bulk delete"),
    "import": N_("import"),
    "plugin": N_("plugin"),
    "prune": N_("prune"),
    "login": N_("login"),
    "user": N_("user"),
    "ok": N_("ok"),
    "failed": N_("failed"),
}
#: What a secret-looking column's values are recorded as.
REDACTED = N_("(changed)")
#: The authorizer's action name for reading the log: a table role never grants it, so
#: only ``admin`` (who may do whatever is asked) has it.
READ_ACTION = "audit"
#: The audit log page's endpoint: ``url_for(f"{ENDPOINT}.index")``.
ENDPOINT = own_endpoint("audit")

# Bounds on what one entry keeps: a huge text value or a forged request must not bloat
# the state database.
_MAX_VALUE_CHARS = 2000
_MAX_KEY_CHARS = 10_000
_MAX_MESSAGE_CHARS = 1000
_MAX_NAME_CHARS = 150
#: Most rows whose values a bulk delete reads first, to record them.
MAX_AUDITED_ROWS = 1000
PAGE_SIZE = 50
#: Flask-Admin's write endpoints of a table view -> the right each needs.
WRITE_VIEWS: dict[str, str] = {
    "create_view": "create",
    "edit_view": "edit",
    "delete_view": "delete",
    "action_view": "delete",
}

Changes = dict[str, t.Any]


def changes_between(before: t.Mapping[str, str | None] | None, after: t.Mapping[str, str | None] | None) -> Changes:
    """``{column: {"old": ..., "new": ...}}`` for the columns whose text differs.

    :param before: the row's values as text by column name (``None`` for NULL); empty or
        ``None`` when the row is being created.
    :param after: the values written, likewise; empty or ``None`` when it is being deleted.
    """
    before, after = before or {}, after or {}
    changes: Changes = {}
    for name in [*before, *(n for n in after if n not in before)]:
        old, new = before.get(name), after.get(name)
        if name in before and name in after and old == new:
            continue
        changes[name] = {"old": old, "new": new}
    return changes


def record_write(
    action: str,
    table_id: str | None,
    *,
    row_key: str | None = None,
    changes: t.Mapping[str, t.Any] | None = None,
    outcome: str = "ok",
    message: str = "",
    username: str | None = None,
    role: str | None = None,
    kind: str | None = None,
    reason: str | None = None,
) -> bool:
    """Add one entry to the audit log, committed at once in a transaction of its own.

    Call it after a write has committed (``outcome="ok"``), or when one was refused
    (``outcome="failed"``, ``message`` saying why, in words safe to show). Values of
    columns the dashboard does not show (secret-looking, hidden by ``TABLES``, or of a table
    it does not serve) are replaced by ``"(changed)"`` here, whoever calls.

    :param action: one of :data:`ACTIONS`; plugins use ``"plugin"``.
    :param table_id: the table written to (``TableInfo.id``), or ``None``.
    :param row_key: the row's key as it appears in URLs.
    :param changes: ``{column: {"old": text, "new": text}}`` (see :func:`changes_between`);
        for ``bulk_delete``, that per row key.
    :param username: who, when not the logged-in operator of the current request.
    :param role: their role, likewise.
    :param kind: why the database refused a failed write (a :class:`dashboard.db.errors.Kind`),
        kept at the start of the message as ``[kind]``.
    :param reason: why the write was made, in the words of whoever made it (a plugin's
        ``transaction(reason=...)``), kept in a column of its own.
    :returns: whether the entry was written; when the state database refuses it the
        entry is logged as an error instead, and the request carries on.
    :raises ValueError: for an unknown ``action`` or ``outcome``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; actions are {', '.join(ACTIONS)}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}; outcomes are {', '.join(OUTCOMES)}")
    who, their_role = _operator()
    on_behalf = g.get("dashboard_audit_reason") if has_request_context() else None
    if on_behalf:
        message = f"{on_behalf}: {message}" if message else on_behalf
    patterns = [str(p).lower() for p in current_app.config.get("SENSITIVE_COLUMN_PATTERNS", ())]
    unshown = _unshown_columns(table_id)

    def secret(name: str) -> bool:
        lowered = name.lower()
        return unshown is None or name in unshown or any(p in lowered for p in patterns)

    entry: dict[str, t.Any] = {
        "at": dt.datetime.fromtimestamp(clock.now(), dt.UTC),
        "username": (username or who)[:_MAX_NAME_CHARS],
        "role": (role or their_role)[:32],
        "action": action,
        "table_id": table_id[:255] if table_id is not None else None,
        "row_key": _text(row_key, _MAX_KEY_CHARS),
        "changes": _bounded(changes, secret, per_row=action == "bulk_delete") if changes is not None else None,
        "outcome": outcome,
        "message": (f"[{kind}] {message}" if kind else str(message))[:_MAX_MESSAGE_CHARS],
        "reason": str(reason)[:_MAX_MESSAGE_CHARS] if reason else None,
    }
    try:
        statedb.get_store(current_app).add_audit_entry(entry)
    except SQLAlchemyError as exc:
        # The write itself has committed or failed already; refusing the response would
        # not undo it. The entry goes to the log instead, where it is not lost.
        reason = first_line(exc)
        log.error(
            "audit entry could not be written to the state database (%s): %s",
            reason,
            json.dumps({**entry, "at": entry["at"].isoformat()}, default=str),
        )
        return False
    return True


def note_reason(reason: str) -> None:
    """Start the message of every entry this request records with ``reason`` (``"revert of #12"``),
    so a write made on behalf of another (a revert, a restore) says so, refused or not."""
    g.dashboard_audit_reason = reason


def _operator() -> tuple[str, str]:
    """The current request's operator name and role, or a placeholder outside a request."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return "(system)", ""
    return str(current_user.username), str(getattr(current_user, "role", ""))


def _unshown_columns(table_id: str | None) -> frozenset[str] | None:
    """Names of the columns of ``table_id`` whose values its pages never show (hidden by
    ``TABLES``, or secret-looking and not shown by an override); ``None``: all of them, for a
    table the dashboard does not serve. An entry with no table has none."""
    if table_id is None:
        return frozenset()
    view = current_site().views.get(table_id) if has_site() else None
    if view is None:
        return None
    shown = {column.name for column in view.visible}
    return frozenset(column.name for column in view.info.columns if column.name not in shown)


def _bounded(changes: t.Mapping[str, t.Any], secret: t.Callable[[str], bool], *, per_row: bool) -> Changes:
    if per_row:
        return {
            str(_text(key, _MAX_KEY_CHARS)): _bounded(row or {}, secret, per_row=False) for key, row in changes.items()
        }
    bounded: Changes = {}
    for name, change in changes.items():
        if secret(str(name)):
            bounded[str(name)] = REDACTED
        elif isinstance(change, t.Mapping):
            bounded[str(name)] = {side: _text(change.get(side)) for side in ("old", "new")}
        else:
            bounded[str(name)] = _text(change)
    return bounded


def _text(value: t.Any, limit: int = _MAX_VALUE_CHARS) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


# -- the page ----------------------------------------------------------------------------------


def change_lines(action: str, changes: t.Any) -> list[tuple[str, str]]:
    """An entry's changes as ``(column, what)`` lines for the page (plain text, escaped there).

    A create shows the values set, a delete the values removed, anything else old -> new.
    """
    if not isinstance(changes, t.Mapping):
        return []
    if action == "bulk_delete":
        lines: list[tuple[str, str]] = []
        for key, row in changes.items():
            shown = [(f"{key}: {name}", what) for name, what in change_lines("delete", row)]
            lines.extend(shown or [(str(key), "")])
        return lines
    lines = []
    for name, change in changes.items():
        if not isinstance(change, t.Mapping):
            lines.append((str(name), _shown(change)))
        elif action == "create":
            lines.append((str(name), _shown(change.get("new"))))
        elif action == "delete":
            lines.append((str(name), _shown(change.get("old"))))
        else:
            lines.append((str(name), f"{_shown(change.get('old'))} → {_shown(change.get('new'))}"))
    return lines


def _shown(value: t.Any) -> str:
    if value == REDACTED:
        return gettext(REDACTED)  # stored in English, shown in the operator's language
    return "NULL" if value is None else str(value)


def _moment(value: t.Any) -> str:
    if not isinstance(value, dt.datetime):
        return str(value)
    return format_moment(value)


def shown_entry(entry: dict[str, t.Any]) -> dict[str, t.Any]:
    """An entry as the page shows it: the time in the operator's zone and locale, the codes
    named in their language, and a message the dashboard wrote (stored in English) translated."""
    message = entry.get("message") or ""
    kind = _KIND_PREFIX.match(message)
    if kind and kind.group(1) in KIND_LABELS:
        message = gettext(
            "%(kind)s: %(message)s", kind=gettext(KIND_LABELS[kind.group(1)]), message=gettext(kind.group(2))
        )
    elif (on_behalf := _ON_BEHALF.match(message)) is not None:
        number, rest = on_behalf.group(2), on_behalf.group(3)
        said = (
            gettext("revert of #%(entry)s", entry=number)
            if on_behalf.group(1) == "revert"
            else gettext("restore of #%(entry)s", entry=number)
        )
        message = gettext("%(kind)s: %(message)s", kind=said, message=gettext(rest)) if rest else said
    elif message:
        message = gettext(message)
    return {
        **entry,
        "at": _moment(entry["at"]),
        "lines": change_lines(entry["action"], entry["changes"]),
        "action_shown": gettext(SHOWN_AS.get(entry["action"], entry["action"])),
        "outcome_shown": gettext(SHOWN_AS.get(entry["outcome"], entry["outcome"])),
        # Looked up as a message id: other text (a driver's reason) has no entry and stays.
        "message": message,
    }


# "[permission] The database user may not update actor. Nothing was saved."
_KIND_PREFIX = re.compile(r"\[([a-z_]+)\] (.*)", re.DOTALL)
# "revert of #12", "restore of #7: Permission denied." (note_reason)
_ON_BEHALF = re.compile(r"(revert|restore) of #(\d+)(?:: (.*))?$", re.DOTALL)


class AuditView(BaseView):
    """``/admin/-/audit/``: the audit log, newest first, for administrators only.

    Query arguments ``table``, ``user``, ``action`` and ``outcome`` keep the entries with
    exactly that value; ``page`` counts from 0.
    """

    def is_accessible(self) -> bool:
        return can(READ_ACTION)

    @expose("/")
    def index(self) -> str:
        filters = _filters()
        store = statedb.get_store(current_app)
        total = store.count_audit_entries(filters)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(_page_number(request.args.get("page")), pages - 1)
        entries = [
            {**shown_entry(entry), "row_url": _history_url(entry)}
            for entry in store.audit_entries(filters, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
        ]
        choices = {
            "table": store.audit_values("table"),
            "user": store.audit_values("user"),
            "action": list(ACTIONS),
            "outcome": list(OUTCOMES),
        }
        for name, value in filters.items():
            if value not in choices[name]:
                choices[name] = [value, *choices[name]]
        shown_as = {code: gettext(text) for code, text in SHOWN_AS.items()}
        return self.render(
            "dashboard/audit.html",
            entries=entries,
            filters=filters,
            choices=choices,
            page=page,
            pages=pages,
            total=total,
            shown_as=shown_as,
        )

    @expose("/export/<fmt>/")
    def export(self, fmt: str) -> Response:
        """The entries the page's filters keep, oldest first, as a CSV or JSON-lines file."""
        if fmt not in audit_export.FORMATS:
            abort(404)
        media_type, suffix = audit_export.FORMATS[fmt]
        entries = statedb_audit.all_entries(statedb.get_store(current_app), _filters())
        return Response(
            stream_with_context(audit_export.lines(entries, fmt)),
            mimetype=media_type,
            headers={"Content-Disposition": f'attachment; filename="audit-log.{suffix}"'},
        )


def _history_url(entry: t.Mapping[str, t.Any]) -> str | None:
    """The history page of the row an entry names (where a deleted row is restored), if it has one."""
    if entry["action"] == "bulk_delete" or entry.get("table_id") is None or entry.get("row_key") is None:
        return None
    view = current_site().views.get(entry["table_id"])
    if view is None or not view.info.has_row_identity:
        return None
    return url_for(f"{view.endpoint}.history_view", id=entry["row_key"])


def _filters() -> dict[str, str]:
    return {
        name: value.strip()[:255] for name in statedb.AUDIT_FILTERS if (value := request.args.get(name, "")).strip()
    }


def _page_number(raw: str | None) -> int:
    try:
        return max(0, min(int(raw or 0), 1_000_000))
    except ValueError:
        return 0


def init_app(app: Flask) -> None:
    """Add the audit log page to the app's ``Admin`` (in the menu of administrators only)."""
    admin = current_site(app).admin
    admin.add_view(AuditView(name=lazy_gettext("Audit log"), endpoint=ENDPOINT, url=own_url("audit")))
