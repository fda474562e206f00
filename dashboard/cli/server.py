"""Running the app under gunicorn, the production WSGI server, from ``dashboard serve``.

Workers are gunicorn's threaded ``gthread`` workers: by default one process per CPU (at
most :data:`MAX_DEFAULT_WORKERS`), each with :data:`DEFAULT_THREADS` threads. A CSV export
streams for as long as the table is big and holds one thread meanwhile; the other threads
and processes go on answering, so one export never stalls the site (with a single sync
worker, a 15 s export made every other page wait 15 s). Threads of one process share its
connection pool, its in-process listing cache (``SimpleCache`` is locked) and the state
database (opened per use, SQLite with a busy timeout).

The listening socket is bound before anything is announced (:func:`bind_listener`) and
handed to gunicorn as an open file descriptor, so "Open http://..." is only printed for a
port that is really ours, and a taken port is one clear error instead of gunicorn retrying.
"""

from __future__ import annotations

import os
import socket
import typing as t

from flask import Flask
from gunicorn.app.base import BaseApplication

from dashboard.site_state import current_site

#: Threads per worker: room for a few long exports while pages keep answering. Each
#: thread holds at most a connection or two, well inside SQLAlchemy's default pool
#: (5 kept, 10 more on demand per process).
DEFAULT_THREADS = 4
#: More processes than this by default only multiply memory and database connections.
MAX_DEFAULT_WORKERS = 8
#: Pending connections the kernel queues while the workers are busy or still starting.
BACKLOG = 2048


def usable_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def default_workers() -> int:
    """Worker processes ``serve`` starts without ``--workers``: one per usable CPU, capped."""
    return max(1, min(usable_cpus(), MAX_DEFAULT_WORKERS))


def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, ready to hand to gunicorn.

    :raises OSError: the address is taken (``errno.EADDRINUSE``), not allowed (``EACCES``)
        or not one of this machine's (``socket.gaierror`` for an unknown host name).
    """
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        # As gunicorn does: a restart may rebind at once despite connections in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(BACKLOG)
    except OSError:
        listener.close()
        raise
    return listener


def release_connections(app: Flask) -> None:
    """Forget pooled connections inherited from the parent process, without closing its sockets.

    A forked worker must never reuse a connection its parent opened (both would talk over one
    socket); ``dispose(close=False)`` gives the child fresh pools (SQLAlchemy's pooling docs).
    """
    engines = [current_site(app).engine]
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


def run_gunicorn(app: Flask, *, listener: socket.socket, workers: int, threads: int) -> None:
    """Serve ``app`` on the bound ``listener`` until interrupted.

    :param listener: from :func:`bind_listener`; gunicorn takes it over (and closes it).
    :param workers: gunicorn worker processes.
    :param threads: threads per worker process.
    """
    release_connections(app)
    options = {
        # gunicorn adopts the descriptor and closes it when done, so this process lets go of it.
        "bind": f"fd://{listener.detach()}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
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
