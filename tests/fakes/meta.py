"""A fake Meta Graph API (WhatsApp Cloud API) on 127.0.0.1.

Speaks the documented formats (/work/shared/reference/whatsapp-cloud-api-and-waha.md): send bodies and the success
shape, Meta's error bodies and HTTP statuses, media upload/URL/download with 5-minute URLs, template paging, and
signed webhooks back to the hub. Deterministic: webhooks queue until a test calls `deliver_webhooks()`.

Base URL (what `settings.WHATSAPP_GRAPH_URL` points at): `fake.base_url` = `http://127.0.0.1:<port>/v23.0`.

Standalone: `python -m tests.fakes.meta --port 8081 [--webhook-url URL --app-secret S]`.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from tests.fakes.server import FakeServer, Request, Response, Webhook, WebhookTarget, json_response, meta_signature

GRAPH_VERSION = "v23.0"
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_DISPLAY_PHONE_NUMBER = "15550783881"
DEFAULT_APP_ID = "584544743160774"  # the app id of Meta's Resumable Upload API example
ERROR_HREF = "/documentation/business-messaging/whatsapp/support/error-codes"

WINDOW_SECONDS = 24 * 3600
MEDIA_URL_TTL = 300  # "The URL expires after 5 minutes."
UPLOADED_MEDIA_TTL = 30 * 24 * 3600
PAIR_BURST = 45  # "up to 45 messages in a 6-second burst, but this 'borrows' from your future quota"
PAIR_INTERVAL = 6.0  # "1 message every 6 seconds to the same WhatsApp user"

# code -> (title, official details, legacy HTTP status). Titles and details from the reference §6.5.
ERRORS: dict[int, tuple[str, str, int]] = {
    0: ("AuthException", "We were unable to authenticate the app user.", 401),
    1: ("API Unknown", "Invalid request or possible server error.", 400),
    2: ("API Service", "Temporary due to downtime or due to being overloaded.", 503),
    3: ("API Method", "Capability or permissions issue.", 500),
    4: ("API Too Many Calls", "The app has reached its API call rate limit.", 400),
    10: ("Permission Denied", "Permission is either not granted or has been removed.", 403),
    100: (
        "Invalid parameter",
        "The request included one or more unsupported or misspelled parameters.",
        400,
    ),
    190: ("Access token has expired", "Your access token has expired.", 401),
    200: ("API Permission", "Permission is either not granted or has been removed.", 403),
    368: (
        "Temporarily blocked for policies violations",
        "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a "
        "platform policy.",
        403,
    ),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit.", 400),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached.", 400),
    130472: ("User's number is part of an experiment", "Message was not sent as part of an experiment.", 400),
    131000: ("Something went wrong", "Message failed to send due to an unknown error.", 500),
    131005: ("Access denied", "Permission is either not granted or has been removed.", 403),
    131008: ("Required parameter is missing", "The request is missing a required parameter.", 400),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid.", 400),
    131016: ("Service unavailable", "A service is temporarily unavailable.", 500),
    131021: ("Recipient cannot be sender", "Sender and recipient phone number is the same.", 400),
    131026: (
        "Message Undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; "
        "the recipient has not accepted our new Terms of Service and Privacy Policy; the recipient is using an old "
        "WhatsApp version.",
        400,
    ),
    131030: (
        "Recipient phone number not in allowed list",
        "Recipient's phone number is not whitelisted: add the recipient's phone number to a recipient list, then try "
        "again.",
        400,
    ),
    131031: ("Account has been locked", "The WhatsApp Business Account is restricted or disabled.", 403),
    131042: ("Business eligibility payment issue", "There was an error related to your payment method.", 400),
    131045: ("Incorrect certificate", "Message failed to send due to a phone number registration error.", 500),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        400,
    ),
    131048: (
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be sent from this phone "
        "number.",
        400,
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        400,
    ),
    131050: (
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp "
        "from your business",
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp "
        "from your business.",
        400,
    ),
    131051: ("Unsupported message type", "Unsupported message type.", 400),
    131052: ("Media download error", "Unable to download the media sent by the user.", 400),
    131053: ("Media upload error", "Unable to upload the media used in the message.", 400),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone number in a short period of "
        "time.",
        400,
    ),
    131057: ("Account in maintenance mode", "Business Account is in maintenance mode.", 500),
    132000: (
        "Template Param Count Mismatch",
        "The number of variable parameter values included in the request did not match the number of variable "
        "parameters defined in the template.",
        400,
    ),
    132001: (
        "Template does not exist",
        "The template does not exist in the specified language or the template has not been approved.",
        404,
    ),
    132005: ("Template Hydrated Text Too Long", "Translated text is too long.", 400),
    132007: ("Template Format Character Policy Violated", "Template content violates a WhatsApp policy.", 400),
    132012: ("Template Parameter Format Mismatch", "Variable parameter values formatted incorrectly.", 400),
    132015: (
        "Template is Paused",
        "Template is paused due to low quality so it cannot be sent in a template message.",
        400,
    ),
    132016: (
        "Template is Disabled",
        "Template has been paused too many times due to low quality and is now permanently disabled.",
        400,
    ),
    133004: ("Server Temporarily Unavailable", "Server is temporarily unavailable.", 503),
    133010: ("Phone number Not Registered", "Phone number not registered on the WhatsApp Business Platform.", 400),
    # Flow Management API (WhatsApp Flows) errors, with the description Meta's table gives each code's main case
    # (https://developers.facebook.com/documentation/business-messaging/whatsapp/flows/reference/error-codes); the
    # fake's flow routes answer the other documented cases of a code (FLOW_ERROR_CASES) in the same shape.
    139000: ("Blocked by Integrity", "Integrity requirements not met.", 400),
    139001: ("Flow can't be updated", "A published Flow can't be updated: clone it and publish the clone.", 400),
    139002: (
        "Publishing Flow in invalid state",
        "Only a Flow in DRAFT status can be published: clone it and publish the clone.",
        400,
    ),
    139003: ("Can't deprecate unpublished flow", "Only a published Flow can be deprecated.", 400),
    139004: ("Can't delete published Flow", "A published Flow can't be deleted: deprecate it instead.", 400),
    139006: ("Metrics threshold is not reached", "Not enough data to provide flow metrics.", 400),
    135000: (
        "Generic user error",
        "Message failed to send because of an unknown error with your request parameters.",
        400,
    ),
}
SUBCODES = {130429: 2494055, 131030: 2655007}

# What the send API accepts, and the upload limits per MIME type (reference §5). Written here from the reference,
# not imported from messaging.providers: the fake plays Meta, so a wrong limit in the client shows in the tests.
SEND_TYPES = (
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "reaction",
    "template",
)
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
MB = 1024 * 1024
UPLOAD_LIMITS: dict[str, int] = {
    "audio/aac": 16 * MB,
    "audio/amr": 16 * MB,
    "audio/mpeg": 16 * MB,
    "audio/mp4": 16 * MB,
    "audio/ogg": 16 * MB,
    "text/plain": 100 * MB,
    "application/pdf": 100 * MB,
    "application/msword": 100 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
    "application/vnd.ms-excel": 100 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
    "application/vnd.ms-powerpoint": 100 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "image/webp": 500 * 1024,
    "video/mp4": 16 * MB,
    "video/3gpp": 16 * MB,
}
# The file types of the Resumable Upload API (template header examples), from Meta's upload guide.
RESUMABLE_UPLOAD_TYPES = ("application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4")
MEDIA_HEADER_FORMATS = ("IMAGE", "VIDEO", "GIF", "DOCUMENT")
# WhatsApp Flows: the categories a flow takes, the Flow JSON versions this fake accepts, the components it knows.
FLOW_CATEGORIES = (
    "SIGN_UP",
    "SIGN_IN",
    "APPOINTMENT_BOOKING",
    "LEAD_GENERATION",
    "CONTACT_US",
    "CUSTOMER_SUPPORT",
    "SURVEY",
    "OTHER",
)
# Meta's changelog, "Currently Supported Versions": a Flow JSON version a flow can be sent with, and the ones it can be
# published with (publishing another answers 139002 "Versions in Flow JSON file are not available for publishing").
FLOW_JSON_VERSIONS = ("2.1", "3.0", "3.1", "4.0", "5.0", "5.1", "6.0", "6.1", "6.2", "6.3", "7.0", "7.1", "7.2", "7.3")
FLOW_PUBLISH_VERSIONS = ("5.1", "6.0", "6.1", "6.2", "6.3", "7.0", "7.1", "7.2", "7.3")
FLOW_COMPONENTS = (
    "TextHeading",
    "TextSubheading",
    "TextBody",
    "TextCaption",
    "RichText",
    "TextInput",
    "TextArea",
    "CheckboxGroup",
    "RadioButtonsGroup",
    "Dropdown",
    "ChipsSelector",
    "DatePicker",
    "CalendarPicker",
    "OptIn",
    "EmbeddedLink",
    "Footer",
    "Image",
    "If",
    "Switch",
    "NavigationList",
    "PhotoPicker",
    "DocumentPicker",
)
FLOW_PREVIEW_TTL = 30 * 24 * 3600
# What GET /{flow_id} and GET /{waba_id}/flows answer without `fields` (Flows API, "Retrieving Flow details").
FLOW_DEFAULT_FIELDS = "id,name,status,categories,validation_errors"
# The Flow Management errors the fake answers: (code, message, error_user_title, error_subcode or None). Codes and
# descriptions are Meta's error-code table (flows/reference/error-codes). The body is the one Meta answers (seen for
# 139000 / subcode 4233020): `{"message": <the description>, "type": "OAuthException", "code", "error_subcode",
# "is_transient": false, "error_user_title": "Flow publishing failed", "error_user_msg", "fbtrace_id"}`, no
# `error_data`; the other actions' titles are modelled on that one. Code 100 keeps Graph's "Invalid parameter" as
# `message` and has the description as `error_user_title` (subcode 4016019 for a name already taken, as answered).
FLOW_ERROR_CASES: dict[str, tuple[int, str, str, int | None]] = {
    "name_not_unique": (100, "Invalid parameter", "Flow name is not unique", 4016019),
    "no_such_flow": (100, "Invalid parameter", "Flow with specified ID does not exist", None),
    "one_clone_source": (100, "Invalid parameter", "Only one clone source can be set", None),
    "not_updatable": (139001, "Flow can't be updated", "Flow updating failed", None),
    "publish_invalid_state": (139002, "Publishing Flow in invalid state", "Flow publishing failed", None),
    "publish_validation_errors": (139002, "Publishing Flow with validation errors", "Flow publishing failed", None),
    "publish_version": (
        139002,
        "Versions in Flow JSON file are not available for publishing",
        "Flow publishing failed",
        None,
    ),
    "deprecate_unpublished": (139003, "Can't deprecate unpublished flow", "Flow deprecation failed", None),
    "already_deprecated": (139003, "Flow is already deprecated", "Flow deprecation failed", None),
    "delete_published": (139004, "Can't delete published Flow", "Flow deletion failed", None),
}
# The health alerts of the `flows` webhook (Flows webhooks reference), with the documented example's fields: each
# alert is ACTIVATED when its threshold is crossed (error rates 5/10/50 %, p90 latency 1/5/7 s, availability 90 %)
# and DEACTIVATED when the flow recovers; the version warning has a `warning` instead of a `message`.
FLOW_ALERTS: dict[str, dict[str, Any]] = {
    "ENDPOINT_ERROR_RATE": {
        "message": "The flow endpoint request error rate has reached the 10% threshold in the last 30 minutes. A "
        "higher error rate will make it harder for users to complete the flow, resulting in drop-offs.",
        "error_rate": 14.28,
        "threshold": 10,
        "alert_state": "ACTIVATED",
        "errors": [
            {"error_type": "CAPABILITY_ERROR", "error_rate": 66.66, "error_count": 2},
            {"error_type": "TIMEOUT", "error_rate": 33.33, "error_count": 1},
        ],
    },
    "CLIENT_ERROR_RATE": {
        "message": "The flow client request error rate has reached the 5% threshold in the last 60 minutes. A "
        "higher error rate will make it harder for users to complete the flow, resulting in drop-offs.",
        "error_rate": 14.28,
        "threshold": 10,
        "alert_state": "ACTIVATED",
        "errors": [
            {"error_type": "INVALID_SCREEN_TRANSITION", "error_rate": 66.66, "error_count": 2},
            {"error_type": "PUBLIC_KEY_MISSING", "error_rate": 33.33, "error_count": 1},
        ],
    },
    "ENDPOINT_LATENCY": {
        "message": "Flow endpoint latency has reached the p90 threshold in the last 30 minutes. High latency will "
        "increase the loading time between screens in the flow, impacting user experience.",
        "p90_latency": 8000,
        "p50_latency": 500,
        "requests_count": 34,
        "threshold": 7000,
        "alert_state": "ACTIVATED",
    },
    "ENDPOINT_AVAILABILITY": {
        "message": "The flow endpoint availability has breached the 90% threshold in the last 10 minutes. Users will "
        "be unable to open or use the flow.",
        "alert_state": "ACTIVATED",
        "availability": 75,
        "threshold": 90,
    },
    "FLOW_VERSION_EXPIRY_WARNING": {
        "warning": "Your current Flow version will freeze in 21 days. You won't be able to send the Flow after it "
        "expires. Please migrate to the recommended version as soon as possible. "
        "https://developers.facebook.com/docs/whatsapp/flows/changelogs#currently-supported-versions",
    },
}
INTERACTIVE_TYPES = (
    "button",
    "list",
    "cta_url",
    "flow",
    "product",
    "product_list",
    "catalog_message",
    "location_request_message",
    "address_message",
    "call_permission_request",
)


class Invalid(Exception):
    """A request the fake refuses the way Meta would: `code` picks the title and HTTP status."""

    def __init__(self, code: int, details: str | None = None) -> None:
        super().__init__(details)
        self.code, self.details = code, details


# --- Meta's shapes --------------------------------------------------------------------------------------


def fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(17)[:22]


def error_body(code: int, details: str | None = None, *, message: str | None = None) -> dict:
    """Meta's error body: `{"error": {message, type, code, error_data: {messaging_product, details}, fbtrace_id}}`."""
    title, default_details, _status = ERRORS.get(code, ("Unknown error", "Unknown error.", 400))
    error: dict[str, Any] = {
        "message": message or f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default_details},
    }
    if code in SUBCODES:
        error["error_subcode"] = SUBCODES[code]
    error["fbtrace_id"] = fbtrace_id()
    return {"error": error}


def error_response(code: int, details: str | None = None, *, http_status: int | None = None) -> Response:
    status = http_status or ERRORS.get(code, ("", "", 400))[2]
    return json_response(status, error_body(code, details))


def token_error_response(*, expired: bool = False) -> Response:
    """401 with the Graph-wide OAuthException 190 body (no `error_data`: it is not a WhatsApp-specific error)."""
    if expired:
        error = {
            "message": "Error validating access token: Session has expired on Tuesday, 01-Jul-25 10:00:00 PDT. "
            "The current time is Wednesday, 02-Jul-25 10:00:00 PDT.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": fbtrace_id(),
        }
    else:
        error = {
            "message": "Invalid OAuth access token - Cannot parse access token",
            "type": "OAuthException",
            "code": 190,
            "fbtrace_id": fbtrace_id(),
        }
    return json_response(401, {"error": error}, {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'})


def status_error(code: int, details: str | None = None) -> dict:
    """One item of `statuses[].errors` (or `value.errors`), as in the reference's failed-status examples."""
    title, default_details, _status = ERRORS.get(code, ("Unknown error", "Unknown error.", 400))
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or default_details},
        "href": ERROR_HREF,
    }


def digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def cursor_for(item_id: str) -> str:
    return base64.b64encode(f"AQH:{item_id}".encode()).decode()


def id_from_cursor(cursor: str) -> str | None:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError:
        return None
    return decoded.removeprefix("AQH:") if decoded.startswith("AQH:") else None


# --- state ---------------------------------------------------------------------------------------------


@dataclass
class PhoneNumber:
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    verified_name: str = "Test Business"


@dataclass
class SentMessage:
    wamid: str
    phone_number_id: str
    to: str  # as the request gave it
    wa_id: str
    type: str
    body: dict
    at: float
    category: str
    billable: bool
    pricing_type: str


@dataclass
class Media:
    id: str
    content: bytes
    mime_type: str
    phone_number_id: str | None
    created_at: float
    ttl: float = UPLOADED_MEDIA_TTL
    filename: str | None = None
    served: bytes | None = None  # what a download returns, when a test tampers with it

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Upload:
    """A Resumable Upload API session: what POST /{app_id}/uploads described, the bytes received so far, and the
    handle once they are all there."""

    session: str
    sig: str
    app_id: str
    file_name: str
    file_length: int
    file_type: str
    content: bytes = b""
    handle: str | None = None

    @property
    def upload_id(self) -> str:
        return f"upload:{self.session}?sig={self.sig}"


@dataclass
class Script:
    """A scripted failure: the next `times` matching requests fail this way."""

    kind: str  # "sync" | "async" | "http"
    times: int
    endpoint: str = "messages"
    to: str | None = None
    code: int | None = None
    details: str | None = None
    http_status: int | None = None
    body: bytes = b""
    content_type: str = "text/html"
    skip: int = 0  # matching requests to let through first


@dataclass
class PairBucket:
    tokens: float = PAIR_BURST
    at: float = 0.0


@dataclass
class TemplateReview:
    event: str = "APPROVED"
    reason: str = "NONE"
    rejection_info: dict | None = None


class FakeMetaServer(FakeServer):
    """The fake Graph API. See the module docstring; every helper is public and documented below."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = GRAPH_VERSION,
        tokens: set[str] | None = None,
        app_secret: str = "test-app-secret",
        webhook_url: WebhookTarget | None = None,
        app_id: str = DEFAULT_APP_ID,
    ) -> None:
        super().__init__(host=host, port=port)
        self.version = version
        self.app_id = app_id  # the app the Resumable Upload API takes files for (`settings.WHATSAPP_APP_ID`)
        self.tokens = tokens  # None: any non-empty token is accepted
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        # behaviour switches a test may flip
        self.enforce_window = True
        self.enforce_pair_limit = True
        self.strict_reactions = True  # a reaction to an unknown message fails with 131009 (async)
        self.auto_statuses: tuple[str, ...] = ("sent", "delivered", "read")
        self.auto_review_templates = True
        self.throughput_mps: int | None = None  # None: unlimited; else 130429 above it (per number, per second)
        # Where media URLs point: Meta's are on another host (`https://lookaside.fbsbx.com`); None: this server.
        self.media_url_base: str | None = None
        self._init_state()

    def _init_state(self) -> None:
        self.numbers: dict[str, PhoneNumber] = {}
        self.sent: dict[str, SentMessage] = {}
        self.read_marks: list[dict] = []
        self.media: dict[str, Media] = {}
        self.templates: dict[str, list[dict]] = {}
        self.last_inbound: dict[tuple[str, str], float] = {}
        self.inbound_ids: dict[str, tuple[str, str, float]] = {}  # wamid -> (pnid, wa_id, at)
        self.revoked_tokens: set[str] = set()
        self.template_reviews: dict[str, TemplateReview] = {}
        self.flows: dict[str, dict] = {}  # WhatsApp Flows by id: Meta's fields plus `waba_id` and `flow_json`
        self.uploads: dict[str, Upload] = {}  # by session (the id without its `upload:` prefix and signature)
        self._scripts: list[Script] = []
        self._pair: dict[tuple[str, str], PairBucket] = {}
        self._second: dict[str, tuple[int, int]] = {}
        self._media_urls: dict[str, tuple[str, float]] = {}
        self._conversations: dict[tuple[str, str, str], str] = {}
        self._next_id = 1_000_000_000_000_000
        self.add_phone_number(DEFAULT_PHONE_NUMBER_ID, DEFAULT_DISPLAY_PHONE_NUMBER, DEFAULT_WABA_ID)

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._init_state()

    @property
    def base_url(self) -> str:
        """What the hub is configured with (`WHATSAPP_GRAPH_URL`): version included, no trailing slash."""
        return f"{self.url}/{self.version}"

    # --- setup helpers ---------------------------------------------------------------------------------

    def add_phone_number(
        self, phone_number_id: str, display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER, waba_id: str = ""
    ) -> PhoneNumber:
        number = PhoneNumber(phone_number_id, display_phone_number, waba_id or DEFAULT_WABA_ID)
        with self.lock:
            self.numbers[phone_number_id] = number
        return number

    def number(self, phone_number_id: str | None = None) -> PhoneNumber:
        """The number with this id (registered on first use: the fake accepts any phone_number_id)."""
        phone_number_id = phone_number_id or DEFAULT_PHONE_NUMBER_ID
        with self.lock:
            if phone_number_id not in self.numbers:
                self.numbers[phone_number_id] = PhoneNumber(
                    phone_number_id, DEFAULT_DISPLAY_PHONE_NUMBER, DEFAULT_WABA_ID
                )
            return self.numbers[phone_number_id]

    def revoke_token(self, token: str) -> None:
        """Later calls with this token get 401 / 190 subcode 463 ("Session has expired")."""
        with self.lock:
            self.revoked_tokens.add(token)

    def open_window(self, wa_id: str, *, phone_number_id: str | None = None, at: float | None = None) -> None:
        """Record an inbound message from `wa_id` without emitting a webhook (opens the 24 h window)."""
        with self.lock:
            self.last_inbound[(self.number(phone_number_id).phone_number_id, digits(wa_id))] = (
                self.clock.now() if at is None else at
            )

    def add_media(
        self, content: bytes, mime_type: str, *, phone_number_id: str | None = None, filename: str | None = None
    ) -> Media:
        """Store media as if a user sent it (webhook media ids last 7 days)."""
        with self.lock:
            media = Media(
                self._new_id(), content, mime_type, phone_number_id, self.clock.now(), 7 * 24 * 3600, filename
            )
            self.media[media.id] = media
        return media

    def tamper_media(self, media_id: str, served: bytes) -> None:
        """Downloads of this media now return `served`, while GET /{id} still reports the original size and sha256."""
        with self.lock:
            self.media[media_id].served = served

    def add_template(
        self,
        name: str,
        *,
        language: str = "en_US",
        status: str = "APPROVED",
        category: str = "MARKETING",
        components: list[dict] | None = None,
        parameter_format: str = "POSITIONAL",
        waba_id: str = DEFAULT_WABA_ID,
    ) -> dict:
        """Put a template in a WABA's library. Once a WABA has templates, sends are checked against them."""
        template = {
            "name": name,
            "parameter_format": parameter_format,
            "components": components or [{"type": "BODY", "text": f"Hello from {name}"}],
            "language": language,
            "status": status,
            "category": category,
            "id": self._new_id(),
        }
        if category == "MARKETING":
            template["sub_category"] = "CUSTOM"
        with self.lock:
            self.templates.setdefault(waba_id, []).append(template)
        return template

    def review_template_as(
        self, name: str, event: str = "REJECTED", *, reason: str = "INVALID_FORMAT", rejection_info: dict | None = None
    ) -> None:
        """When a template with this name is created, Meta's review ends with `event` (default: APPROVED)."""
        with self.lock:
            self.template_reviews[name] = TemplateReview(event, reason, rejection_info)

    # --- scripted failures -------------------------------------------------------------------------------

    def fail_next(
        self,
        code: int,
        *,
        times: int = 1,
        to: str | None = None,
        endpoint: str = "messages",
        details: str | None = None,
        http_status: int | None = None,
        skip: int = 0,
    ) -> None:
        """The next `times` requests to `endpoint` (to `to`, if given) answer with Meta's error body for `code`,
        after `skip` of them went through (`skip=1` on "templates": the listing's second page fails).

        endpoint: "messages" (sends), "mark_read", "media" (upload, GET /{id}, delete), "download",
        "templates", "uploads" (Resumable Upload API) or "any". The HTTP status is Meta's legacy one for the code
        unless `http_status` is given.
        """
        self._add_script(
            Script(
                "sync",
                times,
                endpoint,
                to and digits(to),
                code=code,
                details=details,
                http_status=http_status,
                skip=skip,
            )
        )

    def fail_next_async(self, code: int, *, times: int = 1, to: str | None = None, details: str | None = None) -> None:
        """The next `times` sends (to `to`) are accepted (200 + wamid) and then get a `failed` status with `code`."""
        self._add_script(Script("async", times, "messages", to and digits(to), code=code, details=details))

    def fail_next_http(
        self,
        http_status: int,
        *,
        times: int = 1,
        endpoint: str = "messages",
        body: bytes = b"<html><body>Service Unavailable</body></html>",
        content_type: str = "text/html",
    ) -> None:
        """The next `times` requests answer a bare HTTP error (a proxy or load balancer failing: no Graph body)."""
        self._add_script(Script("http", times, endpoint, http_status=http_status, body=body, content_type=content_type))

    def _add_script(self, script: Script) -> None:
        with self.lock:
            self._scripts.append(script)

    def _take_script(self, kinds: tuple[str, ...], endpoint: str, to: str | None = None) -> Script | None:
        with self.lock:
            for script in self._scripts:
                if script.kind not in kinds or script.endpoint not in (endpoint, "any"):
                    continue
                if script.to and script.to != (to and digits(to)):
                    continue
                if script.skip > 0:
                    script.skip -= 1
                    return None
                script.times -= 1
                if script.times <= 0:
                    self._scripts.remove(script)
                return script
        return None

    # --- inspection ------------------------------------------------------------------------------------

    def sends(self, *, to: str | None = None, type: str | None = None) -> list[dict]:
        """JSON bodies of the message sends received (not mark-read), oldest first, filtered by recipient/type."""
        bodies = [
            r.json
            for r in self.find_requests(method="POST", path_endswith="/messages")
            if isinstance(r.json, dict) and "status" not in r.json
        ]
        return [
            b
            for b in bodies
            if (to is None or digits(str(b.get("to", ""))) == digits(to)) and (type is None or b.get("type") == type)
        ]

    def last_send(self) -> dict:
        sends = self.sends()
        assert sends, "the fake received no send"
        return sends[-1]

    def mark_reads(self) -> list[dict]:
        return [
            r.json
            for r in self.find_requests(method="POST", path_endswith="/messages")
            if isinstance(r.json, dict) and r.json.get("status") == "read"
        ]

    # --- webhook builders --------------------------------------------------------------------------------

    def messages_payload(
        self,
        phone_number_id: str | None = None,
        *,
        contacts: list[dict] | None = None,
        messages: list[dict] | None = None,
        statuses: list[dict] | None = None,
        errors: list[dict] | None = None,
    ) -> dict:
        """The `field: messages` envelope for one number, holding whichever lists are given."""
        number = self.number(phone_number_id)
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": number.display_phone_number,
                "phone_number_id": number.phone_number_id,
            },
        }
        if contacts is not None:
            value["contacts"] = contacts
        if messages is not None:
            value["messages"] = messages
        if statuses is not None:
            value["statuses"] = statuses
        if errors is not None:
            value["errors"] = errors
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": number.waba_id, "changes": [{"value": value, "field": "messages"}]}],
        }

    def send_inbound(
        self,
        wa_id: str | None,
        message: dict | None = None,
        *,
        text: str | None = None,
        phone_number_id: str | None = None,
        name: str = "Test User",
        message_id: str | None = None,
        timestamp: float | None = None,
        context: dict | None = None,
        referral: dict | None = None,
        user_id: str | None = None,
        media: bytes | None = None,
        queue: bool = True,
    ) -> dict:
        """A user sends a message: queue the webhook (unless queue=False) and return the message object.

        `message` is the type part (`{"type": "image", "image": {"mime_type": "image/jpeg", "caption": "x"}}`);
        `text="hi"` is the short form. With `media=bytes` the content is stored (downloadable through the media API)
        and the type object gets its `id`, `mime_type` and base64 `sha256`. `wa_id=None` with `user_id` gives the
        2026 username variant (no phone number). Opens the 24-hour window for this user.
        """
        number = self.number(phone_number_id)
        now = self.clock.now() if timestamp is None else timestamp
        msg: dict[str, Any] = {}
        if context is not None:
            msg["context"] = context
        wa_id = digits(wa_id) if wa_id is not None else None
        if wa_id is not None:
            msg["from"] = wa_id
        if user_id is not None:
            msg["from_user_id"] = user_id
        msg["id"] = message_id or self._wamid(wa_id or user_id or "")
        msg["timestamp"] = str(int(now))
        if text is not None:
            msg["type"] = "text"
            msg["text"] = {"body": text}
        elif message is not None:
            msg.update(copy.deepcopy(message))
        else:
            raise ValueError("send_inbound needs text= or message=")
        mtype = msg["type"]
        if media is not None and mtype in MEDIA_TYPES:
            obj = msg[mtype]
            mime = obj.get("mime_type") or {"image": "image/jpeg", "sticker": "image/webp"}.get(mtype, "")
            stored = self.add_media(media, mime, phone_number_id=number.phone_number_id, filename=obj.get("filename"))
            obj["mime_type"] = mime
            obj["sha256"] = base64.b64encode(hashlib.sha256(media).digest()).decode()
            obj["id"] = stored.id
        if referral is not None:
            msg["referral"] = referral
        contact: dict[str, Any] = {"profile": {"name": name}}
        if wa_id is not None:
            contact["wa_id"] = wa_id
        if user_id is not None:
            contact["user_id"] = user_id
        with self.lock:
            if wa_id is not None:
                self.last_inbound[(number.phone_number_id, wa_id)] = now
                self.inbound_ids[msg["id"]] = (number.phone_number_id, wa_id, now)
        if queue:
            self.queue_webhook(self.messages_payload(number.phone_number_id, contacts=[contact], messages=[msg]))
        return msg

    def queue_call(
        self,
        wa_id: str,
        event: str,
        *,
        call_id: str | None = None,
        phone_number_id: str | None = None,
        name: str = "Test User",
        direction: str = "USER_INITIATED",
        status: str = "COMPLETED",
        start: float | None = None,
        duration: int = 0,
    ) -> dict:
        """Queue a Calling API webhook (`field: calls`) and return its call object: `connect` when a call rings (an
        SDP offer for a user-initiated call), `terminate` when it ends (`status` COMPLETED or FAILED, start and end
        times, `duration` in seconds). The customer is `from` of a user-initiated call, `to` of a business-initiated
        one; the same `call_id` (a wacid) ties a call's events together."""
        number = self.number(phone_number_id)
        wa_id = digits(wa_id)
        now = int(self.clock.now())
        business = digits(number.display_phone_number)
        inbound = direction == "USER_INITIATED"
        call: dict[str, Any] = {
            "id": call_id or f"wacid.{base64.b64encode(secrets.token_bytes(36)).decode()}",
            "from": wa_id if inbound else business,
            "to": business if inbound else wa_id,
            "event": event,
            "timestamp": str(now),
            "direction": direction,
        }
        if event == "connect":
            call["session"] = {
                "sdp_type": "offer" if inbound else "answer",
                "sdp": "v=0\r\no=- 0 2 IN IP4 127.0.0.1\r\n",
            }
        else:
            began = int(now - duration if start is None else start)
            call.update({"start_time": str(began), "end_time": str(now), "duration": duration, "status": status})
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": number.display_phone_number,
                "phone_number_id": number.phone_number_id,
            },
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "calls": [call],
        }
        self.queue_webhook(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": number.waba_id, "changes": [{"value": value, "field": "calls"}]}],
            }
        )
        return call

    def status_object(
        self, wamid: str, status: str, *, timestamp: float | None = None, errors: list[dict] | None = None
    ) -> dict:
        """One `statuses[]` item for a message this fake accepted (conversation/pricing on sent and delivered)."""
        sent = self.sent[wamid]
        ts = int(self.clock.now() if timestamp is None else timestamp)
        item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": sent.wa_id}
        if "biz_opaque_callback_data" in sent.body:
            item["biz_opaque_callback_data"] = sent.body["biz_opaque_callback_data"]
        if status == "failed":
            item["errors"] = errors or [status_error(131000)]
        elif status in ("sent", "delivered"):
            key = (sent.phone_number_id, sent.wa_id, sent.category)
            conversation_id = self._conversations.setdefault(key, secrets.token_hex(16))
            conversation: dict[str, Any] = {"id": conversation_id}
            if status == "sent":
                conversation["expiration_timestamp"] = str(ts + WINDOW_SECONDS)
            conversation["origin"] = {"type": sent.category}
            item["conversation"] = conversation
            item["pricing"] = {
                "billable": sent.billable,
                "pricing_model": "PMP",
                "type": sent.pricing_type,
                "category": sent.category,
            }
        return item

    def queue_status(
        self,
        wamid: str,
        status: str,
        *,
        error_code: int | None = None,
        details: str | None = None,
        timestamp: float | None = None,
    ) -> dict:
        """Queue one status webhook for a message this fake accepted (any order: out-of-order tests)."""
        errors = [status_error(error_code, details)] if error_code is not None else None
        item = self.status_object(wamid, status, timestamp=timestamp, errors=errors)
        self.queue_webhook(self.messages_payload(self.sent[wamid].phone_number_id, statuses=[item]))
        return item

    def queue_value_error(self, code: int, *, phone_number_id: str | None = None, details: str | None = None) -> dict:
        """Queue a value-level `errors` webhook (system/app/account problem, e.g. 130429)."""
        payload = self.messages_payload(phone_number_id, errors=[status_error(code, details)])
        self.queue_webhook(payload)
        return payload

    def template_status_payload(self, template: dict, review: TemplateReview, *, waba_id: str) -> dict:
        value: dict[str, Any] = {
            "event": review.event,
            "message_template_id": int(template["id"]),
            "message_template_name": template["name"],
            "message_template_language": template["language"],
            "reason": review.reason if review.event == "REJECTED" else "NONE",
            "message_template_category": template["category"],
        }
        if review.rejection_info:
            value["rejection_info"] = review.rejection_info
        return {
            "entry": [
                {
                    "id": waba_id,
                    "time": int(self.clock.now()),
                    "changes": [{"value": value, "field": "message_template_status_update"}],
                }
            ],
            "object": "whatsapp_business_account",
        }

    def review_template(
        self,
        template_id: str,
        event: str = "APPROVED",
        *,
        reason: str = "NONE",
        rejection_info: dict | None = None,
    ) -> dict:
        """Meta finishes reviewing: set the template's status and queue `message_template_status_update`."""
        with self.lock:
            for waba_id, templates in self.templates.items():
                for template in templates:
                    if template["id"] == template_id:
                        template["status"] = event
                        payload = self.template_status_payload(
                            template, TemplateReview(event, reason, rejection_info), waba_id=waba_id
                        )
                        self.queue_webhook(payload)
                        return payload
        raise KeyError(template_id)

    def signed(self, payload: dict) -> tuple[bytes, dict[str, str]]:
        """The exact bytes and headers Meta would POST for this payload (for tests that post it themselves)."""
        body = json.dumps(payload, separators=(",", ":")).encode()  # ensure_ascii=True: non-ASCII as \uXXXX
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            "X-Hub-Signature-256": meta_signature(body, self.app_secret),
        }
        return body, headers

    def _prepare_webhook(self, webhook: Webhook) -> tuple[WebhookTarget, bytes, dict[str, str]]:
        target = webhook.target or self.webhook_url
        if target is None:
            raise RuntimeError("FakeMetaServer.webhook_url is not set: where should webhooks go?")
        body, headers = self.signed(webhook.payload)
        return target, body, headers

    def _merge_batch(self, webhooks: list[Webhook]) -> list[Webhook]:
        """One POST per number holding every queued message and status of that number (Meta batches up to 1000)."""
        merged: list[Webhook] = []
        by_number: dict[str, Webhook] = {}
        for webhook in webhooks:
            change = webhook.payload["entry"][0]["changes"][0]
            if change["field"] != "messages" or webhook.target is not None:
                merged.append(webhook)
                continue
            pnid = change["value"]["metadata"]["phone_number_id"]
            if pnid not in by_number:
                by_number[pnid] = Webhook(payload=copy.deepcopy(webhook.payload))
                merged.append(by_number[pnid])
                continue
            into = by_number[pnid].payload["entry"][0]["changes"][0]["value"]
            for key in ("contacts", "messages", "statuses", "errors"):
                for item in change["value"].get(key, []):
                    if key == "contacts" and item in into.get("contacts", []):
                        continue
                    into.setdefault(key, []).append(item)
        return merged

    def verify_webhook(self, verify_token: str, *, challenge: str = "1158201444") -> requests.Response:
        """Meta's GET handshake against `webhook_url` (a URL): hub.mode=subscribe, hub.challenge, hub.verify_token."""
        if not isinstance(self.webhook_url, str):
            raise TypeError("verify_webhook needs webhook_url to be a URL")
        params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
        return self._http.get(self.webhook_url, params=params, timeout=(3, 30))

    # --- HTTP -----------------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.path.startswith("/_fake/"):
            return self._control(request)
        if request.path.rstrip("/") == "/whatsapp_business/attachments":
            return self._download(request)
        prefix = f"/{self.version}/"
        if not request.path.startswith(prefix):
            return json_response(404, error_body(100, "Unknown path components", message="Unknown path components"))
        parts = [p for p in request.path[len(prefix) :].split("/") if p]
        endpoint = self._endpoint(request, parts)
        token = self._token(request)
        if not token or (self.tokens is not None and token not in self.tokens):
            return token_error_response()
        if token in self.revoked_tokens:
            return token_error_response(expired=True)
        to = request.json.get("to") if isinstance(request.json, dict) else None
        script = self._take_script(("sync", "http"), endpoint, to)
        if script is not None:
            if script.kind == "http":
                return Response(script.http_status or 500, script.body, script.content_type)
            return error_response(script.code or 131000, script.details, http_status=script.http_status)
        try:
            return self._dispatch(request, parts)
        except Invalid as invalid:
            return error_response(invalid.code, invalid.details)

    def _endpoint(self, request: Request, parts: list[str]) -> str:
        if (len(parts) == 2 and parts[1] == "uploads") or (len(parts) == 1 and parts[0].startswith("upload:")):
            return "uploads"
        if len(parts) == 2 and parts[1] == "messages":
            is_read = isinstance(request.json, dict) and request.json.get("status") == "read"
            return "mark_read" if is_read else "messages"
        if len(parts) == 2 and parts[1] == "media":
            return "media"
        if len(parts) == 2 and parts[1] == "message_templates":
            return "templates"
        if (len(parts) == 2 and parts[1] == "flows") or (parts and parts[0] in self.flows):
            return "flows"
        if len(parts) == 1:
            return "templates" if parts[0] in self._template_ids() else "media"
        return "other"

    @staticmethod
    def _token(request: Request) -> str:
        auth = request.headers.get("Authorization", "")
        for scheme in ("Bearer ", "OAuth "):  # the upload endpoint documents OAuth; the Graph API takes both
            if auth.startswith(scheme):
                return auth[len(scheme) :].strip()
        return request.query.get("access_token", "")

    def _dispatch(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        if len(parts) == 2 and parts[1] == "messages" and method == "POST":
            return self._messages(parts[0], request)
        if len(parts) == 2 and parts[1] == "media" and method == "POST":
            return self._upload(parts[0], request)
        if len(parts) == 2 and parts[1] == "uploads" and method == "POST":
            return self._upload_session(parts[0], request)
        if len(parts) == 1 and parts[0].startswith("upload:") and method in ("GET", "POST"):
            return self._upload_data(parts[0].removeprefix("upload:"), request)
        if len(parts) == 2 and parts[1] == "message_templates":
            if method == "GET":
                return self._list_templates(parts[0], request)
            if method == "POST":
                return self._create_template(parts[0], request)
            if method == "DELETE":
                return self._delete_template(parts[0], request)
        if len(parts) == 2 and parts[1] == "flows" and method in ("GET", "POST"):
            return self._list_flows(parts[0], request) if method == "GET" else self._create_flow(parts[0], request)
        if parts and parts[0] in self.flows:
            flow_response = self._flow_route(self.flows[parts[0]], parts[1:], request)
            if flow_response is not None:
                return flow_response
        if len(parts) == 1 and method == "GET":
            return self._get_node(parts[0], request)
        if len(parts) == 1 and method == "DELETE":
            return self._delete_media(parts[0], request)
        return json_response(
            400,
            error_body(
                100,
                message=f"Unsupported {method.lower()} request. Object with ID '{parts[0] if parts else ''}' does not "
                "exist, cannot be loaded due to missing permissions, or does not support this operation.",
            ),
        )

    # --- messages ----------------------------------------------------------------------------------------

    def _messages(self, phone_number_id: str, request: Request) -> Response:
        body = request.json
        if not isinstance(body, dict):
            raise Invalid(100, "The request body must be a JSON object.")
        if body.get("messaging_product") != "whatsapp":
            if "messaging_product" not in body:
                raise Invalid(100, "The parameter messaging_product is required.")
            raise Invalid(100, "Param messaging_product must be 'whatsapp'.")
        if body.get("status") == "read":
            return self._mark_read(phone_number_id, body)
        return self._send(self.number(phone_number_id), body)

    def _mark_read(self, phone_number_id: str, body: dict) -> Response:
        if not body.get("message_id"):
            raise Invalid(100, "The parameter message_id is required.")
        indicator = body.get("typing_indicator")
        if indicator is not None and indicator != {"type": "text"}:
            raise Invalid(131009, "Param typing_indicator['type'] must be 'text'.")
        with self.lock:
            self.read_marks.append({"phone_number_id": phone_number_id, **body})
        return json_response(200, {"success": True})

    def _send(self, number: PhoneNumber, body: dict) -> Response:
        to = body.get("to") or body.get("recipient")
        if not to or not isinstance(to, str):
            raise Invalid(100, "The parameter to is required.")
        mtype = body.get("type", "text")
        if mtype not in SEND_TYPES:
            raise Invalid(131051, f"Message type '{mtype}' is not supported.")
        self._validate(mtype, body.get(mtype))
        wa_id = digits(to) if body.get("to") else to
        if wa_id == digits(number.display_phone_number):
            raise Invalid(131021)
        template = self._check_template(number, body[mtype]) if mtype == "template" else None
        now = self.clock.now()
        with self.lock:
            self._check_throughput(number.phone_number_id, now)
            self._check_pair_limit(number.phone_number_id, wa_id, now)
            if template is not None:
                category, billable, pricing_type = template["category"].lower(), True, "regular"
            else:
                category, billable, pricing_type = "service", False, "free_customer_service"
            sent = SentMessage(
                self._wamid(wa_id),
                number.phone_number_id,
                to,
                wa_id,
                mtype,
                body,
                now,
                category,
                billable,
                pricing_type,
            )
            self.sent[sent.wamid] = sent
        self._queue_outcome(sent)
        contact: dict[str, str] = {"input": to}
        if body.get("to"):
            contact["wa_id"] = wa_id
        else:
            contact["user_id"] = to
        return json_response(
            200, {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": sent.wamid}]}
        )

    def _queue_outcome(self, sent: SentMessage) -> None:
        """What Meta does after accepting a send: statuses, or a `failed` status for asynchronous failures."""
        script = self._take_script(("async",), "messages", sent.wa_id)
        failure: int | None = script.code if script else None
        details = script.details if script else None
        now = sent.at
        if failure is None and sent.type != "template" and self.enforce_window:
            last = self.last_inbound.get((sent.phone_number_id, sent.wa_id))
            if last is None or now - last > WINDOW_SECONDS:
                failure = 131047
        if failure is None and sent.type == "reaction" and self.strict_reactions:
            target = sent.body["reaction"].get("message_id")
            if not self._reaction_target_ok(target, sent):
                failure = 131009
                details = (
                    "Reaction target message is invalid: it is older than 30 days, deleted, or not in this thread."
                )
        if failure is not None:
            item = self.status_object(sent.wamid, "failed", timestamp=now, errors=[status_error(failure, details)])
            self.queue_webhook(self.messages_payload(sent.phone_number_id, statuses=[item]))
            return
        statuses = ("sent",) if sent.type == "reaction" else self.auto_statuses
        for offset, status in enumerate(statuses):
            item = self.status_object(sent.wamid, status, timestamp=now + offset)
            self.queue_webhook(self.messages_payload(sent.phone_number_id, statuses=[item]))

    def _reaction_target_ok(self, target: str | None, reaction: SentMessage) -> bool:
        month = 30 * 24 * 3600
        if target in self.inbound_ids:
            pnid, wa_id, at = self.inbound_ids[target]
        elif target in self.sent:
            original = self.sent[target]
            if original.type == "reaction":
                return False
            pnid, wa_id, at = original.phone_number_id, original.wa_id, original.at
        else:
            return False
        return (pnid, wa_id) == (reaction.phone_number_id, reaction.wa_id) and reaction.at - at <= month

    def _check_throughput(self, phone_number_id: str, now: float) -> None:
        if self.throughput_mps is None:
            return
        second, count = self._second.get(phone_number_id, (int(now), 0))
        if second != int(now):
            second, count = int(now), 0
        if count >= self.throughput_mps:
            raise Invalid(130429)
        self._second[phone_number_id] = (second, count + 1)

    def _check_pair_limit(self, phone_number_id: str, wa_id: str, now: float) -> None:
        """Token bucket: 45 in a burst, refilled at one per 6 s (reference §6.3)."""
        if not self.enforce_pair_limit:
            return
        bucket = self._pair.setdefault((phone_number_id, wa_id), PairBucket(PAIR_BURST, now))
        bucket.tokens = min(PAIR_BURST, bucket.tokens + max(0.0, now - bucket.at) / PAIR_INTERVAL)
        bucket.at = now
        if bucket.tokens < 1:
            raise Invalid(131056)
        bucket.tokens -= 1

    def _validate(self, mtype: str, obj: Any) -> None:
        if mtype == "contacts":
            if not isinstance(obj, list) or not obj:
                raise Invalid(131008, "The parameter contacts is required.")
            for index, card in enumerate(obj):
                if not isinstance(card, dict) or not (card.get("name") or {}).get("formatted_name"):
                    raise Invalid(131008, f"Param contacts[{index}]['name']['formatted_name'] is required.")
            return
        if not isinstance(obj, dict):
            raise Invalid(131008, f"The parameter {mtype} is required.")
        if mtype == "text":
            text = obj.get("body")
            if not isinstance(text, str) or not text:
                raise Invalid(131008, "Param text['body'] is required.")
            if len(text) > 4096:
                raise Invalid(100, "Param text['body'] must be at most 4096 characters long.")
            if "preview_url" in obj and not isinstance(obj["preview_url"], bool):
                raise Invalid(100, "Param text['preview_url'] must be a boolean.")
        elif mtype in MEDIA_TYPES:
            has_id, has_link = bool(obj.get("id")), bool(obj.get("link"))
            if not has_id and not has_link:
                raise Invalid(131008, f"Param {mtype} must contain either 'id' or 'link'.")
            if has_id and has_link:
                raise Invalid(100, f"Param {mtype} must contain either 'id' or 'link', not both.")
            if has_link and not str(obj["link"]).startswith(("http://", "https://")):
                raise Invalid(131009, f"Param {mtype}['link'] must be a valid http(s) URL.")
            if "caption" in obj:
                if mtype not in ("image", "video", "document"):
                    raise Invalid(100, f"Param {mtype}['caption'] is not a valid parameter.")
                if len(str(obj["caption"])) > 1024:
                    raise Invalid(100, f"Param {mtype}['caption'] must be at most 1024 characters long.")
        elif mtype == "location":
            for key, bound in (("latitude", 90), ("longitude", 180)):
                if key not in obj:
                    raise Invalid(131008, f"Param location['{key}'] is required.")
                try:
                    value = float(obj[key])
                except (TypeError, ValueError):
                    raise Invalid(131009, f"Param location['{key}'] must be a number.") from None
                if not -bound <= value <= bound:
                    raise Invalid(131009, f"Param location['{key}'] is out of range.")
        elif mtype == "interactive":
            self._validate_interactive(obj)
        elif mtype == "reaction":
            if not obj.get("message_id"):
                raise Invalid(131008, "Param reaction['message_id'] is required.")
            if not isinstance(obj.get("emoji"), str):
                raise Invalid(131008, "Param reaction['emoji'] is required (an empty string removes the reaction).")
        elif mtype == "template":
            if not obj.get("name"):
                raise Invalid(131008, "Param template['name'] is required.")
            if not (obj.get("language") or {}).get("code"):
                raise Invalid(131008, "Param template['language']['code'] is required.")
            if not isinstance(obj.get("components", []), list):
                raise Invalid(100, "Param template['components'] must be an array.")

    def _validate_interactive(self, obj: dict) -> None:
        itype = obj.get("type")
        if itype not in INTERACTIVE_TYPES:
            raise Invalid(131009, f"Param interactive['type'] must be one of {list(INTERACTIVE_TYPES)}.")
        action = obj.get("action")
        if not isinstance(action, dict) and itype != "product":
            raise Invalid(131008, "Param interactive['action'] is required.")
        if itype == "flow":
            self._validate_flow_message(obj)
            return
        if itype not in ("button", "list"):
            return
        text = (obj.get("body") or {}).get("text")
        if not isinstance(text, str) or not text:
            raise Invalid(131008, "Param interactive['body']['text'] is required.")
        footer = (obj.get("footer") or {}).get("text")
        if footer is not None and len(footer) > 60:
            raise Invalid(131009, "Param interactive['footer']['text'] must be at most 60 characters long.")
        header = obj.get("header")
        if itype == "button":
            if len(text) > 1024:
                raise Invalid(131009, "Param interactive['body']['text'] must be at most 1024 characters long.")
            if header is not None and header.get("type") not in ("text", "image", "video", "document"):
                raise Invalid(131009, "Param interactive['header']['type'] is invalid.")
            buttons = action.get("buttons")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
                raise Invalid(131009, "Param interactive['action']['buttons'] must have between 1 and 3 buttons.")
            ids, titles = set(), set()
            for button in buttons:
                reply = button.get("reply") or {}
                if button.get("type") != "reply" or not reply.get("id") or not reply.get("title"):
                    raise Invalid(131008, "Each button needs type 'reply' with reply.id and reply.title.")
                if len(reply["id"]) > 256 or len(reply["title"]) > 20:
                    raise Invalid(131009, "Button id must be at most 256 characters and title at most 20.")
                if reply["id"] in ids or reply["title"] in titles:
                    raise Invalid(131009, "Button ids and titles must be unique.")
                ids.add(reply["id"])
                titles.add(reply["title"])
            return
        if len(text) > 4096:
            raise Invalid(131009, "Param interactive['body']['text'] must be at most 4096 characters long.")
        if header is not None and (header.get("type") != "text" or len(header.get("text", "")) > 60):
            raise Invalid(131009, "A list header must be text, at most 60 characters.")
        label = action.get("button")
        if not isinstance(label, str) or not label or len(label) > 20:
            raise Invalid(131009, "Param interactive['action']['button'] is required, at most 20 characters.")
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise Invalid(131009, "Param interactive['action']['sections'] must have between 1 and 10 sections.")
        rows = [row for section in sections for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10:
            raise Invalid(131009, "A list must have between 1 and 10 rows in total.")
        for section in sections:
            if len(sections) > 1 and not section.get("title"):
                raise Invalid(131008, "Each section needs a title when there is more than one section.")
            if len(section.get("title", "")) > 24:
                raise Invalid(131009, "Section titles must be at most 24 characters long.")
        row_ids = set()
        for row in rows:
            if not row.get("id") or not row.get("title"):
                raise Invalid(131008, "Each row needs an id and a title.")
            if len(row["id"]) > 200 or len(row["title"]) > 24 or len(row.get("description", "")) > 72:
                raise Invalid(131009, "Row id ≤ 200, title ≤ 24 and description ≤ 72 characters.")
            if row["id"] in row_ids:
                raise Invalid(131009, "Row ids must be unique.")
            row_ids.add(row["id"])

    def _validate_flow_message(self, obj: dict) -> None:
        """An interactive `flow` message: body text, action.name "flow" and its parameters (flow_message_version 3,
        flow_id or flow_name, flow_cta ≤ 20, navigate with a screen of the flow or data_exchange, mode); in
        published mode the flow must be PUBLISHED."""
        text = (obj.get("body") or {}).get("text")
        if not isinstance(text, str) or not text:
            raise Invalid(131008, "Param interactive['body']['text'] is required.")
        action = obj["action"]
        if action.get("name") != "flow":
            raise Invalid(131009, "Param interactive['action']['name'] must be 'flow'.")
        params = action.get("parameters")
        if not isinstance(params, dict):
            raise Invalid(131008, "Param interactive['action']['parameters'] is required.")
        if params.get("flow_message_version") != "3":
            raise Invalid(131009, "Param flow_message_version must be '3'.")
        cta = params.get("flow_cta")
        # Meta's interactive flow reference: flow_cta, "Maximum length: 20 characters (no emoji)".
        if not isinstance(cta, str) or not cta or len(cta) > 20:
            raise Invalid(131009, "Param flow_cta is required, at most 20 characters.")
        if "flow_token" in params and (not isinstance(params["flow_token"], str) or not params["flow_token"]):
            raise Invalid(131009, "Param flow_token must be a non-empty string.")
        flow_id = params.get("flow_id")
        if not flow_id and not params.get("flow_name"):
            raise Invalid(131008, "Param flow_id or flow_name is required.")
        mode = params.get("mode", "published")
        if mode not in ("draft", "published"):
            raise Invalid(131009, "Param mode must be 'draft' or 'published'.")
        flow_action = params.get("flow_action", "navigate")
        if flow_action not in ("navigate", "data_exchange"):
            raise Invalid(131009, "Param flow_action must be 'navigate' or 'data_exchange'.")
        flow = self.flows.get(str(flow_id)) if flow_id else None
        if flow_id and flow is None:
            raise Invalid(131009, f"Flow with id {flow_id} does not exist.")
        if flow is not None and mode == "published" and flow["status"] != "PUBLISHED":
            raise Invalid(131009, f"Flow {flow_id} is {flow['status']}: only a PUBLISHED flow can be sent.")
        payload = params.get("flow_action_payload")
        if flow_action == "navigate":
            if not isinstance(payload, dict) or not payload.get("screen"):
                raise Invalid(131008, "Param flow_action_payload.screen is required to navigate.")
            if "data" in payload and (not isinstance(payload["data"], dict) or not payload["data"]):
                raise Invalid(131009, "Param flow_action_payload.data must be a non-empty object.")
            if flow is not None and flow["flow_json"]:
                screens = json.loads(flow["flow_json"]).get("screens") or []
                if payload["screen"] not in {screen.get("id") for screen in screens if isinstance(screen, dict)}:
                    raise Invalid(131009, f"Screen {payload['screen']!r} is not a screen of the flow.")
        elif payload is not None:
            raise Invalid(131009, "Param flow_action_payload is for navigate only.")

    def _check_template(self, number: PhoneNumber, obj: dict) -> dict | None:
        """Check a template send against the WABA's library (only if the fake knows templates for that WABA)."""
        library = self.templates.get(number.waba_id)
        if not library:
            return {"category": "MARKETING"}
        language = obj["language"]["code"]
        matches = [t for t in library if t["name"] == obj["name"] and t["language"] == language]
        if not matches:
            raise Invalid(132001)
        template = matches[0]
        if template["status"] == "PAUSED":
            raise Invalid(132015)
        if template["status"] == "DISABLED":
            raise Invalid(132016)
        if template["status"] != "APPROVED":
            raise Invalid(132001)
        body_text = next((c.get("text", "") for c in template["components"] if c.get("type") == "BODY"), "")
        expected = len(set(re.findall(r"{{\s*([\w]+)\s*}}", body_text)))
        params = [
            p
            for c in obj.get("components") or []
            if str(c.get("type", "")).lower() == "body"
            for p in c.get("parameters") or []
        ]
        if len(params) != expected:
            raise Invalid(
                132000,
                f"body: number of localizable_params ({len(params)}) does not match the expected "
                f"number of params ({expected})",
            )
        for component in obj.get("components") or []:
            for param in component.get("parameters") or []:
                self._check_parameter(
                    param,
                    named=template.get("parameter_format") == "NAMED" and str(component.get("type")).lower() == "body",
                )
        return template

    @staticmethod
    def _check_parameter(param: dict, *, named: bool) -> None:
        ptype = param.get("type")
        ok = {
            "text": lambda: isinstance(param.get("text"), str),
            "payload": lambda: isinstance(param.get("payload"), str),
            "coupon_code": lambda: isinstance(param.get("coupon_code"), str),
            "currency": lambda: (
                isinstance(param.get("currency"), dict)
                and isinstance(param["currency"].get("fallback_value"), str)
                and isinstance(param["currency"].get("code"), str)
                and isinstance(param["currency"].get("amount_1000"), int)
            ),
            "date_time": lambda: (
                isinstance(param.get("date_time"), dict) and isinstance(param["date_time"].get("fallback_value"), str)
            ),
            "image": lambda: isinstance(param.get("image"), dict) and bool(param["image"].keys() & {"id", "link"}),
            "video": lambda: isinstance(param.get("video"), dict) and bool(param["video"].keys() & {"id", "link"}),
            "document": lambda: (
                isinstance(param.get("document"), dict) and bool(param["document"].keys() & {"id", "link"})
            ),
            "location": lambda: isinstance(param.get("location"), dict),
            # Flow, catalog and multi-product buttons: `{"type": "action", "action": {"flow_token": …}}`.
            "action": lambda: isinstance(param.get("action"), dict),
        }.get(ptype)
        if ok is None or not ok():
            raise Invalid(132012, f"Parameter of type '{ptype}' is not formatted correctly.")
        if named and ptype == "text" and not param.get("parameter_name"):
            raise Invalid(132012, "This template uses named parameters: each text parameter needs parameter_name.")

    # --- media -------------------------------------------------------------------------------------

    def _upload(self, phone_number_id: str, request: Request) -> Response:
        if request.form.get("messaging_product") != "whatsapp":
            raise Invalid(100, "The parameter messaging_product is required.")
        upload = request.files.get("file")
        if upload is None:
            raise Invalid(100, "The parameter file is required.")
        mime = request.form.get("type") or ""
        if not mime:
            raise Invalid(100, "The parameter type is required.")
        base_mime = mime.split(";")[0].strip().lower()
        if base_mime not in UPLOAD_LIMITS:
            raise Invalid(
                131053, f"Param file must be a file with one of the following types: {sorted(UPLOAD_LIMITS)}."
            )
        part_mime = (upload.content_type or "").split(";")[0].strip().lower()
        if part_mime and part_mime not in (base_mime, "application/octet-stream"):
            raise Invalid(
                131053, f"The file's MIME type ({part_mime}) does not match the type parameter ({base_mime})."
            )
        limit = UPLOAD_LIMITS[base_mime]
        if len(upload.content) > limit:
            raise Invalid(
                131053, f"File size is too big. Max file size we currently support for {base_mime}: {limit} bytes."
            )
        with self.lock:
            media = Media(
                self._new_id(), upload.content, mime, phone_number_id, self.clock.now(), filename=upload.filename
            )
            self.media[media.id] = media
        return json_response(200, {"id": media.id})

    def _media(self, media_id: str, request: Request) -> Media:
        media = self.media.get(media_id)
        pnid = request.query.get("phone_number_id")
        if (
            media is None
            or self.clock.now() - media.created_at > media.ttl
            or (pnid and media.phone_number_id and pnid != media.phone_number_id)
        ):
            raise _NotFound(media_id, request.method)
        return media

    def _get_node(self, node_id: str, request: Request) -> Response:
        for templates in self.templates.values():
            for template in templates:
                if template["id"] == node_id:
                    return json_response(200, _pick(template, request.query.get("fields")))
        if node_id in self.numbers and node_id not in self.media:
            number = self.numbers[node_id]
            node = {
                "verified_name": number.verified_name,
                "code_verification_status": "VERIFIED",
                "display_phone_number": "+" + number.display_phone_number,
                "quality_rating": "GREEN",
                "platform_type": "CLOUD_API",
                "throughput": {"level": "STANDARD"},
                "id": number.phone_number_id,
            }
            return json_response(200, _pick(node, request.query.get("fields")))
        try:
            media = self._media(node_id, request)
        except _NotFound as missing:
            return missing.response()
        token = secrets.token_urlsafe(16)
        expires = self.clock.now() + MEDIA_URL_TTL
        with self.lock:
            self._media_urls[token] = (media.id, expires)
        query = urlencode({"mid": media.id, "ext": int(expires), "hash": token})
        return json_response(
            200,
            {
                "messaging_product": "whatsapp",
                "url": f"{self.media_url_base or self.url}/whatsapp_business/attachments/?{query}",
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": len(media.content),
                "id": media.id,
            },
        )

    def _delete_media(self, media_id: str, request: Request) -> Response:
        try:
            media = self._media(media_id, request)
        except _NotFound as missing:
            return missing.response()
        with self.lock:
            self.media.pop(media.id, None)
        return json_response(200, {"success": True})

    def _download(self, request: Request) -> Response:
        token = self._token(request)
        if not token or (self.tokens is not None and token not in self.tokens) or token in self.revoked_tokens:
            return token_error_response()
        script = self._take_script(("sync", "http"), "download")
        if script is not None:
            if script.kind == "http":
                return Response(script.http_status or 500, script.body, script.content_type)
            return error_response(script.code or 131000, script.details, http_status=script.http_status)
        issued = self._media_urls.get(request.query.get("hash", ""))
        media = self.media.get(request.query.get("mid", ""))
        if issued is None or media is None or issued[0] != media.id or self.clock.now() > issued[1]:
            return Response(404, b"", "text/plain")
        content = media.served if media.served is not None else media.content
        return Response(200, content, media.mime_type.split(";")[0].strip())

    # --- Resumable Upload API (template header examples) -------------------------------------------------

    def _upload_session(self, app_id: str, request: Request) -> Response:
        """POST /{app_id}/uploads?file_name&file_length&file_type → `{"id": "upload:<session>?sig=<sig>"}`."""
        if app_id != self.app_id:
            return _NotFound(app_id, request.method).response()
        q = request.query
        try:
            length = int(q.get("file_length", ""))
        except ValueError:
            raise Invalid(100, "The parameter file_length is required and must be an integer.") from None
        if length <= 0:
            raise Invalid(100, "Param file_length must be a positive integer.")
        file_type = q.get("file_type", "")
        if file_type not in RESUMABLE_UPLOAD_TYPES:
            raise Invalid(100, f"Param file_type must be one of {{{', '.join(RESUMABLE_UPLOAD_TYPES)}}}.")
        upload = Upload(
            session=base64.urlsafe_b64encode(secrets.token_bytes(24)).decode(),
            sig=secrets.token_urlsafe(12),
            app_id=app_id,
            file_name=q.get("file_name", ""),
            file_length=length,
            file_type=file_type,
        )
        with self.lock:
            self.uploads[upload.session] = upload
        return json_response(200, {"id": upload.upload_id})

    def _upload_data(self, session: str, request: Request) -> Response:
        """POST /upload:<session> (header `file_offset`, the bytes as the body) → `{"h": <handle>}` once the file is
        whole; GET → `{"id", "file_offset"}` (where an interrupted upload resumes)."""
        upload = self.uploads.get(session)
        if upload is None or request.query.get("sig") != upload.sig:
            return _NotFound(f"upload:{session}", request.method).response()
        if request.method == "GET":
            return json_response(200, {"id": upload.upload_id, "file_offset": len(upload.content)})
        if not request.headers.get("Authorization", "").startswith("OAuth "):
            raise Invalid(100, "The access token must be sent in an Authorization: OAuth header.")
        try:
            offset = int(request.headers.get("file_offset", ""))
        except ValueError:
            raise Invalid(100, "The file_offset header is required.") from None
        with self.lock:
            if offset != len(upload.content):
                raise Invalid(100, f"file_offset must be {len(upload.content)}, where the upload stands.")
            if offset + len(request.body) > upload.file_length:
                raise Invalid(100, f"The file is longer than the {upload.file_length} bytes of file_length.")
            upload.content += request.body
            if len(upload.content) == upload.file_length and upload.handle is None:
                mime = base64.b64encode(upload.file_type.encode()).decode()
                upload.handle = f"4::{mime}:{secrets.token_urlsafe(32)}"
        if upload.handle is None:
            return json_response(200, {"id": upload.upload_id, "file_offset": len(upload.content)})
        return json_response(200, {"h": upload.handle})

    def uploaded(self, handle: str) -> Upload | None:
        """The finished upload of this handle (what a template's `header_handle` names), else None."""
        with self.lock:
            return next((upload for upload in self.uploads.values() if upload.handle == handle), None)

    # --- templates ------------------------------------------------------------------------------------

    def _template_ids(self) -> set[str]:
        return {t["id"] for templates in self.templates.values() for t in templates}

    def _list_templates(self, waba_id: str, request: Request) -> Response:
        q = request.query
        try:
            limit = max(1, int(q.get("limit", "25")))
        except ValueError:
            raise Invalid(100, "Param limit must be an integer.") from None
        with self.lock:
            items = [
                t
                for t in self.templates.get(waba_id, [])
                if ("status" not in q or t["status"] == q["status"].upper())
                and ("name" not in q or t["name"] == q["name"])
            ]
        ids = [t["id"] for t in items]
        start = 0
        if q.get("after"):
            after_id = id_from_cursor(q["after"])
            if after_id not in ids:
                raise Invalid(100, "Invalid cursor: after")
            start = ids.index(after_id) + 1
        elif q.get("before"):
            before_id = id_from_cursor(q["before"])
            if before_id not in ids:
                raise Invalid(100, "Invalid cursor: before")
            start = max(0, ids.index(before_id) - limit)
            items = items[: ids.index(before_id)]
        page = items[start : start + limit]
        if not page:
            return json_response(200, {"data": []})
        cursors = {"before": cursor_for(page[0]["id"]), "after": cursor_for(page[-1]["id"])}
        paging: dict[str, Any] = {"cursors": cursors}
        keep = {k: v for k, v in q.items() if k not in ("after", "before")}
        keep["limit"] = str(limit)
        url = f"{self.base_url}/{waba_id}/message_templates"
        if start + limit < len(items):
            paging["next"] = f"{url}?{urlencode({**keep, 'after': cursors['after']})}"
        if start > 0:
            paging["previous"] = f"{url}?{urlencode({**keep, 'before': cursors['before']})}"
        data = [_pick(t, q.get("fields")) for t in page]
        return json_response(200, {"data": data, "paging": paging})

    def _create_template(self, waba_id: str, request: Request) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        name, language = body.get("name"), body.get("language")
        category = str(body.get("category", "")).upper()
        components = body.get("components")
        if not name or not language or not category or components is None:
            raise Invalid(100, "Params name, language, category and components are required.")
        if not re.fullmatch(r"[a-z0-9_]{1,512}", name):
            raise Invalid(100, "Template names may only contain lowercase letters, digits and underscores.")
        if category not in ("AUTHENTICATION", "MARKETING", "UTILITY"):
            raise Invalid(100, "Param category must be one of {AUTHENTICATION, MARKETING, UTILITY}.")
        kinds = [str(c.get("type", "")).upper() for c in components]
        if kinds.count("BODY") != 1 or kinds.count("HEADER") > 1 or kinds.count("FOOTER") > 1:
            raise Invalid(100, "A template needs exactly one BODY and at most one HEADER and one FOOTER.")
        for component in components:
            kind = str(component.get("type", "")).upper()
            if kind == "BODY" and len(component.get("text", "")) > 1024:
                raise Invalid(100, "The body text must be at most 1024 characters long.")
            if kind == "FOOTER" and len(component.get("text", "")) > 60:
                raise Invalid(100, "The footer text must be at most 60 characters long.")
            if kind == "BUTTONS" and len(component.get("buttons") or []) > 10:
                raise Invalid(100, "A template can have at most 10 buttons.")
            if kind == "HEADER" and str(component.get("format", "")).upper() in MEDIA_HEADER_FORMATS:
                handles = (component.get("example") or {}).get("header_handle")
                if not isinstance(handles, list) or len(handles) != 1 or self.uploaded(str(handles[0])) is None:
                    raise Invalid(
                        100, "A media header needs example.header_handle: one handle from the Resumable Upload API."
                    )
        with self.lock:
            library = self.templates.setdefault(waba_id, [])
            if any(t["name"] == name and t["language"] == language for t in library):
                return json_response(
                    400,
                    {
                        "error": {
                            "message": "Invalid parameter",
                            "type": "OAuthException",
                            "code": 100,
                            "error_subcode": 2388024,
                            "is_transient": False,
                            "error_user_title": "Message Template Already Exists",
                            "error_user_msg": f"There is already {language} content for this template. You can "
                            "create a new template and try again.",
                            "fbtrace_id": fbtrace_id(),
                        }
                    },
                )
            template = {
                "name": name,
                "parameter_format": str(body.get("parameter_format", "positional")).upper(),
                "components": components,
                "language": language,
                "status": "PENDING",
                "category": category,
                "id": self._new_id(),
            }
            library.append(template)
            review = self.template_reviews.pop(name, TemplateReview())
        if self.auto_review_templates:
            self.review_template(
                template["id"], review.event, reason=review.reason, rejection_info=review.rejection_info
            )
        return json_response(200, {"id": template["id"], "status": "PENDING", "category": category})

    def _delete_template(self, waba_id: str, request: Request) -> Response:
        name = request.query.get("name")
        if not name:
            raise Invalid(100, "The parameter name is required.")
        hsm_id = request.query.get("hsm_id")
        with self.lock:
            library = self.templates.get(waba_id, [])
            doomed = [t for t in library if t["name"] == name and (not hsm_id or t["id"] == hsm_id)]
            if not doomed:
                return json_response(
                    400,
                    {
                        "error": {
                            "message": "Invalid parameter",
                            "type": "OAuthException",
                            "code": 100,
                            "error_subcode": 2593002,
                            "is_transient": False,
                            "error_user_title": "Message Template Not Found",
                            "error_user_msg": f'Message template "{name}" can\'t be found.',
                            "fbtrace_id": fbtrace_id(),
                        }
                    },
                )
            self.templates[waba_id] = [t for t in library if t not in doomed]
        return json_response(200, {"success": True})

    # --- flows (WhatsApp Flows) ----------------------------------------------------------------------------

    def add_flow(self, *, waba_id: str = DEFAULT_WABA_ID, name: str = "flow", status: str = "DRAFT") -> dict:
        """A flow the WABA has already (made outside the hub), as Meta keeps it."""
        flow = {
            "id": self._new_id(),
            "name": name,
            "categories": ["OTHER"],
            "status": status,
            "validation_errors": [],
            "waba_id": waba_id,
            "flow_json": None,
        }
        with self.lock:
            self.flows[flow["id"]] = flow
        return flow

    def flow_reply(
        self,
        wa_id: str,
        *,
        flow_token: str,
        response: dict,
        context_wamid: str | None = None,
        phone_number_id: str | None = None,
        body: str = "Sent",
    ) -> dict:
        """The customer submits a flow: an inbound `interactive` message of type `nfm_reply` whose `response_json`
        (a JSON string) holds the answers and the `flow_token` the flow was sent with. Queued like send_inbound."""
        message = {
            "type": "interactive",
            "interactive": {
                "type": "nfm_reply",
                "nfm_reply": {
                    "response_json": json.dumps({**response, "flow_token": flow_token}),
                    "body": body,
                    "name": "flow",
                },
            },
        }
        context = (
            {"from": self.number(phone_number_id).display_phone_number, "id": context_wamid} if context_wamid else None
        )
        return self.send_inbound(wa_id, message, phone_number_id=phone_number_id, context=context)

    def flows_payload(self, value: dict, *, waba_id: str) -> dict:
        """Meta's webhook of the WhatsApp Business Account's `flows` field carrying one change `value`."""
        return {
            "entry": [{"id": waba_id, "time": int(self.clock.now()), "changes": [{"value": value, "field": "flows"}]}],
            "object": "whatsapp_business_account",
        }

    def change_flow_status(self, flow_id: str, new_status: str) -> dict:
        """Meta moves a flow on its own (blocks or throttles it when its endpoint fails, lets it recover, deprecates
        it): set its status and queue the FLOW_STATUS_CHANGE webhook."""
        with self.lock:
            flow = self.flows[flow_id]
            old_status, flow["status"] = flow["status"], new_status
            value = {
                "event": "FLOW_STATUS_CHANGE",
                "message": f"Flow {flow['name']} changed status from {old_status} to {new_status}",
                "flow_id": flow_id,
                "old_status": old_status,
                "new_status": new_status,
            }
            payload = self.flows_payload(value, waba_id=flow["waba_id"])
        self.queue_webhook(payload)
        return payload

    def flow_alert(self, flow_id: str, event: str, **fields: Any) -> dict:
        """Queue one of Meta's health alerts of a flow (an event of FLOW_ALERTS, its example's fields overridden by
        `fields`: alert_state="DEACTIVATED" for a recovery)."""
        with self.lock:
            waba_id = self.flows[flow_id]["waba_id"]
        value = {"event": event, **FLOW_ALERTS[event], **fields, "flow_id": flow_id}
        payload = self.flows_payload(value, waba_id=waba_id)
        self.queue_webhook(payload)
        return payload

    @staticmethod
    def _flow_error(case: str, user_msg: str) -> Response:
        """Meta's Flow Management error body for one documented case of FLOW_ERROR_CASES (HTTP 400)."""
        code, message, user_title, subcode = FLOW_ERROR_CASES[case]
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        error |= {
            "is_transient": False,
            "error_user_title": user_title,
            "error_user_msg": user_msg,
            "fbtrace_id": fbtrace_id(),
        }
        return json_response(400, {"error": error})

    @staticmethod
    def _flow_categories(value: Any) -> list[str] | None:
        if isinstance(value, str):  # form posts send the list as a JSON string
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if not isinstance(value, list) or not value or not all(c in FLOW_CATEGORIES for c in value):
            return None
        return list(dict.fromkeys(value))

    def _flow_body(self, request: Request) -> dict:
        if isinstance(request.json, dict):
            return request.json
        return dict(request.form) if request.form else {}

    def _list_flows(self, waba_id: str, request: Request) -> Response:
        with self.lock:
            data = [
                _pick(self._flow_node(f), request.query.get("fields") or FLOW_DEFAULT_FIELDS)
                for f in self.flows.values()
                if f["waba_id"] == waba_id
            ]
        if not data:
            return json_response(200, {"data": []})
        paging = {"cursors": {"before": cursor_for(data[0]["id"]), "after": cursor_for(data[-1]["id"])}}
        return json_response(200, {"data": data, "paging": paging})

    def _create_flow(self, waba_id: str, request: Request) -> Response:
        body = self._flow_body(request)
        name = body.get("name")
        categories = self._flow_categories(body.get("categories"))
        # A missing or malformed param is Graph's generic code 100 (Meta's Flows table lists no code of its own).
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise Invalid(100, "Param name is required (at most 200 characters).")
        if categories is None:
            raise Invalid(100, f"Param categories must be a non-empty list of {list(FLOW_CATEGORIES)}.")
        clone_id = body.get("clone_flow_id")
        if clone_id and body.get("clone_template"):
            return self._flow_error("one_clone_source", "Set clone_flow_id or clone_template, not both.")
        with self.lock:
            if any(f["waba_id"] == waba_id and f["name"] == name for f in self.flows.values()):
                return self._flow_error("name_not_unique", "Choose a name no other Flow of this account has.")
            source = self.flows.get(str(clone_id)) if clone_id else None
        if clone_id and (source is None or source["waba_id"] != waba_id):
            return self._flow_error("no_such_flow", f"No Flow {clone_id} on this account.")
        flow = {
            "id": self._new_id(),
            "name": name,
            "categories": categories,
            "status": "DRAFT",
            "validation_errors": [],
            "waba_id": waba_id,
            "flow_json": source["flow_json"] if source else None,
        }
        if source is not None:
            flow["validation_errors"] = copy.deepcopy(source["validation_errors"])
        answer: dict[str, Any] = {"id": flow["id"], "success": True}
        flow_json = body.get("flow_json")
        if flow_json is not None:
            flow["flow_json"] = flow_json if isinstance(flow_json, str) else json.dumps(flow_json)
            flow["validation_errors"] = flow_json_errors(flow["flow_json"])
            answer["validation_errors"] = flow["validation_errors"]
        if body.get("endpoint_uri"):
            flow["endpoint_uri"] = str(body["endpoint_uri"])
        # `publish: true` with a Flow JSON publishes in the same request, when the JSON has no errors.
        publishable = _flow_version(flow["flow_json"]) in FLOW_PUBLISH_VERSIONS and not flow["validation_errors"]
        if body.get("publish") in (True, "true") and publishable:
            flow["status"] = "PUBLISHED"
        with self.lock:
            self.flows[flow["id"]] = flow
        return json_response(200, answer)

    def _flow_node(self, flow: dict) -> dict:
        node = {k: v for k, v in flow.items() if k not in ("waba_id", "flow_json", "preview")}
        node["json_version"] = _flow_version(flow["flow_json"])
        node["whatsapp_business_account"] = {"id": flow["waba_id"]}
        return node

    def _flow_route(self, flow: dict, rest: list[str], request: Request) -> Response | None:
        method = request.method
        if not rest and method == "GET":
            node = self._flow_node(flow)
            fields = request.query.get("fields") or FLOW_DEFAULT_FIELDS
            if "preview" in fields:
                invalidate = "invalidate(true)" in fields.replace(" ", "")
                preview = flow.get("preview")
                if preview is None or invalidate or preview["expires"] <= self.clock.now():
                    expires = self.clock.now() + FLOW_PREVIEW_TTL
                    preview = {
                        "url": f"https://business.facebook.com/wa/manage/flows/{flow['id']}/preview/?token="
                        + secrets.token_urlsafe(16),
                        "expires": expires,
                    }
                    flow["preview"] = preview
                stamp = _graph_time(preview["expires"])
                node["preview"] = {"preview_url": preview["url"], "expires_at": stamp}
                fields = re.sub(r"preview(\.[a-z_]+\([a-z]*\))?", "preview", fields)
            return json_response(200, _pick(node, fields))
        if not rest and method == "POST":
            if flow["status"] != "DRAFT":
                return self._flow_error("not_updatable", "Only a DRAFT Flow's metadata can be changed.")
            body = self._flow_body(request)
            if "name" in body:
                if not isinstance(body["name"], str) or not body["name"].strip():
                    raise Invalid(100, "Param name must be a non-empty string.")
                with self.lock:
                    taken = any(
                        f["waba_id"] == flow["waba_id"] and f["name"] == body["name"] and f["id"] != flow["id"]
                        for f in self.flows.values()
                    )
                if taken:
                    return self._flow_error("name_not_unique", "Choose a name no other Flow of this account has.")
                flow["name"] = body["name"]
            if "categories" in body:
                categories = self._flow_categories(body["categories"])
                if categories is None:
                    raise Invalid(100, f"Param categories must be a list of {list(FLOW_CATEGORIES)}.")
                flow["categories"] = categories
            if body.get("endpoint_uri"):
                flow["endpoint_uri"] = str(body["endpoint_uri"])
            return json_response(200, {"success": True})
        if not rest and method == "DELETE":
            if flow["status"] != "DRAFT":
                return self._flow_error("delete_published", "Only a DRAFT Flow can be deleted: deprecate this one.")
            with self.lock:
                self.flows.pop(flow["id"], None)
            return json_response(200, {"success": True})
        if rest == ["assets"] and method == "GET":
            assets = []
            if flow["flow_json"] is not None:
                url = f"https://scontent.xx.fbcdn.net/m1/v/t0.57323-24/{flow['id']}/flow.json"
                assets.append({"name": "flow.json", "asset_type": "FLOW_JSON", "download_url": url})
            return json_response(200, {"data": assets})
        if rest == ["assets"] and method == "POST":
            if flow["status"] != "DRAFT":
                return self._flow_error("not_updatable", "Only a DRAFT Flow's Flow JSON can be changed.")
            upload = request.files.get("file")
            if request.form.get("asset_type") != "FLOW_JSON" or upload is None:
                raise Invalid(100, "Params file and asset_type=FLOW_JSON are required.")
            if not request.form.get("name"):
                raise Invalid(100, "The parameter name is required.")
            flow["flow_json"] = upload.content.decode("utf-8", "replace")
            flow["validation_errors"] = flow_json_errors(flow["flow_json"])
            return json_response(200, {"success": True, "validation_errors": flow["validation_errors"]})
        if rest == ["publish"] and method == "POST":
            if flow["status"] != "DRAFT":
                return self._flow_error("publish_invalid_state", "Only a DRAFT Flow can be published.")
            if flow["flow_json"] is None or flow["validation_errors"]:
                return self._flow_error(
                    "publish_validation_errors", "Fix the Flow JSON's validation errors before publishing."
                )
            if _flow_version(flow["flow_json"]) not in FLOW_PUBLISH_VERSIONS:
                versions = ", ".join(FLOW_PUBLISH_VERSIONS)
                return self._flow_error("publish_version", f"Publish with a Flow JSON version of {versions}.")
            flow["status"] = "PUBLISHED"
            return json_response(200, {"success": True})
        if rest == ["deprecate"] and method == "POST":
            if flow["status"] == "DEPRECATED":
                return self._flow_error("already_deprecated", "This Flow is deprecated already.")
            if flow["status"] != "PUBLISHED":
                return self._flow_error("deprecate_unpublished", "Only a published Flow can be deprecated.")
            flow["status"] = "DEPRECATED"
            return json_response(200, {"success": True})
        return None

    # --- control API (standalone mode: benchmarks and demos drive the fake over HTTP) -------------------

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_fake/").strip("/")
        body = request.json if isinstance(request.json, dict) else {}
        if action == "inbound" and request.method == "POST":
            msg = self.send_inbound(
                body.get("from"),
                body.get("message"),
                text=body.get("text"),
                phone_number_id=body.get("phone_number_id"),
                name=body.get("name", "Test User"),
            )
            return json_response(200, msg)
        if action == "deliver" and request.method == "POST":
            return json_response(200, {"statuses": [r.status_code for r in self.deliver_webhooks()]})
        if action == "reset" and request.method == "POST":
            self.reset()
            return json_response(200, {"success": True})
        if action == "stats":
            return json_response(
                200,
                {
                    "requests": len(self.requests),
                    "sends": len(self.sent),
                    "pending_webhooks": len(self.pending),
                    "deliveries": len(self.deliveries),
                },
            )
        return json_response(404, {"error": "unknown control action"})

    # --- ids ----------------------------------------------------------------------------------------

    def _new_id(self) -> str:
        with self.lock:
            self._next_id += 1 + secrets.randbelow(1000)
            return str(self._next_id)

    @staticmethod
    def _wamid(wa_id: str) -> str:
        raw = b"\x1c\x18\x0b" + wa_id.encode() + b"\x15\x02\x00\x11\x18\x12" + secrets.token_hex(9).upper().encode()
        return "wamid." + base64.b64encode(raw).decode()


class _NotFound(Exception):
    def __init__(self, node_id: str, method: str) -> None:
        super().__init__(node_id)
        self.node_id, self.method = node_id, method

    def response(self) -> Response:
        error = {
            "message": f"Unsupported {self.method.lower()} request. Object with ID '{self.node_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph "
            "API documentation at https://developers.facebook.com/docs/graph-api",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
            "fbtrace_id": fbtrace_id(),
        }
        return json_response(400, {"error": error})


def _pick(node: dict, fields: str | None) -> dict:
    if not fields:
        return copy.deepcopy(node)
    wanted = {f.strip() for f in fields.split(",")} | {"id"}
    return {k: copy.deepcopy(v) for k, v in node.items() if k in wanted}


def _graph_time(epoch: float) -> str:
    """Graph API time: `2026-05-21T11:18:09+0000`."""
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _flow_version(flow_json: str | None) -> str | None:
    try:
        data = json.loads(flow_json) if flow_json else None
    except ValueError:
        return None
    return data.get("version") if isinstance(data, dict) and isinstance(data.get("version"), str) else None


def _line_of(text: str, needle: str) -> tuple[int, int]:
    """(line, column), 1-based, of `needle`'s first occurrence in `text` (1, 1 if absent)."""
    at = text.find(needle)
    if at < 0:
        return 1, 1
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def flow_json_errors(text: str) -> list[dict]:
    """Meta's `validation_errors` of a Flow JSON, for what this fake checks: JSON, a supported `version`, screens with
    an id and a SingleColumnLayout whose children are known components with a `type`."""

    def error(kind: str, message: str, path: str, needle: str = "") -> dict:
        line, column = _line_of(text, needle) if needle else (1, 1)
        where = {"line_start": line, "line_end": line, "column_start": column, "column_end": column + len(needle)}
        return {
            "error": kind,
            "error_type": "FLOW_JSON_ERROR",
            "message": message,
            **where,
            "pointers": [{**where, "path": path}],
        }

    try:
        data = json.loads(text)
    except ValueError as exc:
        return [
            {
                "error": "INVALID_JSON",
                "error_type": "JSON_SCHEMA_ERROR",
                "message": f"Invalid JSON: {exc}.",
                "line_start": 1,
                "line_end": 1,
                "column_start": 1,
                "column_end": 1,
            }
        ]
    if not isinstance(data, dict):
        return [error("INVALID_PROPERTY_VALUE", "The Flow JSON must be an object.", "")]
    errors = []
    version = data.get("version")
    if version not in FLOW_JSON_VERSIONS:
        errors.append(
            error("INVALID_FLOW_JSON_VERSION", f"Invalid Flow JSON version: {version!r}.", "version", '"version"')
        )
    screens = data.get("screens")
    if not isinstance(screens, list) or not screens:
        errors.append(error("MISSING_REQUIRED_PROPERTY", "Missing required property 'screens'.", "screens"))
        return errors
    seen: set[str] = set()
    for s_index, screen in enumerate(screens):
        path = f"screens[{s_index}]"
        if not isinstance(screen, dict) or not isinstance(screen.get("id"), str) or not screen["id"]:
            errors.append(error("MISSING_REQUIRED_PROPERTY", "Missing required property 'id'.", f"{path}.id"))
            continue
        if screen["id"] in seen:
            errors.append(error("DUPLICATE_SCREEN_ID", f"Screen id {screen['id']!r} is used twice.", f"{path}.id"))
        seen.add(screen["id"])
        layout = screen.get("layout")
        if not isinstance(layout, dict) or layout.get("type") != "SingleColumnLayout":
            errors.append(
                error(
                    "INVALID_PROPERTY_VALUE", "Invalid value found for property 'layout.type'.", f"{path}.layout.type"
                )
            )
            continue
        children = layout.get("children")
        if not isinstance(children, list):
            errors.append(
                error("MISSING_REQUIRED_PROPERTY", "Missing required property 'children'.", f"{path}.layout.children")
            )
            continue
        for c_index, child in enumerate(children):
            ctype = child.get("type") if isinstance(child, dict) else None
            if ctype not in FLOW_COMPONENTS:
                errors.append(
                    error(
                        "INVALID_PROPERTY_VALUE",
                        "Invalid value found for property 'type'.",
                        f"{path}.layout.children[{c_index}].type",
                        f'"{ctype}"' if isinstance(ctype, str) else "",
                    )
                )
    return errors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Meta Graph API (WhatsApp Cloud API) for demos and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--version", default=GRAPH_VERSION)
    parser.add_argument("--webhook-url", help="where to POST signed webhooks (delivered from a thread)")
    parser.add_argument("--app-secret", default="test-app-secret")
    parser.add_argument("--token", action="append", help="accepted access token (repeatable; default: any)")
    parser.add_argument("--no-window", action="store_true", help="do not enforce the 24-hour window")
    parser.add_argument("--no-pair-limit", action="store_true", help="do not enforce the pair rate limit (131056)")
    args = parser.parse_args(argv)
    fake = FakeMetaServer(
        host=args.host,
        port=args.port,
        version=args.version,
        tokens=set(args.token) if args.token else None,
        app_secret=args.app_secret,
        webhook_url=args.webhook_url,
    )
    fake.enforce_window = not args.no_window
    fake.enforce_pair_limit = not args.no_pair_limit
    fake.start()
    if args.webhook_url:
        fake.start_auto_delivery()
    print(
        f"Fake Meta Graph API on {fake.base_url} (WHATSAPP_GRAPH_URL); control API under {fake.url}/_fake/", flush=True
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
