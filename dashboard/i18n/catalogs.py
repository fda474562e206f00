"""Message catalogs on disk: ``.po`` sources, compiled ``.mo`` files, and reading either.

The ``.po`` files under ``dashboard/translations/`` are the source (``.mo`` files are
ignored by git). A wheel carries ``.mo`` files compiled by the build hook
(``.build_hooks/catalogs.py``), and an editable install compiles them into the tree. So a
checkout that was never built, or a ``.po`` edited after the last build, still shows its
translations, :func:`load_translations` falls back to compiling the ``.po`` in memory when
its ``.mo`` is missing or older. Fuzzy entries are never used, as with ``msgfmt``.

This module imports no Flask: the CLI and the tests use it too.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import importlib.metadata
import io
import typing as t
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

from dashboard.paths import PACKAGE_DIR

#: The dashboard's own gettext domain (Flask-Admin's is ``admin``, WTForms' ``wtforms``).
DOMAIN = "dashboard"
#: Where the dashboard's catalogs live: ``<locale>/LC_MESSAGES/dashboard.po`` and the ``.pot``.
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"


def po_path(directory: Path, locale: str, domain: str = DOMAIN) -> Path:
    """The ``.po`` file of ``locale`` in a translations ``directory``."""
    return directory / locale / "LC_MESSAGES" / f"{domain}.po"


def catalog_locales(directory: Path, domain: str = DOMAIN) -> list[str]:
    """The locales that have a ``.po`` or ``.mo`` file for ``domain`` in ``directory``."""
    if not directory.is_dir():
        return []
    found = {
        path.parent.parent.name
        for pattern in (f"*/LC_MESSAGES/{domain}.po", f"*/LC_MESSAGES/{domain}.mo")
        for path in directory.glob(pattern)
    }
    return sorted(found)


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    """Parse a ``.po`` or ``.pot`` file.

    :raises ValueError: when the file is not a valid catalog (babel's message, with the line).
    """
    with open(path, "rb") as handle:
        return read_po(handle, locale=locale, abort_invalid=True)


def compile_catalog(catalog: Catalog) -> bytes:
    """The ``.mo`` bytes of ``catalog``, leaving out fuzzy and untranslated entries."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_po(po: Path, mo: Path | None = None) -> Path:
    """Compile ``po`` into ``mo`` (default: beside it) and return the ``.mo`` path."""
    target = mo or po.with_suffix(".mo")
    data = compile_catalog(read_catalog(po))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    partial.replace(target)  # a reader never sees half a file
    return target


def load_translations(directory: Path, locale: Locale | str, domain: str = DOMAIN) -> NullTranslations:
    """The catalog of ``locale`` (or of its language, ``pt`` for ``pt_BR``) in ``directory``.

    Returns empty translations when there is none, never raises for a missing catalog.
    """
    for candidate in _candidates(str(locale)):
        po, mo = po_path(directory, candidate, domain), po_path(directory, candidate, domain).with_suffix(".mo")
        if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
            return _read_mo(mo, mo.stat().st_mtime_ns)
        if po.is_file():
            return _read_po(po, po.stat().st_mtime_ns)
    return NullTranslations()


def _candidates(locale: str) -> list[str]:
    parts = locale.split("_")
    return ["_".join(parts[:n]) for n in range(len(parts), 0, -1)]


# Keyed by the file's modification time too, so an edited catalog is read again.
@functools.lru_cache(maxsize=256)
def _read_mo(path: Path, mtime_ns: int) -> Translations:
    with open(path, "rb") as handle:
        return Translations(handle, domain=path.stem)


@functools.lru_cache(maxsize=256)
def _read_po(path: Path, mtime_ns: int) -> Translations:
    return Translations(io.BytesIO(compile_catalog(read_catalog(path))), domain=path.stem)


#: Functions whose string arguments are messages, beyond babel's defaults (``_``, ``gettext``,
#: ``ngettext``, ``N_``...). Flask-Admin's ``_gettext`` is deliberately not one: its
#: messages are Flask-Admin's, translated by Flask-Admin's catalogs.
KEYWORDS: dict[str, t.Any] = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
#: Which files hold messages, in babel's mapping syntax, relative to the project folder.
MAPPING_FILE = TRANSLATIONS_DIR / "babel.cfg"


def extract_messages(root: Path, mapping_file: Path = MAPPING_FILE) -> Catalog:
    """Every message marked in the sources under ``root`` (the project folder), as a template.

    Comments starting ``Translators:`` above a message are kept for the translators.
    """
    with open(mapping_file, encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(mapping_file))
    template = new_catalog(None)
    found = extract_from_dir(
        root, method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True
    )
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(Path(filename).as_posix(), lineno)], auto_comments=comments, context=context)
    return template


def new_catalog(locale: str | None) -> Catalog:
    """An empty catalog for ``locale`` (``None``: the ``.pot`` template), with the project's header."""
    try:
        version = importlib.metadata.version("dashboard")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    language = f"{Locale.parse(locale).english_name} translation" if locale else "Message template"
    return Catalog(
        locale=locale,
        project="dashboard",
        version=version,
        copyright_holder="the dashboard authors",
        msgid_bugs_address="dashboard maintainers",
        last_translator="dashboard maintainers",
        language_team="dashboard maintainers",
        revision_date=dt.datetime.now(dt.UTC),
        header_comment=f"# {language} of dashboard: see `dashboard translations --help`.\n"
        "# This file is distributed under the same license as the dashboard project (MIT).",
        charset="utf-8",
        fuzzy=False,
    )


def write_catalog(path: Path, catalog: Catalog) -> None:
    """Write ``catalog`` as a ``.po``/``.pot`` file, messages in source order, wrapped at 100.

    File references carry no line numbers: they would change with every edit of the sources.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        write_po(handle, catalog, width=100, ignore_obsolete=True, include_previous=False, include_lineno=False)


def update_catalog(po: Path, template: Catalog, locale: str) -> Catalog:
    """``po`` brought up to date with ``template`` (new messages empty, gone ones dropped).

    Messages that changed are left empty rather than guessed (no fuzzy matching), so a
    translator sees them. English, the language of the message ids, is filled in from them.
    """
    catalog = read_catalog(po, locale) if po.is_file() else new_catalog(locale)
    # Catalog.update() adopts the template's own Message objects for new messages: a copy
    # keeps one language's strings from leaking into the next through a shared template.
    catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
    if locale == "en":
        for message in catalog:
            if message.id and not _translated(message.string):
                message.string = message.id
    return catalog


def message_stats(catalog: Catalog) -> dict[str, int]:
    """How many messages ``catalog`` has, and how many are untranslated or fuzzy."""
    messages = [m for m in catalog if m.id]
    untranslated = [m for m in messages if not _translated(m.string)]
    fuzzy = [m for m in messages if m.fuzzy]
    return {"messages": len(messages), "untranslated": len(untranslated), "fuzzy": len(fuzzy)}


def _translated(string: t.Any) -> bool:
    if isinstance(string, (tuple, list)):
        return all(bool(s) for s in string)
    return bool(string)
