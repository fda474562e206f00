"""Files uploaded to import, kept between the preview and the write.

An upload is streamed to a file of its own in the instance folder (``<instance>/imports/``),
never held in memory: Werkzeug spools a large request body to a temporary file, and
:func:`save_upload` copies it across in chunks. The page names it by a random id
(:func:`secrets.token_urlsafe`, 192 bits), never by a path: :func:`find_upload` accepts only
an id of that shape, and only for the operator who uploaded it and the table it was uploaded
to, so another operator's file, or any other file, cannot be named (checklist 24). One request
at a time writes it (:func:`claimed`), so a preview sent twice imports once. A file is
removed when its import is written, and every upload older than ``IMPORT_KEEP_SECONDS`` is
removed whenever a new one arrives.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import typing as t
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_login import current_user

from dashboard import clock

log = logging.getLogger(__name__)

#: The folder below the instance folder that holds uploads.
FOLDER = "imports"
_ID = re.compile(r"[A-Za-z0-9_-]{32}")


class Readable(t.Protocol):
    """What an upload is copied from: a request's stream, a file."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Upload:
    """A file waiting to be imported."""

    id: str
    path: Path
    filename: str
    hint: str | None
    table_id: str


def _folder() -> Path:
    folder = Path(current_app.instance_path) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _owner() -> str:
    return str(current_user.get_id()) if getattr(current_user, "is_authenticated", False) else ""


def hint_for(filename: str, mimetype: str | None) -> str | None:
    """The format a file's name or content type names (``csv``, ``xlsx``, ``json``, ``jsonl``), if any."""
    suffix = Path(filename).suffix.lower().lstrip(".")
    by_suffix = {"csv": "csv", "tsv": "csv", "txt": "csv", "xlsx": "xlsx", "json": "json", "jsonl": "jsonl"}
    by_type = {
        "text/csv": "csv",
        "application/json": "json",
        "application/x-ndjson": "jsonl",
        "application/jsonl": "jsonl",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    }
    return by_suffix.get(suffix) or by_type.get((mimetype or "").lower())


def save_upload(stream: Readable, filename: str, hint: str | None, table_id: str) -> Upload:
    """Copy ``stream`` into a new upload of the current operator for ``table_id``."""
    remove_stale()
    upload_id = secrets.token_urlsafe(24)
    folder = _folder()
    path = folder / f"{upload_id}.upload"
    with path.open("wb") as file:
        shutil.copyfileobj(stream, file, 1024 * 1024)
    name = filename[:200]
    meta = {"owner": _owner(), "filename": name, "hint": hint, "table": table_id, "at": clock.now()}
    (folder / f"{upload_id}.json").write_text(json.dumps(meta), encoding="utf-8")
    return Upload(upload_id, path, name, hint, table_id)


def find_upload(upload_id: str, table_id: str) -> Upload | None:
    """The current operator's upload ``upload_id`` for ``table_id``, or ``None``."""
    if not _ID.fullmatch(upload_id or ""):
        return None
    folder = _folder()
    try:
        meta = json.loads((folder / f"{upload_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = folder / f"{upload_id}.upload"
    if meta.get("owner") != _owner() or meta.get("table") != table_id or not path.is_file():
        return None
    return Upload(upload_id, path, str(meta.get("filename", "")), meta.get("hint"), table_id)


class UploadTaken(Exception):
    """Another request is writing this upload now (the same preview submitted twice)."""


@contextlib.contextmanager
def claimed(upload: Upload) -> t.Iterator[Upload]:
    """``upload`` held by this request alone while it is written: the file is renamed, which
    only one of two requests can do (a double click sends the same preview twice, and two
    imports of one file would insert its rows twice). Given back afterwards, unless removed.

    :raises UploadTaken: another request holds it.
    """
    writing = upload.path.with_suffix(".writing")
    try:
        os.rename(upload.path, writing)
    except FileNotFoundError:
        raise UploadTaken() from None
    try:
        yield Upload(upload.id, writing, upload.filename, upload.hint, upload.table_id)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.rename(writing, upload.path)


def remove_upload(upload: Upload) -> None:
    """Delete an upload's file and its record."""
    for suffix in (".upload", ".writing", ".json"):
        (upload.path.parent / f"{upload.id}{suffix}").unlink(missing_ok=True)


def remove_stale() -> int:
    """Delete uploads older than ``IMPORT_KEEP_SECONDS``; how many."""
    keep = float(current_app.config.get("IMPORT_KEEP_SECONDS", 3600))
    limit = clock.now() - keep
    removed = 0
    for meta_path in _folder().glob("*.json"):
        try:
            at = float(json.loads(meta_path.read_text(encoding="utf-8")).get("at", 0))
        except (OSError, ValueError, TypeError):
            at = 0.0
        if at < limit:
            meta_path.with_suffix(".upload").unlink(missing_ok=True)
            meta_path.with_suffix(".writing").unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            removed += 1
    return removed
