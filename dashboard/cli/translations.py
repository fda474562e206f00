"""``dashboard translations``: catalogs for maintainers, label files for operators.

Maintainers, in a checkout::

    dashboard translations extract    # sources -> dashboard/translations/dashboard.pot
    dashboard translations update     # .pot -> every <locale>/LC_MESSAGES/dashboard.po
    dashboard translations compile    # .po -> .mo (the build does this too)
    dashboard translations init sv    # start a new language

Operators::

    dashboard translations labels DATABASE_URL --locale de > labels.toml
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import click

from dashboard.cli.common import fail
from dashboard.db.engine import DatabaseUnavailable, make_engine
from dashboard.db.reflection import reflect_schema
from dashboard.i18n import catalogs
from dashboard.i18n.translation import LOCALES, exception_text, supported_locale
from dashboard.i18n.translation import gettext as _
from dashboard.settings import ConfigError, read_toml
from dashboard.web.labels import starter_labels

POT_NAME = f"{catalogs.DOMAIN}.pot"

_directory_option = click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=catalogs.TRANSLATIONS_DIR,
    show_default="dashboard/translations",
    help="Folder of the catalogs (a plugin's translations/ folder, say).",
)


def _project_root() -> Path:
    return catalogs.TRANSLATIONS_DIR.parent.parent


@click.group("translations")
def translations_command() -> None:
    """Message catalogs (extract, update, compile, init) and database label files (labels)."""


@translations_command.command()
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Project folder to read the sources from (default: this checkout).",
)
@_directory_option
def extract(root: Path | None, directory: Path) -> None:
    """Collect every marked message into dashboard/translations/dashboard.pot."""
    root = (root or _project_root()).resolve()
    template = catalogs.extract_messages(root)
    target = directory / POT_NAME
    catalogs.write_catalog(target, template)
    click.echo(_("%(count)s messages written to %(path)s", count=len(template), path=target))


@translations_command.command()
@click.option("--locale", "locales", multiple=True, help="Only this language (repeatable).")
@_directory_option
def update(locales: tuple[str, ...], directory: Path) -> None:
    """Merge dashboard.pot into each language's .po: new messages empty, removed ones dropped."""
    template = catalogs.read_catalog(directory / POT_NAME)
    for locale in locales or catalogs.catalog_locales(directory):
        po = catalogs.po_path(directory, locale)
        catalog = catalogs.update_catalog(po, template, locale)
        catalogs.write_catalog(po, catalog)
        _report(locale, catalog)


@translations_command.command()
@click.argument("locale")
@_directory_option
def init(locale: str, directory: Path) -> None:
    """Start the catalog of a new language LOCALE (e.g. sv, pt_PT) from dashboard.pot."""
    po = catalogs.po_path(directory, locale)
    if po.exists():
        fail(_("%(path)s exists already; use update", path=po))
    try:
        catalog = catalogs.update_catalog(po, catalogs.read_catalog(directory / POT_NAME), locale)
    except ValueError as exc:
        fail(exception_text(exc))
    catalogs.write_catalog(po, catalog)
    click.echo(
        _("Created %(path)s; add %(locale)s to dashboard.i18n.LOCALES once it is complete.", path=po, locale=locale)
    )


@translations_command.command("compile")
@click.option("--strict", is_flag=True, help="Exit with status 1 when a message is untranslated or fuzzy.")
@_directory_option
def compile_(strict: bool, directory: Path) -> None:
    """Compile every .po into the .mo that gettext reads, and count what is missing."""
    incomplete = False
    for locale in catalogs.catalog_locales(directory):
        po = catalogs.po_path(directory, locale)
        if not po.is_file():
            continue
        catalogs.compile_po(po)
        stats = _report(locale, catalogs.read_catalog(po))
        incomplete = incomplete or bool(stats["untranslated"] or stats["fuzzy"])
    if strict and incomplete:
        sys.exit(1)


def _report(locale: str, catalog: t.Any) -> dict[str, int]:
    stats = catalogs.message_stats(catalog)
    click.echo(
        _("%(locale)s: %(messages)s messages, %(untranslated)s untranslated, %(fuzzy)s fuzzy", locale=locale, **stats)
    )
    return stats


@translations_command.command()
@click.argument("database_url")
@click.option("--locale", required=True, help="The language of the labels, e.g. de, fr, pt_BR.")
@click.option("--schema", "schemas", multiple=True, help="Also label this schema ('*' for all). Repeatable.")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file whose labels are kept."
)
def labels(database_url: str, locale: str, schemas: tuple[str, ...], config_file: str | None) -> None:
    """Print a TOML file labelling every table and column of DATABASE_URL in one language."""
    chosen = supported_locale(locale)
    if chosen is None:
        fail(_("unknown language %(code)s; languages are %(locales)s", code=repr(locale), locales=", ".join(LOCALES)))
    try:
        tables = read_toml(config_file).get("TABLES", {}) if config_file else {}
        engine = make_engine(database_url)
    except (ConfigError, DatabaseUnavailable) as exc:
        fail(exception_text(exc))
    try:
        schema = reflect_schema(engine, list(schemas))
    finally:
        engine.dispose()
    click.echo(starter_labels(schema, chosen, tables if isinstance(tables, dict) else {}))
