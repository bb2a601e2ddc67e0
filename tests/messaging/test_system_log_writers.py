"""What messaging writes to the organization's system log, each through its real path: a webhook event that goes to
the dead letters (its last failed attempt, or its worker dying on it), a message whose send ends failed (Meta refuses
it, or a `failed` status arrives later), a WAHA session whose number changes status, and Meta's news about the
account's numbers (quality, account events, messaging limit)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import SystemLog
from messaging.models import Message, Notification, WebhookEvent
from messaging.services import ingest
from messaging.services.notifications import title_of
from tests.campaigns.support import campaign_number, deliver, webhooks_through_the_endpoint
from tests.fakes.meta import DEFAULT_WABA_ID, ERRORS
from tests.messaging.inbox_support import send, waha_number
from tests.messaging.ingest_support import meta_payload, outbound, post_meta, post_waha, text_message, waha_payload
from tests.messaging.test_sweeper import POISON, _age, _event, _sweep, poison  # noqa: F401  (the poison fixture)

TEXT = {"type": "text", "text": "Your order ships today"}


def _logs() -> list[tuple]:
    return list(
        SystemLog.objects.order_by("id").values_list(
            "organization_id", "level", "category", "message", "related_type", "related_id"
        )
    )


# --- dead letters ------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("poison")
def test_an_event_failing_its_last_attempt_is_logged_as_a_dead_letter(org, numbers, django_capture_on_commit_callbacks):
    event = _event(org, text_message(POISON, "hello"))
    ingest.webhook_events_process_batch()
    for _ in range(WebhookEvent.MAX_ATTEMPTS - 2):
        _age(event, minutes=2)
        _sweep(django_capture_on_commit_callbacks)
    assert not SystemLog.objects.exists()  # failed, not dead yet: nothing for the admins

    _age(event, minutes=2)
    _sweep(django_capture_on_commit_callbacks)

    event.refresh_from_db()
    assert event.status == "dead"
    assert _logs() == [
        (
            org.pk,
            "error",
            "webhook",
            "A webhook event from Meta Cloud API could not be processed after 5 attempts and went to the dead letters "
            "(RuntimeError). Replay it once the cause is fixed.",
            "webhook_event",
            str(event.pk),
        )
    ]
    assert SystemLog.objects.get().details == {
        "source": "Meta Cloud API",
        "attempts": 5,
        "reason": "RuntimeError",
        "event_id": event.pk,
    }
    assert "cannot handle this payload" not in SystemLog.objects.get().message  # never the exception's text


def test_an_event_whose_worker_died_on_its_last_attempt_is_logged_by_the_sweeper(
    org, other_org, django_capture_on_commit_callbacks
):
    dead = _event(org, text_message("wamid.A", "x"), status="processing", attempts=WebhookEvent.MAX_ATTEMPTS)
    theirs = _event(other_org, text_message("wamid.B", "y"), status="processing", attempts=WebhookEvent.MAX_ATTEMPTS)
    retried = _event(org, text_message("wamid.C", "z"), status="processing", attempts=1)
    for event in (dead, theirs, retried):
        _age(event, minutes=60)

    _sweep(django_capture_on_commit_callbacks)

    assert sorted((o, r, i) for o, _, _, _, r, i in _logs()) == sorted(
        [(org.pk, "webhook_event", str(dead.pk)), (other_org.pk, "webhook_event", str(theirs.pk))]
    )
    assert {log.details["reason"] for log in SystemLog.objects.all()} == {"its worker stopped"}


# --- deliveries -----------------------------------------------------------------------------------------------


def test_a_send_meta_refuses_is_logged_as_a_failed_delivery(agent_client, org, conversation, fake_meta):
    fake_meta.fail_next(131026)

    response = send(agent_client, conversation, TEXT)

    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == "failed"
    title = ERRORS[131026][0]
    assert _logs() == [
        (org.pk, "error", "delivery", f"A message could not be delivered: {title}", "message", str(message.pk))
    ]
    assert SystemLog.objects.get().details == {
        "reason": title,
        "error_code": 131026,
        "count": 1,
        "message_ids": [message.pk],
    }


def test_a_failed_status_from_meta_is_logged_and_a_repeat_is_not(client, org, numbers):
    payload = meta_payload("status_failed_undeliverable")
    wamid = payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    message = outbound(numbers[0], wamid)

    for _ in range(2):  # post_meta runs the after-commit work (the ingest, then the log)
        assert post_meta(client, org.pk, payload).status_code == 200

    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", 131026)
    assert _logs() == [
        (
            org.pk,
            "error",
            "delivery",
            "A message could not be delivered: Message Undeliverable",
            "message",
            str(message.pk),
        )
    ]


# --- numbers ------------------------------------------------------------------------------------------------------


def test_a_waha_session_changing_its_numbers_status_is_logged_once(client, org, fake_waha, admin_membership):
    number = waha_number(org, phone_number="+15551230000", status="pending")

    post_waha(client, org.pk, waha_payload("session_status_scan_qr_code"))  # pending, as it was: no news
    post_waha(client, org.pk, waha_payload("session_status"))  # WORKING: active
    failed = {**waha_payload("session_status"), "id": "evt_failed"}
    failed["payload"] = {**failed["payload"], "status": "FAILED"}
    post_waha(client, org.pk, failed)
    post_waha(client, org.pk, {**failed, "id": "evt_failed_again"})  # the same status again: no news

    number.refresh_from_db()
    assert [(level, message) for _, level, _, message, _, _ in _logs()] == [
        ("info", f"The WhatsApp number {number.phone_number} is now active: its WhatsApp Web session is WORKING."),
        (
            "error",
            f"The WhatsApp number {number.phone_number} is now disconnected: its WhatsApp Web session is FAILED.",
        ),
    ]
    assert {(t, i) for *_, t, i in _logs()} == {("whatsapp_number", str(number.pk))}
    # The admins' bells say so (once): the connection is failing.
    assert [(n.recipient_id, n.kind, title_of(n), n.link) for n in Notification.objects.all()] == [
        (
            admin_membership.user_id,
            "integration_failing",
            f"The WhatsApp number {number.phone_number} is disconnected",
            f"/settings/numbers/{number.pk}/",
        )
    ]


def _account_change(fake_meta, field: str, value: dict) -> None:
    change = {"value": value, "field": field}
    fake_meta.queue_webhook(
        {"object": "whatsapp_business_account", "entry": [{"id": DEFAULT_WABA_ID, "time": 1, "changes": [change]}]}
    )


def test_metas_quality_account_and_limit_news_about_the_numbers_is_logged(org, fake_meta, client, admin_membership):
    number = campaign_number(org)
    webhooks_through_the_endpoint(fake_meta, client, org)
    display = number.phone_number.lstrip("+")
    _account_change(
        fake_meta,
        "phone_number_quality_update",
        {"display_phone_number": display, "event": "FLAGGED", "current_limit": "TIER_2K"},
    )
    _account_change(
        fake_meta, "account_update", {"phone_number": display, "event": "ACCOUNT_RESTRICTION", "note": "x" * 900}
    )
    _account_change(fake_meta, "business_capability_update", {"max_daily_conversations_per_business": 10000})
    _account_change(fake_meta, "business_capability_update", {"max_daily_conversations_per_business": 10000})

    assert [response.status_code for response in deliver(fake_meta)] == [200] * 4

    assert [(level, message) for _, level, _, message, _, _ in _logs()] == [
        ("warning", f"Meta reported FLAGGED for the WhatsApp number +{display} (messaging limit: TIER_2K)."),
        ("error", f"Meta reported ACCOUNT_RESTRICTION for the WhatsApp Business Account {DEFAULT_WABA_ID}."),
        (
            "info",
            f"Meta set the messaging limit of the WhatsApp Business Account {DEFAULT_WABA_ID} to 10000 (1 numbers).",
        ),
    ]  # the same limit again changed nothing: no entry
    assert {category for _, _, category, *_ in _logs()} == {"integration"}
    assert all("x" * 50 not in str(log.details) for log in SystemLog.objects.all())  # nothing of Meta's free text
    # Only the restriction is bad news for the admins' bells.
    assert [(n.recipient_id, title_of(n)) for n in Notification.objects.all()] == [
        (admin_membership.user_id, f"Meta reported ACCOUNT_RESTRICTION for your WhatsApp account {DEFAULT_WABA_ID}")
    ]


def test_nothing_is_logged_for_an_ordinary_batch(client, org, numbers):
    post_meta(client, org.pk, text_message("wamid.OK", "hello"))
    assert WebhookEvent.objects.get().status == "processed"
    assert timezone.now() - timedelta(minutes=1) < Message.objects.get().created_at
    assert not SystemLog.objects.exists()
