"""Finding a table among hundreds: the navbar's search box and the recently used tables.

Flask-Admin puts every view of a category into one dropdown; with 300 tables that menu is
taller than any screen. Table views stay out of the menu (``TableView.is_visible``) and
the navbar gets a search box instead. It asks :func:`tables_json` for the tables this
operator may open, once per page, and filters them as the operator types.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint, Flask, jsonify, request, session

from dashboard.i18n.translation import translate
from dashboard.site_state import current_site
from dashboard.urls import own_endpoint, own_url
from dashboard.web import saved_views

#: How many recently opened tables the session remembers (a few bytes each in the cookie).
RECENT_LIMIT = 8

blueprint = Blueprint(own_endpoint("navigation"), __name__)


def list_url(view: t.Any) -> str:
    """The URL of a table view's list page: what ``url_for(f"{endpoint}.index_view")`` answers.

    Built from the view's own path: pages listing hundreds of tables (the finder's data,
    the home page) would otherwise pay a ``url_for`` per table, and the first of them the
    compilation of each table's URL builder (dashboard.web.routing).
    """
    return f"{request.script_root}{view.url}/"


@blueprint.route(own_url("navigation.json"))
def tables_json() -> t.Any:
    """The tables the operator may open, grouped by schema, the recently used ones first."""
    state = current_site()
    tables = []
    for view_id, view in state.views.items():
        if not view.is_accessible():
            continue
        entry = {
            "id": view_id,
            "label": str(view.name),
            "group": str(view.category or ""),
            "url": list_url(view),
        }
        if not view.info.readable:
            # Its page says why and what to grant; it is never queried (dashboard.db.privileges).
            entry["note"] = translate(view.info.privilege_notice)
        tables.append(entry)
    # The operator's saved views of the tables they may open (dashboard.web.saved_views), first.
    tables[:0] = saved_views.finder_entries({table["id"]: table for table in tables})
    known = {table["id"] for table in tables}
    recent = [view_id for view_id in session.get("recent_tables", []) if view_id in known]
    return jsonify({"recent": recent, "tables": tables})


def remember_table() -> None:
    """Put the table of this request's list page first in the operator's recent tables."""
    if request.method != "GET" or not request.endpoint or not request.endpoint.endswith(".index_view"):
        return
    endpoint = request.endpoint.rsplit(".", 1)[0]
    view_id = next((view_id for view_id, view in current_site().views.items() if view.endpoint == endpoint), None)
    if view_id is None:
        return
    recent = [view_id] + [other for other in session.get("recent_tables", []) if other != view_id]
    if recent[:RECENT_LIMIT] != session.get("recent_tables"):
        session["recent_tables"] = recent[:RECENT_LIMIT]


def init_app(app: Flask) -> None:
    """Serve the table list for the navbar search and keep track of recent tables."""
    app.register_blueprint(blueprint)
    app.after_request(_remember_after)


def _remember_after(response: t.Any) -> t.Any:
    # After the view ran: only a list page that answered 200 counts as "used".
    if response.status_code == 200:
        remember_table()
    return response
