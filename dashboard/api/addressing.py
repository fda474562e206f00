"""What an API address names: the relation behind ``/api/<endpoint>/``, the row behind
``/api/<endpoint>/<key>``, and whether the caller may touch them.

Every refusal is a problem (:mod:`dashboard.problems`) raised with :func:`flask.abort`, so a
handler reads as the happy path. A relation the caller may not view answers exactly like one
that does not exist (404): an API must not tell a curious token which tables there are.

Also here: the registry of the API's routes (:data:`api_routes`, filled by the modules that
answer them and bound to the blueprint by :mod:`dashboard.api.routes`), a row's JSON
(:func:`row_json`) and its ``ETag``.
"""

from __future__ import annotations

import hashlib
import hmac
import typing as t
from dataclasses import dataclass

from flask import Response, abort, current_app, json
from sqlalchemy.exc import SQLAlchemyError

from dashboard.api import values
from dashboard.db.errors import is_gone
from dashboard.db.records import Record
from dashboard.db.reflection import ColumnInfo
from dashboard.i18n.translation import gettext
from dashboard.problems import problem
from dashboard.site_state import current_site
from dashboard.web.keys import BadKey, decode_key, encode_key

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

#: Table actions of the API and the view property that says whether the caller may do them.
WRITE_ACTIONS = {"create": "can_create", "edit": "can_edit", "delete": "can_delete"}


# -- the route registry -------------------------------------------------------------------
@dataclass(frozen=True)
class ApiRoute:
    """One route of the API: ``rule`` below ``/api``, answered by ``view`` for ``methods``."""

    rule: str
    endpoint: str
    view: t.Callable[..., t.Any]
    methods: tuple[str, ...]


class RouteTable:
    """The API's routes, in the order they were declared."""

    def __init__(self) -> None:
        self.routes: list[ApiRoute] = []

    def route(
        self, rule: str, *, methods: t.Sequence[str] = ("GET",), endpoint: str | None = None
    ) -> t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]:
        """Declare ``rule`` (e.g. ``"/<endpoint>/<rowkey:key>"``) answered by the decorated function."""

        def register(view: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            self.routes.append(ApiRoute(rule, endpoint or view.__name__, view, tuple(methods)))
            return view

        return register


#: Every route of the API; ``@api_routes.route("/<endpoint>/", methods=["POST"])``.
api_routes = RouteTable()


# -- relations ----------------------------------------------------------------------------
def _by_endpoint() -> dict[str, TableView]:
    found = current_app.extensions.get("dashboard_api_views")
    if found is None:
        found = {view.info.endpoint: view for view in current_site().views.values()}
        current_app.extensions["dashboard_api_views"] = found
    return t.cast("dict[str, TableView]", found)


def may_view(view: TableView) -> bool:
    """Whether the caller may read ``view``'s relation through the API (and see it in the document)."""
    return view.info.readable and view.allowed("view")


def visible_views() -> list[TableView]:
    """The relations the caller may read, in the site's order."""
    return [view for view in current_site().views.values() if may_view(view)]


def not_found(detail: str | None = None) -> t.NoReturn:
    """Answer 404 (a problem) now."""
    abort(problem(404, gettext("Not found"), detail))


def relation(endpoint: str) -> TableView:
    """The view of the relation at ``/api/<endpoint>/``; 404 when there is none the caller may read."""
    view = _by_endpoint().get(endpoint)
    if view is None or not may_view(view):
        not_found(gettext("No relation of that name."))
    return view


def may(view: TableView, action: str) -> bool:
    """Whether the caller may ``action`` ("view", "create", "edit", "delete") on ``view``."""
    if action == "view":
        return may_view(view)
    return may_view(view) and bool(getattr(view, WRITE_ACTIONS[action]))


# -- columns ------------------------------------------------------------------------------
def api_columns(view: TableView) -> list[ColumnInfo]:
    """The columns the API shows, filters and sorts: those the pages show (secret-like and
    hidden columns never appear)."""
    return list(view.visible)


# -- rows ---------------------------------------------------------------------------------
def row_key(view: TableView, text: str) -> tuple[t.Any, ...]:
    """The key values that ``text`` (the row's key text, percent-decoded) stands for; 404
    when the relation has no row identity or no row can have that key."""
    if not view.info.has_row_identity:
        not_found(gettext("Rows of this relation have no key: list them instead."))
    try:
        return decode_key(text, view.store.key_codecs)
    except BadKey:
        not_found(gettext("No row has this key."))


def key_text(view: TableView, record: Record) -> str | None:
    """The row's key text, or ``None`` for a relation without row identity."""
    if not view.info.has_row_identity:
        return None
    return encode_key(record._key, view.store.key_codecs)


def fetch_row(view: TableView, key: t.Sequence[t.Any]) -> Record:
    """The row with ``key``; 404 when there is none."""
    try:
        record = view.store.get(key)
    except (SQLAlchemyError, OverflowError) as exc:
        if is_gone(exc):
            raise
        # A key the database cannot compare with the column (out of its range): no such row.
        not_found(gettext("No row has this key."))
    if record is None:
        not_found(gettext("No row has this key."))
    return record


def row_json(view: TableView, record: Record, columns: t.Sequence[ColumnInfo] | None = None) -> dict[str, t.Any]:
    """``{"key": ..., "values": {...}}`` of ``record``, in ``columns`` (default: every shown one)."""
    shown = api_columns(view) if columns is None else columns
    return {"key": key_text(view, record), "values": values.column_values(view.store.codecs, shown, record)}


def version_tag(view: TableView, fingerprint: str) -> str:
    """The version of a row the API shows, from its fingerprint: a keyed hash of it.

    The fingerprint is a hash of every column, hidden and secret-looking ones too: given as
    it is, a caller who sees the other values could try the few values a hidden column may
    hold until one matched. Keyed by the site's secret (and the relation), the tag tells
    nothing but whether the row changed.
    """
    secret = str(current_app.secret_key or "").encode()
    message = f"{view.info.id}\x00{fingerprint}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:40]


def etag(view: TableView, record: Record) -> str:
    """The row's ``ETag`` header value: its :func:`version_tag`, quoted."""
    return f'"{version_tag(view, view.store.fingerprint(record))}"'


#: Never a row's fingerprint: what a write expects when the tag it was sent is stale.
_NO_FINGERPRINT = "stale"


def expected_fingerprint(view: TableView, record: Record, tags: t.Collection[str]) -> str:
    """The fingerprint a write of ``record`` may expect: its own when one of ``tags`` (sent in
    ``If-Match``) is its version, else one no row has, so the write finds a conflict."""
    fingerprint = view.store.fingerprint(record)
    return fingerprint if version_tag(view, fingerprint) in tags else _NO_FINGERPRINT


def json_response(body: t.Any, status: int = 200) -> Response:
    """``body`` as a JSON response, members in the order given (a row's columns in table order)."""
    return current_app.response_class(json.dumps(body, sort_keys=False), status=status, mimetype="application/json")
