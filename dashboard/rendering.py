"""Cell values as safe HTML for list and details pages."""

from __future__ import annotations

import typing as t

from flask_admin.babel import gettext
from markupsafe import Markup, escape

from dashboard.codecs import Codec


def render_value(codec: Codec, value: t.Any, *, limit: int | None) -> t.Any:
    """A value as safe HTML for lists and details; text is escaped, never trusted."""
    if value is None:
        return Markup('<span class="text-muted">NULL</span>') if limit is None else ""
    if codec.kind == "boolean":
        return Markup('<span class="badge badge-{}">{}</span>').format(
            "success" if value else "secondary", gettext("Yes") if value else gettext("No"))
    text = codec.to_text(value)
    if limit is not None and len(text) > limit:
        return Markup('<span title="{}">{}…</span>').format(text[:1000], text[:limit])
    if codec.kind in ("json", "array") and limit is None:
        return Markup("<pre>{}</pre>").format(text)
    return escape(text)
