"""Flask-Babel set-up, the choice of the operator's language, and the dashboard's ``_()``.

Three gettext domains are at work on every page, all following the one locale that
:func:`select_locale` picks: Flask-Admin's (``admin``, its own catalogs, for the strings of
its templates), WTForms' (``wtforms``, validation messages, through Flask-WTF), and the
dashboard's (``dashboard``, see :mod:`dashboard.i18n.catalogs`) for everything else, plugins'
strings included once they call :func:`register_translations`.

Mark and translate with :func:`gettext` (alias :func:`_`), :func:`ngettext` and
:func:`lazy_gettext` from this module, or ``_()`` in templates; never ``flask_admin.babel``,
whose domain holds only Flask-Admin's messages. They work outside a request too: the CLI
speaks the terminal's language (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``).
"""

from __future__ import annotations

import functools
import os
import typing as t
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations
from flask import (
    Blueprint,
    Flask,
    current_app,
    has_app_context,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel, Domain, get_locale
from flask_babel.speaklater import LazyString
from jinja2.utils import htmlsafe_json_dumps

from dashboard.i18n import catalogs
from dashboard.messages import N_, Message
from dashboard.settings import ConfigError
from dashboard.urls import own_endpoint, safe_next

EXTENSION_KEY = "dashboard_i18n"
#: Where the operator's choice is kept; :mod:`dashboard.security.auth` keeps it across login and logout.
SESSION_KEY = "locale"
#: The language menu's form posts here (``POST /language``).
LANGUAGE_ENDPOINT = own_endpoint("i18n.set_language")

#: The languages with complete catalogs, as Babel locale identifiers: the folder names under
#: ``dashboard/translations/``, which are also Flask-Admin's (``pt_BR``, ``zh_Hans_CN``).
LOCALES: tuple[str, ...] = ("en", "de", "fr", "es", "pt_BR", "it", "nl", "pl", "ru", "zh_Hans_CN", "ja", "ar")
#: Each language's name in that language, for the language menu.
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "pt_BR": "Português (Brasil)",
    "it": "Italiano",
    "nl": "Nederlands",
    "pl": "Polski",
    "ru": "Русский",
    "zh_Hans_CN": "简体中文",
    "ja": "日本語",
    "ar": "العربية",
}


# -- which language --------------------------------------------------------------------------


def supported_locale(code: t.Any) -> str | None:
    """The shipped locale that serves ``code`` (``de-AT`` -> ``de``, ``zh-CN`` -> ``zh_Hans_CN``).

    ``None`` for anything else: unknown, malformed, not text, or Traditional Chinese (whose
    readers are better served by their next choice than by Simplified characters).
    """
    if not isinstance(code, str) or not 0 < len(code) <= 256:
        return None
    # A BCP 47 extension or private use part (de-DE-u-co-phonebk, en-x-mine) does not
    # change the language: only the subtags before its one-letter singleton count.
    subtags = code.strip().replace("_", "-").split("-")
    cut = next((i for i, tag in enumerate(subtags) if len(tag) == 1 and i > 0), len(subtags))
    return _supported_locale("_".join(subtags[:cut]))


@functools.lru_cache(maxsize=1024)
def _supported_locale(code: str) -> str | None:
    try:
        parsed = Locale.parse(code)
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if str(parsed) in LOCALES:
        return str(parsed)
    if parsed.language == "zh" and parsed.script not in (None, "Hans"):
        return None
    return next((loc for loc in LOCALES if loc.split("_")[0] == parsed.language), None)


def select_locale() -> str:
    """The operator's chosen language, else the browser's first supported one, else the default."""
    if has_request_context():
        chosen = supported_locale(session.get(SESSION_KEY))
        if chosen:
            return chosen
        for value, quality in request.accept_languages:
            found = supported_locale(value) if quality > 0 else None
            if found:
                return found
    return _state().default_locale


def cli_locale() -> str:
    """The language of the terminal: ``LANGUAGE`` (a ``:`` list), ``LC_ALL``, ``LC_MESSAGES``, ``LANG``."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in os.environ.get(name, "").split(":"):
            code = part.split(".")[0].split("@")[0]
            if code in ("C", "POSIX"):
                return "en"
            found = supported_locale(code)
            if found:
                return found
    return "en"


def current_locale() -> Locale:
    """The locale of the current request, or of the terminal outside one."""
    locale = get_locale() if has_app_context() and EXTENSION_KEY in current_app.extensions else None
    return locale if locale is not None else Locale.parse(cli_locale())


def display_zone() -> ZoneInfo:
    """The time zone datetimes that carry a zone are shown in (``BABEL_DEFAULT_TIMEZONE``)."""
    if has_app_context() and EXTENSION_KEY in current_app.extensions:
        return _state().zone
    return ZoneInfo("UTC")


def html_lang(locale: Locale) -> str:
    """``locale`` as a BCP 47 tag for ``<html lang>``: ``pt-BR``, ``zh-Hans-CN``."""
    return str(locale).replace("_", "-")


def is_right_to_left(locale: Locale) -> bool:
    """Whether ``locale`` is written right to left (Arabic): the page layout mirrors."""
    return bool(locale.character_order == "right-to-left")


# -- the dashboard's domain ------------------------------------------------------------------


class CatalogDomain(Domain):
    """The dashboard's catalog plus the catalogs plugins registered, as one domain.

    Replaces Flask-Babel's default domain, so ``_()`` in templates, :func:`gettext` here and
    ``flask_babel.gettext`` all read it. Catalogs come from :func:`catalogs.load_translations`
    (compiled ``.mo``, or the ``.po`` itself when that is newer).
    """

    def __init__(self) -> None:
        super().__init__(domain=catalogs.DOMAIN)
        #: ``(directory, domain)`` of every catalog; on a message id both have, the first wins.
        self.sources: list[tuple[Path, str]] = [(catalogs.TRANSLATIONS_DIR, catalogs.DOMAIN)]

    def add_source(self, directory: Path, domain: str) -> None:
        """Read ``directory/<locale>/LC_MESSAGES/<domain>.po`` too, after those already known."""
        if (directory, domain) not in self.sources:
            self.sources.append((directory, domain))
            self.cache.clear()

    def get_translations(self) -> NullTranslations:
        return self.translations_for(str(current_locale()))

    def translations_for(self, locale: str) -> NullTranslations:
        """The merged catalogs for ``locale``, read once per domain and locale."""
        merged = self.cache.get(locale)
        if merged is None:
            merged = Translations()
            # Merged last-source-first, so the dashboard's own catalog has the last word.
            for directory, domain in reversed(self.sources):
                found = catalogs.load_translations(directory, locale, domain)
                if isinstance(found, Translations):
                    merged.merge(found)
                    merged.plural = found.plural  # merge() leaves the plural rule behind
            self.cache[locale] = merged
        return merged


class _DashboardBabel(Babel):
    """Flask-Babel whose default domain is the app's :class:`CatalogDomain`."""

    @property
    def domain_instance(self) -> Domain:
        return _state().domain


@dataclass
class I18nState:
    """What :func:`init_app` resolved, in ``app.extensions["dashboard_i18n"]``."""

    default_locale: str
    zone: ZoneInfo
    domain: CatalogDomain


def _state(app: Flask | None = None) -> I18nState:
    return t.cast(I18nState, (app or current_app).extensions[EXTENSION_KEY])


@functools.cache
def _cli_domain() -> CatalogDomain:
    # Outside any app (the CLI before or without one): the dashboard's catalog alone.
    return CatalogDomain()


def _domain() -> Domain:
    if has_app_context() and EXTENSION_KEY in current_app.extensions:
        return _state().domain
    return _cli_domain()


def gettext(string: str, **variables: t.Any) -> str:
    """``string`` in the operator's language, then ``% variables`` when there are any."""
    return t.cast(str, _domain().gettext(string, **variables))


_ = gettext


def ngettext(singular: str, plural: str, num: int, **variables: t.Any) -> str:
    """The singular or a plural form for ``num`` (available as ``%(num)s``)."""
    return t.cast(str, _domain().ngettext(singular, plural, num, **variables))


def lazy_gettext(string: str, **variables: t.Any) -> LazyString:
    """:func:`gettext`, looked up each time the text is shown (menu names, class attributes).

    Only for trusted text: like Flask-Babel's, the result is not HTML-escaped by Jinja.
    """
    return LazyString(gettext, string, **variables)


def translate(value: t.Any) -> str:
    """A :class:`~dashboard.messages.Message` in the operator's language; anything else as text."""
    if isinstance(value, Message):
        return gettext(value.msgid, **value.params) if value.params else gettext(value.msgid)
    return str(value)


def exception_text(exc: BaseException) -> str:
    """The message of ``exc``, translated when it was raised with a :class:`Message`."""
    if exc.args and isinstance(exc.args[0], Message):
        return translate(exc.args[0])
    return str(exc)


def register_translations(app: Flask, directory: str | Path, domain: str) -> None:
    """Make a plugin's catalogs part of ``_()`` in ``app``.

    :param directory: the plugin's ``translations/`` folder, holding
        ``<locale>/LC_MESSAGES/<domain>.po`` (``.mo`` files are compiled from them by the
        build, or read from the ``.po`` when missing).
    :param domain: the file name of those catalogs, usually the plugin's name. Where a
        plugin's message id is also the dashboard's, the dashboard's translation is used.
    """
    _state(app).domain.add_source(Path(directory).resolve(), domain)


# -- choosing the language in the page -------------------------------------------------------


def set_language_view() -> t.Any:
    """``POST /language``: remember the operator's language, then go back to their page.

    An unknown code forgets the choice (the browser's language applies again). The way back
    is followed only when it is a path on this site.
    """
    chosen = supported_locale(request.form.get("locale"))
    if chosen:
        session[SESSION_KEY] = chosen
    else:
        session.pop(SESSION_KEY, None)
    return redirect(safe_next(request.form.get("next")) or url_for("admin.index"))


def _page_language() -> dict[str, t.Any]:
    locale = current_locale()
    return {
        "page_lang": html_lang(locale),
        "page_dir": "rtl" if is_right_to_left(locale) else "ltr",
        "page_locale": str(locale),
        "page_language_name": LANGUAGE_NAMES.get(str(locale), str(locale)),
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        "languages_json": _LANGUAGES_JSON,
    }


#: The language menu's list (templates/dashboard/_language.html), each language named in itself:
#: escaped for a single-quoted attribute as ``tojson`` does, but with its other characters as
#: they are and no spaces, since the navbar carrying it is part of every page.
_LANGUAGES_JSON = htmlsafe_json_dumps(
    [(code, LANGUAGE_NAMES[code]) for code in LOCALES], ensure_ascii=False, separators=(",", ":")
)


def init_app(app: Flask) -> None:
    """Initialise Flask-Babel with the dashboard's domain, the language menu's route and page context
    (:func:`dashboard.i18n.init_app` adds the templates' number and clock filters).

    Flask-Admin's list pages fail with a KeyError unless Flask-Babel is initialised.

    :raises ConfigError: when ``BABEL_DEFAULT_LOCALE`` or ``BABEL_DEFAULT_TIMEZONE`` is unknown.
    """
    default = supported_locale(app.config["BABEL_DEFAULT_LOCALE"])
    if default is None:
        raise ConfigError(
            Message(
                N_("BABEL_DEFAULT_LOCALE must be one of %(locales)s, not %(value)s"),
                locales=", ".join(LOCALES),
                value=repr(app.config["BABEL_DEFAULT_LOCALE"]),
            )
        )
    try:
        zone = ZoneInfo(str(app.config["BABEL_DEFAULT_TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            Message(
                N_("BABEL_DEFAULT_TIMEZONE must be a time zone name such as UTC or Europe/Berlin, not %(value)s"),
                value=repr(app.config["BABEL_DEFAULT_TIMEZONE"]),
            )
        ) from None
    app.config["BABEL_DEFAULT_LOCALE"] = default
    app.extensions[EXTENSION_KEY] = I18nState(default_locale=default, zone=zone, domain=CatalogDomain())
    _DashboardBabel(app, locale_selector=select_locale)
    blueprint = Blueprint(own_endpoint("i18n"), __name__)
    blueprint.add_url_rule("/language", "set_language", set_language_view, methods=["POST"])
    app.register_blueprint(blueprint)
    app.context_processor(_page_language)
