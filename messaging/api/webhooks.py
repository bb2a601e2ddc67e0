"""Inbound provider webhooks (outside /api/v1/: no JWT; a signature authenticates them).

Each POST is verified, stored as a raw WebhookEvent and answered 200 once committed; processing is queued
after commit (messaging.services.ingest). Nothing else happens in the request: no provider call, no parsing
of messages. Plain Django views, the fastest path through the stack.

    GET/POST /webhooks/meta/<org>/                          any of the organization's Cloud numbers
    GET/POST /webhooks/meta/<org>/phone/<phone_number_id>/  that number
    POST     /webhooks/waha/<org>/                          the number running the event's session

Both authenticate the raw bytes before anything parses them, and refuse hostile JSON (too deep, not storable)
with a 400.
"""

import functools
import hashlib
import hmac
import json
import math
import re

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from messaging.models import WebhookEvent
from messaging.selectors import ingest as selectors
from messaging.services import ingest as services

DEDUPE_KEY_MAX = WebhookEvent._meta.get_field("dedupe_key").max_length


class _Refused(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _refusals(view):
    """Answer a _Refused raised by the view as {"detail": ...} with its status."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _Refused as refused:
            return JsonResponse({"detail": refused.detail}, status=refused.status)

    return wrapped


def _body(request: HttpRequest) -> bytes:
    """The raw body, or 413 beyond the 3 MB Meta documents (checked before reading when declared)."""
    too_large = _Refused(413, f"The body is larger than {services.WEBHOOK_MAX_BYTES} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _Refused(400, "Invalid Content-Length.") from None
    if declared > services.WEBHOOK_MAX_BYTES:
        raise too_large
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(body) > services.WEBHOOK_MAX_BYTES:
        raise too_large
    return body


# Real payloads nest some ten levels deep; deeper is refused before anything walks it (json.loads itself raises
# RecursionError near a thousand levels).
MAX_JSON_DEPTH = 64
# Escapes whose strings PostgreSQL's jsonb cannot hold: U+0000, and UTF-16 surrogates (paired ones are fine, but
# any of them sends the payload through the walk that finds the lone ones).
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


# Made once: json.loads with options builds a decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def _deeper_than(value, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels in `value` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _storable(value):
    """`value` with U+0000 removed from every string and lone surrogates replaced by U+FFFD (PostgreSQL's text
    and jsonb cannot hold either); the payload is no deeper than MAX_JSON_DEPTH here."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def _json_object(body: bytes) -> dict:
    """The body as a JSON object that PostgreSQL can store, or a 400. Call only once the body is authenticated.

    Refused: invalid JSON; anything but UTF-8 (RFC 8259; json.loads would take UTF-16 too, and surrogates
    encoded in UTF-8, which the byte search below misses); NaN and Infinity; numbers beyond a float (or with
    more than 4300 digits); nesting beyond MAX_JSON_DEPTH. Kept: a duplicate key's last value (as jsonb keeps
    it)."""
    try:
        payload = _DECODER.decode(body.decode())
    except (ValueError, RecursionError):  # UnicodeDecodeError included
        raise _Refused(400, "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise _Refused(400, "The body must be a JSON object.")
    # Counting brackets is cheap; only a body with many of them (strings included) is walked.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _deeper_than(payload, MAX_JSON_DEPTH):
        raise _Refused(400, f"The body nests deeper than {MAX_JSON_DEPTH} levels.")
    if _UNSTORABLE_ESCAPE.search(body):  # rare: walk the payload only then
        payload = _storable(payload)
    return payload


def _hmac_matches(expected_hex: str, given: str) -> bool:
    return hmac.compare_digest(expected_hex.encode(), given.strip().lower().encode("latin-1", "replace"))


def _meta_verify(request: HttpRequest, organization_id: int, phone_number_id: str | None) -> HttpResponse:
    tokens = selectors.meta_webhook_verify_tokens(organization_id=organization_id, phone_number_id=phone_number_id)
    if tokens is None:
        raise _Refused(404, "Not found.")
    given = request.GET.get("hub.verify_token", "").encode()
    # Every token is compared (constant time), so the answer time says nothing about which one is close.
    matched = [hmac.compare_digest(token.encode(), given) for token in tokens]
    if request.GET.get("hub.mode") == "subscribe" and given and any(matched):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    raise _Refused(403, "Verification failed: wrong mode or verify token.")


def _signed_by(numbers: list[selectors.CloudNumberSecret], body: bytes, given: str) -> bool:
    """Whether one of these app secrets signed `body` (several Meta apps may post here): all are tried."""
    secrets = {number.app_secret for number in numbers}
    return any(
        [_hmac_matches(hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(), given) for secret in secrets]
    )


def _meta_receive(request: HttpRequest, organization_id: int, phone_number_id: str | None) -> HttpResponse:
    lookup = {"organization_id": organization_id, "phone_number_id": phone_number_id}
    numbers = selectors.meta_webhook_secrets(**lookup)
    if numbers is None:
        raise _Refused(404, "Not found.")
    body = _body(request)
    header = request.headers.get("X-Hub-Signature-256", "")
    if not header.startswith("sha256="):
        raise _Refused(401, "Missing or malformed X-Hub-Signature-256.")
    given = header.removeprefix("sha256=")
    if not _signed_by(numbers, body, given):
        # The secrets come from a cache: a secret set a moment ago is only in the database.
        numbers = selectors.meta_webhook_secrets(**lookup, fresh=True) or []
        if not _signed_by(numbers, body, given):
            raise _Refused(401, "Invalid signature.")
    services.webhook_event_store(
        organization_id=organization_id,
        source=WebhookEvent.Source.META,
        body=_json_object(body),
        dedupe_key=services.body_dedupe_key(body),
        number_id=numbers[0].number_id if phone_number_id is not None else None,
    )
    return JsonResponse({"status": "received"})


@csrf_exempt
@require_http_methods(["GET", "POST"])
@_refusals
def meta_webhook(request: HttpRequest, organization_id: str, phone_number_id: str | None = None) -> HttpResponse:
    """Meta's verification handshake (GET) and event notifications (POST)."""
    if request.method == "GET":
        return _meta_verify(request, int(organization_id), phone_number_id)
    return _meta_receive(request, int(organization_id), phone_number_id)


def _sha512_hex(key: str, body: bytes) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


def _waha_signers(organization_id: int, body: bytes, given: str, *, fresh: bool) -> list[selectors.WahaSessionKey]:
    """The organization's WAHA numbers whose key signed `body` (HMAC-SHA512); a 404 when the organization does
    not exist."""
    numbers = selectors.waha_webhook_keys(organization_id=organization_id, fresh=fresh)
    if numbers is None:
        raise _Refused(404, "Not found.")
    # Every key is compared (constant time), so the answer time says nothing about which key is close.
    compared = [(key, _hmac_matches(_sha512_hex(key, body), given)) for key in {n.hmac_key for n in numbers}]
    signed = {key for key, matched in compared if matched}
    return [number for number in numbers if number.hmac_key in signed]


def _waha_number(organization_id: int, body: bytes, given: str) -> tuple[int, dict]:
    """The id of the number whose key signed `body` and whose session the event names, and the event: the raw
    bytes are authenticated before they are parsed. The kept keys first; the database when they do not do (a
    key or a session set a moment ago)."""
    signers = _waha_signers(organization_id, body, given, fresh=False)
    fresh = not signers
    if fresh:
        signers = _waha_signers(organization_id, body, given, fresh=True)
    if not signers:
        raise _Refused(401, "Missing or invalid X-Webhook-Hmac.")
    payload = _json_object(body)
    session = payload.get("session")
    running = [number for number in signers if number.session == session]
    if not running and not fresh:
        running = [
            number for number in _waha_signers(organization_id, body, given, fresh=True) if number.session == session
        ]
    if not running:
        raise _Refused(401, "The event's session is not the session of the number whose key signed it.")
    return running[0].number_id, payload


@csrf_exempt
@require_POST
@_refusals
def waha_webhook(request: HttpRequest, organization_id: str) -> HttpResponse:
    """WAHA events (message, message.any, message.reaction, message.ack, session.status) of one of the
    organization's sessions. Fails closed: the body must be signed (X-Webhook-Hmac, HMAC-SHA512) with the key of
    the number running the event's session; a number without a key receives nothing."""
    given = request.headers.get("X-Webhook-Hmac", "")
    algorithm = request.headers.get("X-Webhook-Hmac-Algorithm", "sha512")
    if not given.strip() or algorithm.strip().lower() != "sha512":
        raise _Refused(401, "Missing or invalid X-Webhook-Hmac.")
    body = _body(request)
    number_id, payload = _waha_number(int(organization_id), body, given)
    dedupe_key = str(request.headers.get("X-Webhook-Request-Id") or payload.get("id") or "")
    if not dedupe_key or len(dedupe_key) > DEDUPE_KEY_MAX:
        dedupe_key = services.body_dedupe_key(dedupe_key.encode() if dedupe_key else body)
    services.webhook_event_store(
        organization_id=int(organization_id),
        source=WebhookEvent.Source.WAHA,
        body=payload,
        dedupe_key=dedupe_key,
        number_id=number_id,
    )
    return JsonResponse({"status": "received"})


# Digits only (and few enough for a bigint): anything else is the site's JSON 404.
ORG = r"(?P<organization_id>[0-9]{1,18})"
urlpatterns = [
    re_path(rf"^meta/{ORG}/?$", meta_webhook, name="webhook-meta"),
    re_path(
        rf"^meta/{ORG}/phone/(?P<phone_number_id>[0-9A-Za-z_.-]{{1,64}})/?$", meta_webhook, name="webhook-meta-phone"
    ),
    re_path(rf"^waha/{ORG}/?$", waha_webhook, name="webhook-waha"),
]
