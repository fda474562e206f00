"""HTTP error pages in the operator's language, in the site's frame when it can be drawn.

Werkzeug answers ``abort(404)`` and its kin with an English page of its own and Flask
answers an unhandled exception with one too; an operator working in Japanese would meet
those on every mistyped address or refused action. Here each of them becomes a page that
says, in the operator's language, what happened and what to do, and keeps its status
code. Nothing of the request (its path, its arguments) is echoed back: a 404 for
``/admin/<script>`` shows no markup of the attacker's choosing.

The few pages that must not depend on the frame (a form too large, a CSRF refusal, a lost
database) use :func:`plain_page` directly; the first two are answered here too.
"""

from __future__ import annotations

import logging
import typing as t

from flask import Flask, current_app, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from dashboard.i18n.translation import current_locale, gettext, html_lang, is_right_to_left
from dashboard.messages import N_
from dashboard.problems import is_api_path, problem
from dashboard.security.auth import LOGIN_ENDPOINT
from dashboard.site_state import current_site

log = logging.getLogger(__name__)

#: What each status says, as (title, explanation); others use their code and the generic text.
PAGES: dict[int, tuple[str, str]] = {
    400: (N_("Bad request"), N_("The request could not be understood. Nothing was changed.")),
    401: (N_("Not logged in"), N_("Log in to continue. Nothing was changed.")),
    403: (N_("Not allowed"), N_("Your role may not do this here. Nothing was changed.")),
    404: (N_("Not found"), N_("There is no page at this address. Check it, or start from the home page.")),
    405: (N_("Not possible here"), N_("This address does not take that kind of request. Nothing was changed.")),
    500: (
        N_("Something went wrong"),
        N_(
            "The error was logged for the administrators. If you were saving, look "
            "whether the change is there before you repeat it."
        ),
    ),
}
GENERIC = (N_("Error %(code)s"), N_("The request could not be answered."))


def plain_page(title: str, heading: str, *paragraphs: str, link: tuple[str, str] | None = None) -> str:
    """A page without the site's frame, in the operator's language and direction; all text escaped.

    :param link: ``(url, text)`` of one link under the text (a way back).
    """
    locale = current_locale()
    direction = "rtl" if is_right_to_left(locale) else "ltr"
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    if link is not None:
        body += f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>'
    return (
        f'<!doctype html><html lang="{html_lang(locale)}" dir="{direction}">'
        f"<title>{escape(title)}</title><h1>{escape(heading)}</h1>{body}"
    )


def _texts(error: HTTPException) -> tuple[str, list[str]]:
    code = error.code or 500
    title, explanation = PAGES.get(code, GENERIC)
    paragraphs = [gettext(explanation)]
    # A description the dashboard set itself ("This table is read-only.") says more than the
    # status; Werkzeug's own default descriptions are English and generic, so they are not shown.
    own = error.description
    if own and own != type(error).description and code != 500:
        paragraphs.insert(0, str(own))
    return gettext(title, code=code), paragraphs


def error_page(error: HTTPException) -> t.Any:
    """The response for an HTTP error: its status, translated text, the frame for a logged-in operator."""
    if error.code is None:
        return error  # a response raised with abort(response): it is the answer itself
    title, paragraphs = _texts(error)
    code = error.code
    if is_api_path(request.path):
        return problem(code, title, " ".join(paragraphs), headers=_headers(error))
    home = url_for("admin.index")
    if current_user.is_authenticated and code != 500:
        try:
            admin = current_site().admin
            body = admin.index_view.render(
                "dashboard/error.html", error_title=title, error_text=paragraphs, status_code=code
            )
            return body, code, _headers(error)
        except Exception:
            # The frame needs the operator and the menu: whatever stops it, the error page
            # must not fail in turn.
            log.debug("error page drawn without the site frame", exc_info=True)
    link = (url_for(LOGIN_ENDPOINT) if code == 401 else home, gettext("Log in") if code == 401 else gettext("Home"))
    return (
        plain_page(title, title, *paragraphs, link=link),
        code,
        {**_headers(error), "Content-Type": "text/html; charset=utf-8"},
    )


def _headers(error: HTTPException) -> dict[str, str]:
    # What the status needs to mean what it says, such as Allow on a 405.
    return {name: value for name, value in error.get_headers() if name.lower() != "content-type"}


#: Flask-WTF's reasons for refusing a token (English in Flask-WTF), translated by their text.
CSRF_REASONS = (
    N_("The CSRF token is missing."),
    N_("The CSRF session token is missing."),
    N_("The CSRF token has expired."),
    N_("The CSRF token is invalid."),
    N_("The CSRF tokens do not match."),
)


def _too_large(error: RequestEntityTooLarge) -> t.Any:
    if is_api_path(request.path):
        detail = gettext("Nothing was saved: the request is larger than this site accepts.")
        return problem(413, gettext("Too large to save"), detail)
    reason = gettext(
        "Nothing was saved: a value is larger than this site accepts (%(limit)s bytes, the FORM_MAX_BYTES setting).",
        limit=int(current_app.config["FORM_MAX_BYTES"]),
    )
    advice = gettext("Use your browser's Back button: the form still holds what you typed.")
    body = plain_page(gettext("Too large to save"), gettext("The form was too large to save"), reason, advice)
    return body, 413, {"Content-Type": "text/html; charset=utf-8"}


def _csrf_failed(error: CSRFError) -> t.Any:
    reason = gettext(error.description) if error.description in CSRF_REASONS else error.description
    if is_api_path(request.path):
        # A logged-in browser's call: the page's token goes in the X-CSRFToken header.
        # A call with an API token (Authorization: Bearer) needs none.
        return problem(400, gettext("The form could not be accepted"), reason)
    advice = gettext(
        "It was open too long, you logged out meanwhile, or it did not come from this site. "
        "Nothing was changed. Go back, reload the page and try again."
    )
    body = plain_page(gettext("Form expired"), gettext("The form could not be accepted"), reason, advice)
    return body, 400, {"Content-Type": "text/html; charset=utf-8"}


def init_app(app: Flask) -> None:
    """Answer every HTTP error, and every unhandled exception, with a translated page.

    Flask logs an unhandled exception's traceback, then hands this handler an
    ``InternalServerError``: the 500 page shows none of the traceback.
    """
    app.register_error_handler(HTTPException, error_page)
    # Refusals of dashboard.security.headers: a form too large, a CSRF token missing or expired.
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
