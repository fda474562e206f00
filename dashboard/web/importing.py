"""An import as the pages and the API run it: who may, which columns, the write, its record.

The same rules as the create and edit forms (:mod:`dashboard.web.forms`): a column is
importable when the create form lets the operator type it in (never a generated,
numbered, hidden or configured read-only column); an insert needs the right to create, an
upsert to create and to edit. A write is one transaction (:mod:`dashboard.db.importing`);
it is recorded by one audit entry (action ``import``) saying the file, the mode and the
counts, refused imports too: an entry per row, as a bulk edit writes, would make a
100,000-row import 100,000 commits on the state database and a log nobody reads. The
table's listings are read afresh at once after it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from flask import current_app

from dashboard.db.errors import Kind
from dashboard.db.importing.plan import ImportPlan, RowError, Target
from dashboard.db.importing.readers import Source, UnreadableFile
from dashboard.db.importing.writing import Counts, RowRefused, RowsInvalid, write_import
from dashboard.db.records import WriteError
from dashboard.i18n.formatting import format_number
from dashboard.i18n.translation import gettext, translate
from dashboard.messages import N_, Message
from dashboard.security import audit
from dashboard.web import violations
from dashboard.web.caching import listing_cache
from dashboard.web.forms import optional_on_create, read_only_reason
from dashboard.web.unavailable import DatabaseUnreachable

if t.TYPE_CHECKING:
    # The floor with the rights and writes an import needs: table_view itself imports this module.
    from dashboard.web.table_writes import TableWrites as TableView

#: The audit log's action for an import.
AUDIT_ACTION = "import"


def targets(view: TableView) -> list[Target]:
    """The columns of ``view`` an import may write, in the table's order."""
    found = []
    for column in view.visible:
        codec = view.store.codecs[column.key]
        configured = bool(view.options.column(column.name).get("read_only"))
        if read_only_reason(column, codec, creating=True, configured=configured) is not None:
            continue
        found.append(
            Target(
                key=column.key,
                name=column.name,
                codec=codec,
                nullable=column.nullable,
                required=not optional_on_create(column),
                fills_itself=column.has_server_default or column.autoincrement,
            )
        )
    return found


def upsert_keys(view: TableView, writable: t.Sequence[Target]) -> list[tuple[str, ...]]:
    """The keys an upsert may go by (column keys): the primary key and each UNIQUE set whose
    every column the import may write. A key the database numbers is not one: rows of the
    file would bring their own numbers, and the table's sequence would not know of them."""
    by_name = {target.name: target.key for target in writable}
    found: list[tuple[str, ...]] = []
    for names in [view.info.primary_key, *view.info.unique_sets]:
        if names and all(name in by_name for name in names):
            key = tuple(by_name[name] for name in names)
            if key not in found:
                found.append(key)
    return found


def refusal(view: TableView, mode: str) -> str | None:
    """Why the current operator may not import into ``view``'s table in ``mode``, or ``None``."""
    if current_app.config.get("READ_ONLY") or view.read_only_site:
        return gettext("The dashboard runs in read-only mode: nothing can be changed.")
    for right in ("create",) if mode == "insert" else ("create", "edit"):
        if not getattr(view, f"can_{right}"):
            return view._refusal(right)
    if mode == "upsert" and not upsert_keys(view, targets(view)):
        return gettext("This table has no key an upsert can go by.")
    return None


def row_error_text(error: RowError) -> str:
    """``Row 1,203, price: Enter a number.`` in the operator's language."""
    if error.column is None:
        return gettext("Row %(row)s: %(message)s", row=format_number(error.row), message=translate(error.message))
    return gettext(
        "Row %(row)s, %(column)s: %(message)s",
        row=format_number(error.row),
        column=error.column,
        message=translate(error.message),
    )


@dataclass
class ImportFailed(Exception):
    """Nothing was imported: ``message`` says why (translated); ``errors`` the rows to blame."""

    message: str
    status: int = 422
    errors: list[RowError] = field(default_factory=list)
    #: A plugin's ``before_write`` refused a row (``errors`` names it), not the file's values.
    by_plugin: bool = False


def run(view: TableView, source: Source, plan: ImportPlan, filename: str) -> Counts:
    """Write the import, record it, and make every listing of the table read afresh.

    :raises ImportFailed: nothing was written (a row refused by the plan or the database,
        a file that breaks); recorded as a failed import.
    :raises DatabaseUnreachable: the database could not be reached; nothing was written.
    """
    described = _described(view, plan, filename)
    try:
        counts = write_import(view.store, source, plan)
    except RowsInvalid as invalid:
        reason = Message(
            N_("Nothing was imported: row %(row)s is refused (%(reason)s)."),
            row=invalid.error.row,
            reason=f"{invalid.error.column or ''}: {invalid.error.message}".lstrip(": "),
        )
        _record(view, f"{described} {reason}", outcome="failed")
        raise ImportFailed(row_error_text(invalid.error), errors=[invalid.error]) from invalid
    except UnreadableFile as broken:
        _record(view, f"{described} {broken.message}", outcome="failed")
        raise ImportFailed(translate(broken.message), status=400) from broken
    except WriteError as exc:
        _record(view, f"{described} {exc.message}", outcome="failed", kind=exc.kind)
        if exc.unavailable:
            raise DatabaseUnreachable() from exc
        if isinstance(exc, RowRefused) and exc.kind == Kind.REFUSED:
            # A plugin's before_write refused the row: its words, not the database's.
            refused = RowError(exc.row, None, translate(exc.message))
            shown = gettext("Nothing was imported: %(rows)s", rows=row_error_text(refused))
            raise ImportFailed(shown, errors=[refused], by_plugin=True) from exc
        if isinstance(exc, RowRefused):
            errors = _explained(view, source, plan, exc)
            shown = "; ".join(row_error_text(error) for error in errors)
            raise ImportFailed(
                gettext("Nothing was imported: the database refused a row. %(rows)s", rows=shown),
                status=409,
                errors=errors,
            ) from exc
        raise ImportFailed(gettext("Nothing was imported. %(reason)s", reason=translate(exc.message)), 409) from exc
    cache = listing_cache()
    if cache is not None:
        cache.bump(view.info.id)
    _record(view, f"{described} {counts.inserted} inserted, {counts.updated} updated.")
    return counts


def _described(view: TableView, plan: ImportPlan, filename: str) -> str:
    """An import in the audit log's words (English, as entries are stored)."""
    columns = ", ".join(plan.target(key).name for key in plan.mapping if key is not None)
    mode = plan.mode
    if plan.mode == "upsert":
        mode += " by " + ", ".join(plan.target(key).name for key in plan.key)
    return f"Import of {filename or 'a file'} ({mode}; columns {columns}):"


def record_refusal(view: TableView, reason: str) -> None:
    """Record an import the operator may not make here (``reason``, as shown to them)."""
    _record(view, f"Import refused: {reason}", outcome="failed")


def _record(view: TableView, message: str, *, outcome: str = "ok", kind: str | None = None) -> None:
    audit.record_write(AUDIT_ACTION, view.info.id, outcome=outcome, message=message, kind=kind)


def _explained(view: TableView, source: Source, plan: ImportPlan, refused: RowRefused) -> list[RowError]:
    """The refused row's fields to blame (a value another row holds, a reference to no row, a
    required value), as the forms explain them (:mod:`dashboard.web.violations`); else the
    database's reason, for the whole row."""
    values: dict[str, t.Any] | None = None
    for row in source.rows():
        if row.number == refused.row:
            values, _ = plan.convert(row)
            break
    found: dict[str, str] = {}
    if values is not None:
        key = None
        if plan.mode == "upsert" and tuple(plan.target(k).name for k in plan.key) == tuple(view.info.row_key):
            key = tuple(values.get(k) for k in plan.key)  # an updated row keeps its own values
        found = violations.field_errors(view.store, view.stores, values, key)
    if not found:
        return [RowError(refused.row, None, translate(refused.message))]
    return [RowError(refused.row, view.info.column_by_key(k).name, message) for k, message in found.items()]
