"""The URL scheme: one address per relation and per page of the dashboard's own, whatever the names.

Table and view names are the database's, so any of them may look like a page of ours
(``audit``, ``login``, ``pages``), or two may turn into the same URL (``a b`` and
``a_b``). Two rules keep every address distinct, by construction rather than by a list
of names to avoid:

- **Paths.** A relation is served at ``/admin/<slug>/``. A slug is made of
  ``A-Z a-z 0-9 _ -`` (and ``.`` between a schema and a table) and never starts with
  ``-``; the dashboard's own pages live under ``/admin/-/`` (the audit log, plugin pages,
  the table finder's data, Flask-Admin's static files), as Datasette keeps its own under
  ``/-/``. Everything else of ours is outside ``/admin/``: ``/login``, ``/logout``,
  ``/language``, ``/healthz``, ``/dashboard-static/``, ``/plugins-static/<plugin>/``.
- **Endpoints** (Flask blueprint names). A relation's endpoint is made of the same
  characters; the dashboard's own are ``dashboard:<name>``, and a relation's never holds
  a ``:``. Only Flask-Admin's home page keeps its fixed name ``admin``, which no relation
  is given.

Within those rules, :func:`assign_addresses` gives each relation its own path and
endpoint: a name that is already URL-safe keeps itself (``orders`` at ``/admin/orders/``),
other names get a readable slug plus a short hash of the original (``we"ird table`` at
``/admin/we_ird_table-1a2b3c/``), and where two relations would still meet, the one whose
slug is derived gets a suffix (``-2``, ``-3``...). Relations are taken in a fixed order,
so the same schema gets the same addresses at every start.

:func:`safe_next` says whether a "go back to" address (``?next=``, the language menu's)
is a path on this site, so no redirect leads elsewhere.

This module imports no Flask: reflection uses it before any app exists.
"""

from __future__ import annotations

import hashlib
import re
import typing as t
import unicodedata
from urllib.parse import urlsplit

#: Where Flask-Admin serves the home page and, below it, every relation.
ADMIN_URL = "/admin"
#: Where the dashboard's own pages live: no relation's slug starts with ``-``.
OWN_URL = f"{ADMIN_URL}/-"
#: Flask-Admin's static files (its CSS and JavaScript), below ``/admin/``.
ADMIN_STATIC_PATH = "/-/static"
#: The prefix of every endpoint of the dashboard's own; no relation's endpoint holds a ``:``.
OWN_ENDPOINT_PREFIX = "dashboard:"
#: Flask-Admin's home page and static files: the one fixed endpoint name no relation gets.
RESERVED_ENDPOINTS = frozenset({"admin"})

# A name that can be its own slug: URL-safe, and not starting with "-" (our pages' prefix).
_EXACT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


def own_endpoint(name: str) -> str:
    """The endpoint (blueprint name) of the dashboard's own view ``name``, e.g. ``dashboard:audit``."""
    return f"{OWN_ENDPOINT_PREFIX}{name}"


def own_url(path: str) -> str:
    """The URL of the dashboard's own page ``path`` (no leading slash), e.g. ``/admin/-/audit``."""
    return f"{OWN_URL}/{path}"


def make_slug(text: str) -> str:
    """A stable, readable URL part for a name: the name itself when it is URL-safe.

    Otherwise the slug keeps the readable part of the name and adds a short hash of the
    original, so ``we"ird table`` and ``we'ird table`` never share a URL. A slug never
    starts with ``-``.
    """
    if _EXACT.match(text):
        return text
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    readable = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_").lower()[:40] or "table"
    # A short, stable tag telling similar names apart, not a security measure.
    digest = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:6]
    return f"{readable}-{digest}"


class Addressed(t.Protocol):
    """A relation as :func:`assign_addresses` sees it (:class:`dashboard.db.reflection.TableInfo`
    is one): its names, and the two addresses it is given."""

    schema: str | None
    name: str
    url_path: str
    endpoint: str


def assign_addresses(tables: t.Sequence[Addressed]) -> None:
    """Set ``url_path`` and ``endpoint`` of every relation, each distinct from every other.

    Names that are their own slug claim their address first; derived slugs then take a
    suffix where the address is taken. Relations are visited in order of (schema, name),
    so the outcome depends on the schema only, not on the order reflection found it in.
    """
    ordered = sorted(tables, key=lambda info: (info.schema is not None, info.schema or "", info.name))
    paths = _distinct(ordered, _natural_path, taken=set())
    endpoints = _distinct(ordered, _natural_endpoint, taken=set(RESERVED_ENDPOINTS))
    for info in ordered:
        info.url_path = paths[id(info)]
        info.endpoint = endpoints[id(info)]


def _natural_path(info: Addressed) -> tuple[str, bool]:
    if info.schema is None:
        slug = make_slug(info.name)
        return slug, slug == info.name
    slug = f"{make_slug(info.schema)}.{make_slug(info.name)}"
    return slug, slug == f"{info.schema}.{info.name}"


def _natural_endpoint(info: Addressed) -> tuple[str, bool]:
    if info.schema is None:
        slug = make_slug(info.name)
        return slug, slug == info.name and slug not in RESERVED_ENDPOINTS
    # Endpoints may not hold a dot: a schema's tables are "schema__table", a derived name.
    return make_slug(f"{info.schema}__{info.name}"), False


def _distinct(
    ordered: t.Sequence[Addressed], natural: t.Callable[[Addressed], tuple[str, bool]], taken: set[str]
) -> dict[int, str]:
    wanted = {id(info): natural(info) for info in ordered}
    chosen: dict[int, str] = {}
    for exact_pass in (True, False):
        for info in ordered:
            slug, exact = wanted[id(info)]
            if exact is not exact_pass:
                continue
            candidate, number = slug, 1
            while candidate in taken:
                number += 1
                candidate = f"{slug}-{number}"
            taken.add(candidate)
            chosen[id(info)] = candidate
    return chosen


def safe_next(target: t.Any) -> str | None:
    """``target`` when it is a path on this site, else ``None``.

    Browsers read ``//host``, ``/\\host`` and paths with tabs or newlines inside (``%09//host``)
    as other sites, so anything but a plain absolute path is refused.
    """
    if not isinstance(target, str) or not target or len(target) > 2048:
        return None
    if "\\" in target or any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
