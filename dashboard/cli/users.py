"""``dashboard users``: the operators who may log in, kept in the state database.

These commands read the same settings as ``dashboard serve`` (``--config FILE``, then
``DASHBOARD_*`` environment variables) to find the state database (``state.db`` in the
instance folder, :mod:`dashboard.instance`, whatever the current directory), and never
connect to the database being administered.
"""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dashboard import statedb_users
from dashboard.cli.common import fail, file_settings
from dashboard.i18n.translation import gettext as _
from dashboard.i18n.translation import translate
from dashboard.instance import instance_path_for
from dashboard.security import auth
from dashboard.statedb import StateStore, get_store, make_state_store, state_database_url

FIRST_ADMIN = "admin"


def _hash(password: str, config_file: str | None) -> str:
    """``password`` hashed with the ``PASSWORD_HASH_METHOD`` the settings name."""
    try:
        return auth.hash_password(password, file_settings(config_file)["PASSWORD_HASH_METHOD"])
    except (TypeError, ValueError, AttributeError):
        fail(_("%(setting)s must name a password hash method such as scrypt", setting="PASSWORD_HASH_METHOD"))


def open_store(config_file: str | None) -> StateStore:
    """The state database the settings name (created with its tables when missing)."""
    config = file_settings(config_file)
    url = state_database_url(config, instance_path_for(config))
    try:
        return make_state_store(url)
    except (SQLAlchemyError, OSError) as exc:
        fail(_("cannot open the state database: %(reason)s", reason=exc))


def state_location(store: StateStore) -> str:
    """Where ``store`` keeps the users, for messages: a file path, or the URL without password."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=_("Repeat password"))
    problem = auth.password_problem(password)
    if problem:
        fail(translate(problem))
    return password


_config_option = click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file (the one given to serve)."
)
_stdin_option = click.option(
    "--password-stdin", "password_stdin", is_flag=True, help="Read the password from the first line of standard input."
)


@click.group("users")
def users_command() -> None:
    """Add, list, disable and remove the operators who may log in."""


@users_command.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(auth.ROLES),
    required=True,
    help="viewer: view and export; editor: also create, edit, delete; admin: everything.",
)
@_stdin_option
@_config_option
def add_user(name: str, role: str, password_stdin: bool, config_file: str | None) -> None:
    """Add user NAME; asks for the password twice unless --password-stdin."""
    problem = auth.username_problem(name)
    if problem:
        fail(translate(problem))
    store = open_store(config_file)
    if store.user_by_name(name) is not None:
        fail(_("user %(name)s exists already; use set-password to change the password", name=repr(name)))
    password = _read_password(password_stdin)
    try:
        store.add_user(name, _hash(password, config_file), role)
    except IntegrityError:
        fail(_("user %(name)s exists already", name=repr(name)))
    click.echo(_("Added %(name)s (%(role)s) to %(where)s.", name=name, role=role, where=state_location(store)))


@users_command.command("list")
@_config_option
def list_users(config_file: str | None) -> None:
    """Every user with role, creation time, last login, and whether disabled."""
    store = open_store(config_file)
    users = store.list_users()
    if not users:
        click.echo(
            _(
                "No users in %(where)s. Add one with: %(command)s",
                where=state_location(store),
                command="dashboard users add NAME --role admin",
            )
        )
        return
    for user in users:
        created = _("created %(when)s", when=f"{user.created_at:%Y-%m-%d %H:%M}")
        last = (
            _("last login %(when)s", when=f"{user.last_login_at:%Y-%m-%d %H:%M}")
            if user.last_login_at
            else _("never logged in")
        )
        state = _("disabled") if user.disabled else ""
        click.echo(f"{user.username:30} {user.role:8} {created}  {last}  {state}".rstrip())


def _require_not_the_last_admin(store: StateStore, name: str) -> None:
    """Fail unless user NAME exists and is not the last enabled admin (removing or disabling them)."""
    if store.user_by_name(name) is None:
        fail(_("no user %(name)s in %(where)s", name=repr(name), where=state_location(store)))
    if statedb_users.active_admins(store) == [name]:
        fail(_("%(name)s is the last admin; add another admin first", name=repr(name)))


@users_command.command("remove")
@click.argument("name")
@_config_option
def remove_user(name: str, config_file: str | None) -> None:
    """Remove user NAME; their sessions end at their next request."""
    store = open_store(config_file)
    _require_not_the_last_admin(store, name)
    store.remove_user(name)
    click.echo(_("Removed %(name)s.", name=name))


@users_command.command("disable")
@click.argument("name")
@_config_option
def disable_user(name: str, config_file: str | None) -> None:
    """Disable NAME: no login by any means, and their sessions and API tokens stop."""
    store = open_store(config_file)
    _require_not_the_last_admin(store, name)
    statedb_users.set_disabled(store, name, True)
    click.echo(_("%(user)s is disabled and logged out everywhere.", user=name))


@users_command.command("enable")
@click.argument("name")
@_config_option
def enable_user(name: str, config_file: str | None) -> None:
    """Let a disabled NAME log in again."""
    store = open_store(config_file)
    if not statedb_users.set_disabled(store, name, False):
        fail(_("no user %(name)s in %(where)s", name=repr(name), where=state_location(store)))
    click.echo(_("%(user)s may log in again.", user=name))


@users_command.command("set-password")
@click.argument("name")
@_stdin_option
@_config_option
def set_password(name: str, password_stdin: bool, config_file: str | None) -> None:
    """Set the password of NAME and end their current sessions."""
    store = open_store(config_file)
    if store.user_by_name(name) is None:
        fail(_("no user %(name)s in %(where)s", name=repr(name), where=state_location(store)))
    password = _read_password(password_stdin)
    store.set_password_hash(name, _hash(password, config_file))
    click.echo(_("Password of %(name)s changed; their sessions have ended.", name=name))


def create_first_admin(store: StateStore, hash_method: str = auth.DEFAULT_HASH_METHOD) -> str | None:
    """When no user exists, add ``admin`` with a random password and return it; else ``None``."""
    if store.count_users():
        return None
    password = secrets.token_urlsafe(18)
    try:
        store.add_user(FIRST_ADMIN, auth.hash_password(password, hash_method), "admin")
    except IntegrityError:  # another process was first
        return None
    return password


def announce_first_admin(app: Flask, login_url: str) -> None:
    """For ``serve``: create the first admin if there is no user, and print its password once."""
    if not app.config["PASSWORD_LOGIN"]:
        return  # single sign-on only: a password would open nothing; the provider's groups make admins
    password = create_first_admin(get_store(app), app.config["PASSWORD_HASH_METHOD"])
    if password is None:
        return
    click.echo(
        "\n"
        + _(
            "  No users existed, so one was created:\n"
            "    user name: %(name)s\n"
            "    password:  %(password)s\n"
            "  This password is shown only this once and is not stored in clear anywhere.\n"
            "  Log in at %(url)s, then choose your own password with\n"
            "    %(set_password)s   (with the same --config as serve, if any)\n"
            "  and add the other operators with: %(add)s\n",
            name=FIRST_ADMIN,
            password=password,
            url=login_url,
            set_password=f"dashboard users set-password {FIRST_ADMIN}",
            add="dashboard users add NAME --role viewer|editor|admin",
        )
    )
