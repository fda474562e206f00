"""``dashboard plugins``: which plugins were loaded, from where, what they add, and what failed.

It builds the app exactly as ``dashboard serve`` would (same database, settings and
plugins folder), so chart declarations are checked against the real tables, and exits
with status 1 when any plugin had a problem: a deployment script can stop there.
"""

from __future__ import annotations

import click

from dashboard.cli.common import app_settings, build_app
from dashboard.cli.plugin_scaffold import PluginsCommand
from dashboard.i18n.translation import gettext as _
from dashboard.plugins.listing import describe
from dashboard.plugins.loader import plugins_dir, registry


@click.command("plugins", cls=PluginsCommand)  # `dashboard plugins new NAME` too
@click.argument("database_url", required=False)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.option("--plugins", type=click.Path(file_okay=False), help="Folder of plugin packages.")
@click.option("--schema", "schemas", multiple=True, help="Also serve this schema ('*' for all). Repeatable.")
@click.option("--traceback", "tracebacks", is_flag=True, help="Print the full traceback of each failure.")
def plugins_command(
    database_url: str | None, config_file: str | None, plugins: str | None, schemas: tuple[str, ...], tracebacks: bool
) -> None:
    """List the plugins loaded for DATABASE_URL (default: the demo database) and their problems."""
    app = build_app(app_settings(database_url, schemas, False, plugins), config_file)
    found = registry(app)
    click.echo(_("Plugins folder: %(folder)s", folder=plugins_dir(app)))
    for plugin in found.plugins:
        click.echo(f"{plugin.name:<24} {plugin.source:<12} {_state(plugin.state):<8} {plugin.location}")
        if plugin.hooks:
            click.echo("    " + _("hooks: %(hooks)s", hooks=", ".join(plugin.hooks)))
        for line in describe(found, plugin):
            click.echo("    " + line.text)
    if not found.problems:
        click.echo(_("No problems."))
        return
    click.echo(_("Problems (%(count)s):", count=len(found.problems)))
    for problem in found.problems:
        click.echo(f"  {problem.plugin} · {problem.part}: {problem.message}")
        if tracebacks and problem.traceback:
            click.echo("      " + problem.traceback.rstrip().replace("\n", "\n      "))
    raise SystemExit(1)


def _state(state: str) -> str:
    return {"failed": _("FAILED"), "degraded": _("degraded")}.get(state, _("loaded"))
