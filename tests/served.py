"""The real ``dashboard`` command in a subprocess: ``serve`` on a free port, and the other commands.

``dashboard_cli`` runs a command to its end; ``serving`` starts ``dashboard serve`` and
yields once every worker has booted, then stops it; ``Browser`` is a cookie-keeping HTTP
client that logs in with the CSRF token of the login page. Every process gets the
environment the test gives it (an instance folder or a data folder in the test's tmp).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import re
import socket
import subprocess
import sys
import time
import typing as t
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
#: Long enough to fail a test rather than hang it; no assertion is about time.
START_TIMEOUT_S = 90


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dashboard_cli(
    *args: str, env: dict[str, str], cwd: str | Path | None = None, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``dashboard ARGS`` to its end and return what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"dashboard {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class Served:
    """A running ``dashboard serve``: its address and the file holding its output."""

    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()


@contextlib.contextmanager
def serving(
    *args: str, env: dict[str, str], log: Path, cwd: str | Path | None = None, workers: int | None = None
) -> t.Iterator[Served]:
    """``dashboard serve ARGS --port <free>`` until the block ends.

    :param workers: how many "Booting worker" lines to wait for (default: the count the
        banner announces).
    """
    port = free_port()
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "serve", *args, "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                text = log.read_text()
                announced = re.search(r"(\d+) worker processes", text)
                wanted = workers or (int(announced.group(1)) if announced else 0)
                if wanted and text.count("Booting worker") >= wanted:
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"dashboard serve did not start:\n{text}")
                time.sleep(0.2)
            yield Served(f"http://127.0.0.1:{port}", log)
        finally:
            stop(process)


def stop(process: subprocess.Popen[t.Any], timeout: float = 30) -> None:
    """Stop a server started for a test: TERM (gunicorn's graceful stop, which waits for its
    workers up to graceful_timeout), then KILL when it outlives ``timeout`` seconds, as it may
    on a machine loaded by other test workers."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class Browser:
    """An HTTP client with a cookie jar, like a browser session on one site."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, timeout: float = 60) -> t.Any:
        """The response to GET ``path``, unread (the caller reads it, or part of it)."""
        return self.opener.open(self.base + path, timeout=timeout)

    def get(self, path: str) -> str:
        with self.open(path) as response:
            return response.read().decode()

    def post(self, path: str, data: dict[str, str], token_from: str) -> t.Any:
        match = TOKEN.search(self.get(token_from))
        assert match, f"no CSRF token on {token_from}"
        payload = {**data, "csrf_token": match.group(1) or match.group(2)}
        with self.opener.open(self.base + path, urllib.parse.urlencode(payload).encode(), timeout=60) as response:
            return response.geturl(), response.read().decode()

    def login(self, username: str, password: str) -> None:
        """Log in through the form; fails when the site does not let the user in."""
        landed, _page = self.post("/login", {"username": username, "password": password}, token_from="/login")
        assert "/login" not in urllib.parse.urlsplit(landed).path, f"{username} could not log in"
