"""Parts of the page layout rendered once per role and language, then reused in every page.

The navbar (brand, table finder, menu, language menu, account) and the asset tags are the
same for every operator of one role reading in one language, yet rendering them was a fifth
of every page's time. A template wraps such a part in ``{% call dashboard_cached(name, ...) %}``;
the first render is kept in this process and later pages reuse it.

What differs per request is never inside a kept part: the part holds *slots*
(``dashboard_slot("csrf")``) that are filled when the page is served, with the session's CSRF
token, the CSP nonce, the page's own address and the operator's name, each escaped.
"""

from __future__ import annotations

import re
import threading
import typing as t

from flask import Flask, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from dashboard.i18n.translation import current_locale
from dashboard.security.headers import csp_nonce

#: Kept parts per process; a bound, because the key holds the page's view (for the active menu entry).
MAX_PARTS = 2048
# A slot is a marker that cannot come out of escaped template text (NUL is never in a page).
_SLOT = "\x00slot:{}\x00"
_INDENTATION = re.compile(r"\n[ \t]+")
_BLANK_LINES = re.compile(r"\n{2,}")


def _slot_values() -> dict[str, t.Callable[[], str]]:
    return {
        "csrf": generate_csrf,
        "nonce": csp_nonce,
        "next": lambda: request.full_path.rstrip("?"),
        "user": lambda: str(getattr(current_user, "username", "")),
    }


_SLOTS = {name: _SLOT.format(name) for name in _slot_values()}


class FragmentCache:
    """Rendered layout parts of one app, keyed by part, role, language and the caller's key."""

    def __init__(self) -> None:
        self._parts: dict[tuple[t.Any, ...], str] = {}
        self._lock = threading.Lock()

    def render(self, name: str, *key: t.Any, caller: t.Callable[[], str]) -> Markup:
        """The part ``name`` for the current reader, rendered by ``caller`` the first time."""
        full_key = (
            name,
            getattr(current_user, "role", None),
            bool(getattr(current_user, "via_header", False)),
            str(current_locale()),
            request.script_root,
            *key,
        )
        html = self._parts.get(full_key)
        if html is None:
            html = compact(str(caller()))
            with self._lock:
                if len(self._parts) >= MAX_PARTS:
                    self._parts.clear()
                self._parts[full_key] = html
        return Markup(fill(html))  # nosec B704 -- a template render; slots are filled escaped


def compact(html: str) -> str:
    """``html`` without the indentation of its template lines: a kept part is rendered once and
    served many times, so its bytes count. A line break stays, even between two tags, where it
    is the space between two inline elements ("Read at 10:00. Refresh"); a part with
    preformatted text (``<pre>``, ``<textarea>``) is left as it is."""
    if "<pre" in html or "<textarea" in html:
        return html
    return _BLANK_LINES.sub("\n", _INDENTATION.sub("\n", html))


def slot(name: str) -> Markup:
    """The marker that stands for the per-request value ``name`` inside a kept part."""
    return Markup(_SLOTS[name])  # nosec B704 -- a constant marker, no outside text


def fill(html: str) -> str:
    """``html`` with every slot replaced by this request's value, escaped."""
    if "\x00" not in html:
        return html
    for name, produce in _slot_values().items():
        marker = _SLOTS[name]
        if marker in html:
            html = html.replace(marker, str(escape(produce())))
    return html


def scrub(html: str) -> str:
    """``html`` rendered for this request, with its CSRF token and CSP nonce turned back into
    slots, so it can be kept for others. Both are long random strings: nothing else matches."""
    for name in ("csrf", "nonce"):
        value = str(escape(_slot_values()[name]()))
        if len(value) >= 16:
            html = html.replace(value, _SLOTS[name])
    return html


def init_app(app: Flask) -> None:
    """Make ``dashboard_cached`` and ``dashboard_slot`` available to every template."""
    fragments = FragmentCache()
    app.jinja_env.globals.update(dashboard_cached=fragments.render, dashboard_slot=slot)
