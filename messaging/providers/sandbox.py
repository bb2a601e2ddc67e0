"""A provider that needs no network, so the product runs and demos on a laptop.

Sends are accepted and get `wamid.sandbox…` ids; `status_webhooks_for()` builds the Meta-shaped `statuses` webhook
payloads (sent, delivered, read) the hub feeds through its normal ingest path, so a sandbox message moves through
the same states as a real one, and `inbound_webhook_for()` the `messages` webhook of a message a customer sends (a
person playing the customer). Media live in this process's memory (bounded): fine for the embedded default (one
process), not shared between Celery workers.

Templates of sandbox numbers live in the hub only (their WABA is `SANDBOX_WABA_ID`): creating one mints an id, and
`template_status_webhook_for()` builds the `message_template_status_update` webhook of Meta's review, which the hub
feeds through the same ingest path as Meta's.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from django.utils import timezone

from messaging.providers.base import (
    MESSAGE_TYPES,
    MediaContent,
    Provider,
    ProviderError,
    SendResult,
    check_outbound_media,
    check_template_media,
    unsupported,
)

SANDBOX_DISPLAY_PHONE_NUMBER = "15550000000"
SANDBOX_WABA_ID = "sandbox"
MEDIA_STORE_MAX_ITEMS = 256
MEDIA_STORE_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    phone_number_id: str = "sandbox"
    display_phone_number: str = SANDBOX_DISPLAY_PHONE_NUMBER
    waba_id: str = SANDBOX_WABA_ID


class _MediaStore:
    """Process-wide, least recently used out first, bounded by count and bytes."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, content: bytes, mime_type: str) -> str:
        media_id = f"sandbox.{uuid.uuid4().hex}"
        with self._lock:
            self._items[media_id] = (content, mime_type)
            self._bytes += len(content)
            while len(self._items) > MEDIA_STORE_MAX_ITEMS or self._bytes > MEDIA_STORE_MAX_BYTES:
                _, (old, _mime) = self._items.popitem(last=False)
                self._bytes -= len(old)
        return media_id

    def get(self, media_id: str) -> tuple[bytes, str] | None:
        with self._lock:
            item = self._items.get(media_id)
            if item is not None:
                self._items.move_to_end(media_id)
            return item


_media = _MediaStore()


def new_wamid() -> str:
    return f"wamid.sandbox{uuid.uuid4().hex}"


def _webhook(waba_id: str, value: dict) -> dict:
    """Meta's envelope around one `field: messages` change."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def _unix_seconds(timestamp: float | None) -> int:
    return int(timezone.now().timestamp() if timestamp is None else timestamp)


def status_webhooks_for(
    phone_number_id: str,
    provider_message_id: str,
    *,
    recipient_id: str,
    statuses: tuple[str, ...] = ("sent", "delivered", "read"),
    display_phone_number: str = SANDBOX_DISPLAY_PHONE_NUMBER,
    waba_id: str = SANDBOX_WABA_ID,
    timestamp: float | None = None,
    category: str = "service",
) -> list[dict]:
    """One Meta `field: messages` webhook payload per status, in order, a second apart.

    `recipient_id`: the user's wa_id (digits). Pass `statuses=("sent",)` for a reaction (Meta only sends `sent`).
    `category`: `service` for free-form messages, the template's category (lower case) for templates.
    """
    start = _unix_seconds(timestamp)
    recipient = re.sub(r"\D", "", recipient_id)
    free = category == "service"
    conversation_id = hashlib.sha256(f"{phone_number_id}:{recipient}:{category}".encode()).hexdigest()[:32]
    payloads = []
    for offset, status in enumerate(statuses):
        ts = start + offset
        item: dict = {"id": provider_message_id, "status": status, "timestamp": str(ts), "recipient_id": recipient}
        if status in ("sent", "delivered"):
            conversation: dict = {"id": conversation_id}
            if status == "sent":
                conversation["expiration_timestamp"] = str(ts + 24 * 3600)
            conversation["origin"] = {"type": category}
            item["conversation"] = conversation
            item["pricing"] = {
                "billable": not free,
                "pricing_model": "PMP",
                "type": "free_customer_service" if free else "regular",
                "category": category,
            }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
            "statuses": [item],
        }
        payloads.append(_webhook(waba_id, value))
    return payloads


def inbound_webhook_for(
    phone_number_id: str,
    provider_message_id: str,
    *,
    wa_id: str,
    part: dict,
    profile_name: str = "",
    context: dict | None = None,
    display_phone_number: str = SANDBOX_DISPLAY_PHONE_NUMBER,
    waba_id: str = SANDBOX_WABA_ID,
    timestamp: float | None = None,
) -> dict:
    """The Meta `field: messages` webhook payload of one message the user `wa_id` sent to the number.

    `part`: the message's type and its object as Meta writes them, e.g. `{"type": "text", "text": {"body": "Hi"}}`.
    `context`: `{"from": <wa_id of its sender>, "id": <wamid>}` of the message quoted by a reply.
    """
    sender = re.sub(r"\D", "", wa_id)
    message = {"from": sender, "id": provider_message_id, "timestamp": str(_unix_seconds(timestamp)), **part}
    if context:
        message["context"] = context
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": profile_name}, "wa_id": sender}],
        "messages": [message],
    }
    return _webhook(waba_id, value)


def template_status_webhook_for(
    template_id: str,
    *,
    name: str,
    language: str,
    category: str,
    event: str = "APPROVED",
    reason: str = "NONE",
    waba_id: str = SANDBOX_WABA_ID,
    timestamp: float | None = None,
) -> dict:
    """Meta's `message_template_status_update` webhook payload: the review of template `template_id` ended with
    `event` (APPROVED, REJECTED, …). The id is an integer there, as Meta writes it."""
    value = {
        "event": event,
        "message_template_id": int(template_id),
        "message_template_name": name,
        "message_template_language": language,
        "reason": reason,
        "message_template_category": category,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "time": _unix_seconds(timestamp),
                "changes": [{"value": value, "field": "message_template_status_update"}],
            }
        ],
    }


class SandboxProvider(Provider):
    name = "sandbox"
    supports_templates = True
    supports_media_upload = True

    status_webhooks_for = staticmethod(status_webhooks_for)

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()

    def send(self, to: str, message: dict) -> SendResult:
        """Accept any well-formed message; the answer has Meta's success shape."""
        mtype = message.get("type")
        if mtype not in MESSAGE_TYPES or mtype not in message:
            raise unsupported(f"Cannot send message type {mtype!r} (the message needs 'type' and its object).")
        wa_id = re.sub(r"\D", "", to)
        if not wa_id:
            raise ProviderError(
                code=131008, title="Required parameter is missing", detail="No recipient.", retryable=False
            )
        wamid = new_wamid()
        raw = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [{"id": wamid}],
        }
        return SendResult(provider_message_id=wamid, raw=raw)

    def mark_read(self, provider_message_id: str, *, chat: str | None = None, typing: bool = False) -> None:
        """Nothing to tell anyone."""

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        check_outbound_media(content, mime_type)
        return _media.put(content, mime_type)

    def fetch_media(self, media_id: str) -> MediaContent:
        item = _media.get(media_id)
        if item is None:
            raise ProviderError(
                code=None,
                title="Media not found",
                detail="Sandbox media live in memory only, and this one is gone (restart or eviction).",
                retryable=False,
            )
        content, mime_type = item
        return MediaContent(content, mime_type, hashlib.sha256(content).hexdigest(), len(content))

    # --- templates: they live in the hub; Meta's part is only their id and their review ------------------------

    def upload_template_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """The header example stays in this process's memory; the handle names it."""
        check_template_media(content, mime_type)
        return f"sandbox-handle:{_media.put(content, mime_type)}"

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
        """Meta's answer to a creation: a new numeric id, PENDING until the review webhook
        (`template_status_webhook_for`)."""
        return {"id": str(10**15 + secrets.randbelow(9 * 10**15)), "status": "PENDING", "category": category.upper()}

    def delete_template(self, name: str, hsm_id: str | None = None) -> None:
        """Nothing to tell anyone: the hub holds the sandbox's templates."""

    # --- flows: they live in the hub; the sandbox checks the Flow JSON's outline as Meta would ---------------

    def create_flow(self, *, name: str, categories: list[str], flow_json: str | None = None) -> dict:
        answer: dict = {"id": str(10**15 + secrets.randbelow(9 * 10**15)), "success": True}
        if flow_json is not None:
            answer["validation_errors"] = flow_json_outline_errors(flow_json)
        return answer

    def get_flow(self, flow_id: str, *, fields: str) -> dict:
        """No preview: the sandbox has no WhatsApp to show a flow in."""
        return {"id": flow_id}

    def update_flow(self, flow_id: str, *, name: str | None = None, categories: list[str] | None = None) -> None:
        """Nothing to tell anyone."""

    def upload_flow_json(self, flow_id: str, flow_json: str) -> list[dict]:
        return flow_json_outline_errors(flow_json)

    def publish_flow(self, flow_id: str) -> None:
        """Nothing to tell anyone: the hub refuses a flow with validation errors before asking."""

    def deprecate_flow(self, flow_id: str) -> None:
        """Nothing to tell anyone."""

    def delete_flow(self, flow_id: str) -> None:
        """Nothing to tell anyone."""


def flow_json_outline_errors(flow_json: str) -> list[dict]:
    """Meta-shaped `validation_errors` for the outline of a Flow JSON (a `version`, screens with an id and a layout):
    what the sandbox can check without Meta's schema."""

    def error(message: str, path: str) -> dict:
        return {
            "error": "INVALID_PROPERTY_VALUE",
            "error_type": "FLOW_JSON_ERROR",
            "message": message,
            "line_start": 1,
            "line_end": 1,
            "column_start": 1,
            "column_end": 1,
            "pointers": [{"path": path}],
        }

    try:
        data = json.loads(flow_json)
    except ValueError:
        return [error("The Flow JSON is not valid JSON.", "")]
    if not isinstance(data, dict):
        return [error("The Flow JSON must be an object.", "")]
    errors = []
    if not isinstance(data.get("version"), str):
        errors.append(error("Missing required property 'version'.", "version"))
    screens = data.get("screens")
    if not isinstance(screens, list) or not screens:
        errors.append(error("Property 'screens' must be a non-empty array.", "screens"))
        return errors
    for index, screen in enumerate(screens):
        if not isinstance(screen, dict) or not isinstance(screen.get("id"), str):
            errors.append(error("Each screen needs a string 'id'.", f"screens[{index}].id"))
        elif not isinstance(screen.get("layout"), dict):
            errors.append(error("Each screen needs a 'layout'.", f"screens[{index}].layout"))
    return errors
