"""Flask-Babel set-up and the choice of the operator's language."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel

SUPPORTED_LOCALES = ("en",)


def select_locale() -> str:
    """The operator's chosen language, else the browser's, else the configured default."""
    chosen = session.get("locale")
    if chosen in SUPPORTED_LOCALES:
        return str(chosen)
    from flask import current_app

    best = request.accept_languages.best_match(SUPPORTED_LOCALES)
    return best or str(current_app.config["BABEL_DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    """Initialise Flask-Babel; Flask-Admin's list pages fail with a KeyError without it."""
    Babel(app, locale_selector=select_locale)
