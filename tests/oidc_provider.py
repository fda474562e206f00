"""A small OpenID Connect provider for the single sign-on tests, served on 127.0.0.1.

It answers discovery, its keys (JWKS), ``/authorize`` (approves at once: back to the
client's redirect URI with a code and the state) and ``/token`` (the code, the client's
secret and the PKCE verifier checked; an ID token signed with its RSA key by joserfc,
Authlib's JOSE library). What it signs is set per test: :attr:`LocalProvider.claims` for
the person, :attr:`LocalProvider.forge` to spoil the token one way (``"signature"``,
``"audience"``, ``"expired"``, ``"nonce"``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import typing as t
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from flask import Flask, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "dashboard-test"
CLIENT_SECRET = "s3cret-of-the-client"


class LocalProvider:
    """The provider's state: its key, the codes it handed out, what the next token says."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"}, private=True)
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.issuer = ""
        self.claims: dict[str, t.Any] = {}
        self.forge: str | None = None
        self._codes: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def reset(self, **claims: t.Any) -> None:
        """The next sign-ins are of a person with ``claims`` (``sub`` at least), unspoilt."""
        self.claims, self.forge = dict(claims), None

    def settings(self, **extra: t.Any) -> dict[str, t.Any]:
        """The dashboard settings that use this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_NAME": "Local ID",
            "OIDC_ROLE_MAP": {"dba": "admin", "staff": "viewer"},
            **extra,
        }

    def id_token(self, nonce: str, access_token: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **self.claims,
        }
        key = self.key
        if self.forge == "audience":
            # With azp naming this client: Authlib's azp check alone would let it through.
            claims["aud"], claims["azp"] = "another-client", CLIENT_ID
        elif self.forge == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        elif self.forge == "nonce":
            claims["nonce"] = "not-the-one-sent"
        elif self.forge == "signature":
            key = self.other_key  # the same key id, another key: the signature does not verify
        del access_token
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)

    def app(self) -> Flask:
        provider = Flask("local-oidc-provider")

        @provider.get("/.well-known/openid-configuration")
        def discovery() -> t.Any:
            return jsonify(
                issuer=self.issuer,
                authorization_endpoint=f"{self.issuer}/authorize",
                token_endpoint=f"{self.issuer}/token",
                jwks_uri=f"{self.issuer}/jwks",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
            )

        @provider.get("/jwks")
        def jwks() -> t.Any:
            return jsonify(KeySet([self.key]).as_dict(private=False))

        @provider.get("/authorize")
        def authorize() -> t.Any:
            args = request.args
            if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
                abort(400)
            if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
                abort(400)
            code = secrets.token_urlsafe(16)
            with self._lock:
                self._codes[code] = {
                    "nonce": args.get("nonce", ""),
                    "challenge": args["code_challenge"],
                    "redirect_uri": args["redirect_uri"],
                }
            return redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args.get('state', '')})}")

        @provider.post("/token")
        def token() -> t.Any:
            auth = request.authorization
            client = (auth.username, auth.password) if auth else (request.form.get("client_id"), None)
            if client != (CLIENT_ID, CLIENT_SECRET):
                return jsonify(error="invalid_client"), 401
            with self._lock:
                issued = self._codes.pop(request.form.get("code", ""), None)
            verifier = request.form.get("code_verifier", "").encode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if issued is None or challenge != issued["challenge"]:
                return jsonify(error="invalid_grant"), 400
            if request.form.get("redirect_uri") != issued["redirect_uri"]:
                return jsonify(error="invalid_grant"), 400
            access = secrets.token_urlsafe(16)
            return jsonify(
                access_token=access,
                token_type="Bearer",
                expires_in=300,
                id_token=self.id_token(issued["nonce"], access),
            )

        return provider


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[LocalProvider]:
    """This worker's local OpenID Connect provider; call ``reset(sub=..., ...)`` before a sign-in."""
    provider = LocalProvider()
    server = make_server("127.0.0.1", 0, provider.app(), threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    thread.join()
