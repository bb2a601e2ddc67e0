"""WAHA (WhatsApp HTTP API, WhatsApp Web based) client.

Base URL from the config (default `settings.WAHA_URL`), auth with `X-Api-Key` (the config's key, else the hub's
`settings.WAHA_API_KEY` when the server is the hub's own `WAHA_URL`). Sends translate the Meta-shaped
message to WAHA's endpoints; what WhatsApp Web cannot send (templates, interactive, contacts, stickers, media by
id) is refused with a permanent error before any request. Message ids are WAHA's serialized form
(`true_<chatId>_<id>`), the form its `message.ack` webhooks carry.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
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
    http_request,
    unsupported,
)

DEFAULT_MIME = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/ogg; codecs=opus"}
MEDIA_ENDPOINTS = {"image": "sendImage", "video": "sendVideo", "document": "sendFile"}
# What WhatsApp Web (through WAHA) can send; templates, interactive, contacts and stickers need the Cloud API.
SENDABLE_TYPES = frozenset({"text", "image", "video", "document", "audio", "location", "reaction"})
SESSION_EVENTS = ("message", "message.ack", "session.status")


def _waha_url() -> str:
    return settings.WAHA_URL


def is_hub_server(base_url: str) -> bool:
    """True when `base_url` is the hub's own WAHA server (`settings.WAHA_URL`)."""
    return base_url.rstrip("/") == settings.WAHA_URL.rstrip("/")


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


def error_from_response(response: requests.Response) -> ProviderError:
    """WAHA's 401/404/422/400/500 bodies → ProviderError. 422 "not WORKING" is retryable only while STARTING."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = (response.text or "").strip()[:200]
    title = f"HTTP {status}"
    retryable = status >= 500 or status == 429
    if isinstance(body, dict):
        if "expected" in body and "error" in body:  # session not in the expected status
            title = "Session not ready"
            detail = (
                f"{body.get('error')} (session {body.get('session')!r} is {body.get('status')}, "
                f"expected {body.get('expected')})"
            )
            retryable = body.get("status") == "STARTING"
        else:
            message = body.get("message") or body.get("error") or detail
            detail = "; ".join(map(str, message)) if isinstance(message, list) else str(message)
            title = {400: "Bad request", 401: "Unauthorized", 404: "Not found", 422: "Unprocessable entity"}.get(
                status, title
            )
    return ProviderError(code=None, title=title, detail=detail, retryable=retryable, http_status=status, raw=body)


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
        response = http_request(
            method,
            self._url(path),
            headers=self._headers(**kwargs.pop("headers", {})),
            timeout=timeout or self.config.timeout,
            **kwargs,
        )
        if not response.ok:
            raise error_from_response(response)
        return response

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
            raise unsupported(f"Not a WAHA file URL: {split.path!r}.", title="Invalid media id")
        response = self._request("GET", path, timeout=MEDIA_TIMEOUT, stream=True)
        try:
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise ProviderError(
                        code=None, title="Media too large", detail=f"Over the {max_bytes}-byte limit.", retryable=False
                    )
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise ProviderError(code=None, title="Download failed", detail=str(exc), retryable=True) from exc
        finally:
            response.close()
        content = b"".join(chunks)
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
        """The current QR as PNG bytes (the session must be SCAN_QR_CODE, else a 422 ProviderError)."""
        response = self._request(
            "GET", f"/api/{self.config.session}/auth/qr", params={"format": "image"}, headers={"Accept": "image/png"}
        )
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return base64.b64decode(response.json()["data"])
        return response.content

    def request_pairing_code(self, phone_number: str) -> str:
        """A code the user types in WhatsApp (Linked devices → Link with phone number) instead of scanning."""
        body = {"phoneNumber": re.sub(r"\D", "", phone_number)}
        answer = self._json("POST", f"/api/{self.config.session}/auth/request-code", json=body)
        return str((answer or {}).get("code") or "")
