"""The processor: claimed batches of webhook events ingested after commit, the sweeper and the dead letters.

`webhook_events_drain` (a Celery task) claims batches of pending events (`FOR UPDATE SKIP LOCKED`), ingests
each batch in one transaction (`writers.ingest_events`) and publishes / calls the hooks after commit; under a
backlog several drains run at once, in as many worker processes. A claim counts the attempt, so a worker that
dies mid-batch has counted it too. A batch that raises is retried event by event, and an event tried before is
claimed alone, so only a poison event fails (or keeps killing its worker); it is retried by the sweeper and
goes to the dead letter after WebhookEvent.MAX_ATTEMPTS attempts (`webhook_events_replay` brings it back)."""

import logging
import time
import traceback
from contextlib import suppress
from datetime import timedelta
from itertools import takewhile

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from messaging.models import WebhookEvent
from messaging.services import system_log
from messaging.services.ingest.writers import LAST_ERROR_MAX, ingest_events
from messaging.tasks import ingest as ingest_tasks
from whatsapp_hub.aftercommit import run_after_commit
from whatsapp_hub.ops import context, metrics

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# A task run handles at most this many batches, then hands over to a fresh task (keeps runs short).
MAX_BATCHES_PER_RUN = 50
# How long a worker waits after a small batch before claiming the next (seconds): the delay added to the
# inbox, traded for batches that fill up under load (a batch has a fixed cost of some 15 ms; at 0.25 s,
# bench/webhook_ingest.py persisted ~4 % more per second than at 0.1 s, with a lower ack p99).
BATCH_LINGER = 0.25
# ... but only after a batch of at least this many events: a smaller one means the hub is not under load, and
# the next events go to the inbox at once (bench/ws_fanout.py: at 10 webhooks/s, lingering after batches of one
# put up to 0.25 s between a webhook and the agents' screens).
LINGER_AFTER = 8
# Pending or failed for longer than this: the sweeper queues the event again (processing: see interrupted_after).
STALE_AFTER = timedelta(minutes=1)
SCHEDULED_KEY = "messaging:ingest:scheduled"
# Set while a processor is queued or running (a running one renews it at every batch, well under a second apart).
# If the task is lost (or its worker is killed), the flag expires and the next webhook queues a new one (the sweeper
# too): this long, the inbox may stand still. A queued task that waits longer (every worker busy) only lets the
# next webhook queue a second drain, which finds the first one's rows locked or taken.
SCHEDULED_TTL = 10
# What an event left in processing by a dead worker keeps in last_error (a killed process leaves no traceback).
INTERRUPTED = "Interrupted: the worker processing it stopped (killed, out of memory or past its time limit)."

# The dead letter's reason in the system log when its worker stopped (a killed process leaves no exception).
DEAD_REASON_INTERRUPTED = gettext_noop("its worker stopped")

EventStatus = WebhookEvent.Status


def webhook_events_schedule() -> None:
    """Queue the processor unless one is queued or running (call after commit). Never raises: the event is
    committed, and if the cache or the broker is down the sweeper queues it within a minute. One cache call
    when a drain is queued already: the hot path of every webhook."""
    _queue_drain(0)


def _slot_key(slot: int) -> str:
    return SCHEDULED_KEY if slot == 0 else f"{SCHEDULED_KEY}:{slot}"


def _queue_drain(slot: int) -> bool:
    """Queue the drain of `slot` unless one is queued or running; whether it was queued. Never raises."""
    key = _slot_key(slot)
    try:
        if cache.add(key, 1, timeout=SCHEDULED_TTL):
            ingest_tasks.process_webhook_events.delay(slot=slot)
            return True
    except Exception:
        logger.exception("webhook processing not queued (or, inline, failed); the sweeper will retry")
        with suppress(Exception):
            cache.delete(key)
    return False


def _queue_helper(drains: int) -> None:
    """A backlog: queue a drain in the first free slot below `drains` (none when they all run)."""
    for slot in range(1, drains):
        if _queue_drain(slot):
            return


def webhook_events_drain(
    *,
    slot: int = 0,
    drains: int = 1,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES_PER_RUN,
    linger: float = 0,
) -> int:
    """Process pending events batch after batch until none is left; returns how many were claimed.

    While it runs, the "queued" flag of its `slot` stays set, so new events queue no other task: they wait for
    this one's next claim, and batches grow with the load instead of one tiny task per webhook. `linger`
    (seconds): after a batch smaller than `batch_size` but of at least LINGER_AFTER events, wait that long
    before the next claim, so batches fill up under load (each batch has a fixed cost: two transactions, the
    pushes); a worker lingers, an inline (eager) run does not. Once a claim finds nothing, the flag is cleared
    and the queue looked at once more: an event committed before the flag was cleared queued nothing, so it is
    this run's to take (unless a newer task is queued already).

    In parallel: up to `drains` drains run at once, one per slot (slot 0 is the one webhooks queue). A full
    batch means a backlog, so the drain queues one in the next free slot, which takes batches while the
    backlog lasts and stops at the first that is not full (slot 0 carries on). Claims skip each other's rows
    (SKIP LOCKED) and the conversation locks keep counters exact, so any number of drains ingest each event
    once."""
    key = _slot_key(slot)
    total = 0
    for _ in range(max_batches):
        events, more = _claim(batch_size)
        _ingest(events)
        total += len(events)
        if more:
            cache.touch(key, SCHEDULED_TTL)  # still running: the flag outlives a long run only while it runs
            if len(events) == batch_size:
                _queue_helper(drains)
            continue
        if slot:
            cache.delete(key)
            return total  # the backlog is gone: slot 0 carries on
        if linger and len(events) >= min(LINGER_AFTER, batch_size):
            cache.touch(key, SCHEDULED_TTL)
            time.sleep(linger)
            continue
        cache.delete(key)
        if not WebhookEvent.objects.filter(status=EventStatus.PENDING).exists():
            return total
        if not cache.add(key, 1, timeout=SCHEDULED_TTL):
            return total  # a task was queued meanwhile: it takes over
    cache.delete(key)
    _queue_drain(slot)  # more to do: a fresh task, so no run holds a worker for long
    return total


def webhook_events_process_batch(*, limit: int = BATCH_SIZE) -> int:
    """Claim up to `limit` pending events and ingest them in one transaction; returns how many were claimed.

    When the batch raises, each event is retried alone, so only the poison one ends failed (or dead)."""
    events, _ = _claim(limit)
    _ingest(events)
    return len(events)


def _ingest(events: list[WebhookEvent]) -> None:
    """Ingest claimed events in one transaction; when that raises, each alone (within the same attempt). The work
    and its pushes (after commit) run under the request ids of the webhooks the events came in with."""
    if not events:
        return
    try:
        with context.bound(context.joined(event.request_id for event in events)):
            with transaction.atomic():
                ingest_events(events)
            logger.info("ingested %d webhook events", len(events))
        metrics.webhooks_processed(len(events))
    except Exception as exc:
        if len(events) == 1:
            _record_failure(events[0], exc)
            return
        logger.warning("webhook batch of %d events failed (%r); retrying them one by one", len(events), exc)
        for event in events:
            try:
                with context.bound(event.request_id), transaction.atomic():
                    ingest_events([event])
                metrics.webhooks_processed(1)
            except Exception as single_exc:
                _record_failure(event, single_exc)


def _claim(limit: int) -> tuple[list[WebhookEvent], bool]:
    """Move pending events, oldest first, to processing and count their attempt; returns them, and whether
    more were waiting (`limit` reached, or the claim stopped at a retried event).

    The attempt is counted here, not when it fails: a worker killed mid-batch (out of memory, a crash, its
    time limit) runs no except block. An event tried before (it failed, or its worker died with it) is claimed
    alone, so a batch that killed its worker comes back one event at a time: the rest of it goes through, and
    only the event that keeps failing reaches the dead letter. Fresh events are claimed together up to the
    first retried one (queue order is kept).

    Rows locked by another claimer are skipped (PostgreSQL); on SQLite, which has no row locks, writers are
    serialised and the update is conditional."""
    with transaction.atomic():
        candidates = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(status=EventStatus.PENDING)
            .order_by("received_at", "id")[:limit]
        )
        if candidates and candidates[0].attempts:
            events = candidates[:1]
        else:
            events = list(takewhile(lambda event: not event.attempts, candidates))
        if events:
            WebhookEvent.objects.filter(pk__in=[event.pk for event in events], status=EventStatus.PENDING).update(
                status=EventStatus.PROCESSING, claimed_at=timezone.now(), attempts=F("attempts") + 1
            )
            for event in events:
                event.attempts += 1
    return events, len(candidates) > len(events) or len(candidates) == limit


def _record_failure(event: WebhookEvent, exc: BaseException) -> None:
    """The claimed attempt failed: failed (the sweeper retries it), or dead once out of attempts."""
    status = EventStatus.DEAD if event.attempts >= WebhookEvent.MAX_ATTEMPTS else EventStatus.FAILED
    with context.bound(event.request_id):
        logger.error("webhook event %s failed (attempt %d, now %s)", event.pk, event.attempts, status, exc_info=exc)
    metrics.webhook_failed(dead=status == EventStatus.DEAD)
    text = "".join(traceback.format_exception(exc))
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=status, last_error=text[-LAST_ERROR_MAX:], claimed_at=timezone.now()
    )
    if status == EventStatus.DEAD:
        system_log.webhook_events_dead(events=[event], reason=type(exc).__name__)


# --- sweeper and dead letters ----------------------------------------------------------------------------


def interrupted_after() -> timedelta:
    """How long after its claim a batch may still be in the works: no drain outlives its task's hard time limit,
    so an event in processing for longer was left by a worker that died."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def webhook_events_sweep(*, stale_after: timedelta = STALE_AFTER) -> int:
    """Queue again what should have been processed by now; returns how many events it revived.

    Events failed longer than `stale_after` ago, or left in processing for longer than `interrupted_after()`
    (their worker died: the claim counted the attempt), go back to pending, where they are claimed one at a
    time; an interrupted event out of attempts is dead. The processor is queued when events have been pending
    for `stale_after` (the broker may have been down)."""
    now = timezone.now()
    stale = now - stale_after
    interrupted = WebhookEvent.objects.filter(
        status=EventStatus.PROCESSING, claimed_at__lt=now - max(stale_after, interrupted_after())
    )
    # Their workers are gone (past the time limit): nothing else moves these rows between the read and the update.
    dead_events = list(
        interrupted.filter(attempts__gte=WebhookEvent.MAX_ATTEMPTS).only("pk", "organization_id", "source", "attempts")
    )
    dead = interrupted.filter(pk__in=[event.pk for event in dead_events]).update(
        status=EventStatus.DEAD, last_error=INTERRUPTED
    )
    if dead:
        logger.error("webhook sweeper: %d events interrupted on their last attempt are dead", dead)
        metrics.webhooks_dead(dead)
        system_log.webhook_events_dead(events=dead_events, reason=DEAD_REASON_INTERRUPTED)
    revived = interrupted.update(status=EventStatus.PENDING, last_error=INTERRUPTED)
    revived += WebhookEvent.objects.filter(status=EventStatus.FAILED, claimed_at__lt=stale).update(
        status=EventStatus.PENDING
    )
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
