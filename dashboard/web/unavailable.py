"""The answer when the database goes away during a request: a 503 page, never a 500.

A server restarted, a connection killed (``pg_terminate_backend``, MariaDB ``KILL``) or a
network gone while a request runs ends in a driver error. Reads let it propagate; writes
turn it into :class:`DatabaseUnreachable` after their transaction was rolled back (or
died with the connection, which rolls it back on the server). Either way the operator
gets the same page: "The database is not reachable. Nothing was saved; try again." The
engine checks connections before use (``pool_pre_ping``), so the next request works as
soon as the database answers again, without restarting anything.
"""

from __future__ import annotations

import logging
import typing as t

from flask import Flask, make_response, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import ServiceUnavailable

from dashboard.db.errors import first_line, is_gone
from dashboard.i18n.translation import gettext
from dashboard.messages import N_
from dashboard.problems import is_api_path, problem
from dashboard.site_state import current_site
from dashboard.urls import safe_next
from dashboard.web.errors import plain_page

log = logging.getLogger(__name__)

MESSAGE = N_("The database is not reachable. Nothing was saved; try again.")
#: Seconds a client is asked to wait before retrying.
RETRY_AFTER_S = 5


class DatabaseUnreachable(ServiceUnavailable):
    """Raised by a view whose write could not reach the database; answered with the 503 page."""

    description = MESSAGE


def unavailable_response() -> t.Any:
    """The 503 page, in the site's frame when that can be drawn, else a plain page; a problem under ``/api/``."""
    if is_api_path(request.path):
        # A script reads a problem, never a page (dashboard.problems).
        return problem(
            503,
            gettext("Database not reachable"),
            gettext(MESSAGE),
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    retry_url = safe_next(request.full_path.rstrip("?")) if request.method in ("GET", "HEAD") else None
    try:
        admin = current_site().admin
        body = admin.index_view.render("dashboard/unavailable.html", retry_url=retry_url)
    except Exception:
        # The frame needs the operator (state database) and the menu: whatever stops it,
        # the error page must not fail in turn.
        log.debug("unavailable page drawn without the site frame", exc_info=True)
        body = plain_page(
            gettext("Database not reachable"),
            gettext("The database is not reachable."),
            gettext("Nothing was saved; try again."),
            link=("/admin/", gettext("Home")),
        )
    response = make_response(body, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _unreachable(_error: DatabaseUnreachable) -> t.Any:
    return unavailable_response()


def _database_error(error: DBAPIError) -> t.Any:
    if not is_gone(error):
        raise error  # any other database error stays a server error, logged as such
    reason = first_line(error)
    log.warning("database not reachable during %s %s: %s", request.method, request.path, reason)
    return unavailable_response()


def init_app(app: Flask) -> None:
    """Answer lost and unreachable databases with the 503 page."""
    app.register_error_handler(DatabaseUnreachable, _unreachable)
    app.register_error_handler(DBAPIError, _database_error)
