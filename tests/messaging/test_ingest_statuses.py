"""Delivery statuses of outbound messages: only forward along sent -> delivered -> read, whatever the order or
the number of times they arrive; failed keeps Meta's code and title; unknown ids are ignored."""

from datetime import UTC, datetime

import pytest

from messaging import realtime
from messaging.models import Message, WebhookEvent
from messaging.providers import status_webhooks_for
from messaging.services import ingest
from tests.messaging.factories import WhatsAppNumberFactory
from tests.messaging.ingest_support import (
    meta_bytes,
    meta_payload,
    outbound,
    post_meta,
    sha256_hex,
    statuses,
)

WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="


@pytest.fixture
def message(numbers):
    return outbound(numbers[0], WAMID, status=Message.Status.QUEUED)


def _post(client, org, payload):
    response = post_meta(client, org.pk, payload)
    assert response.status_code == 200


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def test_statuses_move_the_message_forward_in_order(client, org, message, changes):
    _post(client, org, meta_payload("status_sent"))
    message.refresh_from_db()
    assert (message.status, message.status_updated_at) == ("sent", _at(1750030073))

    _post(client, org, meta_payload("status_read"))
    message.refresh_from_db()
    assert message.status == "read"

    assert changes == [[(message.pk, "sent", None)], [(message.pk, "read", None)]]


def test_read_may_come_without_delivered(client, org, message):
    _post(client, org, statuses((WAMID, "sent", 1750000000), (WAMID, "read", 1750000060)))

    message.refresh_from_db()
    assert (message.status, message.status_updated_at) == ("read", _at(1750000060))


def test_delivered_after_read_changes_nothing(client, org, message, changes):
    _post(client, org, statuses((WAMID, "read", 1750000060)))
    _post(client, org, statuses((WAMID, "delivered", 1750000030)))
    _post(client, org, statuses((WAMID, "sent", 1750000000)))

    message.refresh_from_db()
    assert (message.status, message.status_updated_at) == ("read", _at(1750000060))
    assert changes == [[(message.pk, "read", None)]]


def test_the_same_status_twice_changes_nothing(client, org, message, changes):
    _post(client, org, statuses((WAMID, "delivered", 1750000030)))
    _post(client, org, statuses((WAMID, "delivered", 1750000031)))

    message.refresh_from_db()
    assert (message.status, message.status_updated_at) == ("delivered", _at(1750000030))
    assert changes == [[(message.pk, "delivered", None)]]


def test_read_and_delivered_in_one_delivery_end_read(client, org, message):
    _post(client, org, meta_payload("batch"))  # read listed before delivered

    message.refresh_from_db()
    assert (message.status, message.status_updated_at) == ("read", _at(1750030215))


@pytest.mark.parametrize(
    ("name", "code", "title"),
    [
        ("status_failed", 131049, "This message was not delivered to maintain healthy ecosystem engagement."),
        ("status_failed_re_engagement", 131047, "Re-engagement message"),
    ],
)
def test_failed_keeps_metas_code_and_title(client, org, numbers, name, code, title, changes):
    wamid = meta_payload(name)["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    message = outbound(numbers[0], wamid, status=Message.Status.SENT)

    _post(client, org, meta_payload(name))

    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_title) == ("failed", code, title)
    assert changes == [[(message.pk, "failed", code)]]


def test_a_failed_message_stays_failed(client, org, message):
    _post(client, org, statuses((WAMID, "sent", 1750000000)))
    failed = statuses((WAMID, "failed", 1750000010))
    failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = [
        {"code": 131026, "title": "Message undeliverable"}
    ]
    _post(client, org, failed)
    _post(client, org, statuses((WAMID, "delivered", 1750000020)))

    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_title) == ("failed", 131026, "Message undeliverable")


def test_played_counts_as_read(client, org, message):
    _post(client, org, statuses((WAMID, "played", 1750000100)))

    message.refresh_from_db()
    assert message.status == "read"


def test_a_status_for_an_unknown_message_is_ignored_not_an_error(client, org, numbers, changes):
    _post(client, org, meta_payload("status_delivered"))

    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)
    assert Message.objects.count() == 0
    assert changes == []


def test_an_unknown_status_value_is_noted_on_the_event(client, org, message):
    _post(client, org, statuses((WAMID, "deleted", 1750000100)))

    message.refresh_from_db()
    assert message.status == "queued"
    assert WebhookEvent.objects.get().last_error == f"status 'deleted' of {WAMID!r} ignored"


def test_an_inbound_message_with_that_id_gets_no_status(client, org, numbers):
    inbound = outbound(numbers[0], WAMID)
    Message.objects.filter(pk=inbound.pk).update(direction="inbound", status="received")

    _post(client, org, statuses((WAMID, "read", 1750000100)))

    inbound.refresh_from_db()
    assert inbound.status == "received"


def test_statuses_of_another_organizations_message_change_nothing(client, org, other_org, message):
    theirs = outbound(WhatsAppNumberFactory(organization=other_org), "wamid.THEIRS", status=Message.Status.SENT)

    _post(client, org, statuses(("wamid.THEIRS", "read", 1750000100)))

    theirs.refresh_from_db()
    assert theirs.status == "sent"


def test_a_redelivered_status_batch_changes_nothing(client, org, message, changes):
    payload = statuses((WAMID, "sent", 1750000000), (WAMID, "delivered", 1750000030))
    raw = meta_bytes(payload)

    _post(client, org, raw)
    _post(client, org, raw)
    _post(client, org, raw.replace(b'"object":', b'"object" :'))

    message.refresh_from_db()
    assert (message.status, message.status_updated_at) == ("delivered", _at(1750000030))
    assert changes == [[(message.pk, "delivered", None)]]
    assert WebhookEvent.objects.count() == 2


def test_status_changes_are_pushed_once_per_batch(client, org, numbers, monkeypatch):
    pushes = []
    monkeypatch.setattr(realtime, "publish", lambda org_id, events: pushes.extend(events))
    first = outbound(numbers[0], "wamid.ONE")
    second = outbound(numbers[0], "wamid.TWO")

    _post(client, org, statuses(("wamid.ONE", "delivered", 1750000030), ("wamid.TWO", "read", 1750000040)))

    assert [(event, number_ids) for event, _, number_ids in pushes] == [("message.updated", [numbers[0].pk] * 2)]
    items = pushes[0][1]["messages"]
    assert [(item["id"], item["status"], item["error_code"]) for item in items] == [
        (first.pk, "delivered", None),
        (second.pk, "read", None),
    ]
    assert set(items[0]) >= {"conversation_id", "direction", "type", "text", "provider_message_id", "timestamp"}


def test_the_sandbox_plays_its_statuses_through_the_same_path(org, message, django_capture_on_commit_callbacks):
    number = message.conversation.number
    payloads = status_webhooks_for("sandbox", WAMID, recipient_id="16505551234", timestamp=1750000000)

    with django_capture_on_commit_callbacks(execute=True):
        for payload in reversed(payloads):  # read first: order does not matter
            raw = meta_bytes(payload)
            ingest.webhook_event_store(
                organization_id=org.pk,
                source=WebhookEvent.Source.SANDBOX,
                body=payload,
                dedupe_key=sha256_hex(raw),
                number_id=number.pk,
            )

    message.refresh_from_db()
    assert (message.status, message.status_updated_at) == ("read", _at(1750000002))
    assert set(WebhookEvent.objects.values_list("source", "status")) == {("sandbox", "processed")}
