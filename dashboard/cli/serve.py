"""``dashboard serve``: the admin site under gunicorn (:mod:`dashboard.cli.server`) or, with
``--reload``, Werkzeug's development server."""

from __future__ import annotations

import errno
import os
import socket
import typing as t
from pathlib import Path

import click

from dashboard.cli.common import app_settings, build_app, fail
from dashboard.cli.server import DEFAULT_THREADS, bind_listener, default_workers, run_gunicorn
from dashboard.cli.users import announce_first_admin, state_location
from dashboard.i18n.translation import gettext as _
from dashboard.plugins.loader import plugins_dir
from dashboard.site_state import current_site
from dashboard.statedb import get_store


def _listen(host: str, port: int) -> socket.socket:
    """Bind ``host:port`` now, or :func:`fail` with the reason: nothing is announced before."""
    try:
        return bind_listener(host, port)
    except socket.gaierror as exc:
        fail(_("cannot listen on %(host)s: %(reason)s. Check --host.", host=host, reason=exc.strerror))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(
                _(
                    "port %(port)s on %(host)s is already in use by another program. Stop that program, "
                    "or choose another port with --port.",
                    port=port,
                    host=host,
                )
            )
        if exc.errno == errno.EACCES:
            fail(
                _(
                    "this user may not listen on port %(port)s (ports below 1024 need administrator "
                    "rights). Choose another port with --port, e.g. --port 8000.",
                    port=port,
                )
            )
        fail(
            _(
                "cannot listen on %(host)s port %(port)s: %(reason)s. Check --host and --port.",
                host=host,
                port=port,
                reason=exc.strerror or exc,
            )
        )


#: Folders under the plugins folder that are no plugin's source.
_NOT_SOURCE = ("__pycache__", "node_modules")


def plugin_files(folder: Path) -> list[str]:
    """What ``--reload`` watches besides imported modules: ``folder`` and every file under it.

    A plugin that failed to import was never imported, so Werkzeug's reloader would not
    watch it: fixing it changed nothing until a manual restart. Every file is listed (code,
    templates, static files, catalogs); the folder itself makes the stat reloader walk it on
    each check, so a ``.py`` file created later is watched from then on.
    """
    if not folder.is_dir():
        return []
    files = [str(folder)]
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_SOURCE and not d.startswith("."))
        files.extend(os.path.join(root, name) for name in sorted(names) if not name.endswith((".pyc", "~")))
    return files


def _site_url(host: str, port: int, path: str) -> str:
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"


@click.command("serve")
@click.argument("database_url", required=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--workers", type=click.IntRange(1, 64), help="gunicorn worker processes [default: one per CPU, at most 8]."
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker process: requests each one answers at once.",
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.option("--plugins", type=click.Path(file_okay=False), help="Folder of plugin packages.")
@click.option("--schema", "schemas", multiple=True, help="Also serve this schema ('*' for all). Repeatable.")
@click.option("--read-only", is_flag=True, help="Serve every table read-only.")
@click.option(
    "--reload", "dev_server", is_flag=True, help="Development server with reload and debugger (never in production)."
)
def serve(
    database_url: str | None,
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    config_file: str | None,
    plugins: str | None,
    schemas: tuple[str, ...],
    read_only: bool,
    dev_server: bool,
) -> None:
    """Serve the admin site for DATABASE_URL (default: a demo database)."""
    # The port first: a taken one is an error before the demo, the first admin or any banner.
    from werkzeug.serving import is_running_from_reloader

    listener: socket.socket | None = None
    if not dev_server:
        listener = _listen(host, port)
    elif not is_running_from_reloader():  # the reloaded child inherits the port its parent bound
        _listen(host, port).close()  # the development server binds the port itself
    workers = workers or default_workers()
    # The development server is one process; gunicorn's workers share a cache the factory picks.
    settings = app_settings(database_url, schemas, read_only, plugins, workers=1 if dev_server else workers)
    app = build_app(settings, config_file)
    state = current_site(app)
    editable = sum(1 for v in state.views.values() if v.writable)
    click.echo(
        _(
            "Serving %(count)s tables and views (%(editable)s editable) from %(url)s",
            count=len(state.views),
            editable=editable,
            url=state.engine.url.render_as_string(hide_password=True),
        )
    )
    _announce_state_folder(app)
    if not dev_server:
        click.echo(
            _(
                "%(workers)s worker processes with %(threads)s threads each (--workers, --threads).",
                workers=workers,
                threads=threads,
            )
        )
    click.echo(_("Open %(url)s", url=_site_url(host, port, "/admin/")))
    # First start: an admin with a one-time password.
    announce_first_admin(app, _site_url(host, port, "/login"))
    if listener is None:
        app.run(host=host, port=port, debug=True, use_reloader=True, extra_files=plugin_files(plugins_dir(app)))
        return
    if workers > 1 and app.config["CACHE_TYPE"] in ("FileSystemCache", "filesystem"):
        click.echo(
            _(
                "%(workers)s workers share the listing cache in %(folder)s "
                "(set CACHE_TYPE=RedisCache to share it across machines).",
                workers=workers,
                folder=app.config["CACHE_DIR"],
            )
        )
    run_gunicorn(app, listener=listener, workers=workers, threads=threads)


def _announce_state_folder(app: t.Any) -> None:
    """Say where the users, audit log and secret key live: the same folder from any directory."""
    if app.config["STATE_DATABASE_URL"]:
        click.echo(
            _(
                "Instance folder: %(folder)s; users and audit log in %(state)s",
                folder=app.instance_path,
                state=state_location(get_store(app)),
            )
        )
    else:
        click.echo(
            _(
                "Instance folder (users, audit log, secret key): %(folder)s (DASHBOARD_INSTANCE_PATH to change it)",
                folder=app.instance_path,
            )
        )
