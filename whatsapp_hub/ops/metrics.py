"""The hub's own figures for Prometheus (GET /metrics, views.metrics_view).

gunicorn, daphne and the Celery workers each run several processes, on one machine or several behind a load
balancer, so every figure is read at scrape time from what all of them share, and any process of any machine that
answers the scrape answers the same:

- Counters of events (webhooks received, processed, failed, dead-lettered; outbound messages' status moves with Meta's
  error code; delivery retries; campaign sends by outcome; outbound webhook attempts): the process that sees an event
  adds it to a tally in its memory (no query, no round trip on the hot path), and a thread of the process adds the
  tally to a Redis hash every FLUSH_INTERVAL seconds (one pipelined round trip). A scrape reads the hash. A process
  killed outright loses at most its last second of counts; a process that exits flushes. The counts outlive the
  processes (a restart is no reset), and live as long as Redis' data.
- The open websockets: each daphne process writes its own count with the time, every FLUSH_INTERVAL seconds while
  it has had sockets; a scrape adds up the counts written within SOCKETS_STALE_AFTER (a killed daphne's sockets drop
  out, whatever machine it ran on).
- Read at scrape time: the webhook events waiting by status and the ingest lag (database), each running campaign's
  throughput, paced rate and sends per second over the last minute (database; the sends per second: the flushes
  above, per campaign and second, in Redis), the Celery queues' lengths, the workers' heartbeat ages and beat's
  last run (Redis).

prometheus-client's multiprocess mode (one directory of files per machine) was the other way: it would count per
machine only (scrape each one, not the load balancer), and its files grow with every process that ends (gunicorn
replaces its workers every 10,000 requests) until the directory is emptied, which only a restart of every process of
the machine may do. Without Redis (the embedded default: one process) the tallies stay in the process.

A source that cannot be read leaves its figures out and says so in whatsapp_hub_metrics_source_up.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from whatsapp_hub.ops import keys

logger = logging.getLogger(__name__)

# How often each process adds its tallies to Redis (seconds).
FLUSH_INTERVAL = 1.0
# A daphne process's socket count is believed this long after it wrote it.
SOCKETS_STALE_AFTER = 15.0
# The campaigns' send rate is measured over this many seconds (or since the campaign started, when later).
SEND_RATE_WINDOW = 60
NO_CODE = "none"
SEPARATOR = "\x1f"


@dataclass(frozen=True)
class CounterDefinition:
    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    known: tuple[tuple[str, ...], ...] = ((),)  # series shown at 0 before their first event

    def field(self, values: tuple[str, ...]) -> str:
        return SEPARATOR.join((self.name, *values))


WEBHOOK_SOURCES = (("meta",), ("waha",), ("sandbox",))
WEBHOOKS_RECEIVED = CounterDefinition(
    "whatsapp_hub_webhooks_received",
    "Verified webhook events stored, by source (meta, waha, sandbox).",
    ("source",),
    WEBHOOK_SOURCES,
)
WEBHOOKS_DUPLICATE = CounterDefinition(
    "whatsapp_hub_webhooks_duplicate",
    "Webhook redeliveries acknowledged and ignored (already stored).",
    ("source",),
    WEBHOOK_SOURCES,
)
WEBHOOKS_PROCESSED = CounterDefinition("whatsapp_hub_webhooks_processed", "Webhook events ingested.")
WEBHOOKS_FAILED = CounterDefinition(
    "whatsapp_hub_webhooks_failed",
    "Attempts at ingesting a webhook event that failed (retried, up to the dead letter).",
)
WEBHOOKS_DEAD = CounterDefinition("whatsapp_hub_webhooks_dead_lettered", "Webhook events moved to the dead letter.")
MESSAGE_STATUSES = CounterDefinition(
    "whatsapp_hub_message_statuses",
    "Outbound messages' status moves: sent (accepted by the provider), delivered, read, failed (error_code: Meta's, "
    "or none), as the provider's answers and status webhooks come in; statuses ingested together count once.",
    ("status", "error_code"),
    tuple((status, NO_CODE) for status in ("sent", "delivered", "read", "failed")),
)
DELIVERY_RETRIES = CounterDefinition(
    "whatsapp_hub_delivery_retries",
    "Outbound sends retried after a retryable error (throughput, 5xx).",
    ("error_code",),
    (),
)
CAMPAIGN_SEND_OUTCOMES = ("sent", "failed", "retry", "throttled", "unknown")
CAMPAIGN_SENDS = CounterDefinition(
    "whatsapp_hub_campaign_sends",
    "Campaign sends made to the provider, by outcome (sent, failed, retry, throttled, unknown).",
    ("outcome",),
    tuple((outcome,) for outcome in CAMPAIGN_SEND_OUTCOMES),
)
# automation.models.WebhookDelivery.Error's attempt errors (tests/ops/test_metrics.py keeps the two alike).
OUTBOUND_WEBHOOK_OUTCOMES = ("succeeded", "http_status", "timeout", "connection", "address_not_allowed", "redirect")
OUTBOUND_WEBHOOK_ATTEMPTS = CounterDefinition(
    "whatsapp_hub_outbound_webhook_attempts",
    "Outbound webhook POSTs to customers' endpoints (test pings aside), by outcome: succeeded, or why one failed.",
    ("outcome",),
    tuple((outcome,) for outcome in OUTBOUND_WEBHOOK_OUTCOMES),
)
OUTBOUND_WEBHOOK_FAILURES = CounterDefinition(
    "whatsapp_hub_outbound_webhook_failures", "Outbound webhook deliveries that failed for good (after their last try)."
)
OUTBOUND_WEBHOOKS_DISABLED = CounterDefinition(
    "whatsapp_hub_outbound_webhook_endpoints_disabled", "Outbound webhook endpoints disabled for failing."
)
COUNTERS = (
    WEBHOOKS_RECEIVED,
    WEBHOOKS_DUPLICATE,
    WEBHOOKS_PROCESSED,
    WEBHOOKS_FAILED,
    WEBHOOKS_DEAD,
    MESSAGE_STATUSES,
    DELIVERY_RETRIES,
    CAMPAIGN_SENDS,
    OUTBOUND_WEBHOOK_ATTEMPTS,
    OUTBOUND_WEBHOOK_FAILURES,
    OUTBOUND_WEBHOOKS_DISABLED,
)
_BY_NAME = {definition.name: definition for definition in COUNTERS}


# --- this process's tallies, flushed to Redis --------------------------------------------------------------------


class Tallies:
    """What this process counted since its last flush, and the thread that flushes it every FLUSH_INTERVAL seconds
    (started with the first count; a forked child starts afresh: nothing of its parent's to flush, no lock held)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the tallies
        self._flushing = threading.Lock()  # one flush at a time: a scrape's waits for the thread's
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._counts: Tally[str] = Tally()
        self._sends: Tally[int] = Tally()  # campaign id -> sends
        self._sockets = 0
        self._has_sockets = False
        self._local_counts: Tally[str] = Tally()  # without Redis: what a scrape reads
        self._local_sends: dict[tuple[int, int], int] = {}  # without Redis: (campaign id, unix second) -> sends

    def reset(self) -> None:
        """In a forked child (os.register_at_fork): locks, tallies and thread of its own, nothing of its parent's."""
        self.__init__()

    def _here(self) -> None:
        """Call holding `_lock`: the flushing thread runs."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="metrics-flush", daemon=True)
            self._thread.start()

    def count(self, field: str, amount: float = 1) -> None:
        with self._lock:
            self._here()
            self._counts[field] += amount

    def count_many(self, fields: Tally[str]) -> None:
        with self._lock:
            self._here()
            self._counts.update(fields)

    def campaign_sends(self, campaign_id: int, outcomes: Iterable[str]) -> None:
        outcomes = Tally(outcomes)
        with self._lock:
            self._here()
            for outcome, count in outcomes.items():
                self._counts[CAMPAIGN_SENDS.field((outcome,))] += count
            self._sends[campaign_id] += outcomes.total()

    def sockets(self, change: int) -> None:
        with self._lock:
            self._here()
            self._sockets += change
            self._has_sockets = True

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL)
            self.flush()

    def flush(self) -> None:
        """Add the tallies to Redis (or to this process's totals without it); on a Redis error they are kept for the
        next flush. Never raises."""
        with self._flushing:
            with self._lock:
                if self._pid != os.getpid():
                    return
                counts, sends, self._counts, self._sends = self._counts, self._sends, Tally(), Tally()
                sockets, has_sockets = self._sockets, self._has_sockets
            if not (counts or sends or has_sockets):
                return
            now = time.time()
            if keys.client() is None:
                with self._lock:
                    self._local_counts.update(counts)
                    for campaign_id, count in sends.items():
                        bucket = (campaign_id, int(now))
                        self._local_sends[bucket] = self._local_sends.get(bucket, 0) + count
                    self._local_sends = {
                        bucket: n for bucket, n in self._local_sends.items() if bucket[1] > now - 2 * SEND_RATE_WINDOW
                    }
                return
            try:
                socket_count = sockets if has_sockets else None
                keys.metrics_flush(counts, sends, process=process_name(), sockets=socket_count, now=now)
            except Exception:
                logger.warning(
                    "metrics: the tallies could not be added in Redis (kept for the next try)", exc_info=True
                )
                with self._lock:
                    self._counts.update(counts)
                    self._sends.update(sends)

    def totals(self) -> dict[str, float]:
        """Every counter's total, as last flushed: Redis', or this process's without Redis."""
        if keys.client() is None:
            with self._lock:
                return dict(self._local_counts)
        return keys.metrics_counters()

    def open_sockets(self) -> int:
        if keys.client() is None:
            with self._lock:
                return self._sockets
        return keys.metrics_sockets(since=time.time() - SOCKETS_STALE_AFTER)

    def sends(self, campaign_ids: list[int], *, until: float, window: int) -> dict[int, int]:
        """Each campaign's sends in the `window` seconds up to `until` (its current second included)."""
        if keys.client() is not None:
            return keys.campaign_sends(campaign_ids, until=until, window=window)
        with self._lock:
            local = dict(self._local_sends)
        first = int(until) - window + 1
        return {
            campaign_id: sum(n for (pk, second), n in local.items() if pk == campaign_id and first <= second <= until)
            for campaign_id in campaign_ids
        }


tallies = Tallies()
os.register_at_fork(after_in_child=tallies.reset)
atexit.register(tallies.flush)


# --- instrumentation (cheap: called on the hot paths) --------------------------------------------------------------


def _code(code: int | None) -> str:
    return NO_CODE if code is None else str(code)


def webhook_stored(source: str, *, stored: bool) -> None:
    tallies.count((WEBHOOKS_RECEIVED if stored else WEBHOOKS_DUPLICATE).field((source,)))


def webhooks_processed(count: int) -> None:
    tallies.count(WEBHOOKS_PROCESSED.field(()), count)


def webhook_failed(*, dead: bool) -> None:
    tallies.count_many(Tally({WEBHOOKS_FAILED.field(()): 1, WEBHOOKS_DEAD.field(()): int(dead)}))


def webhooks_dead(count: int) -> None:
    """Events the sweeper found interrupted on their last attempt (their worker died: no failure was counted)."""
    tallies.count_many(Tally({WEBHOOKS_FAILED.field(()): count, WEBHOOKS_DEAD.field(()): count}))


def message_statuses_changed(*, organization_id: int, changes: list[tuple[int, str, int | None]]) -> None:
    """messaging.hooks.message_status_changed's subscriber (whatsapp_hub.apps)."""
    tallies.count_many(Tally(MESSAGE_STATUSES.field((status, _code(code))) for _, status, code in changes))


def delivery_retried(code: int | None) -> None:
    tallies.count(DELIVERY_RETRIES.field((_code(code),)))


def campaign_sends(campaign_id: int, outcomes: Iterable[str]) -> None:
    """Sends of a campaign to the provider, by outcome (campaigns/sending.py)."""
    tallies.campaign_sends(campaign_id, outcomes)


def outbound_webhooks_attempted(*, errors: list[str], given_up: int) -> None:
    """A run of outbound webhook POSTs: each one's error ("" when it succeeded), and the deliveries it ended failed."""
    fields = Tally(OUTBOUND_WEBHOOK_ATTEMPTS.field((error or "succeeded",)) for error in errors)
    fields[OUTBOUND_WEBHOOK_FAILURES.field(())] += given_up
    tallies.count_many(fields)


def outbound_webhook_endpoint_disabled() -> None:
    tallies.count(OUTBOUND_WEBHOOKS_DISABLED.field(()))


def websocket_opened() -> None:
    tallies.sockets(1)


def websocket_closed() -> None:
    tallies.sockets(-1)


def process_name() -> str:
    """This process, among every machine's: its host name and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


# --- the scrape ----------------------------------------------------------------------------------------------------


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def _counters(totals: dict[str, float]) -> Iterator[Metric]:
    series: dict[str, dict[tuple[str, ...], float]] = {
        definition.name: dict.fromkeys(definition.known, 0.0) for definition in COUNTERS
    }
    for field, total in totals.items():
        name, *values = field.split(SEPARATOR)
        definition = _BY_NAME.get(name)
        if definition is not None and len(values) == len(definition.labels):
            series[name][tuple(values)] = total
    for definition in COUNTERS:
        family = CounterMetricFamily(definition.name, definition.documentation, labels=list(definition.labels))
        for values, total in sorted(series[definition.name].items()):
            family.add_metric(list(values), total)
        yield family


class _Readings:
    """Every figure, read when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        tallies.flush()  # this process's own counts are in what it answers
        up = _gauge(
            "whatsapp_hub_metrics_source_up", "Whether this scrape could read the source (1) or not (0).", ["source"]
        )
        with_redis = keys.client() is not None
        for source, read in (("database", self._database), ("redis", self._redis)):
            if source == "redis" and not with_redis:
                continue  # no REDIS_URL: the embedded default has no Redis to read (its tallies are in the process)
            try:
                yield from list(read())
                up.add_metric([source], 1)
            except Exception:
                logger.warning("metrics: %s could not be read", source, exc_info=True)
                up.add_metric([source], 0)
        if not with_redis:
            yield from self._tallies()
        yield up

    def _tallies(self) -> Iterator[Metric]:
        yield from _counters(tallies.totals())
        sockets = _gauge("whatsapp_hub_websocket_connections", "Open live-inbox websockets (authenticated).")
        sockets.add_metric([], tallies.open_sockets())
        yield sockets

    def _database(self) -> Iterator[Metric]:
        from campaigns.selectors import running_campaigns
        from campaigns.sending import paced_rate
        from messaging.selectors.ingest import BACKLOG_STATUSES, ingest_lag, webhook_event_backlog

        now = timezone.now()
        backlog = webhook_event_backlog()
        events = _gauge(
            "whatsapp_hub_webhook_events",
            "Webhook events waiting by status: pending, processing, failed (retried by the sweeper), dead (letters).",
            ["status"],
        )
        for status in BACKLOG_STATUSES:
            events.add_metric([status], backlog.get(status, (0, None))[0])
        yield events
        lag = _gauge(
            "whatsapp_hub_ingest_lag_seconds", "Age of the oldest webhook event not processed yet (0 when none waits)."
        )
        lag.add_metric([], ingest_lag(backlog, now=now))
        yield lag

        running = running_campaigns()
        labels = ["campaign_id", "number_id"]
        throughput = _gauge(
            "whatsapp_hub_campaign_throughput",
            "Each running campaign's number's throughput: messages per second Meta allows it.",
            labels,
        )
        paced = _gauge(
            "whatsapp_hub_campaign_paced_rate", "The send rate the pacing aims at for each running campaign.", labels
        )
        measured = _gauge(
            "whatsapp_hub_campaign_send_rate",
            f"Each running campaign's sends per second to the provider over the last {SEND_RATE_WINDOW} s.",
            labels,
        )
        until = time.time()
        try:
            sends = tallies.sends([row[0] for row in running], until=until, window=SEND_RATE_WINDOW)
        except Exception:  # Redis: its own source, reported below
            logger.warning("metrics: the campaigns' send rates could not be read", exc_info=True)
            sends = None
        for campaign_id, number_id, number_throughput, started_at in running:
            values = [str(campaign_id), str(number_id)]
            throughput.add_metric(values, number_throughput)
            paced.add_metric(values, round(paced_rate(number_throughput), 3))
            if sends is not None:
                # Over the whole window, or the seconds since the campaign started when fewer (its current included).
                window = (
                    SEND_RATE_WINDOW if started_at is None else min(SEND_RATE_WINDOW, _seconds_since(started_at, until))
                )
                measured.add_metric(values, round(sends[campaign_id] / window, 3))
        yield from (throughput, paced) if sends is None else (throughput, paced, measured)

    def _redis(self) -> Iterator[Metric]:
        from whatsapp_hub.celery import app

        yield from self._tallies()
        queues = sorted({app.conf.task_default_queue, *(queue.name for queue in app.conf.task_queues or ())})
        lengths = _gauge("whatsapp_hub_celery_queue_length", "Task messages waiting in each Celery queue.", ["queue"])
        for queue, length in keys.queue_lengths(queues).items():
            lengths.add_metric([queue], length)
        yield lengths
        unacked = _gauge(
            "whatsapp_hub_celery_unacked_messages",
            "Task messages taken by workers and not acknowledged yet (running, or reserved by prefetch).",
        )
        unacked.add_metric([], keys.unacked())
        yield unacked
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return  # tasks run inline: there are no workers and no beat to watch
        now = time.time()
        heartbeats = _gauge(
            "whatsapp_hub_worker_heartbeat_age_seconds",
            "Seconds since each Celery worker's last heartbeat.",
            ["worker"],
        )
        for worker, at in sorted(keys.worker_heartbeats().items()):
            heartbeats.add_metric([worker], round(max(0.0, now - at), 3))
        yield heartbeats
        last_run = keys.beat_last_run()
        if last_run is not None:
            beat = _gauge("whatsapp_hub_beat_last_run_age_seconds", "Seconds since beat last sent a scheduled task.")
            beat.add_metric([], round(max(0.0, now - last_run), 3))
            yield beat


def _seconds_since(started_at, until: float) -> int:
    """The whole seconds from the one `started_at` falls in to the one `until` falls in, both included."""
    return int(until) - int(started_at.timestamp()) + 1


def exposition() -> bytes:
    """Every figure, in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Readings())
    return generate_latest(registry)
