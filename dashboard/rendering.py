"""Cell values as safe HTML for list and details pages."""

from __future__ import annotations

import typing as t

from markupsafe import Markup, escape

from dashboard.codecs import Codec
from dashboard.formatting import NUMBER_KINDS, TEMPORAL_KINDS, format_value
from dashboard.i18n import gettext


def render_value(codec: Codec, value: t.Any, *, limit: int | None, grouping: bool = True) -> t.Any:
    """A value as safe HTML for lists and details; text is escaped, never trusted.

    Numbers, dates and times are shown in the operator's locale (:mod:`dashboard.formatting`);
    dates and times carry their stored text in ``title``, which is also what forms take.

    :param grouping: group the digits of numbers (off for keys, which are identifiers).
    """
    if value is None:
        return Markup('<span class="text-muted">NULL</span>') if limit is None else ""
    if codec.kind == "boolean":
        return Markup('<span class="badge badge-{}">{}</span>').format(
            "success" if value else "secondary", gettext("Yes") if value else gettext("No"))
    text = codec.to_text(value)
    if codec.kind in NUMBER_KINDS or codec.kind in TEMPORAL_KINDS:
        shown = format_value(codec.kind, value, grouping=grouping)
        if shown is not None and codec.kind in TEMPORAL_KINDS:
            return Markup('<span title="{}">{}</span>').format(text, shown)
        if shown is not None:
            return escape(shown)
    if limit is not None and len(text) > limit:
        return Markup('<span title="{}">{}…</span>').format(text[:1000], text[:limit])
    if codec.kind in ("json", "array") and limit is None:
        return Markup("<pre>{}</pre>").format(text)
    return escape(text)
