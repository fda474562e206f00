"""A small HTTP client for the benchmark: timed GETs, a session cookie, a login, a load test.

Standard library only (``http.client``), so the benchmark runs wherever the project does.
Each request opens a new connection: gunicorn's sync worker closes the connection after
every response anyway, so keep-alive would change nothing for either server.
"""

from __future__ import annotations

import http.client
import math
import re
import threading
import time
import typing as t
import urllib.parse
from dataclasses import dataclass, field


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


@dataclass
class Response:
    """One timed response: status, body (unless discarded), size, lines and seconds to the last byte."""

    status: int
    body: bytes
    size: int
    lines: int
    seconds: float
    headers: list[tuple[str, str]]


class Client:
    """GETs (and the login POST) against one server, carrying its cookies.

    Thread-safe: the load test shares one client between its threads. The dashboard sends a
    fresh session cookie with every response (it records when the operator was last seen),
    so the newest cookie is kept, or a long run would be logged out after the idle timeout.
    """

    def __init__(self, host: str, port: int, timeout: float = 600.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._lock = threading.Lock()

    def _headers(self, extra: t.Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept-Encoding": "identity", "User-Agent": "dashboard-bench"}
        with self._lock:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _keep_cookies(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            pair = value.split(";", 1)[0]
            key, _, cookie = pair.partition("=")
            with self._lock:
                # An emptied cookie (logout, expired session) is deleted, as a browser would.
                if cookie and "expires=thu, 01 jan 1970" not in value.lower():
                    self.cookies[key.strip()] = cookie.strip()
                else:
                    self.cookies.pop(key.strip(), None)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: t.Mapping[str, str] | None = None,
        keep_body: bool = True,
    ) -> Response:
        """Send one request and read the whole response; time from send to the last byte."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=self._headers(headers))
            response = connection.getresponse()
            chunks: list[bytes] = []
            size = lines = 0
            while chunk := response.read(65536):
                size += len(chunk)
                lines += chunk.count(b"\n")
                if keep_body:
                    chunks.append(chunk)
            seconds = time.perf_counter() - started
        finally:
            connection.close()
        header_list = response.getheaders()
        self._keep_cookies(header_list)
        return Response(response.status, b"".join(chunks), size, lines, seconds, header_list)

    def get(self, path: str, *, keep_body: bool = True, expect: int = 200) -> Response:
        """GET ``path``; anything but ``expect`` stops the benchmark (a broken run is no result)."""
        response = self.request("GET", path, keep_body=keep_body)
        if response.status != expect:
            location = dict((k.lower(), v) for k, v in response.headers).get("location", "")
            raise BenchError(f"GET {path} on port {self.port} answered {response.status} {location}".strip())
        return response

    def login(self, username: str, password: str) -> None:
        """Log in to the dashboard like a browser: GET /login, then POST with its CSRF token."""
        page = self.get("/login").body.decode()
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if match is None:
            raise BenchError("no csrf_token in the dashboard's login page")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrf_token": match.group(1)}
        ).encode()
        response = self.request(
            "POST", "/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        if response.status != 302:
            raise BenchError(f"login as {username} failed: status {response.status}")


def percentile(samples: t.Sequence[float], p: float) -> float:
    """The nearest-rank percentile: with fewer than 100 samples, p99 is the slowest one."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class LoadResult:
    """What a load test got: requests completed, over how long, and each one's latency."""

    completed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


def load(client: Client, path: str, concurrency: int, seconds: float, into: LoadResult) -> None:
    """``concurrency`` threads GET ``path`` back to back for ``seconds``; add to ``into``.

    Requests still running at the deadline are finished and counted, and the elapsed time
    runs until the last one ends, so requests/s is never flattered by a cut-off.
    """
    errors: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        latencies: list[float] = []
        try:
            while time.perf_counter() < deadline:
                latencies.append(client.get(path, keep_body=False).seconds)
        except BaseException as exc:  # reported by the caller, after every thread stopped
            errors.append(exc)
        with lock:
            into.latencies.extend(latencies)
            into.completed += len(latencies)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    into.seconds += time.perf_counter() - started
    if errors:
        raise BenchError(f"load test on port {client.port} failed: {errors[0]}")
