"""MySQL/MariaDB connections without a fresh TLS context each.

PyMySQL (1.2) tries TLS on every connection the URL sets no TLS option for ("preferred"
mode, falling back to plain text when the server offers none), and builds a new
``ssl.SSLContext`` for each, loading the system's certificate store every time: about
45 ms of CPU per connection against 0.3 ms without it, measured here on a server without
TLS. A pool, a pre-ping that reconnects, a worker restart and every command-line run
pay it. That context holds no secret and verifies nothing (preferred mode has no CA to
check against), so one per process serves every such connection alike; a URL that sets
TLS options (``ssl_ca``...) keeps PyMySQL's own context per connection.

:func:`connect` is a ``do_connect`` event handler: :func:`dashboard.db.engine.make_engine`
installs it on MySQL/MariaDB engines.
"""

from __future__ import annotations

import functools
import ssl
import typing as t

__all__ = ["connect"]


@functools.cache
def _connection_class() -> type:
    from pymysql.connections import Connection  # type: ignore[import-untyped]

    class PreferredTlsConnection(Connection):
        """A PyMySQL connection whose preferred-mode TLS context is built once per process."""

        def _create_ssl_ctx(self, sslp: t.Any) -> ssl.SSLContext:
            if isinstance(sslp, dict) and not sslp:
                return _preferred_context(super()._create_ssl_ctx)
            return t.cast(ssl.SSLContext, super()._create_ssl_ctx(sslp))

    return PreferredTlsConnection


_SHARED: list[ssl.SSLContext] = []


def _preferred_context(build: t.Callable[[dict[str, t.Any]], ssl.SSLContext]) -> ssl.SSLContext:
    # Built by PyMySQL itself, so it stays whatever its preferred mode means in its version.
    if not _SHARED:
        _SHARED.append(build({}))
    return _SHARED[0]


def connect(dialect: t.Any, _record: t.Any, cargs: t.Sequence[t.Any], cparams: dict[str, t.Any]) -> t.Any:
    """Open a PyMySQL connection as SQLAlchemy would, sharing the preferred-mode TLS context.

    Returns ``None`` (SQLAlchemy then connects as usual) for any driver but PyMySQL.
    """
    if getattr(dialect, "driver", None) != "pymysql":
        return None
    return _connection_class()(*cargs, **cparams)
