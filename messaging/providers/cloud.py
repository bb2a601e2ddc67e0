"""Meta WhatsApp Cloud API (Graph API) client.

Base URL from the config (default `settings.WHATSAPP_GRAPH_URL`, version included, e.g.
`https://graph.facebook.com/v23.0`). Auth: `Authorization: Bearer <access_token>`. Errors: Meta's
`{"error": {"message", "type", "code", "error_data": {"details"}, …}}` body becomes a `ProviderError` keyed on
`error.code` (never on the HTTP status alone, as Meta advises).

Trust: the Graph URL is the operator's setting, so this client uses the plain pooled session, not the egress policy.
Meta's documented error fields (title, `error_data.details`) are shown to users as Meta meant them; any other
answer body (a proxy's HTML page) is logged, never shown. The media URLs Meta returns (`lookaside.fbsbx.com`) come
over that trusted API and are trusted like it, but the access token (a tenant's secret) goes only to the Graph URL's
own origin or to Meta's media host over https (`MEDIA_HOSTS`); redirects elsewhere drop it (requests strips
`Authorization` when the host changes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
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
    MESSAGE_TYPES,
    Answer,
    MediaContent,
    Provider,
    ProviderError,
    SendResult,
    TemplatePage,
    base_mime,
    check_outbound_media,
    check_template_media,
    http_post_json,
    http_request,
    is_retryable,
    transport_error,
    unsupported,
)
from whatsapp_hub import egress

logger = logging.getLogger(__name__)

_TITLE = re.compile(r"^\(#(\d+)\)\s*(.*)$")
_GENERIC_MESSAGE = "Invalid parameter"  # Graph's code 100 `message` when the case is in `error_user_title`
_BSUID = re.compile(r"^[A-Z]{2}\.[\w.]+$")  # business-scoped user id, e.g. US.13491208655302741918
# Where Meta serves media downloads (reference §5: `https://lookaside.fbsbx.com/whatsapp_business/attachments/…`).
MEDIA_HOSTS = ("fbsbx.com",)


def _graph_url() -> str:
    return settings.WHATSAPP_GRAPH_URL


def _app_id() -> str:
    return settings.WHATSAPP_APP_ID


@dataclass(frozen=True, kw_only=True)
class CloudConfig:
    """One Cloud API number. `graph_url` and `app_id` default to `settings.WHATSAPP_GRAPH_URL` and
    `settings.WHATSAPP_APP_ID` when the config is built."""

    phone_number_id: str
    access_token: str = field(repr=False)
    waba_id: str = ""
    graph_url: str = field(default_factory=_graph_url)
    app_id: str = field(default_factory=_app_id)  # the Meta app (Resumable Upload API: template header examples)
    timeout: tuple[float, float] = DEFAULT_TIMEOUT


def error_from_response(response: requests.Response | Answer) -> ProviderError:
    """Map a non-2xx Graph answer to a ProviderError (Meta's error body, or a bare HTTP error from a proxy)."""
    status = response.status_code
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        text = response.content.decode("utf-8", "replace").strip()[:500]
        logger.warning("Graph API answered HTTP %s without Meta's error object: %r", status, text)
        return ProviderError(
            code=None,
            title=f"HTTP {status}",
            detail="The Graph API answered without an error description.",
            retryable=is_retryable(None, status),
            http_status=status,
            raw=body if body is not None else text,
        )
    code = error.get("code")
    code = code if isinstance(code, int) else None
    message = str(error.get("message") or "")
    match = _TITLE.match(message)
    # "(#100) Invalid parameter" carries its title; a bare generic "Invalid parameter" (template and Flow management
    # errors, e.g. code 100 "Flow name is not unique") puts the case in `error_user_title`; the Flow codes 1390xx put
    # the documented description in `message` itself ("Publishing Flow with validation errors").
    if match:
        title = match.group(2)
    elif message and message != _GENERIC_MESSAGE:
        title = message
    else:
        title = str(error.get("error_user_title") or message or f"HTTP {status}")
    data = error.get("error_data")
    # Template/management endpoints may give `error_data` as a plain string.
    detail = str(data.get("details") or "") if isinstance(data, dict) else str(data or "")
    detail = detail or str(error.get("error_user_msg") or "") or (message if match is None and message != title else "")
    return ProviderError(
        code=code,
        title=title,
        detail=detail,
        retryable=is_retryable(code, status, transient=error.get("is_transient") is True),
        http_status=status,
        raw=body,
    )


class CloudProvider(Provider):
    name = "cloud"
    supports_templates = True
    supports_media_upload = True

    def __init__(self, config: CloudConfig) -> None:
        self.config = config

    # --- plumbing ---------------------------------------------------------------------------------------

    def _url(self, *parts: str) -> str:
        return "/".join([self.config.graph_url.rstrip("/"), *parts])

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.access_token}"}

    def _call(
        self,
        method: str,
        url: str,
        *,
        timeout: tuple[float, float] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        response = http_request(
            method, url, headers=headers or self._headers(), timeout=timeout or self.config.timeout, **kwargs
        )
        if not response.ok:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError(
                code=None,
                title="Unexpected response",
                detail=f"Graph API answered {response.status_code} without JSON.",
                retryable=False,
                http_status=response.status_code,
                raw=response.text[:200],
            ) from exc
        return body if isinstance(body, dict) else {"data": body}

    def _post_json(self, url: str, body: dict) -> dict[str, Any]:
        """A send: like `_call`, through the pool's lean path (base.http_post_json)."""
        answer = http_post_json(url, body, headers=self._headers(), timeout=self.config.timeout)
        if not 200 <= answer.status_code < 300:
            raise error_from_response(answer)
        try:
            parsed = json.loads(answer.content)
        except ValueError as exc:
            raise ProviderError(
                code=None,
                title="Unexpected response",
                detail=f"Graph API answered {answer.status_code} without JSON.",
                retryable=False,
                http_status=answer.status_code,
                raw=answer.content[:200].decode("utf-8", "replace"),
            ) from exc
        return parsed if isinstance(parsed, dict) else {"data": parsed}

    def _need_waba(self) -> str:
        if not self.config.waba_id:
            raise unsupported("This number has no WhatsApp Business Account id (waba_id).", title="Missing waba_id")
        return self.config.waba_id

    # --- the number ---------------------------------------------------------------------------------------

    def phone_number(self) -> dict[str, Any]:
        """GET /{phone_number_id}: the number as Meta knows it (the token is valid and the number reachable), reduced
        to its quality rating and display number (strings Meta names, at most 40 characters each)."""
        fields = "display_phone_number,quality_rating,verified_name,code_verification_status"
        body = self._call("GET", self._url(self.config.phone_number_id), params={"fields": fields})
        return {
            key: str(body[key])[:40]
            for key in ("display_phone_number", "quality_rating")
            if isinstance(body.get(key), str) and body[key]
        }

    # --- messages ---------------------------------------------------------------------------------------

    def send(self, to: str, message: dict) -> SendResult:
        """POST /{phone_number_id}/messages with the envelope added; returns the `wamid`."""
        mtype = message.get("type")
        if mtype not in MESSAGE_TYPES or mtype not in message:
            raise unsupported(f"Cannot send message type {mtype!r} (the message needs 'type' and its object).")
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        recipient = to.strip()
        if _BSUID.match(recipient):
            body["recipient"] = recipient
        else:
            body["to"] = "+" + re.sub(r"\D", "", recipient)
        body.update({k: v for k, v in message.items() if k not in ("messaging_product", "recipient_type", "to")})
        answer = self._post_json(self._url(self.config.phone_number_id, "messages"), body)
        messages = answer.get("messages")
        wamid = (
            messages[0].get("id") if isinstance(messages, list) and messages and isinstance(messages[0], dict) else None
        )
        if not wamid:
            # Accepted but unidentifiable: do not retry (it may have been sent), let a human look.
            raise ProviderError(
                code=None,
                title="Unexpected response",
                detail="No message id in the answer.",
                retryable=False,
                raw=answer,
            )
        return SendResult(provider_message_id=wamid, raw=answer)

    def mark_read(self, provider_message_id: str, *, chat: str | None = None, typing: bool = False) -> None:
        """`{"messaging_product": "whatsapp", "status": "read", "message_id": …}` (+ typing indicator)."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": provider_message_id}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        answer = self._call("POST", self._url(self.config.phone_number_id, "messages"), json=body)
        if answer.get("success") is not True:
            raise ProviderError(
                code=None,
                title="Unexpected response",
                detail="Mark-read was not acknowledged.",
                retryable=True,
                raw=answer,
            )

    # --- media ------------------------------------------------------------------------------------------

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Multipart POST /{phone_number_id}/media; checks Meta's type and size limits first."""
        check_outbound_media(content, mime_type)
        answer = self._call(
            "POST",
            self._url(self.config.phone_number_id, "media"),
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
            timeout=MEDIA_TIMEOUT,
        )
        media_id = answer.get("id")
        if not media_id:
            raise ProviderError(
                code=None, title="Unexpected response", detail="No media id.", retryable=False, raw=answer
            )
        return str(media_id)

    def fetch_media(self, media_id: str, *, max_bytes: int = INBOUND_MEDIA_LIMIT) -> MediaContent:
        """GET /{media_id} for a 5-minute URL, then GET the URL with the token; verify Meta's size and sha256.

        A 404 on the URL (expired) is retryable: the next attempt gets a fresh URL. A size or hash mismatch, or
        media over `max_bytes`, is refused permanently.
        """
        info = self._call("GET", self._url(media_id), params={"phone_number_id": self.config.phone_number_id})
        url, mime_type = info.get("url"), str(info.get("mime_type") or "application/octet-stream")
        if not url:
            raise ProviderError(
                code=None, title="Unexpected response", detail="No media URL.", retryable=False, raw=info
            )
        if not _is_media_url(url, self.config.graph_url):
            logger.warning("Graph API gave a media URL on an unexpected host: %s", str(url).split("?", 1)[0])
            raise ProviderError(
                code=None,
                title="Unexpected response",
                detail="The media URL is not on Meta's media host.",
                retryable=False,
            )
        reported_size = _int_or_none(info.get("file_size"))
        if reported_size is not None and reported_size > max_bytes:
            raise _too_large(reported_size, max_bytes)
        response = http_request("GET", url, headers=self._headers(), timeout=MEDIA_TIMEOUT, stream=True)
        try:
            if response.status_code == 404:
                raise ProviderError(
                    code=None,
                    title="Media URL expired",
                    detail="The media URL answered 404; a new URL is needed.",
                    retryable=True,
                    http_status=404,
                )
            if not response.ok:
                raise error_from_response(response)
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(size, max_bytes)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise transport_error("GET", url, exc) from exc
        finally:
            response.close()
        content = b"".join(chunks)
        digest = hashlib.sha256(content)
        if reported_size is not None and reported_size != len(content):
            raise ProviderError(
                code=None,
                title="Media integrity check failed",
                detail=f"Meta reported {reported_size} bytes, the download had {len(content)}.",
                retryable=False,
            )
        reported_sha = str(info.get("sha256") or "")
        if reported_sha and reported_sha.lower() != digest.hexdigest() and reported_sha != _b64(digest.digest()):
            raise ProviderError(
                code=None,
                title="Media integrity check failed",
                detail="The downloaded bytes do not match the sha256 Meta reported.",
                retryable=False,
            )
        return MediaContent(content, mime_type, digest.hexdigest(), len(content))

    def upload_template_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """A template header's example through Meta's Resumable Upload API: POST /{app_id}/uploads describes the
        file and opens a session (`{"id": "upload:<session>"}`), POST /upload:<session> with `file_offset: 0` sends
        the bytes (the token in an `Authorization: OAuth` header, as that endpoint requires) and answers the
        handle (`{"h": …}`) a media header's `example.header_handle` takes. Type and size are checked first."""
        check_template_media(content, mime_type)
        if not self.config.app_id:
            raise unsupported(
                "Media headers are uploaded to the Meta app, and WHATSAPP_APP_ID (its id) is not set.",
                title="Missing app id",
            )
        session = self._call(
            "POST",
            self._url(self.config.app_id, "uploads"),
            params={"file_name": filename, "file_length": len(content), "file_type": base_mime(mime_type)},
        )
        upload_id = str(session.get("id") or "")
        if not upload_id.startswith("upload:"):
            raise ProviderError(
                code=None, title="Unexpected response", detail="No upload session id.", retryable=False, raw=session
            )
        answer = self._call(
            "POST",
            self._url(upload_id),  # the id may carry its own query string (`?sig=…`): it goes as Meta gave it
            headers={"Authorization": f"OAuth {self.config.access_token}", "file_offset": "0"},
            data=content,
            timeout=MEDIA_TIMEOUT,
        )
        handle = answer.get("h")
        if not handle:
            raise ProviderError(
                code=None, title="Unexpected response", detail="No file handle.", retryable=False, raw=answer
            )
        return str(handle)

    def delete_media(self, media_id: str) -> None:
        self._call("DELETE", self._url(media_id), params={"phone_number_id": self.config.phone_number_id})

    # --- templates ----------------------------------------------------------------------------------------

    def list_templates(
        self,
        *,
        after: str | None = None,
        limit: int = 100,
        fields: str | None = None,
        status: str | None = None,
        name: str | None = None,
    ) -> TemplatePage:
        """One page of GET /{waba_id}/message_templates. Loop while `page.after` is not None."""
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("after", after), ("fields", fields), ("status", status), ("name", name)):
            if value:
                params[key] = value
        answer = self._call("GET", self._url(self._need_waba(), "message_templates"), params=params)
        items = answer.get("data") or []
        paging = answer.get("paging") or {}
        # Graph convention: the last page has no `next`, even when it still has cursors.
        next_after = (paging.get("cursors") or {}).get("after") if paging.get("next") else None
        return TemplatePage(items=list(items), after=next_after)

    def create_template(
        self,
        *,
        name: str,
        language: str,
        category: str,
        components: list[dict],
        parameter_format: str | None = None,
        message_send_ttl_seconds: int | None = None,
    ) -> dict:
        """POST /{waba_id}/message_templates → `{"id", "status", "category"}` (status usually PENDING)."""
        body: dict[str, Any] = {"name": name, "language": language, "category": category, "components": components}
        if parameter_format:
            body["parameter_format"] = parameter_format
        if message_send_ttl_seconds is not None:
            body["message_send_ttl_seconds"] = message_send_ttl_seconds
        return self._call("POST", self._url(self._need_waba(), "message_templates"), json=body)

    def delete_template(self, name: str, hsm_id: str | None = None) -> None:
        """DELETE /{waba_id}/message_templates?name=…: every language of `name`, or only `hsm_id`."""
        params = {"name": name}
        if hsm_id:
            params["hsm_id"] = hsm_id
        answer = self._call("DELETE", self._url(self._need_waba(), "message_templates"), params=params)
        if answer.get("success") is not True:
            raise ProviderError(
                code=None,
                title="Unexpected response",
                detail="Delete was not acknowledged.",
                retryable=False,
                raw=answer,
            )

    # --- flows (WhatsApp Flows: Meta's interactive forms, owned by the WABA) ------------------------------------

    def create_flow(self, *, name: str, categories: list[str], flow_json: str | None = None) -> dict:
        """POST /{waba_id}/flows → `{"id", "success", "validation_errors"?}` (a new flow is a DRAFT; with
        `flow_json`, Meta checks it and answers what it found wrong)."""
        body: dict[str, Any] = {"name": name, "categories": categories}
        if flow_json is not None:
            body["flow_json"] = flow_json
        return self._call("POST", self._url(self._need_waba(), "flows"), json=body)

    def get_flow(self, flow_id: str, *, fields: str) -> dict:
        """GET /{flow_id}?fields=… (e.g. `status,validation_errors`, or `preview.invalidate(false)`)."""
        return self._call("GET", self._url(flow_id), params={"fields": fields})

    def update_flow(self, flow_id: str, *, name: str | None = None, categories: list[str] | None = None) -> None:
        """POST /{flow_id} with the metadata to change (name, categories) → `{"success": true}`."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if categories is not None:
            body["categories"] = categories
        self._acknowledged(self._call("POST", self._url(flow_id), json=body), "Flow update")

    def upload_flow_json(self, flow_id: str, flow_json: str) -> list[dict]:
        """POST /{flow_id}/assets, multipart: the Flow JSON as the file `flow.json` (asset_type FLOW_JSON). Returns
        Meta's `validation_errors` (empty: the JSON is valid)."""
        answer = self._call(
            "POST",
            self._url(flow_id, "assets"),
            data={"name": "flow.json", "asset_type": "FLOW_JSON"},
            files={"file": ("flow.json", flow_json.encode(), "application/json")},
            timeout=MEDIA_TIMEOUT,
        )
        self._acknowledged(answer, "Flow JSON upload")
        errors = answer.get("validation_errors") or []
        return [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []

    def publish_flow(self, flow_id: str) -> None:
        """POST /{flow_id}/publish: DRAFT → PUBLISHED (refused while the Flow JSON has validation errors)."""
        self._acknowledged(self._call("POST", self._url(flow_id, "publish")), "Flow publish")

    def deprecate_flow(self, flow_id: str) -> None:
        """POST /{flow_id}/deprecate: PUBLISHED → DEPRECATED (it can no longer be sent)."""
        self._acknowledged(self._call("POST", self._url(flow_id, "deprecate")), "Flow deprecation")

    def delete_flow(self, flow_id: str) -> None:
        """DELETE /{flow_id}: only a DRAFT can be deleted."""
        self._acknowledged(self._call("DELETE", self._url(flow_id)), "Flow deletion")

    @staticmethod
    def _acknowledged(answer: dict, what: str) -> None:
        if answer.get("success") is not True:
            raise ProviderError(
                code=None,
                title="Unexpected response",
                detail=f"{what} was not acknowledged.",
                retryable=False,
                raw=answer,
            )


def _is_media_url(url: Any, graph_url: str) -> bool:
    """True for a URL the access token may go to: the Graph URL's own origin, or https on Meta's media host."""
    if not isinstance(url, str):
        return False
    if egress.same_origin(url, graph_url):
        return True
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    on_meta = any(host == name or host.endswith(f".{name}") for name in MEDIA_HOSTS)
    return parts.scheme == "https" and port in (None, 443) and on_meta


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _too_large(size: int, limit: int) -> ProviderError:
    return ProviderError(
        code=None, title="Media too large", detail=f"{size} bytes is over the {limit}-byte limit.", retryable=False
    )
