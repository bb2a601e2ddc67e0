"""The one interface the hub uses to talk to a WhatsApp connection, whatever the provider.

Independent of Django models: a service maps a `WhatsAppNumber` row to a provider config (`CloudConfig`,
`WahaConfig`, `SandboxConfig`) and calls `build_provider(config)`. Every failure is a `ProviderError` whose
`retryable` flag tells the delivery task whether to try again with backoff.

HTTP to the operator's services (the Graph API at `WHATSAPP_GRAPH_URL`) goes through `http_request()` over
`http_session()` (one pooled `requests.Session` per process); HTTP to a tenant-chosen address (a WAHA base URL)
goes through `egress_request()`, under the egress policy (whatsapp_hub/egress.py). Both have explicit
`(connect, read)` timeouts and map network errors to retryable `ProviderError`s, the policy's refusals to permanent
ones.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter

from whatsapp_hub import egress

logger = logging.getLogger(__name__)

# Meta error codes worth retrying with backoff (reference §6.5: "Retryable … 1 (possibly), 2, 4, 80007, 130429, 131000,
# 131016, 131056, 133004, and also 131057 after a wait"). Everything else answered with a 4xx is permanent.
RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057, 133004})

DEFAULT_TIMEOUT = (3.05, 20.0)  # (connect, read) seconds
MEDIA_TIMEOUT = (3.05, 60.0)

MB = 1024 * 1024
# What Meta accepts for outbound media, by MIME type (reference §5). Stickers: 100 KB static / 500 KB animated; we
# cannot tell which from the bytes cheaply, so the animated limit applies.
MEDIA_LIMITS: dict[str, int] = {
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
# A template's media header (its example, uploaded with the Resumable Upload API, which takes pdf, jpeg, png and mp4),
# by the header's format.
TEMPLATE_HEADER_TYPES: dict[str, tuple[str, ...]] = {
    "IMAGE": ("image/jpeg", "image/png"),
    "VIDEO": ("video/mp4",),
    "DOCUMENT": ("application/pdf",),
}
# Inbound media: Meta refuses anything over 100 MB (error 131052), whatever its type.
INBOUND_MEDIA_LIMIT = 100 * MB

MESSAGE_TYPES = frozenset(
    {
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
    }
)


class ProviderError(Exception):
    """The one error a provider raises.

    code: the provider's error code (Meta's `error.code`), None when there is none (network, WAHA, local checks).
    retryable: True when the same call may succeed later (throttling, 5xx, timeouts); False means store the error.
    title, detail: shown to users (a message's error_title, a media's error, an API error), so they hold the hub's
    own words, or the fields of Meta's documented error object from the operator's Graph API; never an upstream
    body, a host name or exception text (those are logged where they happen). `raw` keeps the parsed answer for
    code, never for display.
    """

    def __init__(
        self,
        *,
        code: int | None,
        title: str,
        detail: str = "",
        retryable: bool,
        http_status: int | None = None,
        raw: Any = None,
    ) -> None:
        label = f"{title} ({code})" if code is not None else title
        super().__init__(f"{label}: {detail}" if detail else label)
        self.code = code
        self.title = title
        self.detail = detail
        self.retryable = retryable
        self.http_status = http_status
        self.raw = raw

    @property
    def permanent(self) -> bool:
        return not self.retryable

    def __repr__(self) -> str:
        return (
            f"ProviderError(code={self.code!r}, title={self.title!r}, detail={self.detail!r}, "
            f"retryable={self.retryable!r}, http_status={self.http_status!r})"
        )


def is_retryable(code: int | None, http_status: int | None, *, transient: bool = False) -> bool:
    """Retry throttling and transient Meta codes, HTTP 5xx and 429 (and anything Meta flags `is_transient`)."""
    if transient or (code is not None and code in RETRYABLE_CODES):
        return True
    return http_status is not None and (http_status >= 500 or http_status == 429)


# Meta's codes that say the connection itself is broken, not one message (reference: error codes).
AUTH_CODES = frozenset({190, 102, 0})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
THROTTLE_CODES = frozenset({4, 80007, 130429})


def connection_error_code(exc: ProviderError) -> str | None:
    """The Settings > Integrations code of an error that says the number's connection is broken (a refused token, no
    permission, the service unreachable or failing), None for one about a single message (a recipient, a window,
    a parameter): that one says nothing about the connection."""
    if exc.code is None and exc.http_status is None:
        if exc.title == "Refused by the hub":
            return "address_not_allowed"
        return "timeout" if exc.title == "Timeout" else "unreachable"
    if exc.code in AUTH_CODES or exc.http_status == 401:
        return "auth"
    if exc.code in PERMISSION_CODES or exc.http_status == 403:
        return "permission"
    if exc.code in THROTTLE_CODES or exc.http_status == 429:
        return "rate_limited"
    if exc.http_status is not None and exc.http_status >= 500:
        return "server_error"
    return None


def unsupported(detail: str, *, title: str = "Not supported") -> ProviderError:
    """A permanent error for something this provider cannot do (no request was made)."""
    return ProviderError(code=None, title=title, detail=detail, retryable=False)


@dataclass(frozen=True)
class SendResult:
    """provider_message_id: Meta's `wamid.…`, WAHA's serialized id; None when the provider did not say."""

    provider_message_id: str | None
    raw: Any


class MediaContent(NamedTuple):
    """What `fetch_media` returns (a tuple: `content, mime_type, sha256, size = provider.fetch_media(id)`)."""

    content: bytes
    mime_type: str
    sha256: str  # lowercase hex
    size: int


@dataclass(frozen=True)
class TemplatePage:
    """One page of a template listing: `after` is the cursor of the next page, None on the last one."""

    items: list[dict]
    after: str | None


def base_mime(mime_type: str) -> str:
    """`audio/ogg; codecs=opus` → `audio/ogg`."""
    return mime_type.split(";")[0].strip().lower()


def check_template_media(content: bytes, mime_type: str) -> None:
    """Refuse (permanently) a template header example the Resumable Upload API would refuse: another type, or over
    the type's size limit."""
    if base_mime(mime_type) not in {mime for types in TEMPLATE_HEADER_TYPES.values() for mime in types}:
        raise unsupported(
            f"A template header example must be a JPEG or PNG image, an MP4 video or a PDF, not {mime_type!r}.",
            title="Unsupported media type",
        )
    check_outbound_media(content, mime_type)


def check_outbound_media(content: bytes, mime_type: str) -> None:
    """Refuse (permanently) media Meta would refuse: a type it does not take, or over its size limit."""
    limit = MEDIA_LIMITS.get(base_mime(mime_type))
    if limit is None:
        raise unsupported(f"WhatsApp does not accept media of type {mime_type!r}.", title="Unsupported media type")
    if len(content) > limit:
        raise unsupported(
            f"{mime_type} media is limited to {limit} bytes; this one has {len(content)}.", title="Media too large"
        )


class Provider(ABC):
    """A WhatsApp connection. Implementations: `CloudProvider`, `WahaProvider`, `SandboxProvider`."""

    name: ClassVar[str]
    supports_templates: ClassVar[bool] = False
    supports_media_upload: ClassVar[bool] = True

    @abstractmethod
    def send(self, to: str, message: dict) -> SendResult:
        """Send one message. `to`: the user's phone (E.164, `+` optional). `message`: the Meta-shaped type part,
        e.g. `{"type": "text", "text": {"body": "hi"}}`, optionally with `"context": {"message_id": …}` (a reply).
        Not idempotent: a retry after a timeout may send twice (WhatsApp has no idempotency key)."""

    @abstractmethod
    def mark_read(self, provider_message_id: str, *, chat: str | None = None, typing: bool = False) -> None:
        """Mark an inbound message (and the earlier ones of its chat) as read; `typing` also shows the indicator."""

    @abstractmethod
    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload media for a later send by id; returns the provider's media id."""

    @abstractmethod
    def fetch_media(self, media_id: str) -> MediaContent:
        """Download inbound media by the id (or URL, for WAHA) the webhook gave."""


# --- HTTP -------------------------------------------------------------------------------------------------

# Connections kept per host: at least one per campaign send thread (settings.CAMPAIGN_SEND_THREADS), each of which
# holds a request in flight while Meta answers.
POOL_MAXSIZE = 64


class _Session(requests.Session):
    """requests' Session, reading the environment's proxy and certificate settings once per origin instead of on
    every request: requests walks os.environ for them each time (about 0.3 ms of CPU per call here, a third of a
    campaign send's); the environment does not change while the process runs."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, dict] = {}
        self._pools: dict[tuple, Any] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies or not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {**settings, "proxies": dict(settings["proxies"])}

    def pool_for(self, url: str):
        """The adapter's urllib3 connection pool of the URL's origin (verified TLS as requests sets it up)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port)
        pool = self._pools.get(key)
        if pool is None:
            adapter = self.get_adapter(url)
            verify = self.merge_environment_settings(url, {}, None, None, None)["verify"]
            request = requests.Request("POST", url).prepare()
            pool = self._pools[key] = adapter.get_connection_with_tls_context(request, verify)
        return pool


_local = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None


def http_session() -> requests.Session:
    """The process's pooled session (re-created after a fork: sockets must not be shared with the parent)."""
    global _session, _session_pid
    pid = os.getpid()
    if _session is None or _session_pid != pid:
        with _local:
            if _session is None or _session_pid != pid:
                session = _Session()
                pool_maxsize = max(POOL_MAXSIZE, settings.CAMPAIGN_SEND_THREADS)
                adapter = HTTPAdapter(pool_connections=16, pool_maxsize=pool_maxsize, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                _session, _session_pid = session, pid
    return _session


def http_request(method: str, url: str, *, timeout: tuple[float, float], **kwargs: Any) -> requests.Response:
    """One HTTP call to an operator-configured service (the Graph API) through the pooled session; timeouts and
    connection failures become retryable errors."""
    try:
        return http_session().request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        raise transport_error(method, url, exc) from exc


class Answer(NamedTuple):
    """What `http_post_json` returns: the HTTP status and the raw body."""

    status_code: int
    content: bytes


def http_post_json(url: str, payload: Any, *, headers: dict[str, str], timeout: tuple[float, float]) -> Answer:
    """POST `payload` as JSON to an operator-configured service (a Graph API send) through the pooled session's own
    connection pool (same adapter, TLS verification and timeouts as `http_request`), without requests' per-call
    machinery (cookies, hooks, settings merged, a Response built): half of a send's CPU, which a campaign at 1,000
    messages/s cannot spare (bench/campaign_send.py). Where the environment names a proxy for the URL, it goes
    through `http_request` as usual. Timeouts and connection failures become retryable errors."""
    session = http_session()
    if session.merge_environment_settings(url, {}, None, None, None)["proxies"]:
        response = http_request("POST", url, json=payload, headers=headers, timeout=timeout)
        return Answer(response.status_code, response.content)
    parts = urlsplit(url)
    pool = session.pool_for(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(payload, separators=(",", ":")).encode()
    try:
        answer = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**session.headers, **headers, "Content-Type": "application/json"},
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
            retries=False,
            redirect=False,
            preload_content=True,
        )
    except urllib3.exceptions.NewConnectionError as exc:  # a subclass of ConnectTimeoutError, as requests sees it
        raise transport_error("POST", url, requests.ConnectionError(str(exc))) from exc
    except urllib3.exceptions.TimeoutError as exc:
        raise transport_error("POST", url, requests.Timeout(str(exc))) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise transport_error("POST", url, requests.ConnectionError(str(exc))) from exc
    return Answer(answer.status, answer.data)


def egress_request(method: str, url: str, *, timeout: tuple[float, float], **kwargs: Any) -> requests.Response:
    """One HTTP call to a tenant-chosen address under the egress policy (no redirects, a size cap unless
    `stream=True`). A refusal of the policy is a permanent error (its `__cause__` is the `egress.EgressError`);
    timeouts and connection failures are retryable."""
    try:
        return egress.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        raise transport_error(method, url, exc) from exc


def transport_error(method: str, url: str, exc: requests.RequestException) -> ProviderError:
    """The ProviderError for a request that got no usable answer: the hub's words for users, the rest logged."""
    logger.warning("%s %s failed: %r", method, _safe(url), exc)
    if isinstance(exc, egress.EgressError):
        return ProviderError(code=None, title="Refused by the hub", detail=str(exc), retryable=False)
    if isinstance(exc, requests.Timeout):
        return ProviderError(code=None, title="Timeout", detail="The server did not answer in time.", retryable=True)
    if isinstance(exc, requests.ConnectionError):
        return ProviderError(
            code=None, title="Connection error", detail="The server could not be reached.", retryable=True
        )
    return ProviderError(code=None, title="HTTP error", detail="The request failed.", retryable=True)


def _safe(url: str) -> str:
    """The URL without its query string (media URLs and Graph paging links can carry tokens)."""
    return url.split("?", 1)[0]
