"""The API explorer at ``/api/``: the caller's OpenAPI document, browsable and callable.

The page is Swagger UI (Apache-2.0), vendored in ``dashboard/static/vendor/swagger-ui/``
with its licence, so it works offline and never loads a script from a CDN. It runs under
the site's Content-Security-Policy as every page does (:mod:`dashboard.security.headers`):
the scripts are files of this site loaded with the request's nonce, and the one that starts
Swagger UI (``static/api_explorer.js``) is a file too, not an inline script.

"Try it out" calls the API with the operator's session, so the explorer shows and does
exactly what that operator may. The page carries the session's CSRF token in a data
attribute, and ``api_explorer.js`` sends it in ``X-CSRFToken`` with every POST, PATCH and
DELETE to this site, as the API asks of a session (a bearer token needs none).

Login is required as for any page: an anonymous browser is sent to the login page
(:mod:`dashboard.security.auth`), not answered with the API's 401 problem.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from dashboard.problems import API_PATH
from dashboard.urls import own_endpoint

#: The blueprint holding the page; its one endpoint is ``EXPLORER_ENDPOINT``.
BLUEPRINT = own_endpoint("api_explorer")
#: The explorer page's endpoint, for ``url_for``.
EXPLORER_ENDPOINT = f"{BLUEPRINT}.explorer"
#: Where the explorer finds the document it shows.
OPENAPI_URL = f"{API_PATH}/openapi.json"


def explorer() -> str:
    """The explorer page; Swagger UI loads the document from :data:`OPENAPI_URL` itself."""
    return render_template("dashboard/api_explorer.html", openapi_url=OPENAPI_URL)


def init_app(app: Flask) -> None:
    """Serve the explorer at ``/api/``."""
    blueprint = Blueprint(BLUEPRINT, __name__)
    blueprint.add_url_rule(f"{API_PATH}/", "explorer", explorer, methods=["GET"])
    app.register_blueprint(blueprint)
