"""``dashboard demo``: write the demo shop database (:mod:`dashboard.db.demo`) to try the dashboard on."""

from __future__ import annotations

import time
from pathlib import Path

import click
from sqlalchemy import (
    URL,
    make_url,
)

from dashboard.db.demo import VIEW_NAME, DemoError, DemoTargetNotEmpty, write_demo_database
from dashboard.db.demo.load import is_sqlite_file, replace_sqlite_file, sqlite_file
from dashboard.i18n.translation import exception_text, ngettext
from dashboard.i18n.translation import gettext as _
from dashboard.messages import N_, Message


def _resolve_target(output: Path | None, url: str | None, force: bool) -> tuple[str, Path | None]:
    """Return the database URL to write and, for SQLite, its file; apply ``--force``."""
    if output is not None and url is not None:
        raise DemoError(Message(N_("give either --output FILE or --url URL, not both")))
    path: Path | None
    if url is None:
        path = output if output is not None else Path("demo.db")
        database_url = URL.create("sqlite", database=str(path)).render_as_string()
    else:
        database_url, path = url, sqlite_file(url)
    if path is None:
        if force:
            raise DemoError(Message(N_("--force only replaces a SQLite file; empty the database at --url yourself")))
        return database_url, None
    if not path.parent.is_dir():
        raise DemoError(Message(N_("the folder %(path)s does not exist"), path=str(path.parent)))
    if path.exists() and not force and path.is_file() and not is_sqlite_file(path):
        raise DemoError(
            Message(N_("%(path)s exists and is not a SQLite database; choose another --output"), path=str(path))
        )
    if force:
        replace_sqlite_file(path)
    return database_url, path


@click.command("demo")
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    metavar="N",
    default=10_000,
    show_default=True,
    help="Number of orders; customers, products and log events scale with it.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file to create.  [default: demo.db]",
)
@click.option("--url", metavar="URL", help="Fill this empty database instead (any SQLAlchemy URL).")
@click.option("--force", is_flag=True, help="Replace the SQLite file if it exists.")
@click.option("--seed", type=int, metavar="N", default=0, show_default=True, help="Seed of the random data.")
@click.pass_context
def demo_command(ctx: click.Context, rows: int, output: Path | None, url: str | None, force: bool, seed: int) -> None:
    """Write a demo shop database to try the dashboard on.

    Customers, products, orders with their lines, tags, an event log and a summary view go
    into a new SQLite file (demo.db here unless --output says otherwise) or, with --url,
    into an empty PostgreSQL or MySQL/MariaDB database. Refuses to touch a database that
    already has tables; --force replaces an existing SQLite file.
    """
    started = time.perf_counter()
    path: Path | None = None
    try:
        database_url, path = _resolve_target(output, url, force)
        counts = write_demo_database(database_url, rows, seed=seed)
    except DemoError as exc:
        message = exception_text(exc)
        if isinstance(exc, DemoTargetNotEmpty) and path is not None:
            message = _("%(message)s; pass --force to replace %(path)s", message=message, path=path)
        click.echo(_("error: %(message)s", message=message), err=True)
        ctx.exit(2)
    elapsed = time.perf_counter() - started
    for name, count in counts.items():
        rows_text = ngettext("%(count)s row", "%(count)s rows", count, count=f"{count:>12,}")
        click.echo(f"{name:<22} {rows_text}")
    view_text = _("view")
    click.echo(f"{VIEW_NAME:<22} {view_text:>17}")
    target = str(path) if path is not None else make_url(database_url).render_as_string()
    click.echo(_("wrote %(target)s in %(seconds)s s", target=target, seconds=f"{elapsed:.1f}"))
