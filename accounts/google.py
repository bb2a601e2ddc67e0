"""Google sign-in: verifying Google ID tokens, and the web app's OAuth 2.0 authorization-code flow.

An ID token is a JWT signed by Google with RS256. It is accepted when
- its signature verifies against a key of Google's published key set (`GOOGLE_JWKS_URL`, a JWK Set, RFC 7517),
  found by the token header's `kid`;
- `aud` is the operator's `GOOGLE_CLIENT_ID`, `iss` is `accounts.google.com` or `https://accounts.google.com`;
- `exp` is in the future (`iat` present), with LEEWAY for clock skew;
- `email_verified` is true (an unverified address proves nothing about who owns it).

The key set is kept per process by `kid` and fetched again when its cache lifetime (the answer's
`Cache-Control: max-age`, else JWKS_DEFAULT_MAX_AGE) has passed, or when a token names a `kid` the set lacks (Google
rotates its keys), but not more often than once per `GOOGLE_JWKS_REFRESH_FLOOR_SECONDS`: a stream of tokens with made-up
`kid`s cannot make the hub hammer Google. The fetch goes through the egress client (whatsapp_hub.egress: timeouts,
size cap, no redirects).

The web app uses the redirect flow (authorization code, `state` and `nonce` in the session) rather than Google
Identity Services' JavaScript: no third-party script, frame or style on our pages, so the Content-Security-Policy
stays `'self'` only. The code is exchanged at `GOOGLE_TOKEN_URL` (client secret, server to server) for the same ID
token the API takes, verified the same way, plus its `nonce`.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from whatsapp_hub import egress
from whatsapp_hub.errors import ServiceError

ISSUERS = ("accounts.google.com", "https://accounts.google.com")
LEEWAY = 30  # seconds of clock skew tolerated on exp/iat
JWKS_DEFAULT_MAX_AGE = 3600
JWKS_MAX_BYTES = 64 * 1024
SESSION_KEY = "google_oauth"
MAX_AGE = re.compile(r"max-age=(\d+)")


def is_configured() -> bool:
    """The API route works with a client id; the web button also needs the client secret (code exchange)."""
    return bool(settings.GOOGLE_CLIENT_ID)


def web_configured() -> bool:
    return bool(settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET)


def _refused(detail: str) -> ServiceError:
    return ServiceError(detail, status_code=401, code="invalid_google_token")


@dataclass(frozen=True)
class GoogleIdentity:
    subject: str
    email: str
    name: str


class KeySet:
    """Google's signing keys by `kid`, fetched on demand (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at = float("-inf")  # monotonic time of the last fetch (tried)
        self.expires_at = float("-inf")
        self.url = ""
        # Wall-clock times of this process's last fetch that worked and that failed (Settings > Integrations).
        self.succeeded_at: datetime | None = None
        self.failed_at: datetime | None = None

    def _fetch(self) -> None:
        self.fetched_at = time.monotonic()
        previous_failure, self.failed_at = self.failed_at, timezone.now()  # failed until it worked
        try:
            response = egress.request("GET", settings.GOOGLE_JWKS_URL, max_bytes=JWKS_MAX_BYTES)
            response.raise_for_status()
            keys = {}
            for data in response.json().get("keys", []):
                if isinstance(data, dict) and data.get("kid") and data.get("kty") == "RSA":
                    keys[data["kid"]] = jwt.PyJWK.from_dict(data, algorithm="RS256")
        except (requests.RequestException, ValueError, AttributeError, jwt.PyJWTError):
            raise ServiceError(
                gettext("Google's keys could not be fetched: try again in a minute."),
                status_code=503,
                code="google_unavailable",
            ) from None
        match = MAX_AGE.search(response.headers.get("Cache-Control", ""))
        max_age = int(match.group(1)) if match else JWKS_DEFAULT_MAX_AGE
        self.keys, self.expires_at, self.url = keys, self.fetched_at + max_age, settings.GOOGLE_JWKS_URL
        if keys:  # an empty set is no better than none (Settings > Integrations shows it failing)
            self.failed_at, self.succeeded_at = previous_failure, timezone.now()

    def check(self) -> int:
        """Fetch the key set now ("test now"), unless it was fetched in the last GOOGLE_JWKS_REFRESH_FLOOR_SECONDS:
        then the keys held count. The number of keys; a 503 ServiceError when there are none."""
        with self._lock:
            floor = settings.GOOGLE_JWKS_REFRESH_FLOOR_SECONDS
            if time.monotonic() - self.fetched_at >= floor or self.url != settings.GOOGLE_JWKS_URL:
                self._fetch()
            failing = self.failed_at is not None and (self.succeeded_at is None or self.failed_at > self.succeeded_at)
            if not self.keys or failing:
                raise ServiceError(
                    gettext("Google's keys could not be fetched: try again in a minute."),
                    status_code=503,
                    code="google_unavailable",
                )
            return len(self.keys)

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            now = time.monotonic()
            floor = settings.GOOGLE_JWKS_REFRESH_FLOOR_SECONDS
            stale = now >= self.expires_at or self.url != settings.GOOGLE_JWKS_URL
            if (stale or kid not in self.keys) and now - self.fetched_at >= floor:
                self._fetch()
            return self.keys.get(kid)


KEYS = KeySet()


def verify_id_token(token: str, *, nonce: str | None = None) -> GoogleIdentity:
    """The identity a Google ID token proves (see the module docstring), or a 401 ServiceError saying what is wrong.
    `nonce`: the one the web flow sent, which the token must carry."""
    if not is_configured():
        raise ServiceError(
            gettext("Google sign-in is not enabled on this server."), status_code=404, code="google_not_configured"
        )
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _refused(gettext("The Google token is malformed.")) from None
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str):
        raise _refused(gettext("The Google token is not signed by Google."))
    key = KEYS.key(kid)
    if key is None:
        raise _refused(gettext("The Google token is not signed by Google."))
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=settings.GOOGLE_CLIENT_ID,
            issuer=ISSUERS,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise _refused(gettext("The Google token has expired: sign in with Google again.")) from None
    except jwt.InvalidAudienceError:
        raise _refused(gettext("The Google token was issued for another application.")) from None
    except jwt.InvalidIssuerError:
        raise _refused(gettext("The Google token was not issued by Google.")) from None
    except jwt.InvalidSignatureError:
        raise _refused(gettext("The Google token is not signed by Google.")) from None
    except jwt.PyJWTError:
        raise _refused(gettext("The Google token is invalid.")) from None
    if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise _refused(gettext("The Google token does not belong to this sign-in: start again."))
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise _refused(gettext("The Google account has no e-mail address."))
    if claims.get("email_verified") not in (True, "true"):
        raise _refused(gettext("The Google account's e-mail address is not verified."))
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    return GoogleIdentity(subject=str(claims["sub"]), email=email, name=name[:150])


# --- the web app's redirect flow --------------------------------------------------------------------------


def authorization_url(*, session, redirect_uri: str) -> str:
    """Where the "Sign in with Google" button sends the browser; `state` and `nonce` are kept in the session."""
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    session[SESSION_KEY] = {"state": state, "nonce": nonce}
    query = {
        "client_id": settings.GOOGLE_CLIENT_ID,
        "response_type": "code",
        "scope": "openid email profile",
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
        "prompt": "select_account",
    }
    return f"{settings.GOOGLE_AUTH_URL}?{urlencode(query)}"


def identity_from_callback(*, session, state: str, code: str, redirect_uri: str) -> GoogleIdentity:
    """The identity of Google's redirect back (`?state=&code=`): the state must be this session's (used once), the
    code is exchanged for an ID token, which is verified with the session's nonce."""
    expected = session.pop(SESSION_KEY, None) or {}
    if not state or not code or not secrets.compare_digest(str(expected.get("state", "")), state):
        raise _refused(gettext("This Google sign-in has expired or was started elsewhere: start again."))
    try:
        response = egress.request(
            "POST",
            settings.GOOGLE_TOKEN_URL,
            data={
                "code": code,
                "client_id": settings.GOOGLE_CLIENT_ID,
                "client_secret": settings.GOOGLE_CLIENT_SECRET,
                "redirect_uri": redirect_uri,
                "grant_type": "authorization_code",
            },
            max_bytes=JWKS_MAX_BYTES,
        )
        id_token = response.json().get("id_token") if response.status_code == 200 else None
    except (requests.RequestException, ValueError, AttributeError):
        id_token = None
    if not isinstance(id_token, str):
        raise _refused(gettext("Google did not confirm this sign-in: start again."))
    return verify_id_token(id_token, nonce=expected.get("nonce", ""))
