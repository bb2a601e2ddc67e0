"""Helpers of the inbound webhook tests: payload files, signed posts, and the numbers the files are addressed to.

Posts run the after-commit callbacks (Celery is eager in tests), so a 200 means the event was stored and the
processor has run, as a worker would have right after the commit.
"""

import copy
import hashlib
import json
from pathlib import Path

from django.test import TestCase

from accounts.models import Organization
from messaging.models import Contact, Message, WebhookEvent, WhatsAppNumber
from tests.fakes import meta_signature, waha_hmac
from tests.messaging.factories import MessageFactory, WhatsAppNumberFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
META_FILES = sorted(path.stem for path in (FIXTURES / "meta").glob("*.json"))
WAHA_FILES = sorted(path.stem for path in (FIXTURES / "waha").glob("*.json"))

# The phone_number_ids the payload files are addressed to (Meta's docs and pywa's fixtures).
PHONE_NUMBER_ID = "106540352242922"
SECOND_PHONE_NUMBER_ID = "1122334455667"
APP_SECRET = "test-app-secret"
SECOND_APP_SECRET = "second-app-secret"
VERIFY_TOKEN = "verify-me-please"
SECOND_VERIFY_TOKEN = "second-verify-token"
# The webhook HMAC key of the WAHA numbers the tests make (inbox_support.waha_number).
WAHA_HMAC_KEY = "test-waha-webhook-hmac-key"


def meta_payload(name: str) -> dict:
    return json.loads((FIXTURES / "meta" / f"{name}.json").read_text())


def waha_payload(name: str) -> dict:
    return json.loads((FIXTURES / "waha" / f"{name}.json").read_text())


def meta_bytes(payload: dict) -> bytes:
    """What Meta sends: compact JSON with non-ASCII escaped (\\uXXXX); the signature covers these bytes."""
    return json.dumps(payload, separators=(",", ":")).encode()


def cloud_numbers(org: Organization) -> tuple[WhatsAppNumber, WhatsAppNumber]:
    """The organization's two Cloud numbers the payload files are addressed to, each with its own app secret."""
    return (
        WhatsAppNumberFactory(
            organization=org,
            phone_number_id=PHONE_NUMBER_ID,
            waba_id="102290129340398",
            app_secret=APP_SECRET,
            verify_token=VERIFY_TOKEN,
        ),
        WhatsAppNumberFactory(
            organization=org,
            phone_number_id=SECOND_PHONE_NUMBER_ID,
            waba_id="5467539754836534",
            app_secret=SECOND_APP_SECRET,
            verify_token=SECOND_VERIFY_TOKEN,
        ),
    )


def post_meta(client, org_id: int, body: dict | bytes, *, secret: str | None = APP_SECRET, path: str = "", **headers):
    """POST a Meta webhook (a payload, or exact bytes) signed with `secret` (None: no signature header)."""
    raw = body if isinstance(body, bytes) else meta_bytes(body)
    if secret is not None:
        headers.setdefault("HTTP_X_HUB_SIGNATURE_256", meta_signature(raw, secret))
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/webhooks/meta/{org_id}/{path}", data=raw, content_type="application/json", **headers)


def post_waha(client, org_id: int, payload: dict | bytes, *, hmac_key: str | None = WAHA_HMAC_KEY, **headers):
    """POST a WAHA webhook (a payload, or exact bytes) signed as WAHA signs it with `hmac_key` (HMAC-SHA512;
    None: no signature headers)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if hmac_key is not None:
        headers.setdefault("HTTP_X_WEBHOOK_HMAC", waha_hmac(raw, hmac_key))
        headers.setdefault("HTTP_X_WEBHOOK_HMAC_ALGORITHM", "sha512")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/webhooks/waha/{org_id}/", data=raw, content_type="application/json", **headers)


def outbound(number: WhatsAppNumber, provider_message_id: str, status: str = Message.Status.SENT) -> Message:
    """A message the hub sent through `number`, accepted by the provider under `provider_message_id`."""
    return MessageFactory(
        organization=number.organization,
        conversation__number=number,
        direction=Message.Direction.OUTBOUND,
        status=status,
        provider_message_id=provider_message_id,
    )


def text_message(wamid: str, body: str, *, wa_id: str = "16505551234", timestamp: int = 1750000000) -> dict:
    """A Meta webhook with one inbound text message to the first number."""
    payload = copy.deepcopy(meta_payload("text"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    value["messages"][0].update({"from": wa_id, "id": wamid, "timestamp": str(timestamp), "text": {"body": body}})
    return payload


def statuses(*items: tuple[str, str, int], phone_number_id: str = PHONE_NUMBER_ID) -> dict:
    """A Meta webhook with these (wamid, status, timestamp) statuses."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
                            "statuses": [
                                {"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": "16505551234"}
                                for wamid, status, ts in items
                            ],
                        },
                    }
                ],
            }
        ],
    }


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def assert_nothing_stored() -> None:
    """A refused webhook left no event, message or contact behind."""
    assert WebhookEvent.objects.count() == 0
    assert Message.objects.count() == 0
    assert Contact.objects.count() == 0
