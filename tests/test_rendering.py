"""The rendering layer's shared parts never carry one operator's session to another.

List rows are cached for everyone with the same role and language (dashboard/web/list_rows.py)
and the navbar is kept per role and language (dashboard/web/fragments.py). These tests render
the same cached page for operators of different roles, languages and names and check each sees
only their own CSRF token, nonce, name, buttons and language.
"""

from __future__ import annotations

import html
import re

import pytest

from tests.apps import add_user, csrf_token, login, make_app, make_small_database

_TOKENS = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
_NONCES = re.compile(r'nonce="([^"]+)"')


@pytest.fixture
def site(tmp_path):
    app = make_app(make_small_database(tmp_path / "target.db"), tmp_path / "instance")
    for name, role in (("alice", "admin"), ("bob", "viewer"), ("carol", "admin")):
        add_user(app, name, role)
    return app


def _client(app, name, locale=None):
    client = app.test_client()
    assert login(client, name).status_code == 302
    if locale:
        response = client.post(
            "/language", data={"locale": locale, "next": "/admin/", "csrf_token": csrf_token(client)}
        )
        assert response.status_code == 302
    return client


def _page(client, url="/admin/child/"):
    response = client.get(url)
    assert response.status_code == 200
    return response, response.get_data(as_text=True)


def _tokens(page):
    return {a or b for a, b in _TOKENS.findall(page)}


def test_same_cached_list_shows_each_operator_only_their_own_session(site):
    alice, bob, carol = _client(site, "alice"), _client(site, "bob", "de"), _client(site, "carol")
    _page(alice)  # fills the shared row cache and the kept navbar for admins in English
    responses = {name: _page(client) for name, client in (("alice", alice), ("bob", bob), ("carol", carol))}

    tokens = {name: _tokens(page) for name, (_response, page) in responses.items()}
    for name, found in tokens.items():
        assert len(found) == 1, f"{name} sees several CSRF tokens: {found}"
    assert len({next(iter(found)) for found in tokens.values()}) == 3  # one session each

    for name, (response, page) in responses.items():
        # Every nonce on the page is this response's own (the one its CSP header allows).
        header_nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        assert set(_NONCES.findall(page)) == {header_nonce}, name
        assert f'<span class="navbar-text mr-2">{name}' in page
        others = {"alice", "bob", "carol"} - {name}
        assert not any(f'<span class="navbar-text mr-2">{other}' in page for other in others)

    alice_page, bob_page, carol_page = (responses[n][1] for n in ("alice", "bob", "carol"))
    # The admins share the cached rows, with their buttons; the viewer gets rows without them.
    assert 'form="dashboard-delete"' in alice_page and 'form="dashboard-delete"' in carol_page
    assert 'form="dashboard-delete"' not in bob_page and 'id="dashboard-delete"' not in bob_page
    # (Row buttons link relative to the list page: "edit/?id=...".)
    assert 'href="edit/?id=' in carol_page and 'href="edit/?id=' not in bob_page
    # Bob reads German, the others English, from the same caches.
    assert 'lang="de"' in bob_page and "Abmelden" in bob_page and "Log out" not in bob_page
    assert 'lang="en"' in alice_page and "Log out" in alice_page and "Abmelden" not in alice_page
    # The same row, on every page.
    for page in (alice_page, bob_page, carol_page):
        assert "a note" in page


def test_the_delete_button_of_a_cached_row_deletes_that_row_with_the_readers_token(site):
    alice, carol = _client(site, "alice"), _client(site, "carol")
    _page(alice, "/admin/parent/")
    _response, page = _page(carol, "/admin/parent/")  # rows from alice's render
    buttons = re.findall(r'<button form="dashboard-delete" name="id" value="([^"]+)"', page)
    assert buttons == ["1", "2"]
    token = next(iter(_tokens(page)))
    form_url = re.search(r'<form id="dashboard-delete" method="POST" action="([^"]+)"', page).group(1)
    response = carol.post(form_url, data={"id": "2", "url": "/admin/parent/", "csrf_token": token})
    assert response.status_code == 302
    _response, after = _page(carol, "/admin/parent/")
    assert re.findall(r'<button form="dashboard-delete" name="id" value="([^"]+)"', after) == ["1"]
    assert ">second<" not in after
    assert 'class="alert alert-success' in after  # carol's own message, once
    # Alice's page, from the page carol's request kept, shows neither carol's message nor the row.
    _response, alice_after = _page(alice, "/admin/parent/")
    assert 'class="alert' not in alice_after and ">second<" not in alice_after
    _response, again = _page(carol, "/admin/parent/")
    assert 'class="alert' not in again


def test_a_write_shows_at_once_in_the_cached_rows(site):
    alice = _client(site, "alice")
    _response, before = _page(alice, "/admin/parent/")
    assert "first" in before
    _response, form = _page(alice, "/admin/parent/edit/?id=1&url=/admin/parent/")
    hidden = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"', form))
    hidden.update(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    response = alice.post("/admin/parent/edit/?id=1&url=/admin/parent/", data={**hidden, "name": "renamed"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    _response, after = _page(alice, "/admin/parent/")
    assert "renamed" in after and ">first<" not in after


def test_a_kept_page_keeps_the_spaces_between_its_inline_elements(site):
    # Kept parts lose their indentation, not the line break that separates "Read at ...".
    # from the "Refresh" link beside it (or the search box from its button).
    alice = _client(site, "alice")
    _page(alice, "/admin/child/")
    for page in (_page(alice, "/admin/child/")[1], _page(_client(site, "carol"), "/admin/child/")[1]):
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))
        assert re.search(r"Read at [^.]+\. Refresh", text), text[-400:]
