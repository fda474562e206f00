"""What every command shares: :func:`fail` (one clear line, exit status 2) and :func:`build_app`."""

from __future__ import annotations

import sys
import typing as t

import click
from flask import Config, Flask

from dashboard.app import create_app
from dashboard.db.engine import DatabaseUnavailable
from dashboard.i18n.translation import exception_text
from dashboard.i18n.translation import gettext as _
from dashboard.settings import ConfigError, load_settings
from dashboard.site_state import current_site

EXIT_USAGE = 2


def fail(message: str) -> t.NoReturn:
    """Print one clear line on stderr and exit with status 2, without a traceback."""
    click.echo(_("error: %(message)s", message=message), err=True)
    sys.exit(EXIT_USAGE)


def file_settings(config_file: str | None) -> Config:
    """The settings of files and environment, read without building an app (for commands that
    only need a setting or two); a bad settings file is :func:`fail`."""
    holder = Flask("dashboard")
    try:
        load_settings(holder, config_file)
    except ConfigError as exc:
        fail(exception_text(exc))
    return holder.config


def app_settings(
    database_url: str | None, schemas: tuple[str, ...], read_only: bool, plugins: str | None, workers: int | None = None
) -> dict[str, t.Any]:
    """The settings the command-line options give, to override those of files and environment.

    :param workers: the processes that will serve the app (``serve``), so the factory picks
        a cache they share (``WORKERS``).
    """
    settings: dict[str, t.Any] = {}
    if workers is not None:
        settings["WORKERS"] = workers
    if database_url:
        settings["DATABASE_URL"] = database_url
    if schemas:
        settings["SCHEMAS"] = list(schemas)
    if read_only:
        settings["READ_ONLY"] = True
    if plugins:
        settings["PLUGINS_DIR"] = plugins
    return settings


def build_app(settings: dict[str, t.Any], config_file: str | None) -> t.Any:
    """Create the app, turning every set-up failure into :func:`fail`."""
    try:
        app = create_app(settings, config_file=config_file)
    except DatabaseUnavailable as exc:
        fail(exception_text(exc))
    except ConfigError as exc:
        fail(exception_text(exc))
    if not current_site(app).schema.tables:
        fail(
            _(
                "the database has no tables or views to serve. Check the URL names the right "
                "database, or pass --schema NAME for tables outside the default schema."
            )
        )
    return app
