"""The sandbox provider: no network, Meta-shaped answers and status webhooks, in-memory media."""

import hashlib
import json
from pathlib import Path

import pytest

from messaging.providers import ProviderError, SandboxConfig, SandboxProvider, build_provider, status_webhooks_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "meta"


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider(SandboxConfig(phone_number_id="sandbox-1"))


def test_it_accepts_sends_with_unique_sandbox_ids(sandbox):
    first = sandbox.send("+16505551234", {"type": "text", "text": {"body": "hi"}})
    second = sandbox.send("+16505551234", {"type": "template", "template": {"name": "x", "language": {"code": "en"}}})

    assert first.provider_message_id.startswith("wamid.sandbox")
    assert first.provider_message_id != second.provider_message_id
    assert first.raw == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
        "messages": [{"id": first.provider_message_id}],
    }


def test_it_refuses_a_malformed_message(sandbox):
    with pytest.raises(ProviderError) as caught:
        sandbox.send("+16505551234", {"type": "carrier_pigeon"})

    assert caught.value.retryable is False


def test_status_webhooks_are_metas_statuses_payloads():
    payloads = status_webhooks_for("sandbox-1", "wamid.sandbox1", recipient_id="+16505551234", timestamp=1750030073)

    assert [p["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for p in payloads] == [
        "sent",
        "delivered",
        "read",
    ]
    sent = payloads[0]
    conversation_id = sent["entry"][0]["changes"][0]["value"]["statuses"][0]["conversation"]["id"]
    assert sent == {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "sandbox",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550000000", "phone_number_id": "sandbox-1"},
                            "statuses": [
                                {
                                    "id": "wamid.sandbox1",
                                    "status": "sent",
                                    "timestamp": "1750030073",
                                    "recipient_id": "16505551234",
                                    "conversation": {
                                        "id": conversation_id,
                                        "expiration_timestamp": "1750116473",
                                        "origin": {"type": "service"},
                                    },
                                    "pricing": {
                                        "billable": False,
                                        "pricing_model": "PMP",
                                        "type": "free_customer_service",
                                        "category": "service",
                                    },
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    read = payloads[2]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert read == {"id": "wamid.sandbox1", "status": "read", "timestamp": "1750030075", "recipient_id": "16505551234"}


def test_status_webhooks_have_the_shape_of_metas_own(sandbox):
    ours = status_webhooks_for("1", "wamid.x", recipient_id="1", category="marketing")[0]
    theirs = json.loads((FIXTURES / "status_sent.json").read_text())

    def shape(payload):
        status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
        return {k: sorted(v) if isinstance(v, dict) else type(v).__name__ for k, v in status.items()}

    assert shape(ours) == shape(theirs)
    assert sandbox.status_webhooks_for is status_webhooks_for


def test_a_reaction_only_gets_sent():
    payloads = status_webhooks_for("1", "wamid.x", recipient_id="1", statuses=("sent",))

    assert len(payloads) == 1


def test_media_round_trip_in_memory(sandbox):
    media_id = sandbox.upload_media(b"\x89PNG-bytes", "image/png", "a.png")

    assert sandbox.fetch_media(media_id) == (
        b"\x89PNG-bytes",
        "image/png",
        hashlib.sha256(b"\x89PNG-bytes").hexdigest(),
        10,
    )


def test_it_refuses_media_meta_would_refuse_and_unknown_ids(sandbox):
    with pytest.raises(ProviderError):
        sandbox.upload_media(b"GIF89a", "image/gif", "a.gif")
    with pytest.raises(ProviderError) as caught:
        sandbox.fetch_media("sandbox.missing")
    assert (caught.value.title, caught.value.retryable) == ("Media not found", False)


def test_mark_read_is_a_no_op_and_build_provider_picks_the_sandbox(sandbox):
    assert sandbox.mark_read("wamid.x") is None
    assert isinstance(build_provider(SandboxConfig()), SandboxProvider)
