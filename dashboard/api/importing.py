"""``POST /api/<endpoint>/_import``: a CSV, XLSX, JSON or JSON-lines file as the body, imported
into the table in one transaction, all rows or none.

Arguments: ``mode=insert`` (the default) or ``mode=upsert``, ``key=<column>[,<column>...]``
(which key an upsert goes by; default the first one the table has: its primary key, else a
UNIQUE set), ``dry_run=true`` (check every row, write nothing). The file's format is told by
its first bytes, its ``Content-Type`` (``text/csv``, ``application/json``,
``application/x-ndjson``, the XLSX type) breaking a tie (or sent as the ``file`` field of a
``multipart/form-data`` body, its name breaking the tie); its first row names the columns, by
the table's column names (compared case-, space- and ``_``-insensitively), and a column that
names none the caller may write is refused rather than ignored: a script should hear of a
typo, not lose a column.

Answers: ``200`` ``{"inserted": n, "updated": m}``; with ``dry_run``, ``200``
``{"rows": n, "valid": true|false, "error_count": k, "errors": [...]}``; ``400`` a body that is
no readable file of those formats; ``403`` the caller may not create (and, for an upsert,
edit) rows here; ``409`` the database refused a row (``errors`` names it); ``413`` a body over
``IMPORT_MAX_BYTES``; ``422`` refused columns or values, each error's ``field`` naming the
value as ``rows[i].<column>`` (``i`` counts from 0, the first row under the header) or the
file's column as ``columns.<name>``. The same rights, audit entry and listing-cache bump as the
page's import (:mod:`dashboard.web.importing`).
"""

from __future__ import annotations

import typing as t

from flask import Response, abort, current_app, jsonify, request

from dashboard.api.addressing import api_routes, relation
from dashboard.db.importing.plan import Checked, ImportPlan, RowError, check, guess_mapping
from dashboard.db.importing.readers import Source, UnreadableFile, open_source
from dashboard.i18n.translation import gettext, translate
from dashboard.problems import FieldError, problem
from dashboard.web import import_files, importing

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

#: Row errors a problem lists (all are counted).
LISTED_ERRORS = 100


def field_errors(errors: t.Sequence[RowError]) -> list[FieldError]:
    """Row errors as problem fields: ``rows[11].price`` for row 12's price."""
    return [
        {
            "field": f"rows[{error.row - 1}]" + (f".{error.column}" if error.column is not None else ""),
            "message": translate(error.message),
        }
        for error in errors
    ]


def _truthy(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


def _receive(view: TableView) -> import_files.Upload:
    """The body, streamed into an upload of the caller; 413 past ``IMPORT_MAX_BYTES``."""
    limit = int(current_app.config["IMPORT_MAX_BYTES"])
    too_large = problem(
        413,
        gettext("Too large to import"),
        gettext("The file is larger than the IMPORT_MAX_BYTES setting allows: nothing was imported."),
    )
    if (request.content_length or 0) > limit:
        abort(too_large)
    if request.mimetype == "multipart/form-data":
        # The file as a form's "file" field (curl -F file=@data.csv), spooled to disk by Werkzeug.
        sent = request.files.get("file")
        if sent is None:
            abort(
                problem(400, gettext("Bad request"), gettext("Send the file as the body, or as the form field file."))
            )
        hint = import_files.hint_for(sent.filename or "", sent.mimetype)
        upload = import_files.save_upload(sent.stream, sent.filename or "", hint, view.info.id)
    else:
        stream = _Limited(request.stream, limit + 1)
        upload = import_files.save_upload(stream, "", import_files.hint_for("", request.mimetype), view.info.id)
    if upload.path.stat().st_size > limit:
        import_files.remove_upload(upload)
        abort(too_large)
    return upload


class _Limited:
    """A stream read no further than ``limit`` bytes (a chunked body has no length to check first)."""

    def __init__(self, stream: import_files.Readable, limit: int) -> None:
        self.stream, self.left = stream, limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.stream.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data


def import_rows(view: TableView) -> Response:
    """Import the request's body into ``view``'s table (see the module's docstring)."""
    mode = request.args.get("mode", "insert")
    if mode not in ("insert", "upsert"):
        abort(
            problem(
                400,
                gettext("Bad request"),
                gettext("mode is insert or upsert."),
                errors=[{"field": "mode", "message": gettext("mode is insert or upsert.")}],
            )
        )
    refused = importing.refusal(view, mode)
    if refused is not None:
        importing.record_refusal(view, refused)
        abort(problem(403, gettext("Forbidden"), refused))
    upload = _receive(view)
    try:
        return _import(view, upload, mode)
    finally:
        import_files.remove_upload(upload)


def _import(view: TableView, upload: import_files.Upload, mode: str) -> Response:
    try:
        source = open_source(upload.path, upload.hint)
    except UnreadableFile as broken:
        abort(problem(400, gettext("Unreadable file"), translate(broken.message)))
    writable = importing.targets(view)
    mapping = guess_mapping(source.columns, writable)
    errors: list[FieldError] = [
        {"field": f"columns.{name}", "message": gettext("No column of this table that you may write has this name.")}
        for name, key in zip(source.columns, mapping, strict=True)
        if key is None
    ]
    keys = importing.upsert_keys(view, writable)
    key: tuple[str, ...] = keys[0] if keys else ()
    if mode == "upsert" and request.args.get("key"):
        wanted = [name.strip() for name in request.args["key"].split(",")]
        by_names = {tuple(_column_name(view, k) for k in candidate): candidate for candidate in keys}
        key = by_names.get(tuple(wanted), ())
        if not key:
            errors.append({"field": "key", "message": gettext("The table has no key of these columns to upsert by.")})
    plan = ImportPlan(writable, mapping, mode, key)
    errors.extend(
        {"field": "columns", "message": translate(message)} for message in plan.problems() if key or mode == "insert"
    )
    if errors:
        abort(
            problem(
                422,
                gettext("Columns refused"),
                gettext("Nothing was imported: some columns cannot be written."),
                errors=errors,
            )
        )
    if _truthy("dry_run"):
        checked = _checked(source, plan)
        return jsonify(
            {
                "rows": checked.rows,
                "valid": checked.error_count == 0,
                "error_count": checked.error_count,
                "errors": field_errors(checked.errors),
            }
        )
    try:
        counts = importing.run(view, source, plan, "API upload")
    except importing.ImportFailed as failed:
        if failed.status == 422 and not failed.by_plugin:
            # The write stopped at the first refused value: one more pass lists them all.
            checked = _checked(source, plan)
            abort(
                problem(
                    422,
                    gettext("Values refused"),
                    gettext("Nothing was imported: %(count)s values or rows are refused.", count=checked.error_count),
                    errors=field_errors(checked.errors),
                    error_count=checked.error_count,
                )
            )
        title = gettext("Refused by the database") if failed.status == 409 else gettext("Unreadable file")
        if failed.by_plugin:
            title = gettext("Refused by a plugin")
        abort(problem(failed.status, title, failed.message, errors=field_errors(failed.errors)))
    return jsonify({"inserted": counts.inserted, "updated": counts.updated})


def _checked(source: Source, plan: ImportPlan) -> Checked:
    """Every row of ``source`` read through ``plan``; a 400 problem where the file breaks."""
    try:
        return check(source, plan, LISTED_ERRORS)
    except UnreadableFile as broken:
        abort(problem(400, gettext("Unreadable file"), translate(broken.message)))


def _column_name(view: TableView, key: str) -> str:
    """A column key's name."""
    return view.info.column_by_key(key).name


@api_routes.route("/<endpoint>/_import", methods=["POST"], endpoint="import_rows")
def import_view(endpoint: str) -> Response:
    """Import a file into a table (:func:`import_rows`)."""
    return import_rows(relation(endpoint))
