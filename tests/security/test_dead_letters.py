"""Dead letters for every failure, crashes included: a worker killed mid-task (out of memory, a crash, its hard time
limit) runs no except block, so the attempt is counted when the work is claimed. Webhook events left in processing
come back one at a time, and the one that keeps killing its worker is dead after WebhookEvent.MAX_ATTEMPTS while the
rest of its batch goes through; a download or a delivery whose worker died is counted, its redelivered task (Celery's
task_reject_on_worker_lost) does nothing, and the sweepers end it after MAX_ATTEMPTS.

Crashes are real where it matters: a worker process (Python with Django, on the test database) is killed with
SIGKILL in the middle of its work, and the test looks at the rows it left. The lifecycle tests raise WorkerKilled, a
BaseException no except block of ours catches, at the same point: the claim is committed, the open transaction rolls
back (as PostgreSQL rolls back a dropped connection's), and nothing else runs."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.utils import timezone

from messaging.models import Conversation, Media, Message, WebhookEvent
from messaging.services import conversations as conversation_services
from messaging.services import ingest
from messaging.services import media as media_services
from messaging.services.ingest import meta as ingest_meta
from messaging.services.retries import attempt_grace
from messaging.tasks.delivery import deliver_message
from messaging.tasks.media import fetch_inbound_media
from tests.messaging.factories import ContactFactory, MessageFactory
from tests.messaging.inbox_support import JPEG, cloud_number, inbound_media, open_conversation
from tests.messaging.ingest_support import cloud_numbers, meta_bytes, sha256_hex, text_message

ROOT = Path(__file__).resolve().parents[2]
KILLER = "wamid.KILLS-ITS-WORKER"
MINUTE = timedelta(minutes=1)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a second process needs a shared database (the SQLite one is in memory)"
)


class WorkerKilled(BaseException):
    """The worker process dies here: no `except Exception` of ours catches it."""


@pytest.fixture
def killer(monkeypatch):
    """Processing the message with the id KILLER kills its worker, every time (think: a payload that runs it out
    of memory)."""
    real = ingest_meta._meta_content

    def content(message: dict):
        if message.get("id") == KILLER:
            raise WorkerKilled
        return real(message)

    monkeypatch.setattr(ingest_meta, "_meta_content", content)


def _event(org, payload: dict) -> WebhookEvent:
    return WebhookEvent.objects.create(
        organization=org, source="meta", body=payload, dedupe_key=sha256_hex(meta_bytes(payload))
    )


def _rows(*events: WebhookEvent) -> list[tuple[str, int]]:
    return [tuple(WebhookEvent.objects.values_list("status", "attempts").get(pk=event.pk)) for event in events]


def _age() -> None:
    """Everything happened long enough ago for the sweeper to know a claimed event's worker died."""
    past = timezone.now() - ingest.interrupted_after() - MINUTE
    WebhookEvent.objects.update(received_at=past, claimed_at=past)


def _worker(code: str, **env: str) -> subprocess.Popen:
    """A worker process: Python with Django set up on the test database (tasks inline), running `code`."""
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "whatsapp_hub.settings",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_POOL": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        **env,
    }
    script = f"import django\ndjango.setup()\n{code}"
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _kill_when(worker: subprocess.Popen, condition: Callable[[], bool], *, timeout: float = 60) -> None:
    """SIGKILL the worker as soon as `condition()` holds (checked from the test's process)."""
    deadline = time.monotonic() + timeout
    try:
        while not condition():
            if worker.poll() is not None:
                pytest.fail(f"the worker exited ({worker.returncode}) before it was killed:\n{worker.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail("the worker never reached the point where it is killed")
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        worker.stdout.close()
        worker.stderr.close()
    assert worker.returncode == -signal.SIGKILL


def _downloads(fake_meta) -> list:
    return fake_meta.find_requests(method="GET", path="/whatsapp_business/attachments/")


def _waiting_for_a_lock() -> bool:
    """Some session of the test database waits for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


# --- webhook events -----------------------------------------------------------------------------------------------


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_the_attempt_counted_and_the_batch_comes_back_one_event_at_a_time(org):
    cloud_numbers(org)
    events = [_event(org, text_message(f"wamid.K{n}", f"m{n}", wa_id=f"1650555000{n}")) for n in range(3)]
    busy = ContactFactory(organization=org, wa_id="16505550001")

    worker = _worker("from messaging.services import ingest\ningest.webhook_events_drain()")
    with transaction.atomic():
        # The batch's writes wait for this contact: the worker is killed in the middle of its transaction.
        list(type(busy).objects.select_for_update().filter(pk=busy.pk))
        _kill_when(
            worker, lambda: WebhookEvent.objects.filter(status="processing").count() == 3 and _waiting_for_a_lock()
        )

    assert _rows(*events) == [("processing", 1)] * 3
    assert Message.objects.count() == 0

    _age()
    assert ingest.webhook_events_sweep() == 3  # back to pending, and the processor queued (run inline here)

    assert _rows(*events) == [("processed", 2)] * 3
    assert WebhookEvent.objects.values("claimed_at").distinct().count() == 3  # claimed one at a time
    assert sorted(Message.objects.values_list("provider_message_id", flat=True)) == ["wamid.K0", "wamid.K1", "wamid.K2"]
    assert list(Conversation.objects.values_list("unread_count", flat=True)) == [1, 1, 1]


def test_an_event_that_kills_its_worker_every_time_is_dead_after_max_attempts_and_the_rest_goes_through(
    org, killer, django_capture_on_commit_callbacks
):
    cloud_numbers(org)
    before = _event(org, text_message("wamid.BEFORE", "first", wa_id="16505550001"))
    bad = _event(org, text_message(KILLER, "boom", wa_id="16505550002"))
    after = _event(org, text_message("wamid.AFTER", "third", wa_id="16505550003"))

    with pytest.raises(WorkerKilled):
        ingest.webhook_events_drain()  # one batch of three; the worker dies in it
    assert ingest.webhook_events_drain() == 0  # its task, redelivered: all three are still claimed
    assert _rows(before, bad, after) == [("processing", 1)] * 3

    for attempt in range(2, WebhookEvent.MAX_ATTEMPTS + 1):
        _age()
        with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
            ingest.webhook_events_sweep()  # revives the interrupted events and (inline) runs the processor
        ingest.webhook_events_drain()  # the killed worker's task, redelivered, takes what is left
        assert _rows(bad) == [("processing", attempt)]
    assert _rows(before, after) == [("processed", 2)] * 2

    _age()
    assert ingest.webhook_events_sweep() == 0

    bad.refresh_from_db()
    assert (bad.status, bad.attempts, bad.last_error) == ("dead", WebhookEvent.MAX_ATTEMPTS, ingest.INTERRUPTED)
    assert sorted(Message.objects.values_list("provider_message_id", flat=True)) == ["wamid.AFTER", "wamid.BEFORE"]
    _age()
    assert ingest.webhook_events_sweep() == 0
    assert _rows(bad) == [("dead", WebhookEvent.MAX_ATTEMPTS)]


def test_an_event_tried_before_is_claimed_alone_and_fresh_ones_after_it_together(org):
    cloud_numbers(org)
    retried = _event(org, text_message("wamid.RETRIED", "again", wa_id="16505550001"))
    WebhookEvent.objects.filter(pk=retried.pk).update(attempts=1, last_error=ingest.INTERRUPTED)
    fresh = [_event(org, text_message(f"wamid.F{n}", f"m{n}", wa_id=f"1650555001{n}")) for n in range(3)]

    assert [ingest.webhook_events_process_batch() for _ in range(3)] == [1, 3, 0]

    assert _rows(retried, *fresh) == [("processed", 2)] + [("processed", 1)] * 3


def test_a_drain_does_not_linger_between_the_claims_of_retried_events(org):
    cloud_numbers(org)
    for n in range(4):
        event = _event(org, text_message(f"wamid.R{n}", f"m{n}", wa_id=f"1650555000{n}"))
        WebhookEvent.objects.filter(pk=event.pk).update(attempts=1)

    started = time.monotonic()
    assert ingest.webhook_events_drain(linger=1.5) == 4  # four claims of one; only the last waits for more

    assert time.monotonic() - started < 3
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 2)}


# --- inbound media ------------------------------------------------------------------------------------------------


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_download_whose_worker_is_killed_is_counted_and_its_redelivered_task_does_nothing(
    org, fake_meta, frozen, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    media = inbound_media(org, cloud_number(org), fake_meta)
    fake_meta.delay_next(60, path_contains="/whatsapp_business/attachments/")  # the download hangs ...

    worker = _worker(
        f"from messaging.tasks.media import fetch_inbound_media\nfetch_inbound_media({org.pk}, {media.pk})",
        WHATSAPP_GRAPH_URL=fake_meta.base_url,
    )
    _kill_when(worker, lambda: bool(_downloads(fake_meta)))  # ... and its worker is killed

    media.refresh_from_db()
    assert (media.status, media.attempts, media.file.name) == ("pending", 1, "")

    fetch_inbound_media.delay(org.pk, media.pk)  # the broker redelivers the killed worker's task
    assert len(_downloads(fake_meta)) == 1
    assert Media.objects.get(pk=media.pk).attempts == 1

    frozen.shift(attempt_grace() + MINUTE)  # the worker's clock ran on while the test's stood still
    with django_capture_on_commit_callbacks(execute=True):
        assert media_services.media_fetches_sweep() == 1

    media.refresh_from_db()
    assert (media.status, media.attempts, media.file.read()) == ("ready", 2, JPEG)
    assert len(_downloads(fake_meta)) == 2


# --- deliveries ---------------------------------------------------------------------------------------------------


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_delivery_whose_worker_is_killed_is_counted_and_its_redelivered_task_sends_nothing(
    org, fake_meta, frozen, django_capture_on_commit_callbacks
):
    conversation = open_conversation(org, number=cloud_number(org))
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=conversation.number.phone_number_id)
    message = MessageFactory(
        organization=org,
        conversation=conversation,
        direction="outbound",
        status="queued",
        provider_message_id=None,
        payload={"type": "text", "text": {"body": "Hello"}},
    )
    fake_meta.delay_next(60, path_contains="/messages")  # Meta takes its time answering ...

    worker = _worker(
        f"from messaging.tasks.delivery import deliver_message\ndeliver_message({org.pk}, {message.pk})",
        WHATSAPP_GRAPH_URL=fake_meta.base_url,
    )
    _kill_when(worker, lambda: bool(_sends(fake_meta)))  # ... too long

    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("queued", 1, None)

    deliver_message.delay(org.pk, message.pk)  # the broker redelivers the killed worker's task

    assert len(_sends(fake_meta)) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)

    # No status of Meta linked it meanwhile: the sweeper sends the next attempt (out of attempts, it would fail it).
    frozen.shift(conversation_services.claimed_grace() + MINUTE)
    with django_capture_on_commit_callbacks(execute=True):
        assert conversation_services.message_deliveries_sweep() == 1

    [wamid] = fake_meta.sent  # the first send still hangs, unanswered
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 2, wamid)
    assert len(_sends(fake_meta)) == 2


def _sends(fake_meta) -> list:
    return fake_meta.find_requests(method="POST", path_endswith="/messages")
