"""``dashboard audit``: the audit log exported to a file, and pruned by age.

Like ``dashboard users``, these commands read the settings ``serve`` reads (``--config``,
``DASHBOARD_*``) to find the state database. ``prune`` deletes the entries older than the
age given and records that it did as an entry of its own (action ``prune``, user
``(system)``), written after the delete, so the log itself says why older entries are gone.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import click

from dashboard import statedb_audit
from dashboard.cli.common import fail
from dashboard.cli.users import open_store
from dashboard.i18n.translation import exception_text
from dashboard.i18n.translation import gettext as _
from dashboard.security import audit_export, tokens

_config_option = click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file (the one given to serve)."
)


@click.group("audit")
def audit_command() -> None:
    """Export the audit log, or delete its old entries."""


@audit_command.command("export")
@click.option("--format", "fmt", type=click.Choice(list(audit_export.FORMATS)), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File to write; default stdout.")
@click.option("--table", help="Only the entries of this table (its id, as the audit log page shows it).")
@click.option("--user", help="Only the entries of this user.")
@click.option("--action", help="Only the entries of this action (create, edit, delete, ...).")
@click.option("--outcome", type=click.Choice(["ok", "failed"]), help="Only saved, or only refused, writes.")
@_config_option
def export_audit(
    fmt: str,
    output: str | None,
    table: str | None,
    user: str | None,
    action: str | None,
    outcome: str | None,
    config_file: str | None,
) -> None:
    """Write the audit log's entries, oldest first, as CSV or JSON lines."""
    filters = {
        name: value
        for name, value in (("table", table), ("user", user), ("action", action), ("outcome", outcome))
        if value
    }
    store = open_store(config_file)
    lines = audit_export.lines(statedb_audit.all_entries(store, filters), fmt)
    if output is None:
        for line in lines:
            sys.stdout.write(line)
        return
    with open(output, "w", encoding="utf-8", newline="") as file:
        file.writelines(lines)


@audit_command.command("prune")
@click.option("--older-than", "older_than", required=True, help="Age such as 90d, 12w or 36h.")
@_config_option
def prune_audit(older_than: str, config_file: str | None) -> None:
    """Delete the entries older than --older-than, and say how many."""
    try:
        age = tokens.parse_duration(older_than)
    except ValueError as exc:
        fail(exception_text(exc))
    now = time.time()
    cutoff = dt.datetime.fromtimestamp(now - age, dt.UTC)
    store = open_store(config_file)
    deleted = statedb_audit.prune(store, cutoff)
    shown = f"{cutoff:%Y-%m-%d %H:%M} UTC"
    store.add_audit_entry(
        {
            "at": dt.datetime.fromtimestamp(now, dt.UTC),
            "username": "(system)",
            "role": "",
            "action": "prune",
            "table_id": None,
            "row_key": None,
            "changes": None,
            "outcome": "ok",
            # Plain English, like a driver's message: the page shows it as it was written.
            "message": f"Deleted {deleted} entries older than {shown}.",
        }
    )
    click.echo(_("Deleted %(count)s audit entries older than %(cutoff)s.", count=deleted, cutoff=shown))
