"""A fake of Google's sign-in endpoints on 127.0.0.1: the published key set and the OAuth 2.0 token endpoint.

- `GET /oauth2/v3/certs`: a JWK Set (RFC 7517) as Google publishes it, `{"keys": [{"kty": "RSA", "alg": "RS256",
  "use": "sig", "kid", "n", "e"}]}`, with `Cache-Control: public, max-age=...`. `fake.rotate()` adds a new key and
  makes it the signing key (the old one is dropped unless `keep_old=True`), as Google rotates.
- `POST /token` (form: code, client_id, client_secret, redirect_uri, grant_type=authorization_code) → `{"access_token",
  "expires_in", "id_token", "scope", "token_type": "Bearer"}` for a code issued with `fake.issue_code(...)`, once;
  else 400 `{"error": "invalid_grant"}`.
- `fake.id_token(**claims)` signs an ID token with the current key: Google's claims (iss, aud, sub, email,
  email_verified, name, iat, exp) with the given overrides (`kid=`, `key=` another private key to forge one).

Fixture `fake_google`: settings.GOOGLE_JWKS_URL and GOOGLE_TOKEN_URL point here, GOOGLE_CLIENT_ID and
GOOGLE_CLIENT_SECRET are set, and the egress policy allows it.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.server import FakeServer, Request, Response, json_response

CLIENT_ID = "1234567890-test.apps.googleusercontent.com"
CLIENT_SECRET = "test-google-secret"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeGoogleServer(FakeServer):
    user_agent = "fake-google"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.max_age = 21600
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.kid = ""
        self.codes: dict[str, dict] = {}
        self.rotate()

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/oauth2/v3/certs"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def rotate(self, *, keep_old: bool = False) -> str:
        """A new signing key (published from now on); returns its kid."""
        with self.lock:
            if not keep_old:
                self.keys.clear()
            self.kid = secrets.token_hex(20)
            self.keys[self.kid] = new_key()
            return self.kid

    def jwks(self) -> dict:
        keys = []
        for kid, key in self.keys.items():
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def id_token(self, *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://accounts.google.com",
            "azp": self.client_id,
            "aud": self.client_id,
            "sub": "1" + secrets.token_hex(10),
            "email": "person@example.com",
            "email_verified": True,
            "name": "Pat Example",
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, key or self.keys[self.kid], algorithm="RS256", headers={"kid": kid or self.kid, "typ": "JWT"}
        )

    def issue_code(self, **claims: Any) -> str:
        """An authorization code the token endpoint exchanges (once) for an ID token with these claims."""
        code = "4/" + secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = claims
        return code

    def route(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/oauth2/v3/certs":
            return json_response(200, self.jwks(), {"Cache-Control": f"public, max-age={self.max_age}"})
        if request.method == "POST" and request.path == "/token":
            form = request.form
            with self.lock:
                claims = self.codes.pop(form.get("code", ""), None)
            if (
                claims is None
                or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return json_response(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return json_response(
                200,
                {
                    "access_token": "ya29." + secrets.token_urlsafe(16),
                    "expires_in": 3599,
                    "id_token": self.id_token(**claims),
                    "scope": "openid email profile",
                    "token_type": "Bearer",
                },
            )
        return json_response(404, {"error": "not_found"})
