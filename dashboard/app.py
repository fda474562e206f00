"""The application factory: the one place that states the order of set-up."""

from __future__ import annotations

import functools
import os
import secrets
import typing as t
import weakref
from pathlib import Path

from flask import Blueprint, Flask, redirect, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from dashboard import i18n
from dashboard.api import explorer as api_explorer
from dashboard.api import routes as api
from dashboard.db.demo import write_demo_database
from dashboard.db.engine import DatabaseUnavailable, check_connection, make_engine
from dashboard.db.reflection import reflect_schema
from dashboard.instance import file_cache_dir, instance_path_for
from dashboard.messages import N_, Message
from dashboard.paths import bundled_dir
from dashboard.plugins import hooks
from dashboard.plugins import loader as plugins
from dashboard.security import audit, auth, headers, oidc
from dashboard.settings import ConfigError, load_settings
from dashboard.site_state import EXTENSION, DashboardState
from dashboard.urls import ADMIN_STATIC_PATH, ADMIN_URL, own_endpoint
from dashboard.web import (
    caching,
    compression,
    errors,
    fragments,
    navigation,
    page_cache,
    query_args,
    static_files,
    template_cache,
    token_page,
    unavailable,
    user_page,
)
from dashboard.web.home import HomeView
from dashboard.web.routing import LazyBuilderRule
from dashboard.web.site import register_table_views
from dashboard.web.table_view import TableView


def create_app(test_config: t.Mapping[str, t.Any] | None = None, *, config_file: str | None = None) -> Flask:
    """Build a dashboard app.

    :param test_config: settings that win over every other layer (tests, the CLI).
    :param config_file: an operator's TOML settings file.
    :raises dashboard.db.engine.DatabaseUnavailable: when the database cannot be used.
    :raises ConfigError: when a setting is invalid.
    """
    app = Flask("dashboard", template_folder=str(bundled_dir("templates")))
    # Ten routes per table: their URL builders are compiled when first used, not at start.
    app.url_rule_class = LazyBuilderRule
    load_settings(app, config_file, test_config)
    # The per-user data folder unless INSTANCE_PATH says otherwise, never the current directory.
    app.instance_path = str(instance_path_for(app.config))
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or _instance_secret(app.instance_path)
    _check_settings(app)

    # Compression first: Flask runs after_request hooks last registered first, so it
    # encodes the body and headers every other hook has finished.
    compression.init_app(app)
    i18n.init_app(app)
    _cache_settings(app)
    caching.init_app(app)
    # Every blueprint and page of our own is named and placed where no table can be (dashboard.urls).
    app.register_blueprint(
        Blueprint(own_endpoint("static"), __name__, static_folder="static", static_url_path="/dashboard-static")
    )
    # Every static URL, ours, Flask-Admin's and plugins', carries its file's fingerprint.
    static_files.init_app(app)
    engine = make_engine(
        app.config["DATABASE_URL"] or _demo_database_url(app.instance_path),
        read_only=bool(app.config["READ_ONLY"]),
        statement_timeout_ms=int(app.config["STATEMENT_TIMEOUT_MS"]),
    )
    # Its pooled connections close with the app, also when a later step refuses to build it
    # (a setting such as STATE_DATABASE_URL refused with ConfigError).
    weakref.finalize(app, engine.dispose)
    schema = reflect_schema(engine, list(app.config["SCHEMAS"]))
    admin = Admin(
        app,
        name="dashboard",
        url=ADMIN_URL,
        static_url_path=ADMIN_STATIC_PATH,
        theme=Bootstrap4Theme(base_template="dashboard/base.html", fluid=True),
        index_view=HomeView(schema),
        csp_nonce_generator=headers.csp_nonce,
    )
    state: DashboardState[TableView] = DashboardState(engine=engine, schema=schema, admin=admin)
    app.extensions[EXTENSION] = state
    # Plugins are imported before the table views are built: their hooks shape those views.
    plugins.init_app(app)
    register_table_views(
        app,
        state,
        table_options=functools.partial(hooks.table_options, app),
        extend_view=functools.partial(hooks.extend_view, app),
    )
    navigation.init_app(app)
    fragments.init_app(app)
    template_cache.init_app(app)
    page_cache.init_app(app)
    # Security: login required on every request (own state database), roles, then CSRF and headers.
    auth.init_app(app)
    # Single sign-on with OpenID Connect, when OIDC_ISSUER is set (dashboard.security.oidc).
    oidc.init_app(app)
    state.authorize = auth.make_authorizer(app)
    headers.init_app(app)
    api.init_app(app)
    audit.init_app(app)
    # Each operator's own API tokens (dashboard.security.tokens), linked from their menu.
    token_page.init_app(app)
    # The operators, managed by administrators in the browser.
    user_page.init_app(app)
    # Every HTTP error gets a translated page; a database lost during a request is a 503
    # "nothing was saved" page, never a 500.
    errors.init_app(app)
    query_args.init_app(app)
    unavailable.init_app(app)
    # The JSON API's explorer page at /api/ (Swagger UI, bundled).
    api_explorer.init_app(app)
    # Last, so plugins see every table view and every security rule applies to their pages.
    hooks.init_app(app)

    @app.get("/")
    def root() -> t.Any:
        return redirect(url_for("admin.index"))

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int]:
        return "", 204

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        try:
            check_connection(engine)
        except DatabaseUnavailable:
            return "database unreachable\n", 503
        return "ok\n", 200

    return app


def _instance_secret(instance_path: str) -> str:
    """The secret key kept in the instance folder, created once with 0600 permissions."""
    path = Path(instance_path) / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _demo_database_url(instance_path: str) -> str:
    """The demo database in the instance folder, written on first use."""
    path = Path(instance_path) / "demo.db"
    if not path.exists():
        # Built under a private name and renamed into place, so a failed build never
        # leaves a half-written demo and two starting workers never share one.
        partial = path.with_name(f".demo-{os.getpid()}.db")
        try:
            write_demo_database(f"sqlite:///{partial}", rows=10_000)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _cache_settings(app: Flask) -> None:
    """Pick the cache several worker processes can share, fill the Flask-Caching settings
    that depend on the instance folder, drop empty ones."""
    if app.config["WORKERS"] > 1 and app.config["CACHE_TYPE"] in ("SimpleCache", "simple"):
        # A SimpleCache lives in one process: a write on one worker would leave the others'
        # listings stale until they expire. Workers on one machine share a folder instead
        # (the threads of one worker share its SimpleCache); an operator's other choice stays.
        app.config["CACHE_TYPE"] = "FileSystemCache"
    if app.config["CACHE_TYPE"] in ("FileSystemCache", "filesystem") and not app.config["CACHE_DIR"]:
        app.config["CACHE_DIR"] = str(file_cache_dir(app.instance_path, app.config["DATABASE_URL"]))
    for name in ("CACHE_DIR", "CACHE_REDIS_URL"):
        if not app.config[name]:
            del app.config[name]


def _check_settings(app: Flask) -> None:
    sizes = app.config["PAGE_SIZES"]
    if not isinstance(sizes, list) or not all(isinstance(s, int) and 0 < s <= 1000 for s in sizes):
        raise ConfigError(Message(N_("PAGE_SIZES must be a list of whole numbers between 1 and 1000")))
    if app.config["PAGE_SIZE"] not in sizes:
        raise ConfigError(Message(N_("PAGE_SIZE must be one of PAGE_SIZES")))
    if not isinstance(app.config["TABLES"], dict):
        raise ConfigError(Message(N_("TABLES must be a table of per-table settings")))
    if isinstance(app.config["SCHEMAS"], str):
        app.config["SCHEMAS"] = [s for s in app.config["SCHEMAS"].split(",") if s]
    workers = app.config["WORKERS"]
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(Message(N_("%(setting)s must be a whole number of at least 1"), setting="WORKERS"))
