"""Cell values as safe HTML for list and details pages."""

from __future__ import annotations

import typing as t

from markupsafe import Markup, escape

from dashboard.db.codecs import Codec, InvalidText
from dashboard.db.json_text import UnreadableJSON
from dashboard.i18n.formatting import NUMBER_KINDS, TEMPORAL_KINDS, format_value
from dashboard.i18n.translation import gettext

#: List cells longer than this many characters may be cut by the list's CSS: they carry a title.
WHOLE_IN_CELL = 40


def render_value(codec: Codec, value: t.Any, *, limit: int | None, grouping: bool = True) -> t.Any:
    """A value as safe HTML for lists and details; text is escaped, never trusted.

    Numbers, dates and times are shown in the operator's locale (:mod:`dashboard.i18n.formatting`);
    dates and times carry their stored text in ``title``, which is also what forms take.

    :param grouping: group the digits of numbers (off for keys, which are identifiers).
    """
    if value is None:
        return Markup('<span class="text-muted">NULL</span>') if limit is None else ""
    if codec.kind == "boolean":
        return Markup('<span class="badge badge-{}">{}</span>').format(
            "success" if value else "secondary", gettext("Yes") if value else gettext("No")
        )
    text = codec.to_text(value)
    if isinstance(value, (InvalidText, UnreadableJSON)):
        return _placeholder(value, text, limit)
    if codec.kind in NUMBER_KINDS or codec.kind in TEMPORAL_KINDS:
        shown = format_value(codec.kind, value, grouping=grouping)
        if shown is not None and codec.kind in TEMPORAL_KINDS:
            return Markup('<span title="{}">{}</span>').format(text, shown)
        if shown is not None:
            return escape(shown)
    if limit is not None and len(text) > limit:
        return Markup('<span title="{}">{}…</span>').format(text[:1000], text[:limit])
    if limit is not None and len(text) > WHOLE_IN_CELL:
        # The list cuts what does not fit its cell (dashboard.css); the title still shows it all.
        return Markup('<span title="{}">{}</span>').format(text, text)
    if codec.kind in ("json", "array") and limit is None:
        return Markup("<pre>{}</pre>").format(text)
    return escape(text)


def _placeholder(value: InvalidText | UnreadableJSON, text: str, limit: int | None) -> Markup:
    """A stored value that cannot be shown as what its column promises, shown as readable
    text and marked as such (the edit form keeps it unless the operator changes it)."""
    mark = gettext("not valid UTF-8") if isinstance(value, InvalidText) else gettext("not readable as JSON")
    shown = text if limit is None or len(text) <= limit else text[:limit] + "…"
    return Markup(
        '<span class="dashboard-unreadable" title="{}">{}</span> <span class="badge badge-warning">{}</span>'
    ).format(unreadable_note(value), shown, mark)


def unreadable_note(value: t.Any) -> str | None:
    """What a placeholder stands for (:class:`InvalidText`, :class:`UnreadableJSON`); ``None``
    for any other value."""
    if isinstance(value, InvalidText):
        return gettext(
            "The stored text is not valid UTF-8: the bytes that are not are shown as \ufffd. "
            "It is kept as stored unless you change it."
        )
    if isinstance(value, UnreadableJSON):
        return gettext(
            "The stored value is nested too deep or is not JSON: it is shown as the text it is. "
            "It is kept as stored unless you change it."
        )
    return None
