"""A table's ``import/`` page: upload a CSV, XLSX or JSON file, preview it mapped, write it.

The list page carries nothing for it but an "Import" link in its toolbar, shown to an
operator who may create rows there (:func:`dashboard.web.importing.refusal`). The steps:

1. ``GET import/``: the upload form. ``static/import.js`` sends it with ``XMLHttpRequest``
   to show the upload's progress; without script the form posts as any form does.
2. ``POST import/`` with the file: kept in the instance folder (:mod:`dashboard.web.import_files`),
   its header read (a file that is not CSV, XLSX or JSON, broken, empty or a header alone is
   refused here with the reason), then ``303`` to ``import/?upload=<id>``.
3. ``GET import/?upload=<id>`` and ``POST import/`` with ``step=preview``: the first
   :data:`PREVIEW_ROWS` rows as mapped, a select per file column (a table column or
   "ignore", first guessed by name), and every row's refusals counted, the first
   :data:`LISTED_ERRORS` listed, from one pass over the whole file.
4. ``POST import/`` with ``step=write``: checked again and written, all rows or none, then
   back to the list with the counts; a refusal comes back to the preview with its row.

Every POST carries the CSRF token; every name and value from the file or the database is
text in the page, escaped by the template.
"""

from __future__ import annotations

import typing as t
from dataclasses import replace

from flask import abort, current_app, flash, redirect, request
from flask_admin.base import expose
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard.db.importing.plan import ImportPlan, Target, check, guess_mapping
from dashboard.db.importing.readers import Source, UnreadableFile, open_source
from dashboard.i18n.formatting import format_number
from dashboard.i18n.translation import gettext, ngettext, translate
from dashboard.web import import_files, importing
from dashboard.web.table_writes import TableWrites

#: Rows the preview shows.
PREVIEW_ROWS = 20
#: Refusals the preview lists (all are counted).
LISTED_ERRORS = 100
#: The value of a mapping select that leaves a file column out.
IGNORE = ""


class ImportPage(TableWrites):
    """The ``import/`` page of a table view (see the module's docstring)."""

    def can_import(self) -> bool:
        """Whether the list page offers "Import" to the current operator."""
        return self.info.readable and importing.refusal(self, "insert") is None

    @expose("/import/", methods=("GET", "POST"))
    def import_view(self) -> t.Any:
        """The import page's every step (see the module's docstring)."""
        refused = importing.refusal(self, "insert")
        if refused is not None:
            if request.method == "POST":  # a refused attempt is on record, as every refused write is
                importing.record_refusal(self, refused)
            abort(403, description=refused)
        if request.method == "GET":
            upload_id = request.args.get("upload")
            if upload_id is None:
                return self._import_upload_page()
            upload = import_files.find_upload(upload_id, self.info.id)
            if upload is None:
                return self._import_upload_page(gettext("This upload is no longer here: upload the file again."), 404)
            return self._import_preview(upload, None)
        if request.form.get("step") in ("preview", "write"):
            upload = import_files.find_upload(request.form.get("upload", ""), self.info.id)
            if upload is None:
                return self._import_upload_page(gettext("This upload is no longer here: upload the file again."), 404)
            return self._import_preview(upload, self._import_plan(upload), write=request.form.get("step") == "write")
        return self._import_receive()

    # -- upload ---------------------------------------------------------------------------
    def _import_receive(self) -> t.Any:
        limit = int(current_app.config["IMPORT_MAX_BYTES"])
        too_large = _too_large()
        if (request.content_length or 0) > limit + 64 * 1024:
            return self._import_upload_page(too_large, 413)
        try:
            sent = request.files.get("file")
        except RequestEntityTooLarge:
            return self._import_upload_page(too_large, 413)
        if sent is None or not sent.filename:
            return self._import_upload_page(gettext("Choose a file to import."), 400)
        hint = import_files.hint_for(sent.filename, sent.mimetype)
        upload = import_files.save_upload(sent.stream, sent.filename, hint, self.info.id)
        if upload.path.stat().st_size > limit:
            import_files.remove_upload(upload)
            return self._import_upload_page(too_large, 413)
        try:
            open_source(upload.path, hint)
        except UnreadableFile as broken:
            import_files.remove_upload(upload)
            return self._import_upload_page(translate(broken.message), 400)
        return redirect(self.get_url(".import_view", upload=upload.id), 303)

    def _import_upload_page(self, error: str | None = None, status: int = 200) -> tuple[str, int]:
        page = self.render(
            "dashboard/import.html",
            step="upload",
            error=error,
            max_bytes=int(current_app.config["IMPORT_MAX_BYTES"]),
            too_large=_too_large(),
            return_url=self.get_url(".index_view"),
        )
        return page, status

    # -- preview and write -------------------------------------------------------------------
    def _import_plan(self, upload: import_files.Upload) -> ImportPlan | None:
        """The mapping, mode and key the preview's form sent, or ``None`` when it sent none."""
        if "map-0" not in request.form:
            return None
        writable = importing.targets(self)
        known = {target.key for target in writable}
        mapping: list[str | None] = []
        index = 0
        while f"map-{index}" in request.form:
            chosen = request.form.get(f"map-{index}", IGNORE)
            mapping.append(chosen if chosen in known else None)
            index += 1
        mode = request.form.get("mode", "insert")
        keys = importing.upsert_keys(self, writable)
        chosen_key = request.form.get("key", "")
        key = next((k for k in keys if ",".join(k) == chosen_key), keys[0] if keys else ())
        return ImportPlan(writable, mapping, mode if mode in ("insert", "upsert") else "insert", key)

    def _import_preview(self, upload: import_files.Upload, plan: ImportPlan | None, *, write: bool = False) -> t.Any:
        writable = importing.targets(self)
        try:
            source = open_source(upload.path, upload.hint)
        except UnreadableFile as broken:
            import_files.remove_upload(upload)
            return self._import_upload_page(translate(broken.message), 400)
        if plan is None or len(plan.mapping) != len(source.columns):
            plan = ImportPlan(writable, guess_mapping(source.columns, writable), "insert", ())
        error = None
        if plan.mode == "upsert":
            error = importing.refusal(self, "upsert")
        problems = [translate(problem) for problem in plan.problems()]
        if write and error is None and not problems:
            try:
                with import_files.claimed(upload) as held:
                    counts = importing.run(self, replace(source, path=held.path), plan, upload.filename)
            except import_files.UploadTaken:
                error = gettext("This file is being imported already: wait for that import, then look at the list.")
            except importing.ImportFailed as failed:
                error = failed.message
            else:
                import_files.remove_upload(upload)
                flash(
                    gettext(
                        "Imported %(file)s: %(inserted)s inserted, %(updated)s updated.",
                        file=upload.filename,
                        inserted=ngettext("%(num)s row", "%(num)s rows", counts.inserted),
                        updated=ngettext("%(num)s row", "%(num)s rows", counts.updated),
                    ),
                    "success",
                )
                return redirect(self.get_url(".index_view"))
        try:
            checked = check(source, plan, LISTED_ERRORS) if not problems else None
            shown = self._import_rows(source)
        except UnreadableFile as broken:
            import_files.remove_upload(upload)
            return self._import_upload_page(translate(broken.message), 400)
        keys = importing.upsert_keys(self, writable)
        may_upsert = bool(keys) and importing.refusal(self, "upsert") is None
        return self.render(
            "dashboard/import.html",
            step="preview",
            error=error,
            upload=upload,
            source=source,
            plan=plan,
            choices=[(target.key, target_label(target)) for target in writable],
            mapped=[plan.target(key).name if key else None for key in plan.mapping],
            problems=problems,
            checked=checked,
            errors=[importing.row_error_text(e) for e in checked.errors] if checked else [],
            rows=shown,
            keys=[(",".join(k), ", ".join(plan.target(c).name for c in k)) for k in keys] if may_upsert else [],
            chosen_key=",".join(plan.key),
            return_url=self.get_url(".index_view"),
        )

    def _import_rows(self, source: Source) -> list[tuple[int, tuple[str | None, ...]]]:
        shown = []
        rows = source.rows()
        try:
            for row in rows:
                shown.append((row.number, row.cells))
                if len(shown) >= PREVIEW_ROWS:
                    break
        finally:
            rows.close()
        return shown


def _too_large() -> str:
    return gettext(
        "The file is larger than %(limit)s bytes (the IMPORT_MAX_BYTES setting): nothing was imported.",
        limit=format_number(int(current_app.config["IMPORT_MAX_BYTES"])),
    )


def target_label(target: Target) -> str:
    """A mapping choice: the column's name, marked when a new row needs it."""
    return f"{target.name} *" if target.required else target.name
