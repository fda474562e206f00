"""``dashboard serve`` under gunicorn with several workers: a write is seen at once by every worker."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.site import form_values

PASSWORD = "server test password"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str, env: dict[str, str], stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "dashboard.cli", *args], env=env, input=stdin, text=True,
                   capture_output=True, timeout=120, check=True)


@pytest.fixture
def two_workers(tmp_path: Path):
    env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(tmp_path)}
    _cli("demo", "--rows", "300", "--output", str(tmp_path / "shop.db"), env=env)
    _cli("users", "add", "op", "--role", "editor", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    port = _free_port()
    log = open(tmp_path / "serve.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", f"sqlite:///{tmp_path / 'shop.db'}",
                                "--port", str(port), "--workers", "2"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while (tmp_path / "serve.log").read_text().count("Booting worker") < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("dashboard serve did not start two workers: " + (tmp_path / "serve.log").read_text())
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    process.terminate()
    process.wait(timeout=20)
    log.close()


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        for _ in range(50):
            try:
                with self.opener.open(self.base + path, timeout=30) as response:
                    return response.read().decode()
            except ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"{path} never answered")

    def post(self, path: str, data: dict[str, str], token_from: str) -> None:
        match = TOKEN.search(self.get(token_from))
        assert match
        payload = {**data, "csrf_token": match.group(1) or match.group(2)}
        self.opener.open(self.base + path, urllib.parse.urlencode(payload).encode(), timeout=30).read()


LIST = "/admin/orders/?page_size=20"


def _occupy_one_worker(base: str) -> socket.socket:
    """Hold a sync worker inside a half-sent request, so the next request must go to the other one."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    stall = socket.create_connection((host, int(port)), timeout=10)
    stall.sendall(b"GET /healthz HTTP/1.1\r\n")
    time.sleep(0.1)  # let a worker accept it and block reading the rest of the headers
    return stall


def _ask_every_worker(browser: Browser, log: Path, since: int) -> list[str]:
    """Request the list until both workers have answered it.

    The kernel usually hands every connection to the same idle worker, so every other
    request is made while that worker is held busy by a half-sent request.
    """
    pages: list[str] = []
    for attempt in range(40):
        stall = _occupy_one_worker(browser.base) if attempt % 2 else None
        try:
            pages.append(browser.get(LIST))
        finally:
            if stall is not None:
                stall.close()
        lines = log.read_text().splitlines()[since:]
        answered_by = {m for line in lines for m in re.findall(r'"GET ' + re.escape(LIST) + r' HTTP/1.1" 200 .* pid=<(\d+)>', line)}
        if len(answered_by) == 2:
            return pages
    raise AssertionError("one worker answered every request; the test would prove nothing")


def test_a_write_is_seen_at_once_on_every_worker(two_workers):
    base, log = two_workers
    browser = Browser(base)
    browser.post("/login", {"username": "op", "password": PASSWORD}, token_from="/login")
    before = _ask_every_worker(browser, log, since=0)  # both workers now hold the listing in cache
    assert not any("seen-by-every-worker" in page for page in before)
    edit = "/admin/orders/edit/?id=1"
    fields = form_values(browser.get(edit))
    fields.pop("csrf_token", None)
    fields["note"] = "seen-by-every-worker"
    browser.post(edit, fields, token_from=edit)
    after = _ask_every_worker(browser, log, since=len(log.read_text().splitlines()))
    assert all("seen-by-every-worker" in page for page in after)
