"""The built-in webhooks plugin (dashboard/plugins/builtins/webhooks.py): a signed JSON POST to a
receiver after each committed write, sent in the background, retried while the receiver is
down, every attempt in the delivery log an administrator reads; on every dialect."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import typing as t

import pytest

from dashboard import statedb_webhooks
from dashboard.plugins.builtins import webhooks
from dashboard.statedb import get_store
from tests.apps import csrf_token
from tests.databases import database_with
from tests.site import Site, make_site
from tests.test_write_hooks import build_items

SECRET = "s3cret-shared-with-the-receiver"


class Receiver:
    """A tiny HTTP server on 127.0.0.1 that answers each POST with the next of ``answers``
    (then 200), keeping what it was sent."""

    def __init__(self, answers: t.Sequence[int] = ()) -> None:
        self.answers = list(answers)
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.end_headers()

            def log_message(self, *args: t.Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> t.Iterator[Receiver]:
    found = Receiver(answers=[503, 503])  # down twice, then up
    yield found
    found.close()


@pytest.fixture
def items_url(dialect: str) -> t.Iterator[str]:
    with database_with(dialect, "write_hooks_items", build_items) as url:
        yield url


def site_with(items_url: str, tmp_path: t.Any, hooks: list[dict[str, t.Any]]) -> Site:
    return make_site(
        items_url,
        tmp_path / "instance",
        WEBHOOKS=hooks,
        WEBHOOK_RETRY_SECONDS=[0.01, 0.01, 0.01],
        WEBHOOK_TIMEOUT_SECONDS=2,
    )


def deliveries(site: Site) -> dict[str, statedb_webhooks.Delivery]:
    found = webhooks.deliveries(site.app)
    assert found is not None and found.wait_until_idle(10)
    return {d.url: d for d in statedb_webhooks.list_deliveries(get_store(site.app))}


def verified(headers: t.Mapping[str, str], body: bytes) -> dict[str, t.Any]:
    """The payload, once its signature checks out as a receiver checks it (plugins/README.md)."""
    timestamp = headers["X-Dashboard-Timestamp"]
    expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["X-Dashboard-Signature"])
    return t.cast(dict[str, t.Any], json.loads(body))


def test_a_write_is_delivered_signed_after_retries_while_the_receiver_is_down(items_url, tmp_path, receiver):
    gone = Receiver()
    gone.close()  # nothing listens there any more: every attempt is refused
    site = site_with(
        items_url,
        tmp_path,
        [
            {"url": receiver.url, "secret": SECRET, "tables": ["items"]},
            {"url": gone.url, "secret": SECRET, "actions": ["edit"]},
            {"url": receiver.url + "?never", "secret": SECRET, "tables": ["elsewhere"]},
        ],
    )
    edit = site.url("items", "edit", "2")
    page = site.post(edit, {**site.form_values(edit), "name": "renamed"}, follow=True)
    assert page.status_code == 200  # answered at once, whatever the receivers do
    log = deliveries(site)
    assert set(log) == {receiver.url, gone.url}  # the third wants another table
    assert (log[receiver.url].state, log[receiver.url].attempts, log[receiver.url].last_status) == ("delivered", 3, 200)
    assert (log[gone.url].state, log[gone.url].attempts, log[gone.url].last_status) == ("failed", 4, None)
    assert "ConnectionRefusedError" in log[gone.url].last_error or "URLError" in log[gone.url].last_error
    assert len(receiver.received) == 3
    payloads = [verified(headers, body) for headers, body in receiver.received]
    assert payloads[0] == payloads[2]
    payload = payloads[-1]
    assert (payload["table"], payload["action"], payload["key"], payload["user"]) == (
        "items",
        "edit",
        "2",
        "admin-user",
    )
    assert (payload["old"]["name"], payload["new"]["name"], payload["new"]["qty"]) == ("plain", "renamed", 2)
    page = site.text("/admin/-/pages/webhooks/")
    assert receiver.url in page and "delivered" in page and "given up" in page
    assert SECRET not in page


def test_a_tampered_body_fails_verification_and_deletes_are_sent_with_old_values(items_url, tmp_path):
    receiver = Receiver()
    try:
        site = site_with(items_url, tmp_path, [{"url": receiver.url, "secret": SECRET, "actions": ["delete"]}])
        site.post(site.url("items", "delete"), {"id": "3", "url": site.url("items")}, token_from=site.url("items"))
        site.client.post(
            "/api/items/", json={"values": {"name": "api"}}, headers={"X-CSRFToken": csrf_token(site.client)}
        )
        assert [d.action for d in deliveries(site).values()] == ["delete"]  # the create is not wanted
        [(headers, body)] = receiver.received
        payload = verified(headers, body)
        assert (payload["action"], payload["key"], payload["old"]["name"], payload["new"]) == (
            "delete",
            "3",
            "other",
            None,
        )
        with pytest.raises(AssertionError):
            verified(headers, body.replace(b"other", b"forged"))
    finally:
        receiver.close()


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_a_webhook_setting_that_cannot_be_used_is_the_plugins_problem(items_url, tmp_path):
    site = site_with(items_url, tmp_path, [{"url": "ftp://example.org/", "secret": SECRET}])
    page = site.text("/admin/-/pages/plugins/")
    assert "WEBHOOKS[0].url must be an http or https address" in page
    edit = site.url("items", "edit", "2")
    assert site.post(edit, {**site.form_values(edit), "name": "still saved"}, follow=True).status_code == 200


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_a_redirect_is_not_followed_and_a_4xx_is_given_up_at_once(items_url, tmp_path):
    moved, refusing = Receiver(answers=[302]), Receiver(answers=[403])
    try:
        site = site_with(
            items_url, tmp_path, [{"url": moved.url, "secret": SECRET}, {"url": refusing.url, "secret": SECRET}]
        )
        edit = site.url("items", "edit", "2")
        site.post(edit, {**site.form_values(edit), "name": "once"}, follow=True)
        log = deliveries(site)
        assert [(d.state, d.attempts, d.last_status) for d in (log[moved.url], log[refusing.url])] == [
            ("failed", 1, 302),
            ("failed", 1, 403),
        ]
        assert (len(moved.received), len(refusing.received)) == (1, 1)
    finally:
        moved.close()
        refusing.close()
