"""Internationalisation: the operator's language, translated messages, locale-aware display.

- :mod:`~dashboard.i18n.translation`: Flask-Babel set-up, the choice of language (browser,
  menu, terminal) and the dashboard's ``gettext`` family.
- :mod:`~dashboard.i18n.catalogs`: the gettext catalogs (``dashboard/translations/``),
  read, extracted, updated and compiled with Babel alone.
- :mod:`~dashboard.i18n.formatting`: numbers, dates and times in the operator's locale.

The names below are public: plugins import ``gettext``, ``ngettext``, ``lazy_gettext`` and
``register_translations`` from ``dashboard.i18n`` (plugins/README.md).

May import: Flask, Flask-Babel, Babel and the package's shared modules
(:mod:`dashboard.messages`, :mod:`dashboard.settings`, :mod:`dashboard.urls`,
:mod:`dashboard.paths`); never the target database, web, security or plugin layers, which
all import this one. Its modules import each other, never this package's ``__init__``.
"""

from __future__ import annotations

from flask import Flask

from dashboard.i18n import formatting, translation
from dashboard.i18n.translation import (
    LANGUAGE_ENDPOINT,
    LANGUAGE_NAMES,
    LOCALES,
    SESSION_KEY,
    current_locale,
    exception_text,
    gettext,
    lazy_gettext,
    ngettext,
    register_translations,
    supported_locale,
    translate,
)

__all__ = [
    "LANGUAGE_ENDPOINT",
    "LANGUAGE_NAMES",
    "LOCALES",
    "SESSION_KEY",
    "current_locale",
    "exception_text",
    "gettext",
    "init_app",
    "lazy_gettext",
    "ngettext",
    "register_translations",
    "supported_locale",
    "translate",
]


def init_app(app: Flask) -> None:
    """Set up translations for ``app`` (:func:`.translation.init_app`) and the templates'
    ``number`` and ``clock`` filters (:mod:`.formatting`)."""
    translation.init_app(app)
    app.jinja_env.filters.update(number=formatting.format_number, clock=formatting.format_clock)
