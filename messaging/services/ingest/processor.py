"""The processor: claimed batches of webhook events ingested after commit, the sweeper and the dead letters.

`webhook_events_drain` (a Celery task) claims batches of pending events (`FOR UPDATE SKIP LOCKED`), ingests
each batch in one transaction (`writers.ingest_events`) and publishes / calls the hooks after commit. A batch
that raises is retried event by event, so only a poison event fails; it is retried by the sweeper and goes to
the dead letter after WebhookEvent.MAX_ATTEMPTS failures (`webhook_events_replay` brings it back).
"""

import logging
import time
import traceback
from contextlib import suppress
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from messaging.models import WebhookEvent
from messaging.services.ingest.writers import LAST_ERROR_MAX, ingest_events
from messaging.tasks import ingest as ingest_tasks
from whatsapp_hub.aftercommit import run_after_commit

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# A task run handles at most this many batches, then hands over to a fresh task (keeps runs short).
MAX_BATCHES_PER_RUN = 50
# How long a worker waits after a small batch before claiming the next (seconds): the delay added to the
# inbox, traded for batches that fill up under load (a batch has a fixed cost of some 15 ms; at 0.25 s,
# bench/webhook_ingest.py persisted ~4 % more per second than at 0.1 s, with a lower ack p99).
BATCH_LINGER = 0.25
# Pending, failed or processing for longer than this: the sweeper queues the event again.
STALE_AFTER = timedelta(minutes=1)
SCHEDULED_KEY = "messaging:ingest:scheduled"
# Set while a processor is queued or running. Longer than a queued task usually waits; if the task is lost
# (or its worker dies), the flag expires and the next webhook queues a new one (the sweeper too).
SCHEDULED_TTL = 30

EventStatus = WebhookEvent.Status


def webhook_events_schedule() -> None:
    """Queue the processor unless one is queued or running (call after commit). Never raises: the event is
    committed, and if the cache or the broker is down the sweeper queues it within a minute."""
    try:
        if cache.add(SCHEDULED_KEY, 1, timeout=SCHEDULED_TTL):
            ingest_tasks.process_webhook_events.delay()
    except Exception:
        logger.exception("webhook processing not queued (or, inline, failed); the sweeper will retry")
        with suppress(Exception):
            cache.delete(SCHEDULED_KEY)


def webhook_events_drain(
    *, batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES_PER_RUN, linger: float = 0
) -> int:
    """Process pending events batch after batch until none is left; returns how many were claimed.

    While it runs, the "queued" flag stays set, so new events queue no other task: they wait for this
    one's next claim, and batches grow with the load instead of one tiny task per webhook. `linger`
    (seconds): after a batch smaller than `batch_size`, wait that long before the next claim, so batches
    fill up under load (each batch has a fixed cost: two transactions, the pushes); a worker lingers,
    an inline (eager) run does not. Once a claim finds nothing, the flag is cleared and the queue looked
    at once more: an event committed before the flag was cleared queued nothing, so it is this run's to
    take (unless a newer task is queued already)."""
    total = 0
    for _ in range(max_batches):
        claimed = webhook_events_process_batch(limit=batch_size)
        total += claimed
        if claimed == batch_size:
            continue
        if claimed and linger:
            time.sleep(linger)
            continue
        cache.delete(SCHEDULED_KEY)
        if not WebhookEvent.objects.filter(status=EventStatus.PENDING).exists():
            return total
        if not cache.add(SCHEDULED_KEY, 1, timeout=SCHEDULED_TTL):
            return total  # a task was queued meanwhile: it takes over
    cache.delete(SCHEDULED_KEY)
    webhook_events_schedule()  # more to do: a fresh task, so no run holds a worker for long
    return total


def webhook_events_process_batch(*, limit: int = BATCH_SIZE) -> int:
    """Claim up to `limit` pending events and ingest them in one transaction; returns how many were claimed.

    When the batch raises, each event is retried alone, so only the poison one ends failed (or dead)."""
    events = _claim(limit)
    if not events:
        return 0
    try:
        with transaction.atomic():
            ingest_events(events)
    except Exception as exc:
        if len(events) == 1:
            _record_failure(events[0], exc)
            return 1
        logger.warning("webhook batch of %d events failed (%r); retrying them one by one", len(events), exc)
        for event in events:
            try:
                with transaction.atomic():
                    ingest_events([event])
            except Exception as single_exc:
                _record_failure(event, single_exc)
    return len(events)


def _claim(limit: int) -> list[WebhookEvent]:
    """Move up to `limit` pending events, oldest first, to processing. Rows locked by another claimer are
    skipped (PostgreSQL); on SQLite, which has no row locks, writers are serialised and the update is
    conditional."""
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organization")
            .filter(status=EventStatus.PENDING)
            .order_by("received_at", "id")[:limit]
        )
        if events:
            WebhookEvent.objects.filter(pk__in=[event.pk for event in events], status=EventStatus.PENDING).update(
                status=EventStatus.PROCESSING, claimed_at=timezone.now()
            )
    return events


def _record_failure(event: WebhookEvent, exc: BaseException) -> None:
    attempts = event.attempts + 1
    status = EventStatus.DEAD if attempts >= WebhookEvent.MAX_ATTEMPTS else EventStatus.FAILED
    logger.error("webhook event %s failed (attempt %d, now %s)", event.pk, attempts, status, exc_info=exc)
    text = "".join(traceback.format_exception(exc))
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=status, attempts=attempts, last_error=text[-LAST_ERROR_MAX:], claimed_at=timezone.now()
    )


# --- sweeper and dead letters ----------------------------------------------------------------------------


def webhook_events_sweep(*, stale_after: timedelta = STALE_AFTER) -> int:
    """Queue again what should have been processed by now: events failed or stuck in processing (a worker
    died) for longer than `stale_after` go back to pending, and the processor is queued when events have
    been pending that long (the broker may have been down). Returns how many events it revived."""
    stale = timezone.now() - stale_after
    revived = WebhookEvent.objects.filter(
        status__in=[EventStatus.FAILED, EventStatus.PROCESSING], claimed_at__lt=stale
    ).update(status=EventStatus.PENDING)
    waiting = WebhookEvent.objects.filter(status=EventStatus.PENDING, received_at__lt=stale).exists()
    if revived or waiting:
        # Directly, not through the "queued" flag: a flag whose task was lost must not hold things up.
        ingest_tasks.process_webhook_events.delay()
    return revived


@transaction.atomic
def webhook_events_replay(*, events: QuerySet[WebhookEvent]) -> int:
    """Put dead (or failed) events back to pending with a fresh count of attempts, and queue the
    processor after commit. Returns how many were replayed."""
    replayed = events.filter(status__in=[EventStatus.DEAD, EventStatus.FAILED]).update(
        status=EventStatus.PENDING, attempts=0, last_error="", claimed_at=None
    )
    if replayed:
        run_after_commit(webhook_events_schedule)
    return replayed
