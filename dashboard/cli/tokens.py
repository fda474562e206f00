"""``dashboard tokens``: API tokens for scripts, kept (hashed) in the state database.

Like ``dashboard users``, these commands read the settings ``serve`` reads (``--config``,
``DASHBOARD_*``) to find the state database. Token names are per user: ``revoke`` needs
``--user`` only when several users have a token of that name. ``create --table`` checks
the relation names against the database being administered when it can be reached.
"""

from __future__ import annotations

import datetime as dt
import time

import click
from sqlalchemy.exc import IntegrityError

from dashboard import statedb_tokens
from dashboard.cli.common import fail, file_settings
from dashboard.cli.users import open_store, state_location
from dashboard.db.engine import DatabaseUnavailable, make_engine
from dashboard.db.reflection import reflect_schema
from dashboard.i18n.translation import exception_text, translate
from dashboard.i18n.translation import gettext as _
from dashboard.instance import instance_path_for
from dashboard.security import tokens

_config_option = click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file (the one given to serve)."
)


@click.group("tokens")
def tokens_command() -> None:
    """Create, list and revoke API tokens (Authorization: Bearer ...) for scripts."""


def _when(seconds: float | None, never: str) -> str:
    if seconds is None:
        return never
    return f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%d %H:%M}"


def _endpoints(config_file: str | None, wanted: tuple[str, ...]) -> list[str]:
    """``wanted`` as relation endpoints, checked against the database when it can be reached."""
    config = file_settings(config_file)
    url = config.get("DATABASE_URL")
    if not url:
        # The demo database serve makes in the instance folder, once it has.
        demo = instance_path_for(config) / "demo.db"
        if not demo.is_file():
            return list(wanted)
        url = f"sqlite:///{demo}"
    try:
        engine = make_engine(str(url), read_only=True)
    except DatabaseUnavailable as exc:
        click.echo(_("warning: tables not checked: %(reason)s", reason=exception_text(exc)), err=True)
        return list(wanted)
    try:
        schema = reflect_schema(engine, list(config.get("SCHEMAS") or []))
    finally:
        engine.dispose()
    by_name: dict[str, str] = {}
    for table in schema.tables:
        by_name.setdefault(table.name, table.endpoint)
        by_name[table.id] = table.endpoint
        by_name[table.endpoint] = table.endpoint
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        fail(_("no table or view %(names)s in the database", names=", ".join(repr(n) for n in unknown)))
    return [by_name[name] for name in wanted]


@tokens_command.command("create")
@click.argument("name")
@click.option("--user", "username", required=True, help="The operator whose rights the token carries (never more).")
@click.option("--expires", help="Lifetime such as 30d, 12h or 2w; without it the token does not expire.")
@click.option("--read-only", is_flag=True, help="Only view and export, whatever the user's role allows.")
@click.option(
    "--table",
    "tables",
    multiple=True,
    help="Only this table or view (its name or address name); repeat for several. Default: all the user may see.",
)
@_config_option
def create_token(
    name: str, username: str, expires: str | None, read_only: bool, tables: tuple[str, ...], config_file: str | None
) -> None:
    """Create token NAME for --user and print it once (only its hash is stored)."""
    problem = tokens.name_problem(name)
    if problem:
        fail(translate(problem))
    try:
        lifetime = tokens.parse_duration(expires) if expires is not None else None
    except ValueError as exc:
        fail(exception_text(exc))
    store = open_store(config_file)
    user = store.user_by_name(username)
    if user is None:
        fail(_("no user %(name)s in %(where)s", name=repr(username), where=state_location(store)))
    endpoints = _endpoints(config_file, tables) if tables else None
    try:
        token = tokens.create_token(
            store, user, name, now=time.time(), expires_in_s=lifetime, read_only=read_only, tables=endpoints
        )
    except IntegrityError:
        fail(_("%(user)s has a token called %(name)s already", user=username, name=repr(name)))
    click.echo(token)
    click.echo(
        _(
            "This token is shown only this once. Send it with every API call:\n  %(header)s",
            header=f"Authorization: Bearer {token}",
        ),
        err=True,
    )


@tokens_command.command("list")
@_config_option
def list_tokens(config_file: str | None) -> None:
    """Every token: name, user, created, expires, last used and scope (never the token)."""
    store = open_store(config_file)
    found = statedb_tokens.list_tokens(store)
    if not found:
        click.echo(_("No API tokens in %(where)s.", where=state_location(store)))
        return
    now = time.time()
    for token in found:
        scope = _("read-only") if token.read_only else _("read-write")
        if token.tables is not None:
            scope += " " + ",".join(token.tables)
        expires = _when(token.expires_at, _("never"))
        if token.expired(now):
            expires = _("expired %(when)s", when=expires)
        click.echo(
            "  ".join(
                [
                    f"{token.name:20}",
                    f"{token.username:20}",
                    _("created %(when)s", when=_when(token.created_at, "")),
                    _("expires %(when)s", when=expires),
                    _("last used %(when)s", when=_when(token.last_used_at, _("never"))),
                    scope,
                ]
            )
        )


@tokens_command.command("revoke")
@click.argument("name")
@click.option("--user", "username", help="Whose token; needed only when several users have a token called NAME.")
@_config_option
def revoke_token(name: str, username: str | None, config_file: str | None) -> None:
    """Revoke token NAME at once (names are per user)."""
    store = open_store(config_file)
    matching = [token for token in statedb_tokens.list_tokens(store) if token.name == name]
    if username is not None:
        matching = [token for token in matching if token.username == username]
    if not matching:
        fail(
            _("no token called %(name)s", name=repr(name))
            if username is None
            else _("%(user)s has no token called %(name)s", user=username, name=repr(name))
        )
    if len(matching) > 1:
        fail(
            _(
                "several users have a token called %(name)s (%(users)s): add --user",
                name=repr(name),
                users=", ".join(token.username for token in matching),
            )
        )
    statedb_tokens.remove_token(store, matching[0].user_id, name)
    click.echo(_("Revoked token %(name)s of %(user)s.", name=name, user=matching[0].username))
