"""Whole list pages from the shared cache, less what belongs to one session.

A warm list page used to rebuild everything it shows from cached rows: toolbar, filters,
header, rows, pager, charts, the filter and action scripts. All of that is the same for
every reader with the same role, language and time zone asking the same listing, so it is
kept in the listing cache (:mod:`dashboard.web.caching`) and a hit only renders the layout
around it. The parts are *scrubbed* before they are stored: this request's CSRF token and
CSP nonce become slots (:mod:`dashboard.web.fragments`) that every later page fills with
its own. Flashed messages are drawn by the layout, outside the kept parts.

What went wrong while a kept page was rendered (a plugin's cell renderer that raised) is
kept with it as *notes* (:func:`note`) and replayed on every hit through the app's
:data:`REPLAY_KEY` extension, so a worker that only ever serves the page from the cache
still learns of it (the plugin registry reports each failure once).

The key holds the table's write generation (a write through the dashboard is seen at once
by every worker), the listing's arguments, the reader's permission scope, language, time
zone and the site's address prefix. A page whose listing was refused, or one asked to be
read fresh (``refresh``, ``exact_count``), is neither served from nor kept in the cache.
"""

from __future__ import annotations

import typing as t

from flask import Flask, current_app, g, request
from markupsafe import Markup

from dashboard.db.listing import MISSING
from dashboard.i18n.translation import current_locale, display_zone
from dashboard.web.caching import listing_cache
from dashboard.web.fragments import compact, fill, scrub

#: Arguments that ask for a fresh read: such a page is never cached.
FRESH_ARGUMENTS = ("refresh", "exact_count")
#: ``app.extensions[REPLAY_KEY](notes)`` is called with a kept page's notes when it is served.
REPLAY_KEY = "dashboard_page_notes"
#: Where the notes are kept among the page's parts (not a part's name: parts are template names).
_NOTES = "-notes"


def page_key(table_id: str, scope: t.Any) -> str | None:
    """The cache key of the current list page, or ``None`` when it must be rendered anew."""
    cache = listing_cache()
    if cache is None or request.method != "GET" or any(name in request.args for name in FRESH_ARGUMENTS):
        return None
    generation = cache.generation(table_id)
    if generation is None:
        return None
    args = [sorted(request.args.items(multi=True)), request.script_root, str(current_locale()), str(display_zone())]
    return cache.key(table_id, generation, "list-page", scope, args)


def cached_parts(key: str) -> dict[str, Markup] | None:
    """The kept parts of the page under ``key``, filled for this request; ``None`` on a miss."""
    cache = listing_cache()
    found = cache.get(key) if cache is not None else MISSING
    if found is MISSING or not isinstance(found, dict):
        return None
    notes = found.get(_NOTES)
    replay = current_app.extensions.get(REPLAY_KEY)
    if notes and replay is not None:
        replay(notes)
    parts = {name: html for name, html in found.items() if name != _NOTES}
    return {name: Markup(fill(html)) for name, html in parts.items()}  # nosec B704 -- kept template output


def keep_part(name: str, caller: t.Callable[[], str]) -> Markup:
    """Render a part of the list page (``{% call dashboard_keep_part("body") %}``) and note it
    for the cache when this page is one to keep."""
    html = compact(str(caller()))
    if g.get("dashboard_page_key"):
        g.setdefault("dashboard_page_parts", {})[name] = scrub(html)
    return Markup(html)  # nosec B704 -- a template render (autoescaped)


def note(entry: tuple[str, ...]) -> None:
    """Keep ``entry`` (plain strings) with the page being rendered, replayed when it is served from the cache."""
    notes = g.setdefault("dashboard_page_notes", []) if g.get("dashboard_page_key") else None
    if notes is not None and entry not in notes:
        notes.append(entry)


def store_page() -> None:
    """Keep the parts this request rendered, unless its listing was refused."""
    key = g.pop("dashboard_page_key", None)
    parts = g.pop("dashboard_page_parts", None)
    notes = g.pop("dashboard_page_notes", None)
    cache = listing_cache()
    if key and parts and cache is not None and not g.get("dashboard_listing_refused"):
        cache.set(key, {**parts, _NOTES: notes} if notes else parts)


def init_app(app: Flask) -> None:
    """Make ``dashboard_keep_part`` available to the list template."""
    app.jinja_env.globals["dashboard_keep_part"] = keep_part
