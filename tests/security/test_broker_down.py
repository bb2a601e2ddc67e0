"""Enqueues that survive the broker: with Redis down, what is committed is answered as committed (a send is 202
queued, a webhook 200), the after-commit work registered after a failing enqueue still runs (a batch's pushes and
hooks), and the sweepers deliver, ingest and fetch it once the broker is back, exactly once. And beat's runs
expire, so workers back from an outage run one sweep, not the pile queued meanwhile.

The broker fails for real: Celery publishes (not inline) to a 127.0.0.1 port where nothing listens, without
publish or connection retries, so kombu raises its OperationalError from delay()/apply_async()."""

import socket
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.beat import ScheduleEntry, Scheduler
from django.conf import settings as django_settings
from django.test import TestCase
from django.utils import timezone

from messaging import hooks
from messaging.models import Media, Message, WebhookEvent
from messaging.services import conversations as conversation_services
from messaging.services import ingest
from messaging.services import media as media_services
from messaging.services.ingest.processor import STALE_AFTER
from messaging.services.retries import UNCLAIMED_GRACE
from tests.fakes import django_client_target
from tests.messaging.inbox_support import JPEG, cloud_number, listen_to_inbox, messages_url, open_conversation, send
from tests.messaging.ingest_support import post_meta, text_message
from whatsapp_hub.celery import app as celery_app

SECOND = timedelta(seconds=1)
CUSTOMER = "966501234567"


@contextmanager
def _celery_publishing_to(url: str, **options):
    """Tasks are published to `url` (not run inline) until the block ends; then inline again, as in every test."""
    conf = celery_app.conf
    names = ("task_always_eager", "broker_url", "task_publish_retry", "broker_transport_options")
    saved = {name: getattr(conf, name) for name in names}
    conf.update(task_always_eager=False, broker_url=url, **options)
    _forget_connections()
    try:
        yield
    finally:
        conf.update(saved)
        _forget_connections()


def _forget_connections() -> None:
    """The app keeps the pools of its broker connections and producers once made: the next publish (even an
    inline one acquires a producer) takes those of the broker configured now (kombu keeps one pool per broker)."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """A context manager: inside it the broker is down (every enqueue raises); after it, it is back."""

    @contextmanager
    def down():
        with socket.socket() as reserved:
            reserved.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
            url = f"redis://127.0.0.1:{reserved.getsockname()[1]}/0"
            transport = {**celery_app.conf.broker_transport_options, "max_retries": 0}
            with _celery_publishing_to(url, task_publish_retry=False, broker_transport_options=transport):
                yield

    return down


def _failed_enqueues(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "whatsapp_hub.aftercommit"]


def test_the_broker_really_fails_inside_the_fixture(broker_down):
    with broker_down(), pytest.raises(Exception) as raised:
        celery_app.tasks["messaging.tasks.ingest.sweep_webhook_events"].delay()

    assert type(raised.value).__module__ == "kombu.exceptions"
    assert type(raised.value).__name__ == "OperationalError"


# --- sends ----------------------------------------------------------------------------------------------------


@pytest.mark.after_commit_failures
def test_a_send_answers_202_queued_while_the_broker_is_down_and_the_sweeper_delivers_it_once(
    frozen, org, agent_client, fake_meta, broker_down, caplog, django_capture_on_commit_callbacks
):
    conversation = open_conversation(org, number=cloud_number(org))
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=conversation.number.phone_number_id)
    live = listen_to_inbox(org.pk)

    with broker_down():
        response = send(agent_client, conversation, {"type": "text", "text": "Your order ships today"})

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert [event["event"] for event in live(2)] == ["message.created", "conversation.updated"]
    assert _failed_enqueues(caplog) == [
        "after-commit work failed (enqueue messaging.tasks.delivery.deliver_message); the sweepers take it up"
    ]
    message = Message.objects.get(pk=response.json()["id"])
    assert (message.status, message.attempts) == ("queued", 0)
    assert fake_meta.requests == []

    frozen.shift(UNCLAIMED_GRACE + SECOND)  # the broker is back
    with django_capture_on_commit_callbacks(execute=True):
        assert conversation_services.message_deliveries_sweep() == 1
    [row] = agent_client.get(messages_url(conversation)).json()["results"]
    assert (row["id"], row["status"]) == (message.pk, "sent")
    frozen.shift(timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert conversation_services.message_deliveries_sweep() == 0

    [wamid] = fake_meta.sent
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 1, wamid)
    assert [send["text"] for send in fake_meta.sends()] == [{"body": "Your order ships today"}]


# --- webhooks -------------------------------------------------------------------------------------------------


def test_a_webhook_while_the_broker_is_down_is_acknowledged_and_the_sweeper_ingests_it(
    frozen, client, org, broker_down, caplog, django_capture_on_commit_callbacks
):
    cloud_number(org, phone_number_id="106540352242922", app_secret="test-app-secret")

    with broker_down():
        response = post_meta(client, org.pk, text_message("wamid.WHILE-DOWN", "Anyone there?"))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("pending", 0)
    assert "webhook processing not queued" in caplog.text
    assert Message.objects.count() == 0

    frozen.shift(STALE_AFTER + SECOND)  # the broker is back
    with django_capture_on_commit_callbacks(execute=True):
        ingest.webhook_events_sweep()

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)
    assert list(Message.objects.values_list("provider_message_id", "text")) == [("wamid.WHILE-DOWN", "Anyone there?")]


@pytest.mark.after_commit_failures
def test_a_batch_ingested_while_the_broker_is_down_still_pushes_and_calls_its_hooks_and_its_media_is_fetched_later(
    frozen, client, org, fake_meta, broker_down, caplog, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    number = cloud_number(org)
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = number.app_secret
    image = {"type": "image", "image": {"caption": "the receipt"}}
    fake_meta.send_inbound(CUSTOMER, image, media=JPEG, phone_number_id=number.phone_number_id)
    fake_meta.send_inbound(CUSTOMER, text="and my order number is 42", phone_number_id=number.phone_number_id)
    received: list[tuple[int, list[int]]] = []

    def on_received(organization_id, message_ids):
        received.append((organization_id, message_ids))

    hooks.message_received.connect(on_received)
    live = listen_to_inbox(org.pk)
    try:
        with broker_down():
            with TestCase.captureOnCommitCallbacks(execute=True):
                [response] = fake_meta.deliver_webhooks(batch=True)
            assert response.status_code == 200
            assert WebhookEvent.objects.get().status == "pending"  # its processor could not be queued
            # A worker whose broker went away drains the queue: the batch's media fetch cannot be queued.
            with django_capture_on_commit_callbacks(execute=True):
                assert ingest.webhook_events_drain() == 1
    finally:
        hooks.message_received.disconnect(on_received)

    image, text = Message.objects.order_by("provider_timestamp", "id")
    assert [(m.type, m.text) for m in (image, text)] == [
        ("image", "the receipt"),
        ("text", "and my order number is 42"),
    ]
    assert _failed_enqueues(caplog) == [
        "after-commit work failed (enqueue messaging.tasks.media.fetch_inbound_media); the sweepers take it up"
    ]
    assert received == [(org.pk, [image.pk, text.pk])]
    created, conversation_updated = live(2)
    assert [m["id"] for m in created["data"]["messages"]] == [image.pk, text.pk]
    assert [c["unread_count"] for c in conversation_updated["data"]["conversations"]] == [2]
    media = Media.objects.get()
    assert (media.status, media.attempts) == ("pending", 0)

    frozen.shift(UNCLAIMED_GRACE + SECOND)  # the broker is back
    with django_capture_on_commit_callbacks(execute=True):
        assert media_services.media_fetches_sweep() == 1

    media.refresh_from_db()
    assert (media.status, media.attempts, media.file.read()) == ("ready", 1, JPEG)
    assert len(fake_meta.find_requests(method="GET", path="/whatsapp_business/attachments/")) == 1


# --- beat after an outage ---------------------------------------------------------------------------------------


def test_beat_publishes_each_run_with_its_expiry(frozen):
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    with _celery_publishing_to("memory://"), celery_app.connection_for_write() as connection:
        queue = connection.SimpleQueue("celery")
        scheduler = Scheduler(app=celery_app, lazy=True)
        for name, options in schedule.items():
            scheduler.apply_async(ScheduleEntry(name=name, app=celery_app, **options), producer=connection.Producer())
        published = [queue.get(timeout=1) for _ in schedule]
        queue.close()

    assert [(message.headers["task"], message.headers["expires"]) for message in published] == [
        (entry["task"], (timezone.now() + timedelta(seconds=entry["options"]["expires"])).isoformat())
        for entry in schedule.values()
    ]
