"""Running the app under gunicorn, the production WSGI server, from ``dashboard serve``."""

from __future__ import annotations

import typing as t

from flask import Flask
from gunicorn.app.base import BaseApplication


def release_connections(app: Flask) -> None:
    """Forget pooled connections inherited from the parent process, without closing its sockets.

    A forked worker must never reuse a connection its parent opened (both would talk over one
    socket); ``dispose(close=False)`` gives the child fresh pools (SQLAlchemy's pooling docs).
    """
    engines = [app.extensions["dashboard"].engine]
    state = app.extensions.get("dashboard_state")
    if state is not None:
        engines.append(state.engine)
    for engine in engines:
        engine.dispose(close=False)


class DashboardServer(BaseApplication):
    """A gunicorn application serving an app built once, before the workers fork.

    Reflection and view set-up (seconds on a 500-table schema) then happen once, not once
    per worker; each worker starts with empty connection pools.
    """

    def __init__(self, app: Flask, options: dict[str, t.Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def run_gunicorn(app: Flask, *, host: str, port: int, workers: int) -> None:
    """Serve ``app`` until interrupted."""
    release_connections(app)
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "preload_app": True,
        "post_fork": lambda _server, _worker: release_connections(app),
        "accesslog": "-",
        # The worker's pid in each line shows which worker answered (and that all of them do).
        "access_log_format": '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(L)ss pid=%(p)s',
        "timeout": 120,
        "graceful_timeout": 10,
        # gunicorn's control socket has one path per user (~/.gunicorn/gunicorn.ctl), so
        # two dashboards on one machine would take it from each other; nothing here uses it.
        "control_socket_disable": True,
    }
    DashboardServer(app, options).run()
