"""The client's address behind reverse proxies the operator trusts (``TRUSTED_PROXIES``).

Behind a load balancer every request comes from the balancer's address, and login
throttling (:mod:`dashboard.security.throttle`) would count every operator as one client. The
balancer names the client in ``X-Forwarded-For``; but any client can send that header too,
so it is believed only from the proxies listed in ``TRUSTED_PROXIES`` (addresses or
networks such as ``10.0.0.0/8``). Off by default: with the list empty, the header is
ignored and the address is the peer's.

When the peer is a trusted proxy, the client is the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy (each proxy appends the address it
received the request from; what a client wrote itself is further left and never used).
The request's ``REMOTE_ADDR`` is replaced by it, for the throttle and the logs alike; the
peer's address stays in ``environ["dashboard.proxy_addr"]``.

Werkzeug's ``ProxyFix`` is not used: it trusts a number of hops whoever the peer is, so
a client that reaches the dashboard around the balancer could name any address it likes,
and with it a fresh throttle for every try.
"""

from __future__ import annotations

import ipaddress
import typing as t

from dashboard.messages import N_, Message
from dashboard.settings import ConfigError

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Where the address of the proxy that sent the request is kept.
PROXY_ADDR_KEY = "dashboard.proxy_addr"
#: How many forwarded addresses are read at most (a header is bounded anyway; this bounds the walk).
_MAX_HOPS = 30


def parse_trusted_proxies(value: t.Any) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES`` as networks (a single address is a network of one).

    :raises ConfigError: for anything but a list of addresses or networks.
    """
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]  # DASHBOARD_TRUSTED_PROXIES="a b"
    if not isinstance(value, (list, tuple)):
        raise ConfigError(Message(N_('TRUSTED_PROXIES must be a list of addresses or networks, e.g. ["10.0.0.0/8"]')))
    networks = []
    for entry in value:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ConfigError(
                Message(N_("TRUSTED_PROXIES: %(entry)s is not an address or a network"), entry=repr(entry))
            ) from None
    return tuple(networks)


def _trusted(address: str, networks: t.Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(peer: str, forwarded_for: str, networks: t.Sequence[Network]) -> str:
    """The client's address for a request from ``peer`` carrying ``forwarded_for``.

    :param peer: the address the connection came from (``REMOTE_ADDR``).
    :param forwarded_for: the ``X-Forwarded-For`` header (several headers joined by commas).
    :param networks: the trusted proxies.
    """
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")][-_MAX_HOPS:]
    client = peer
    for hop in reversed(hops):
        if not hop:
            break
        client = hop
        if not _trusted(hop, networks):
            break
    return client[:64]


class TrustedProxies:
    """WSGI middleware setting ``REMOTE_ADDR`` to the client behind trusted proxies."""

    def __init__(self, app: WSGIApplication, networks: t.Sequence[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        peer = str(environ.get("REMOTE_ADDR") or "")
        forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
        client = client_address(peer, forwarded, self.networks)
        if client != peer:
            environ[PROXY_ADDR_KEY] = peer
            environ["REMOTE_ADDR"] = client
        return self.app(environ, start_response)


def init_app(app: Flask) -> None:
    """Believe ``X-Forwarded-For`` from the ``TRUSTED_PROXIES`` only (nothing when the list is empty).

    :raises ConfigError: when ``TRUSTED_PROXIES`` is not a list of addresses or networks.
    """
    networks = parse_trusted_proxies(app.config.get("TRUSTED_PROXIES") or [])
    if networks:
        app.wsgi_app = TrustedProxies(app.wsgi_app, networks)  # type: ignore[method-assign]
