"""The payload files in tests/fixtures/ are well-formed Meta / WAHA webhooks (what the hub's ingest tests post)."""

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
META_FILES = sorted((FIXTURES / "meta").glob("*.json"))
WAHA_FILES = sorted((FIXTURES / "waha").glob("*.json"))
FLOW_VERSION_WARNING = "FLOW_VERSION_EXPIRY_WARNING"
FLOW_EVENTS = (
    "FLOW_STATUS_CHANGE",
    "ENDPOINT_ERROR_RATE",
    "ENDPOINT_LATENCY",
    "ENDPOINT_AVAILABILITY",
    "CLIENT_ERROR_RATE",
    FLOW_VERSION_WARNING,
)


def changes(payload: dict) -> list[dict]:
    return [change for entry in payload["entry"] for change in entry["changes"]]


def test_there_is_a_file_per_webhook_shape():
    names = {p.stem for p in META_FILES}
    assert {
        "text",
        "text_reply",
        "text_forwarded",
        "text_referral_ctwa",
        "image",
        "document",
        "audio",
        "voice",
        "video",
        "sticker",
        "location",
        "contacts",
        "interactive_button_reply",
        "interactive_list_reply",
        "button_template_quick_reply",
        "reaction",
        "unsupported",
        "system_user_changed_number",
        "status_sent",
        "status_delivered",
        "status_read",
        "status_failed",
        "batch",
        "value_errors",
        "text_bsuid",
        "template_status_approved",
        "template_status_rejected",
    } <= names
    assert {"call_connect", "call_terminate", "call_terminate_missed", "call_terminate_failed"} <= names
    assert {
        "flows_status_change",
        "flows_client_error_rate",
        "flows_endpoint_error_rate",
        "flows_endpoint_latency",
        "flows_endpoint_availability",
        "flows_version_expiry_warning",
    } <= names
    assert {p.stem for p in WAHA_FILES} >= {"message", "message_media", "message_ack", "session_status"}
    assert {p.stem for p in WAHA_FILES} >= {"call_received", "call_accepted", "call_rejected"}


@pytest.mark.parametrize("path", META_FILES, ids=[p.stem for p in META_FILES])
def test_meta_fixtures_have_the_webhook_envelope(path):
    payload = json.loads(path.read_text())

    assert payload["object"] == "whatsapp_business_account"
    for change in changes(payload):
        value = change["value"]
        if change["field"] == "calls":  # the Calling API: connect and terminate
            assert value["messaging_product"] == "whatsapp"
            assert set(value["metadata"]) == {"display_phone_number", "phone_number_id"}
            for call in value["calls"]:
                assert call["id"].startswith("wacid.")
                assert call["event"] in ("connect", "terminate")
                assert isinstance(call["timestamp"], str)
                assert call["direction"] in ("USER_INITIATED", "BUSINESS_INITIATED")
                if call["event"] == "terminate":
                    assert call["status"] in ("COMPLETED", "FAILED")
                    assert isinstance(call["duration"], int)
            continue
        if change["field"] == "flows":  # a WhatsApp Flow's status change or health alert
            assert "messaging_product" not in value
            assert isinstance(value["flow_id"], str)
            assert value["event"] in FLOW_EVENTS
            assert ("new_status" in value) == (value["event"] == "FLOW_STATUS_CHANGE")
            assert ("alert_state" in value) == (value["event"] not in ("FLOW_STATUS_CHANGE", FLOW_VERSION_WARNING))
            continue
        if change["field"] != "messages":
            assert "messaging_product" not in value
            assert isinstance(value["message_template_id"], int)
            continue
        assert value["messaging_product"] == "whatsapp"
        assert set(value["metadata"]) == {"display_phone_number", "phone_number_id"}
        for message in value.get("messages", []):
            assert message["id"].startswith("wamid.")
            assert isinstance(message["timestamp"], str)
            assert message["type"] in message
            assert "from" in message or "from_user_id" in message
        for status in value.get("statuses", []):
            assert {"id", "status", "timestamp", "recipient_id"} <= set(status)
            assert ("errors" in status) == (status["status"] == "failed")


@pytest.mark.parametrize("path", WAHA_FILES, ids=[p.stem for p in WAHA_FILES])
def test_waha_fixtures_have_the_event_envelope(path):
    payload = json.loads(path.read_text())

    assert payload["id"].startswith("evt_")
    assert {"timestamp", "event", "session", "me", "payload", "engine", "environment"} <= set(payload)
