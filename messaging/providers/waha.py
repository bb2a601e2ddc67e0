"""WAHA (WhatsApp HTTP API, WhatsApp Web based) client.

Base URL from the config (default `settings.WAHA_URL`), auth with `X-Api-Key` (the config's key, else the hub's
`settings.WAHA_API_KEY` when the server is the hub's own `WAHA_URL`). Sends translate the Meta-shaped
message to WAHA's endpoints; what WhatsApp Web cannot send (templates, interactive, contacts, stickers, media by
id) is refused with a permanent error before any request. Message ids are WAHA's serialized form
(`true_<chatId>_<id>`), the form its `message.ack` webhooks carry.

The base URL is a tenant's choice: every call goes through the egress policy (`egress_request`: public addresses,
the origin of `WAHA_URL`, or what the operator allows; no redirects; answers capped), and nothing WAHA answers is
passed on verbatim: errors are in the hub's words (the body is logged), the QR is returned only once it is checked
to be a PNG.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import mimetypes
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from messaging.providers.base import (
    DEFAULT_TIMEOUT,
    INBOUND_MEDIA_LIMIT,
    MEDIA_TIMEOUT,
    MediaContent,
    Provider,
    ProviderError,
    SendResult,
    egress_request,
    transport_error,
    unsupported,
)
from whatsapp_hub import egress

logger = logging.getLogger(__name__)

DEFAULT_MIME = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/ogg; codecs=opus"}
MEDIA_ENDPOINTS = {"image": "sendImage", "video": "sendVideo", "document": "sendFile"}
# What WhatsApp Web (through WAHA) can send; templates, interactive, contacts and stickers need the Cloud API.
SENDABLE_TYPES = frozenset({"text", "image", "video", "document", "audio", "location", "reaction"})
SESSION_EVENTS = ("message", "message.ack", "session.status")
SESSION_STATUS = re.compile(r"[A-Z][A-Z_]{0,31}")  # STOPPED, SCAN_QR_CODE, ... and statuses newer WAHAs add
ERROR_BODY_LIMIT = 64 * 1024  # what is read of an error answer to a streamed request
QR_LIMIT = 512 * 1024  # a QR PNG is a few KB
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAIRING_CODE = re.compile(r"[A-Z0-9]{4}-?[A-Z0-9]{4}")  # WAHA: `ABCD-ABCD`
ERROR_TEXT = {
    400: ("Bad request", "WAHA refused the request as invalid."),
    401: ("Unauthorized", "WAHA refused the API key."),
    403: ("Forbidden", "WAHA refused the API key."),
    404: ("Not found", "WAHA does not know this session or item."),
    422: ("Unprocessable entity", "WAHA could not process the request."),
}


def _waha_url() -> str:
    return settings.WAHA_URL


def is_hub_server(base_url: str) -> bool:
    """True when `base_url` is on the hub's own WAHA server: the origin (scheme, host, port) of `settings.WAHA_URL`,
    however it is spelled (`HTTP://Waha:3000/`), since that is the server the requests reach."""
    return egress.same_origin(base_url, settings.WAHA_URL)


def session_webhook(url: str, *, events: tuple[str, ...] = SESSION_EVENTS, hmac_key: str | None = None) -> dict:
    """One entry of a session config's `webhooks`; WAHA signs its posts (HMAC-SHA512) when a key is given."""
    return {"url": url, "events": list(events), "hmac": {"key": hmac_key} if hmac_key else None}


@dataclass(frozen=True, kw_only=True)
class WahaConfig:
    """One WAHA session. `base_url` defaults to `settings.WAHA_URL` when the config is built."""

    session: str = "default"
    api_key: str = field(default="", repr=False)
    base_url: str = field(default_factory=_waha_url)
    timeout: tuple[float, float] = DEFAULT_TIMEOUT


def chat_id(to: str) -> str:
    """`+1 650 555 1234` → `16505551234@c.us`; chat ids (`@c.us`, `@g.us`, `@lid`) pass; `@s.whatsapp.net` → `@c.us`."""
    to = to.strip()
    if "@" in to:
        return to.replace("@s.whatsapp.net", "@c.us")
    return re.sub(r"\D", "", to) + "@c.us"


def message_id_from(body: Any, chat: str) -> str | None:
    """The sent message's id from an engine-specific answer: `id._serialized` (WEBJS) | `key.id` (NOWEB) | `id`.

    NOWEB's bare `key.id` is turned into the serialized form (`true_<chat>_<id>`) acks use; an empty body gives None.
    """
    if not isinstance(body, dict):
        return None
    ident = body.get("id")
    if isinstance(ident, dict) and ident.get("_serialized"):
        return str(ident["_serialized"])
    key = body.get("key")
    if isinstance(key, dict) and key.get("id"):
        remote = chat_id(str(key.get("remoteJid") or chat))
        return f"{'true' if key.get('fromMe', True) else 'false'}_{remote}_{key['id']}"
    if isinstance(ident, str) and ident:
        return ident
    data = body.get("_data")
    if isinstance(data, dict) and isinstance(data.get("id"), dict) and data["id"].get("_serialized"):
        return str(data["id"]["_serialized"])
    return None


def session_status(value: Any) -> str | None:
    """A session status as WAHA writes them (upper case and `_`), else None: nothing else of an answer is echoed."""
    return value if isinstance(value, str) and SESSION_STATUS.fullmatch(value) else None


def error_from_response(status: int, content: bytes) -> ProviderError:
    """A WAHA error answer (401/404/422/400/500 ...) → ProviderError in the hub's words; the parsed body stays in
    `raw` (for code, not for display). 422 "not as expected" is retryable only while the session is STARTING."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    title, detail = ERROR_TEXT.get(status, (f"HTTP {status}", f"WAHA answered HTTP {status}."))
    retryable = status >= 500 or status == 429
    if isinstance(body, dict) and "expected" in body and "error" in body:  # session not in the expected status
        current = session_status(body.get("status"))
        expected = body.get("expected")
        wanted = [value for value in expected if session_status(value)] if isinstance(expected, list) else []
        title = "Session not ready"
        detail = f"The WAHA session is {current or 'not ready'}" + (f", not {' or '.join(wanted)}." if wanted else ".")
        retryable = current == "STARTING"
    return ProviderError(code=None, title=title, detail=detail, retryable=retryable, http_status=status, raw=body)


def is_png(data: bytes) -> bool:
    """True for one whole, well-formed PNG: the signature, IHDR first, every chunk's CRC right, IEND last and
    nothing after it."""
    if not data.startswith(PNG_SIGNATURE):
        return False
    position, first = len(PNG_SIGNATURE), True
    while position + 12 <= len(data):
        length, tag = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if end > len(data) or struct.unpack(">I", data[end - 4 : end])[0] != zlib.crc32(data[position + 4 : end - 4]):
            return False
        if first and (tag != b"IHDR" or length != 13):
            return False
        if tag == b"IEND":
            return end == len(data)
        position, first = end, False
    return False


class WahaProvider(Provider):
    name = "waha"
    supports_templates = False
    supports_media_upload = False

    def __init__(self, config: WahaConfig) -> None:
        self.config = config

    # --- plumbing ---------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def _api_key(self) -> str:
        """The config's key; without one, the hub's (settings.WAHA_API_KEY), which never goes to another server."""
        if self.config.api_key or not is_hub_server(self.config.base_url):
            return self.config.api_key
        return settings.WAHA_API_KEY

    def _headers(self, **extra: str) -> dict[str, str]:
        api_key = self._api_key()
        headers = {"X-Api-Key": api_key} if api_key else {}
        return {**headers, **extra}

    def _request(
        self, method: str, path: str, *, timeout: tuple[float, float] | None = None, **kwargs: Any
    ) -> requests.Response:
        """One call under the egress policy; an error answer becomes a ProviderError (its body logged, not shown)."""
        url = self._url(path)
        response = egress_request(
            method,
            url,
            headers=self._headers(**kwargs.pop("headers", {})),
            timeout=timeout or self.config.timeout,
            **kwargs,
        )
        if response.ok:
            return response
        if kwargs.get("stream"):
            try:
                content = egress.read_capped(response, ERROR_BODY_LIMIT)
            except requests.RequestException:
                content = b""
            finally:
                response.close()
        else:
            content = response.content
        logger.warning("WAHA %s %s answered HTTP %s: %.500r", method, path, response.status_code, content)
        raise error_from_response(response.status_code, content)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    # --- messages ---------------------------------------------------------------------------------------

    def send(self, to: str, message: dict) -> SendResult:
        """Translate the Meta-shaped message to sendText / sendImage / sendFile / sendVoice / sendVideo /
        sendLocation / PUT reaction. Media go by `link` (or inline base64 `data`, a WAHA-only extension)."""
        mtype = message.get("type")
        if mtype not in SENDABLE_TYPES:
            raise unsupported(
                f"WAHA (WhatsApp Web) cannot send {mtype!r} messages; use a Cloud API number.",
                title="Unsupported by WAHA",
            )
        obj = message.get(mtype)
        if not isinstance(obj, dict):
            raise unsupported(f"The message has no {mtype!r} object.", title="Invalid message")
        chat = chat_id(to)
        if mtype == "reaction":
            body = {
                "session": self.config.session,
                "messageId": obj.get("message_id"),
                "reaction": obj.get("emoji") or "",
            }
            return SendResult(provider_message_id=None, raw=self._json("PUT", "/api/reaction", json=body))
        base = {"session": self.config.session, "chatId": chat}
        reply_to = (message.get("context") or {}).get("message_id")
        if reply_to:
            base["reply_to"] = reply_to
        if mtype == "text":
            endpoint = "/api/sendText"
            body = {**base, "text": obj.get("body", ""), "linkPreview": bool(obj.get("preview_url"))}
        elif mtype == "location":
            endpoint = "/api/sendLocation"
            body = {**base, "latitude": float(obj["latitude"]), "longitude": float(obj["longitude"])}
            title = obj.get("name") or obj.get("address")
            if title:
                body["title"] = title
        else:
            endpoint, body = self._media_send(mtype, obj, base)
        answer = self._json("POST", endpoint, json=body)
        return SendResult(provider_message_id=message_id_from(answer, chat), raw=answer)

    def _media_send(self, mtype: str, obj: dict, base: dict) -> tuple[str, dict]:
        if obj.get("link"):
            # WAHA downloads the link itself, from the operator's network: the tenant's URL must pass the egress
            # policy as if the hub fetched it (checked here, as WAHA's own connection cannot be pinned).
            try:
                egress.check_url(obj["link"])
            except egress.EgressError as exc:
                raise unsupported(f"The media link is not allowed: {exc}", title="Media link not allowed") from None
            mime = obj.get("mime_type") or mimetypes.guess_type(urlsplit(obj["link"]).path)[0]
            file: dict[str, Any] = {"url": obj["link"]}
        elif obj.get("data"):
            mime = obj.get("mime_type")
            file = {"data": obj["data"]}
        else:
            raise unsupported(
                "WAHA cannot send media by id (it has no media upload); give a 'link' (or base64 'data').",
                title="Unsupported by WAHA",
            )
        mime = mime or DEFAULT_MIME.get(mtype, "application/octet-stream")
        file["mimetype"] = mime
        filename = obj.get("filename") or (urlsplit(obj["link"]).path.rsplit("/", 1)[-1] if obj.get("link") else None)
        if filename:
            file["filename"] = filename
        body = {**base, "file": file}
        if obj.get("caption") and mtype != "audio":
            body["caption"] = obj["caption"]
        if mtype == "audio":
            # A voice note must be OGG/Opus; any other audio goes as a file.
            endpoint = "sendVoice" if mime.split(";")[0].strip() == "audio/ogg" else "sendFile"
        else:
            endpoint = MEDIA_ENDPOINTS[mtype]
        return f"/api/{endpoint}", body

    def mark_read(self, provider_message_id: str, *, chat: str | None = None, typing: bool = False) -> None:
        """POST /api/sendSeen. `chat` defaults to the one inside the serialized id (`false_<chat>_<id>`);
        `typing` is ignored (WAHA's typing endpoints are separate and engine-dependent)."""
        if chat is None:
            parts = provider_message_id.split("_")
            if len(parts) < 3:
                raise unsupported("mark_read needs chat= for a message id that is not WAHA's serialized form.")
            chat = parts[1]
        body = {"session": self.config.session, "chatId": chat_id(chat), "messageIds": [provider_message_id]}
        self._json("POST", "/api/sendSeen", json=body)

    # --- media ------------------------------------------------------------------------------------------

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        raise unsupported("WAHA has no media upload; send media by link instead.", title="Unsupported by WAHA")

    def fetch_media(self, media_id: str, *, max_bytes: int = INBOUND_MEDIA_LIMIT) -> MediaContent:
        """Download `payload.media.url` (or its `/api/files/…` path). Only the path is used, against `base_url`,
        so the API key never goes to another host whatever the webhook says."""
        split = urlsplit(media_id)
        path = split.path + (f"?{split.query}" if split.query else "")
        if not path.startswith("/api/files/"):
            raise unsupported("The media URL is not a WAHA file URL (/api/files/…).", title="Invalid media id")
        response = self._request("GET", path, timeout=MEDIA_TIMEOUT, stream=True)
        try:
            content = egress.read_capped(response, max_bytes)
        except egress.ResponseTooLarge as exc:
            raise ProviderError(
                code=None, title="Media too large", detail=f"Over the {max_bytes}-byte limit.", retryable=False
            ) from exc
        except requests.RequestException as exc:
            raise transport_error("GET", self._url(path), exc) from exc
        finally:
            response.close()
        mime = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        return MediaContent(content, mime, hashlib.sha256(content).hexdigest(), len(content))

    # --- sessions -------------------------------------------------------------------------------------

    def create_session(self, *, start: bool = True, config: dict | None = None) -> dict:
        """POST /api/sessions for `config.session`, with its config (e.g. `webhooks`: [`session_webhook(...)`])."""
        body: dict[str, Any] = {"name": self.config.session, "start": start}
        if config:
            body["config"] = config
        return self._json("POST", "/api/sessions", json=body)

    def update_session(self, config: dict) -> dict:
        """PUT /api/sessions/{session}: `config` replaces the session's whole config (what it omits is dropped);
        WAHA restarts the session unless it is STOPPED. 404 for a session WAHA does not know."""
        return self._json("PUT", f"/api/sessions/{self.config.session}", json={"config": config})

    def get_session(self) -> dict:
        return self._json("GET", f"/api/sessions/{self.config.session}")

    def session_status(self) -> str:
        """STOPPED | STARTING | SCAN_QR_CODE | WORKING | FAILED."""
        return str(self.get_session().get("status"))

    def start_session(self) -> dict:
        return self._json("POST", f"/api/sessions/{self.config.session}/start")

    def stop_session(self) -> dict:
        return self._json("POST", f"/api/sessions/{self.config.session}/stop")

    def restart_session(self) -> dict:
        return self._json("POST", f"/api/sessions/{self.config.session}/restart")

    def logout_session(self) -> dict:
        return self._json("POST", f"/api/sessions/{self.config.session}/logout")

    def delete_session(self) -> None:
        self._json("DELETE", f"/api/sessions/{self.config.session}")

    def me(self) -> dict | None:
        return self._json("GET", f"/api/sessions/{self.config.session}/me")

    def qr_png(self) -> bytes:
        """The current QR as PNG bytes (the session must be SCAN_QR_CODE, else a 422 ProviderError). WAHA answers
        the image itself or JSON with it in base64; either way only a well-formed PNG is returned."""
        response = self._request(
            "GET",
            f"/api/{self.config.session}/auth/qr",
            params={"format": "image"},
            headers={"Accept": "image/png"},
            max_bytes=QR_LIMIT,
        )
        content = response.content
        if response.headers.get("Content-Type", "").startswith("application/json"):
            try:
                content = base64.b64decode(response.json()["data"], validate=True)
            except (ValueError, TypeError, KeyError, binascii.Error):
                content = b""
        if not is_png(content):
            logger.warning("WAHA QR of session %r is not a PNG: %.100r", self.config.session, content)
            raise ProviderError(
                code=None,
                title="Unexpected answer",
                detail="WAHA's QR code is not a PNG image.",
                retryable=False,
                http_status=response.status_code,
            )
        return content

    def request_pairing_code(self, phone_number: str) -> str:
        """A code the user types in WhatsApp (Linked devices → Link with phone number) instead of scanning; "" when
        WAHA's answer holds no code of WhatsApp's form (`ABCD-EFGH`)."""
        body = {"phoneNumber": re.sub(r"\D", "", phone_number)}
        answer = self._json("POST", f"/api/{self.config.session}/auth/request-code", json=body)
        code = answer.get("code") if isinstance(answer, dict) else None
        return code if isinstance(code, str) and PAIRING_CODE.fullmatch(code) else ""
