"""Every setting of the dashboard, declared once with its default and help text.

Settings are read in layers, later ones winning: the declared defaults, the bundled
``config/default.toml``, a ``--config`` TOML file, then ``DASHBOARD_*`` environment
variables (``DASHBOARD_DATABASE_URL`` sets ``DATABASE_URL``). TOML keys may be written in
lower case; they are stored upper-cased as Flask expects. Each plugin's own settings are the
``[plugins.<name>]`` tables, kept as written under ``PLUGINS``;
``DASHBOARD_PLUGINS__<NAME>__<KEY>`` sets one of them from the environment (names lower-cased).
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
import typing as t
from dataclasses import dataclass
from pathlib import Path

from dashboard.messages import N_, Message
from dashboard.paths import bundled_dir

if t.TYPE_CHECKING:
    from flask import Flask


@dataclass(frozen=True)
class Setting:
    """One configuration value: its name, default and what it does."""

    name: str
    default: t.Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the database to administer; empty serves the demo database in the instance folder.",
    ),
    Setting("SCHEMAS", [], 'Extra schemas to serve besides the default one; ["*"] serves every schema.'),
    Setting("READ_ONLY", False, "Serve every table read-only, whatever the database allows."),
    Setting(
        "SECRET_KEY", "", "Key that signs sessions and CSRF tokens; generated into the instance folder when empty."
    ),
    Setting(
        "INSTANCE_PATH",
        "",
        (
            "Folder for the dashboard's own files (state database, secret key, demo database); the user's data "
            "folder (platformdirs: ~/.local/share/dashboard on Linux) when empty, whatever the current directory."
        ),
    ),
    Setting(
        "STATE_DATABASE_URL",
        "",
        "Database for the dashboard's own state (users, audit log); SQLite in the instance folder when empty.",
    ),
    Setting("PLUGINS_DIR", "", "Folder of plugin packages; the bundled plugins/ folder when empty."),
    Setting(
        "DISABLED_PLUGINS",
        [],
        (
            "Names of plugins not to load, whether from the plugins folder, an installed package or built in (see "
            "`dashboard plugins`)."
        ),
    ),
    Setting(
        "PLUGINS",
        {},
        (
            "Each plugin's own settings: a [plugins.<name>] table per plugin (DASHBOARD_PLUGINS__<NAME>__<KEY> in "
            "the environment), read by the plugin with dashboard.pages.plugin_settings(name). A table naming no "
            "plugin is reported at start-up and by `dashboard plugins`; the values are never shown."
        ),
    ),
    Setting(
        "WEBHOOKS",
        [],
        (
            "URLs told of every write made through the dashboard: a list of {url, secret, tables, actions} (tables "
            "and actions optional, all by default); each committed row is POSTed as JSON signed with HMAC-SHA256 of "
            "the secret (X-Dashboard-Signature), in the background, with retries. Empty: the webhooks plugin is not "
            "loaded."
        ),
    ),
    Setting(
        "WEBHOOK_RETRY_SECONDS",
        [10, 60, 300, 1800, 7200],
        "Waits before each further attempt of a webhook delivery that got no answer or a 5xx; then it is given up.",
    ),
    Setting("WEBHOOK_TIMEOUT_SECONDS", 10, "How long one webhook delivery waits for its receiver's answer."),
    Setting(
        "HOME_CHARTS",
        4,
        (
            "Most automatic 'rows per month' charts on the home page, for the biggest tables with a date column; 0 "
            "shows none."
        ),
    ),
    Setting(
        "CHART_TTL_SECONDS",
        300,
        "How long a chart's figures are served from the cache, at most: a write made through the dashboard to "
        "a table a chart reads (its table, the parent table naming its groups, the tables of an sql= chart) "
        "refreshes it at once; this bounds how late writes by other programs show.",
    ),
    Setting("PAGE_SIZE", 20, "Rows per list page."),
    Setting("PAGE_SIZES", [20, 50, 100], "Page sizes an operator may pick; anything else is clamped."),
    Setting("EXPORT_MAX_ROWS", 1_000_000, "Most rows one export writes, in any format (XLSX: 1,048,574 at most)."),
    Setting(
        "INLINE_EDIT",
        True,
        (
            "Let operators who may edit a table change a value in its list in place (double-click or Enter on a "
            "cell), through the same checks as the edit form; false: only through the edit form."
        ),
    ),
    Setting(
        "BULK_EDIT_MAX_ROWS",
        1_000,
        "Most rows one bulk edit (a list's With selected -> Set a value) may change; more are refused.",
    ),
    Setting(
        "API_BULK_MAX_OPERATIONS",
        1_000,
        "Most operations one API bulk call (POST /api/<table>/_bulk) may carry; more are refused with 413.",
    ),
    Setting(
        "API_MAX_BODY_BYTES",
        32 * 1024 * 1024,
        "Largest JSON body an API write (a create, an update, a bulk call) may send; larger ones are refused with 413.",
    ),
    Setting(
        "IMPORT_MAX_BYTES",
        256 * 1024 * 1024,
        "Largest file a table's Import (page or POST /api/<table>/_import) may upload; larger ones are refused.",
    ),
    Setting(
        "IMPORT_KEEP_SECONDS",
        3600,
        "How long an uploaded file waits between an import's preview and its write before it is removed.",
    ),
    Setting(
        "FORM_MAX_BYTES",
        16 * 1024 * 1024,
        (
            "Largest value one field of a create or edit form may carry (large text and JSON values); every other "
            "form keeps Werkzeug's 500 kB."
        ),
    ),
    Setting(
        "STATEMENT_TIMEOUT_MS", 10_000, "Longest a listing, search or export query may run before it is cancelled."
    ),
    Setting(
        "SENSITIVE_COLUMN_PATTERNS",
        ["password", "passwd", "token", "secret", "hash", "api_key"],
        (
            "Column names containing one of these are hidden from lists, details and exports unless a table "
            "override shows them."
        ),
    ),
    Setting(
        "TABLES",
        {},
        (
            'Per-table overrides keyed by endpoint: hidden, label, labels ({de = "..."}: the label per language), '
            "columns (hidden, label, labels, read_only, searchable, filterable), column_order, display_column, "
            "roles ({role = [actions]}: that role gets exactly these of view, create, edit, delete, export on the "
            "table)."
        ),
    ),
    Setting(
        "HTTPS",
        False,
        (
            "The site is reached over HTTPS (directly or through a TLS proxy): session cookies get the Secure flag "
            "and responses send Strict-Transport-Security. Set it in production."
        ),
    ),
    Setting("SESSION_IDLE_MINUTES", 30, "An operator idle this long must log in again."),
    Setting("SESSION_LIFETIME_HOURS", 12, "An operator must log in again this long after logging in, however active."),
    Setting(
        "IDENTITY_RECHECK_SECONDS",
        5,
        (
            "How long each process trusts the operator's record (role, password, sessions) it read from the state "
            "database before reading it again: the longest a user removed, given another role or logged out by "
            "`dashboard users` or another instance goes on as before. Changes made through the same process apply "
            "at once; 0 reads it on every request."
        ),
    ),
    Setting(
        "API_RATE_LIMIT",
        "600/minute",
        (
            "Most calls one API token may make, as calls/second, /minute, /hour or /day, counted across workers in "
            "the cache (over it: 429 with Retry-After); empty: no limit."
        ),
    ),
    Setting(
        "PASSWORD_HASH_METHOD",
        "scrypt",
        (
            "Werkzeug method for the password hashes the dashboard writes (dashboard users add and set-password, "
            "the first admin); passwords hashed with another method still log in. Keep scrypt: a cheaper method (a "
            'test suite\'s "pbkdf2:sha256:1") makes stolen hashes easy to crack.'
        ),
    ),
    Setting(
        "TRUSTED_USER_HEADER",
        "",
        (
            "Request header naming the logged-in user, set by a trusted authenticating reverse proxy (e.g. "
            "X-Forwarded-User); the user must exist in the state database. Empty: off. Only when clients cannot "
            "reach the dashboard except through that proxy."
        ),
    ),
    Setting(
        "PASSWORD_LOGIN",
        True,
        (
            "Whether operators may log in with a user name and password. False (with OIDC_ISSUER set): the login "
            "page offers single sign-on only, and password logins are refused."
        ),
    ),
    Setting(
        "AUDIT_LOGINS",
        True,
        "Record every login (password, single sign-on) and every refused single sign-on in the audit log.",
    ),
    Setting(
        "OIDC_ISSUER",
        "",
        (
            "OpenID Connect provider for single sign-on (e.g. https://login.example.com/realms/staff), found at "
            "<issuer>/.well-known/openid-configuration. Empty: off. Register <site>/login/oidc/callback as the "
            "client's redirect URI."
        ),
    ),
    Setting("OIDC_CLIENT_ID", "", "The dashboard's client id at the OpenID Connect provider."),
    Setting("OIDC_CLIENT_SECRET", "", "The client's secret at the OpenID Connect provider."),
    Setting("OIDC_NAME", "single sign-on", 'What the login page\'s button names the provider: "Sign in with <name>".'),
    Setting("OIDC_SCOPES", "openid profile email", "Scopes asked of the provider (openid is always among them)."),
    Setting(
        "OIDC_USERNAME_CLAIM",
        "preferred_username",
        "ID token claim that names an operator signing in for the first time (else their e-mail, else sub).",
    ),
    Setting(
        "OIDC_ROLES_CLAIM",
        "groups",
        "ID token claim (a list or a string) holding the person's groups, mapped to a role by OIDC_ROLE_MAP.",
    ),
    Setting(
        "OIDC_ROLE_MAP",
        {},
        (
            'Group -> role, e.g. {"dba" = "admin", "staff" = "viewer"}; of several groups the strongest role wins. '
            "The role follows the groups at every sign-on."
        ),
    ),
    Setting(
        "OIDC_DEFAULT_ROLE",
        "",
        "Role of a person none of whose groups is in OIDC_ROLE_MAP; empty: such a person may not sign in.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        [],
        (
            'Addresses or networks (e.g. ["10.0.0.5", "10.1.0.0/16"]) of the reverse proxies or load balancers in '
            "front of the dashboard: from them, and only from them, X-Forwarded-For names the client, whose address"
            " login throttling counts by. Empty (default): X-Forwarded-For is ignored and every client is the "
            "address it connects from."
        ),
    ),
    Setting(
        "WORKERS",
        1,
        (
            "Processes serving this app on one machine (`dashboard serve --workers` sets it). With more than one, a"
            " SimpleCache would be one cache per process, so the listing cache becomes a FileSystemCache in the "
            "instance folder that they all share."
        ),
    ),
    Setting(
        "CACHE_TYPE",
        "SimpleCache",
        (
            "Flask-Caching backend for listings: SimpleCache (one process; a FileSystemCache when WORKERS is above "
            "1), FileSystemCache, or RedisCache for several workers or instances."
        ),
    ),
    Setting("CACHE_REDIS_URL", "", "Redis URL when CACHE_TYPE is RedisCache, e.g. redis://127.0.0.1:6379/0."),
    Setting("CACHE_DIR", "", "Folder for FileSystemCache; the instance folder's cache/ when empty."),
    Setting(
        "LISTING_TTL_SECONDS",
        30,
        "How long a cached listing is served: the bound on how stale writes made by other programs can look.",
    ),
    Setting(
        "COUNT_ESTIMATE_ABOVE",
        100_000,
        "Tables whose estimated size is above this show the database's row estimate instead of counting every row.",
    ),
    Setting("COUNT_CAP", 10_000, "Filtered and searched listings count at most this many rows ('more than 10,000')."),
    Setting(
        "BABEL_DEFAULT_LOCALE",
        "en",
        (
            "Language used when neither the operator nor the browser picks one: en, de, fr, es, pt_BR, it, nl, pl, "
            "ru, zh_Hans_CN, ja or ar."
        ),
    ),
    Setting(
        "BABEL_DEFAULT_TIMEZONE",
        "UTC",
        (
            "Time zone (IANA name, e.g. Europe/Berlin) in which datetimes that carry a zone are shown; stored "
            "values never change, and datetimes without a zone are shown as stored."
        ),
    ),
)

DEFAULTS: dict[str, t.Any] = {s.name: s.default for s in SETTINGS}


def read_toml(path: str | Path) -> dict[str, t.Any]:
    """Read a TOML settings file and upper-case its top-level keys.

    :param path: the file to read.
    :raises ConfigError: when the file is missing or is not valid TOML.
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(Message(N_("config file not found: %(path)s"), path=str(path))) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            Message(N_("config file %(path)s is not valid TOML: %(reason)s"), path=str(path), reason=str(exc))
        ) from exc
    return {key.upper(): value for key, value in data.items()}


class ConfigError(Exception):
    """A setting or settings file the dashboard cannot use."""


def load_settings(app: Flask, config_file: str | None = None, overrides: t.Mapping[str, t.Any] | None = None) -> None:
    """Fill ``app.config`` from every layer, in order.

    :param app: the application being built.
    :param config_file: an operator's TOML file (``--config``), or ``None``.
    :param overrides: values given in code or on the command line; they win over all.
    """
    # A copy: Flask sets nested environment values (DASHBOARD_TABLES__X__...) inside the dicts it finds.
    app.config.from_mapping(copy.deepcopy(DEFAULTS))
    default_file = bundled_dir("config") / "default.toml"
    if default_file.is_file():
        app.config.from_mapping(read_toml(default_file))
    if config_file:
        app.config.from_mapping(read_toml(config_file))
    from_files = copy.deepcopy(app.config["PLUGINS"])
    app.config.from_prefixed_env("DASHBOARD")
    app.config["PLUGINS"] = plugin_settings_from_environment(from_files, os.environ)
    if overrides:
        app.config.from_mapping({k.upper(): v for k, v in overrides.items()})
    plugins = app.config["PLUGINS"]
    if not isinstance(plugins, dict) or not all(isinstance(value, dict) for value in plugins.values()):
        raise ConfigError(
            Message(N_("PLUGINS must hold one table of settings per plugin: [plugins.<name>] in the settings file"))
        )


#: ``DASHBOARD_PLUGINS__RESTOCK__LOW_STOCK=5`` sets ``low_stock`` of plugin ``restock``.
PLUGIN_ENV_PREFIX = "DASHBOARD_PLUGINS__"


def plugin_settings_from_environment(from_files: t.Any, environ: t.Mapping[str, str]) -> t.Any:
    """The ``[plugins.<name>]`` tables of the files with the environment's values over them.

    Flask's own reading of ``DASHBOARD_PLUGINS__...`` would keep the names upper-cased
    (``RESTOCK``, ``LOW_STOCK``), apart from the lower-case ones of the TOML file; here plugin
    and key names are lower-cased, so the environment overrides the file's value. Values are
    read as JSON where they parse (``5``, ``true``, ``["a"]``), else kept as text.

    :param from_files: ``PLUGINS`` as the default and ``--config`` files left it.
    :param environ: the process's environment.
    """
    plugins = from_files
    if "DASHBOARD_PLUGINS" in environ:
        plugins = _json_or_text(environ["DASHBOARD_PLUGINS"])
    for name in sorted(environ):
        if not name.startswith(PLUGIN_ENV_PREFIX) or not isinstance(plugins, dict):
            continue
        *parts, tail = name.removeprefix(PLUGIN_ENV_PREFIX).lower().split("__")
        current = plugins
        for part in parts:
            if not isinstance(current.get(part), dict):
                current[part] = {}
            current = current[part]
        current[tail] = _json_or_text(environ[name])
    return plugins


def _json_or_text(value: str) -> t.Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
