"""Durability of the webhook inbox: a failing event is kept, retried by the sweeper and, after
WebhookEvent.MAX_ATTEMPTS failures, dead until replayed (service or admin action); a poison event does not
hold up its batch; events left pending or stuck in processing are queued again."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from messaging.models import Message, WebhookEvent
from messaging.services import ingest
from messaging.services.ingest import meta as ingest_meta
from messaging.services.ingest import processor
from tests.factories import UserFactory
from tests.messaging.ingest_support import meta_bytes, sha256_hex, text_message

POISON = "wamid.POISON"


@pytest.fixture
def poison(monkeypatch):
    """Processing a message with the id POISON raises (think: a bug met by one odd payload)."""
    real = ingest_meta._meta_content

    def content(message: dict):
        if message.get("id") == POISON:
            raise RuntimeError("cannot handle this payload")
        return real(message)

    monkeypatch.setattr(ingest_meta, "_meta_content", content)
    return monkeypatch


def _event(org, payload: dict, **fields) -> WebhookEvent:
    return WebhookEvent.objects.create(
        organization=org, source="meta", body=payload, dedupe_key=sha256_hex(meta_bytes(payload)), **fields
    )


def _age(event: WebhookEvent, *, minutes: int) -> None:
    past = timezone.now() - timedelta(minutes=minutes)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=past, claimed_at=past)


def _sweep(django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return ingest.webhook_events_sweep()


# --- failures ---------------------------------------------------------------------------------------------------


def test_a_processing_failure_leaves_the_event_failed_and_retryable(org, numbers, poison):
    event = _event(org, text_message(POISON, "hello"))

    assert ingest.webhook_events_process_batch() == 1

    event.refresh_from_db()
    assert (event.status, event.attempts, event.processed_at) == ("failed", 1, None)
    assert "RuntimeError: cannot handle this payload" in event.last_error
    assert Message.objects.count() == 0


def test_a_poison_event_does_not_block_the_others_of_its_batch(org, numbers, poison):
    before = _event(org, text_message("wamid.BEFORE", "first", wa_id="16505550001"))
    bad = _event(org, text_message(POISON, "boom", wa_id="16505550002"))
    after = _event(org, text_message("wamid.AFTER", "third", wa_id="16505550003"))

    assert ingest.webhook_events_process_batch() == 3

    statuses = dict(WebhookEvent.objects.values_list("pk", "status"))
    assert statuses == {before.pk: "processed", bad.pk: "failed", after.pk: "processed"}
    assert sorted(Message.objects.values_list("provider_message_id", flat=True)) == ["wamid.AFTER", "wamid.BEFORE"]


def test_a_failed_event_is_retried_by_the_sweeper_once_a_minute_has_passed(
    org, numbers, poison, django_capture_on_commit_callbacks
):
    event = _event(org, text_message(POISON, "hello"))
    ingest.webhook_events_process_batch()

    assert _sweep(django_capture_on_commit_callbacks) == 0  # failed just now: not yet
    event.refresh_from_db()
    assert event.status == "failed"

    poison.undo()  # the bug is fixed
    _age(event, minutes=2)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 2)  # the failed attempt and the one that went through
    assert Message.objects.get().provider_message_id == POISON


def test_an_event_failing_max_attempts_times_is_dead_and_the_sweeper_leaves_it(
    org, numbers, poison, django_capture_on_commit_callbacks
):
    event = _event(org, text_message(POISON, "hello"))
    ingest.webhook_events_process_batch()
    for _ in range(WebhookEvent.MAX_ATTEMPTS - 1):
        _age(event, minutes=2)
        _sweep(django_capture_on_commit_callbacks)

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("dead", WebhookEvent.MAX_ATTEMPTS)

    _age(event, minutes=2)
    assert _sweep(django_capture_on_commit_callbacks) == 0
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("dead", WebhookEvent.MAX_ATTEMPTS)


def test_replay_brings_a_dead_event_back_and_it_is_processed(org, numbers, poison, django_capture_on_commit_callbacks):
    event = _event(org, text_message(POISON, "hello"), status="dead", attempts=WebhookEvent.MAX_ATTEMPTS)
    done = _event(org, text_message("wamid.DONE", "ok", wa_id="16505550009"), status="processed")
    poison.undo()

    with django_capture_on_commit_callbacks(execute=True):
        replayed = ingest.webhook_events_replay(events=WebhookEvent.objects.filter(pk__in=[event.pk, done.pk]))

    assert replayed == 1
    event.refresh_from_db()
    done.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("processed", 1, "")  # counted afresh
    assert done.status == "processed"
    assert Message.objects.get().provider_message_id == POISON  # the processed one was not run again


def test_the_admin_replay_action_requeues_dead_events(client, org, numbers, django_capture_on_commit_callbacks):
    event = _event(org, text_message("wamid.LATE", "hello"), status="dead", attempts=5, last_error="boom")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:messaging_webhookevent_changelist"),
            {"action": "replay", "_selected_action": [event.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert "1 event(s) queued again." in [str(m) for m in response.context["messages"]]
    event.refresh_from_db()
    assert event.status == "processed"
    assert Message.objects.get().text == "hello"


# --- the sweeper ------------------------------------------------------------------------------------------------


def test_the_sweeper_requeues_an_event_stuck_in_processing(org, numbers, django_capture_on_commit_callbacks):
    stuck = _event(org, text_message("wamid.STUCK", "hello"), status="processing", attempts=1)  # its worker died
    limit = int(ingest.interrupted_after().total_seconds() // 60)  # its task's hard time limit
    _age(stuck, minutes=limit - 1)
    assert _sweep(django_capture_on_commit_callbacks) == 0  # its drain could still be running

    _age(stuck, minutes=limit + 1)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == ("processed", 2)
    assert Message.objects.get().provider_message_id == "wamid.STUCK"


def test_the_sweeper_leaves_an_event_being_processed_right_now(org, numbers, django_capture_on_commit_callbacks):
    busy = _event(org, text_message("wamid.BUSY", "hello"), status="processing", claimed_at=timezone.now())

    assert _sweep(django_capture_on_commit_callbacks) == 0

    busy.refresh_from_db()
    assert busy.status == "processing"


def test_the_sweeper_queues_events_left_pending_while_the_broker_was_down(
    org, numbers, django_capture_on_commit_callbacks
):
    waiting = _event(org, text_message("wamid.WAITING", "hello"))
    _age(waiting, minutes=2)
    cache.add(ingest.SCHEDULED_KEY, 1)  # a task was "queued", then lost with the broker

    _sweep(django_capture_on_commit_callbacks)

    waiting.refresh_from_db()
    assert waiting.status == "processed"


def test_while_a_processor_is_queued_no_other_one_is(org, numbers, django_capture_on_commit_callbacks):
    cache.add(ingest.SCHEDULED_KEY, 1)
    event = _event(org, text_message("wamid.QUEUED", "hello"))

    with django_capture_on_commit_callbacks(execute=True):
        ingest.webhook_events_schedule()
    event.refresh_from_db()
    assert event.status == "pending"  # the queued task will take it

    assert ingest.webhook_events_drain() == 1
    event.refresh_from_db()
    assert event.status == "processed"
    assert cache.get(ingest.SCHEDULED_KEY) is None


def test_a_claimed_event_is_not_claimed_twice(org, numbers):
    _event(org, text_message("wamid.ONCE", "hello"))

    assert ingest.webhook_events_process_batch() == 1
    assert ingest.webhook_events_process_batch() == 0
    assert Message.objects.count() == 1


def test_events_are_claimed_oldest_first_in_batches(org, numbers):
    events = [_event(org, text_message(f"wamid.N{n}", f"m{n}", wa_id=f"1650555{n:04d}")) for n in range(5)]

    assert ingest.webhook_events_process_batch(limit=3) == 3

    processed = set(WebhookEvent.objects.filter(status="processed").values_list("pk", flat=True))
    assert processed == {event.pk for event in events[:3]}


def test_a_lingering_drain_takes_every_batch_then_frees_the_queue_flag(org, numbers):
    cache.add(ingest.SCHEDULED_KEY, 1)  # set by the webhook that queued this run
    for n in range(5):
        _event(org, text_message(f"wamid.L{n}", f"m{n}", wa_id=f"1650555{n:04d}"))

    assert ingest.webhook_events_drain(batch_size=2, linger=0.001) == 5

    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert cache.get(ingest.SCHEDULED_KEY) is None


# --- drains in parallel -----------------------------------------------------------------------------------------


def _helper_key(slot: int) -> str:
    return f"{ingest.SCHEDULED_KEY}:{slot}"


def test_a_full_batch_queues_a_drain_in_the_next_free_slot_which_stops_with_the_backlog(org, numbers):
    for n in range(5):
        _event(org, text_message(f"wamid.P{n}", f"m{n}", wa_id=f"1650555{n:04d}"))

    # Its first batch is full: a helper is queued in slot 1 (inline here, it takes the other three at once).
    assert ingest.webhook_events_drain(drains=2, batch_size=2) == 2

    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Message.objects.count() == 5
    assert (cache.get(ingest.SCHEDULED_KEY), cache.get(_helper_key(1))) == (None, None)


def test_no_helper_is_queued_while_every_slot_runs(org, numbers):
    cache.add(_helper_key(1), 1)  # slot 1's drain is running
    for n in range(5):
        _event(org, text_message(f"wamid.Q{n}", f"m{n}", wa_id=f"1650555{n:04d}"))

    assert ingest.webhook_events_drain(drains=2, batch_size=2) == 5  # every batch its own

    assert cache.get(_helper_key(1)) == 1
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_one_drain_alone_queues_no_helper(org, numbers):
    for n in range(5):
        _event(org, text_message(f"wamid.S{n}", f"m{n}", wa_id=f"1650555{n:04d}"))

    assert ingest.webhook_events_drain(batch_size=2) == 5  # every batch its own: no helper took any


def test_a_helper_drain_stops_at_the_first_batch_that_is_not_full(org, numbers):
    cache.add(_helper_key(1), 1)  # set when it was queued
    for n in range(3):
        _event(org, text_message(f"wamid.H{n}", f"m{n}", wa_id=f"1650555{n:04d}"))

    assert ingest.webhook_events_drain(slot=1, batch_size=2, linger=5) == 3  # 2, then 1: no lingering

    assert cache.get(_helper_key(1)) is None
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_drain_lingers_only_after_a_batch_that_shows_load(org, numbers, monkeypatch):
    naps = []
    monkeypatch.setattr(processor.time, "sleep", naps.append)
    cache.add(ingest.SCHEDULED_KEY, 1)
    _event(org, text_message("wamid.Q0", "m0", wa_id="16505559000"))

    assert ingest.webhook_events_drain(linger=0.25) == 1  # one event: no load, no waiting
    assert naps == []

    cache.add(ingest.SCHEDULED_KEY, 1)
    for n in range(processor.LINGER_AFTER):
        _event(org, text_message(f"wamid.Q{n + 1}", f"m{n}", wa_id=f"1650555{n + 1:04d}"))
    assert ingest.webhook_events_drain(linger=0.25) == processor.LINGER_AFTER
    assert naps == [0.25]  # then the next claim found nothing
