"""The delivery sweeper: outbound messages left `queued` (the task was never queued, its worker died mid-send, a retry
was lost) are delivered again once their grace is over, exactly once through the fake Graph API, or failed with a
clear title once out of attempts; what is still being delivered, or was confirmed by Meta's status, is left alone."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

from messaging.models import Message
from messaging.services import conversations as services
from messaging.services.retries import BACKOFF_MAX_SECONDS, MAX_ATTEMPTS, UNCLAIMED_GRACE, RetryLater
from tests.messaging.factories import MessageFactory
from tests.messaging.inbox_support import (
    cloud_number,
    deliver_meta_webhooks,
    messages_url,
    open_conversation,
    send,
    waha_number,
)
from whatsapp_hub.celery import app as celery_app

TEXT = {"type": "text", "text": "Your order ships today"}
SECOND = timedelta(seconds=1)


def _queued(conversation, **fields) -> Message:
    """An outbound text left queued: never claimed (attempts=0), or claimed by an attempt that never finished."""
    part = {"type": "text", "text": {"body": "Hello"}}
    defaults = {"direction": "outbound", "status": "queued", "provider_message_id": None, "payload": part}
    return MessageFactory(organization=conversation.organization, conversation=conversation, **{**defaults, **fields})


def _interrupted(conversation, *, attempts: int = 1) -> Message:
    """A message whose attempt `attempts` was claimed now and never finished (its worker died before Meta took it)."""
    return _queued(conversation, attempts=attempts, attempted_at=timezone.now())


def _sweep(django_capture_on_commit_callbacks, **kwargs) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return services.message_deliveries_sweep(**kwargs)


def _shown(client, conversation, message: Message) -> dict:
    [row] = [row for row in client.get(messages_url(conversation)).json()["results"] if row["id"] == message.pk]
    return row


# --- the two stuck cases ------------------------------------------------------------------------------------


def test_a_message_whose_task_was_never_queued_is_delivered_after_the_grace(
    frozen, agent_client, conversation, fake_meta, django_capture_on_commit_callbacks
):
    # The request's after-commit callbacks are not run: as when the broker was down at commit.
    response = agent_client.post(messages_url(conversation), TEXT, format="json")
    assert response.status_code == 202, response.json()
    message = Message.objects.get(pk=response.json()["id"])
    assert (message.status, message.attempts, message.attempted_at) == ("queued", 0, None)

    frozen.shift(UNCLAIMED_GRACE)
    assert _sweep(django_capture_on_commit_callbacks) == 0
    assert fake_meta.requests == []

    frozen.shift(SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    [wamid] = fake_meta.sent
    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.attempts) == ("sent", wamid, 1)
    assert message.attempted_at == timezone.now()
    assert fake_meta.sends() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": conversation.contact.phone,
            "type": "text",
            "text": {"body": "Your order ships today"},
            "biz_opaque_callback_data": f"msg:{message.pk}",
        }
    ]


def test_an_interrupted_attempt_is_sent_again_as_the_next_attempt_after_the_grace(
    frozen, conversation, fake_meta, django_capture_on_commit_callbacks
):
    message = _interrupted(conversation)

    frozen.shift(services.claimed_grace())
    assert _sweep(django_capture_on_commit_callbacks) == 0
    assert fake_meta.requests == []

    frozen.shift(SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    [wamid] = fake_meta.sent
    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.attempts) == ("sent", wamid, 2)
    assert len(fake_meta.sends()) == 1
    assert fake_meta.last_send()["biz_opaque_callback_data"] == f"msg:{message.pk}"


def test_a_redelivered_attempt_retries_from_the_attempt_the_sweeper_gave_it(
    frozen, conversation, fake_meta, django_capture_on_commit_callbacks
):
    message = _interrupted(conversation, attempts=2)
    fake_meta.fail_next(130429)

    frozen.shift(services.claimed_grace() + SECOND)
    _sweep(django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 4)  # attempt 3 throttled, attempt 4 accepted
    assert len(fake_meta.sends()) == 2


def test_the_last_attempt_queued_by_the_sweeper_fails_on_a_retryable_error(
    frozen, conversation, fake_meta, django_capture_on_commit_callbacks
):
    message = _interrupted(conversation, attempts=MAX_ATTEMPTS - 1)
    fake_meta.fail_next(130429)

    frozen.shift(services.claimed_grace() + SECOND)
    _sweep(django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code) == ("failed", MAX_ATTEMPTS, 130429)
    assert len(fake_meta.sends()) == 1


# --- left alone ---------------------------------------------------------------------------------------------


def test_a_message_waiting_for_its_scheduled_retry_is_left_alone(
    frozen, conversation, fake_meta, django_capture_on_commit_callbacks
):
    message = _queued(conversation, created_at=timezone.now() - timedelta(hours=1))  # stored long before its send
    fake_meta.fail_next(130429)
    with pytest.raises(RetryLater):
        services.message_deliver(organization_id=message.organization_id, message_id=message.pk, attempt=1)

    # The longest a scheduled retry waits: the attempt's time limit, then the longest backoff.
    frozen.shift(timedelta(seconds=django_settings.CELERY_TASK_TIME_LIMIT + BACKOFF_MAX_SECONDS))
    assert _sweep(django_capture_on_commit_callbacks) == 0
    # the retry runs
    services.message_deliver(organization_id=message.organization_id, message_id=message.pk, attempt=2)

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(fake_meta.sends()) == 2
    frozen.shift(services.claimed_grace() + SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 0
    assert len(fake_meta.sends()) == 2


def test_a_message_meta_accepted_before_the_worker_died_leaves_queued_through_its_status_and_is_not_sent_again(
    frozen, client, org, agent_client, number, conversation, fake_meta, django_capture_on_commit_callbacks
):
    message = Message.objects.get(pk=send(agent_client, conversation, TEXT).json()["id"])
    [wamid] = fake_meta.sent
    # The worker died after Meta's answer, before storing it.
    Message.objects.filter(pk=message.pk).update(status="queued", provider_message_id=None)

    deliver_meta_webhooks(client, fake_meta, org, number)
    frozen.shift(services.claimed_grace() + SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 0

    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.attempts) == ("read", wamid, 1)
    assert len(fake_meta.sends()) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "sent", "provider_message_id": "wamid.SENT"},
        {"status": "failed", "error_code": 131026},
        {"provider_message_id": "wamid.ANSWERED"},  # the answer stored, the status not moved yet
        {"direction": "inbound", "status": "received", "provider_message_id": "wamid.IN"},
    ],
)
def test_messages_not_waiting_for_a_send_are_left_alone(
    fields, frozen, conversation, fake_meta, django_capture_on_commit_callbacks
):
    message = _queued(conversation, **fields)
    frozen.shift(timedelta(days=1))

    assert _sweep(django_capture_on_commit_callbacks) == 0

    assert fake_meta.requests == []
    refreshed = Message.objects.get(pk=message.pk)
    assert (refreshed.status, refreshed.attempts, refreshed.attempted_at) == (message.status, 0, None)


# --- out of attempts ----------------------------------------------------------------------------------------


def test_an_interrupted_last_attempt_fails_the_message_with_a_clear_title(
    frozen, agent_client, conversation, fake_meta, changes, django_capture_on_commit_callbacks
):
    message = _interrupted(conversation, attempts=MAX_ATTEMPTS)

    frozen.shift(services.claimed_grace() + SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    assert fake_meta.requests == []
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_title, message.attempts) == (
        "failed",
        None,
        "Delivery was interrupted and could not be confirmed; send it again.",
        MAX_ATTEMPTS,
    )
    assert changes == [[(message.pk, "failed", None)]]
    row = _shown(agent_client, conversation, message)
    assert (row["status"], row["error_code"], row["error_title"], row["provider_message_id"]) == (
        "failed",
        None,
        "Delivery was interrupted and could not be confirmed; send it again.",
        None,
    )


def test_an_interrupted_whatsapp_web_send_is_failed_not_repeated(
    frozen, org, fake_waha, django_capture_on_commit_callbacks
):
    # WAHA echoes no callback data: what it may have sent is never confirmed.
    fake_waha.add_session("default")
    conversation = open_conversation(org, number=waha_number(org))
    interrupted = _interrupted(conversation)
    never_claimed = _queued(conversation)

    frozen.shift(services.claimed_grace() + SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 2

    interrupted.refresh_from_db()
    never_claimed.refresh_from_db()
    assert (interrupted.status, interrupted.error_title) == ("failed", services.INTERRUPTED_WAHA_TITLE)
    assert (never_claimed.status, never_claimed.attempts) == ("sent", 1)
    assert fake_waha.sends() == [
        {"session": "default", "chatId": f"{conversation.contact.wa_id}@c.us", "text": "Hello", "linkPreview": False}
    ]


# --- concurrency, batches, organizations --------------------------------------------------------------------


def test_sweeping_twice_sends_once(frozen, conversation, fake_meta, django_capture_on_commit_callbacks):
    never_claimed = _queued(conversation)
    interrupted = _interrupted(conversation)
    frozen.shift(services.claimed_grace() + SECOND)

    with django_capture_on_commit_callbacks() as first:
        assert services.message_deliveries_sweep() == 2
    with django_capture_on_commit_callbacks() as second:
        assert services.message_deliveries_sweep() == 0  # stamped by the first: it waits a grace again
    assert second == []
    for queue_deliveries in first + first:  # and were the first sweep's tasks queued twice
        queue_deliveries()

    assert len(fake_meta.sends()) == 2
    never_claimed.refresh_from_db()
    interrupted.refresh_from_db()
    assert (never_claimed.status, never_claimed.attempts) == ("sent", 1)
    assert (interrupted.status, interrupted.attempts) == ("sent", 2)


def test_a_lost_redelivery_is_queued_again_after_another_grace(
    frozen, conversation, fake_meta, django_capture_on_commit_callbacks
):
    message = _queued(conversation)
    frozen.shift(UNCLAIMED_GRACE + SECOND)
    with django_capture_on_commit_callbacks():  # the tasks it queues are lost
        assert services.message_deliveries_sweep() == 1

    frozen.shift(UNCLAIMED_GRACE)
    assert _sweep(django_capture_on_commit_callbacks) == 0
    frozen.shift(SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert len(fake_meta.sends()) == 1


def test_a_sweep_takes_a_bounded_batch_oldest_first(
    frozen, conversation, fake_meta, django_capture_on_commit_callbacks
):
    messages = [_queued(conversation) for _ in range(3)]
    frozen.shift(UNCLAIMED_GRACE + SECOND)

    assert _sweep(django_capture_on_commit_callbacks, limit=2) == 2
    assert [Message.objects.get(pk=message.pk).status for message in messages] == ["sent", "sent", "queued"]
    assert _sweep(django_capture_on_commit_callbacks, limit=2) == 1
    assert len(fake_meta.sends()) == 3


def test_each_organizations_messages_are_delivered_through_its_own_number_and_others_untouched(
    frozen, org, other_org, conversation, fake_meta, django_capture_on_commit_callbacks
):
    their_number = cloud_number(other_org)
    theirs = open_conversation(other_org, number=their_number)
    fake_meta.open_window(theirs.contact.wa_id, phone_number_id=their_number.phone_number_id)
    ours_stuck = _queued(conversation)
    theirs_stuck = _queued(theirs)
    frozen.shift(UNCLAIMED_GRACE + SECOND)
    theirs_fresh = _queued(theirs)
    theirs_sent = _queued(theirs, status="sent", provider_message_id="wamid.THEIRS")

    assert _sweep(django_capture_on_commit_callbacks) == 2

    assert [(r.path.split("/")[-2], r.json["to"]) for r in fake_meta.find_requests(path_endswith="/messages")] == [
        (conversation.number.phone_number_id, conversation.contact.phone),
        (their_number.phone_number_id, theirs.contact.phone),
    ]
    for message, organization in ((ours_stuck, org), (theirs_stuck, other_org)):
        message.refresh_from_db()
        assert (message.organization_id, message.status, message.attempts) == (organization.pk, "sent", 1)
    for message in (theirs_fresh, theirs_sent):
        refreshed = Message.objects.get(pk=message.pk)
        assert (refreshed.status, refreshed.attempts, refreshed.attempted_at) == (message.status, 0, None)


@pytest.mark.django_db(transaction=True)
def test_a_message_locked_by_a_delivery_is_skipped_not_waited_for(conversation, fake_meta):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks: its writers are serialised")
    long_ago = timezone.now() - timedelta(hours=1)
    held = _queued(conversation, created_at=long_ago)
    free = _queued(conversation, created_at=long_ago)
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                list(Message.objects.select_for_update().filter(pk=held.pk))
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        assert services.message_deliveries_sweep() == 1
    finally:
        release.set()
        holder.join()

    assert [Message.objects.get(pk=pk).status for pk in (held.pk, free.pk)] == ["queued", "sent"]
    assert services.message_deliveries_sweep() == 1
    assert Message.objects.get(pk=held.pk).status == "sent"
    assert len(fake_meta.sends()) == 2


# --- beat -----------------------------------------------------------------------------------------------------


def test_beat_runs_the_sweeper_every_minute(frozen, conversation, fake_meta, django_capture_on_commit_callbacks):
    entry = django_settings.CELERY_BEAT_SCHEDULE["messaging-delivery-sweeper"]
    message = _queued(conversation)
    frozen.shift(UNCLAIMED_GRACE + SECOND)

    with django_capture_on_commit_callbacks(execute=True):
        assert celery_app.tasks[entry["task"]].delay().get() == 1

    message.refresh_from_db()
    assert message.status == "sent"
