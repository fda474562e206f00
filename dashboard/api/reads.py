"""Reading through the API: ``GET /api/<endpoint>/`` (rows) and ``GET /api/<endpoint>/<key>`` (one row).

A listing runs the list page's query (:class:`dashboard.db.listing.ListingQuery`): the same
search (full-text or ``LIKE``), the same cached pages and counts, the cache keyed by the
caller's role and rights on the relation as the pages' are, so two callers with different
rights never share a result. Pages follow a signed keyset cursor (:mod:`dashboard.api.cursors`).

One row answers with its fingerprint as ``ETag``, the value a write sends back in
``If-Match`` (:mod:`dashboard.api.writes`); ``If-None-Match`` with it answers 304.
"""

from __future__ import annotations

import logging
import typing as t

from flask import abort, current_app, g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from dashboard.api import addressing, cursors
from dashboard.api.addressing import api_routes
from dashboard.api.arguments import parse_listing_args
from dashboard.db.errors import Kind, classify, read_message
from dashboard.db.listing import ListingQuery
from dashboard.db.records import Record
from dashboard.i18n.translation import gettext, translate
from dashboard.problems import problem
from dashboard.web import text_search
from dashboard.web.caching import listing_cache

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

log = logging.getLogger(__name__)


def cache_scope(view: TableView) -> list[t.Any]:
    """Who is asking, as far as it could change an answer: the pages' scope (role and rights),
    the caller's user and the token's name (a token may narrow what its user may do)."""
    token = g.get("dashboard_token")
    return ["api", *view.cache_scope(), getattr(current_user, "id", None), getattr(token, "name", None)]


def refused_read(view: TableView, exc: BaseException) -> t.NoReturn:
    """Answer a read the database refused: 400 when the arguments made it fail, 503 otherwise."""
    error = classify(exc)
    if error.kind is Kind.GONE:
        raise exc
    log.info("API read of %s failed (%s): %s", view.info.id, error.kind, error.reason)
    if error.kind in (Kind.OUT_OF_RANGE, Kind.OTHER):
        abort(
            problem(400, gettext("Bad request"), gettext("The database refused this query: check the filter values."))
        )
    abort(problem(503, gettext("Not available"), translate(read_message(error, view.info.name))))


@api_routes.route("/<endpoint>/", endpoint="list_rows")
def list_rows(endpoint: str) -> t.Any:
    """Rows of a relation, a page at a time."""
    view = addressing.relation(endpoint)
    args = parse_listing_args(view, request.args)
    where = list(args.where)
    if args.search:
        condition = text_search.condition(view, args.search)
        if condition is not None:
            where.append(condition)
    digest = cursors.listing_digest(args.identity)
    resume = cursors.read_cursor(view.store, args.order, digest, args.cursor)
    query = ListingQuery(view.store, listing_cache(), cache_scope(view), where, args.order, {"api": args.identity})
    conditions = where if resume.position is None else [*where, cursors.after(view.store, args.order, resume.position)]

    def read_page() -> list[Record]:
        # One row more than asked for: whether there is a next page, without counting.
        return view.store.select(where=conditions, order=args.order, offset=resume.offset, limit=args.limit + 1)

    start = cursors.listing_digest([resume.position, resume.offset]) if args.cursor else ""
    try:
        records = query.remembered("api_rows", [start, args.limit], read_page)
        count = query.count(
            exact=args.exact_count,
            estimate_above=int(current_app.config["COUNT_ESTIMATE_ABOVE"]),
            cap=int(current_app.config["COUNT_CAP"]),
        )
    except (SQLAlchemyError, OverflowError) as exc:
        refused_read(view, exc)
    page, more = records[: args.limit], len(records) > args.limit
    following = (
        cursors.make_cursor(view.store, args.order, digest, resume.offset + len(page), page[-1]) if more else None
    )
    return addressing.json_response(
        {
            "rows": [addressing.row_json(view, record, args.columns) for record in page],
            "next": following,
            "count": {"value": count.rows, "exact": count.kind == "exact"},
        }
    )


@api_routes.route("/<endpoint>/<rowkey:key>", endpoint="get_row")
def get_row(endpoint: str, key: str) -> t.Any:
    """One row, with its fingerprint as ``ETag``."""
    view = addressing.relation(endpoint)
    record = addressing.fetch_row(view, addressing.row_key(view, key))
    etag = addressing.etag(view, record)
    wanted = request.headers.get("If-None-Match")
    if wanted and (wanted.strip() == "*" or etag in [part.strip() for part in wanted.split(",")]):
        response = current_app.response_class(status=304)
    else:
        response = addressing.json_response(addressing.row_json(view, record))
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "private, no-cache"
    return response
