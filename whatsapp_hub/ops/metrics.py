"""The hub's own figures for Prometheus (GET /metrics, views.metrics), in two kinds chosen for what is honest when
gunicorn, daphne and Celery each run several processes:

Counters of events, kept by the process that sees the event, in memory (one increment: no query, no round trip):
webhooks received (gunicorn), processed, failed and dead-lettered (workers), outbound messages' status moves with
Meta's error code, delivery retries, campaign sends by outcome, and the open websockets (daphne, a gauge). With
PROMETHEUS_MULTIPROC_DIR set (production: the same directory for every process of a host, emptied before they
start) prometheus-client's multiprocess mode writes each process's values to files there and a scrape sums them over
the host's processes, the dead ones' counts included; websockets count only live processes (a killed daphne's
sockets are forgotten at the next scrape). Without it (the embedded default: one process) the process's registry is
read. Counters are per host: scrape every host (Prometheus sums them).

Gauges read at scrape time from what every process shares, so any process of any host answers the same: the
webhook events waiting by status and the ingest lag (database), each running campaign's throughput, paced rate and
measured send rate over the last minute (database and Redis), the Celery queues' lengths, the workers' heartbeat
ages and beat's last run (Redis). A source that cannot be read leaves its figures out and says so in
whatsapp_hub_metrics_source_up.
"""

import logging
import os
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from contextlib import suppress
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from whatsapp_hub.ops import keys

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The campaigns' send rate is measured over this many seconds (or since the campaign started, when later).
SEND_RATE_WINDOW = 60
# Campaign sends are counted in memory and written to Redis at most this often (seconds).
SENDS_FLUSH_INTERVAL = 1.0
SENDS_KEPT = 2 * SEND_RATE_WINDOW
NO_CODE = "none"
# The counters' *_created series: absent in multiprocess mode, so absent everywhere (one shape whatever the mode).
disable_created_metrics()

WEBHOOKS_RECEIVED = Counter(
    "whatsapp_hub_webhooks_received", "Verified webhook events stored, by source (meta, waha, sandbox).", ["source"]
)
WEBHOOKS_DUPLICATE = Counter(
    "whatsapp_hub_webhooks_duplicate", "Webhook redeliveries acknowledged and ignored (already stored).", ["source"]
)
WEBHOOKS_PROCESSED = Counter("whatsapp_hub_webhooks_processed", "Webhook events ingested.")
WEBHOOKS_FAILED = Counter(
    "whatsapp_hub_webhooks_failed",
    "Attempts at ingesting a webhook event that failed (retried, up to the dead letter).",
)
WEBHOOKS_DEAD = Counter("whatsapp_hub_webhooks_dead_lettered", "Webhook events moved to the dead letter.")
MESSAGE_STATUSES = Counter(
    "whatsapp_hub_message_statuses",
    "Outbound messages' status moves: sent (accepted by the provider), delivered, read, failed (error_code: Meta's, "
    "or none), as the provider's answers and status webhooks come in.",
    ["status", "error_code"],
)
DELIVERY_RETRIES = Counter(
    "whatsapp_hub_delivery_retries", "Outbound sends retried after a retryable error (throughput, 5xx).", ["error_code"]
)
CAMPAIGN_SENDS = Counter(
    "whatsapp_hub_campaign_sends",
    "Campaign sends made to the provider, by outcome (sent, failed, retry, throttled, unknown).",
    ["outcome"],
)
WEBSOCKETS = Gauge(
    "whatsapp_hub_websocket_connections", "Open live-inbox websockets (authenticated).", multiprocess_mode="livesum"
)
OUTBOUND_WEBHOOK_ATTEMPTS = Counter(
    "whatsapp_hub_outbound_webhook_attempts",
    "Outbound webhook POSTs to customers' endpoints (test pings aside), by outcome: succeeded, or why one failed.",
    ["outcome"],
)
OUTBOUND_WEBHOOK_FAILURES = Counter(
    "whatsapp_hub_outbound_webhook_failures", "Outbound webhook deliveries that failed for good (after their last try)."
)
OUTBOUND_WEBHOOKS_DISABLED = Counter(
    "whatsapp_hub_outbound_webhook_endpoints_disabled", "Outbound webhook endpoints disabled for failing."
)
# automation.models.WebhookDelivery.Error's attempt errors (tests/ops/test_metrics.py keeps the two alike).
OUTBOUND_WEBHOOK_OUTCOMES = ("succeeded", "http_status", "timeout", "connection", "address_not_allowed", "redirect")

# The series known in advance start at 0 (a rate over a series that appears with its first event misses that event).
for _source in ("meta", "waha", "sandbox"):
    WEBHOOKS_RECEIVED.labels(_source)
    WEBHOOKS_DUPLICATE.labels(_source)
for _status in ("sent", "delivered", "read", "failed"):
    MESSAGE_STATUSES.labels(_status, NO_CODE)
for _outcome in ("sent", "failed", "retry", "throttled", "unknown"):
    CAMPAIGN_SENDS.labels(_outcome)
for _outcome in OUTBOUND_WEBHOOK_OUTCOMES:
    OUTBOUND_WEBHOOK_ATTEMPTS.labels(_outcome)


# --- instrumentation (cheap: called on the hot paths) --------------------------------------------------------------


def webhook_stored(source: str, *, stored: bool) -> None:
    (WEBHOOKS_RECEIVED if stored else WEBHOOKS_DUPLICATE).labels(source).inc()


def webhooks_processed(count: int) -> None:
    WEBHOOKS_PROCESSED.inc(count)


def webhook_failed(*, dead: bool) -> None:
    WEBHOOKS_FAILED.inc()
    if dead:
        WEBHOOKS_DEAD.inc()


def webhooks_dead(count: int) -> None:
    """Events the sweeper found interrupted on their last attempt (their worker died: no failure was counted)."""
    WEBHOOKS_FAILED.inc(count)
    WEBHOOKS_DEAD.inc(count)


def message_statuses_changed(*, organization_id: int, changes: list[tuple[int, str, int | None]]) -> None:
    """messaging.hooks.message_status_changed's subscriber (whatsapp_hub.apps): one increment per (status, code)."""
    for (status, code), count in Tally((status, code) for _, status, code in changes).items():
        MESSAGE_STATUSES.labels(status, NO_CODE if code is None else str(code)).inc(count)


def delivery_retried(code: int | None) -> None:
    DELIVERY_RETRIES.labels(NO_CODE if code is None else str(code)).inc()


def outbound_webhooks_attempted(*, errors: list[str], given_up: int) -> None:
    """A run of outbound webhook POSTs: each one's error ("" when it succeeded), and the deliveries it ended failed."""
    for error, count in Tally(error or "succeeded" for error in errors).items():
        OUTBOUND_WEBHOOK_ATTEMPTS.labels(error).inc(count)
    if given_up:
        OUTBOUND_WEBHOOK_FAILURES.inc(given_up)


def outbound_webhook_endpoint_disabled() -> None:
    OUTBOUND_WEBHOOKS_DISABLED.inc()


def websocket_opened() -> None:
    WEBSOCKETS.inc()


def websocket_closed() -> None:
    WEBSOCKETS.dec()


class _CampaignSends:
    """Campaign sends by outcome, buffered in the sending task's process and written at most every
    SENDS_FLUSH_INTERVAL seconds: to the counter, and as sends per second per campaign to Redis (the measured rate
    every process reads), or to this process's own record without Redis (the embedded default: one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, Tally] = {}
        self._flushed = time.monotonic()
        self._local: dict[tuple[int, int], int] = {}  # (campaign id, unix second) -> sends, without Redis

    def add(self, campaign_id: int, outcomes: Iterable[str]) -> None:
        with self._lock:
            self._pending.setdefault(campaign_id, Tally()).update(outcomes)
            due = time.monotonic() - self._flushed >= SENDS_FLUSH_INTERVAL
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flushed = time.monotonic()
        if not pending:
            return
        for outcomes in pending.values():
            for outcome, count in outcomes.items():
                CAMPAIGN_SENDS.labels(outcome).inc(count)
        now = time.time()
        try:
            for campaign_id, outcomes in pending.items():
                if keys.client() is not None:
                    keys.campaign_sends_add(campaign_id, outcomes.total(), now=now)
                else:
                    with self._lock:
                        bucket = (campaign_id, int(now))
                        self._local[bucket] = self._local.get(bucket, 0) + outcomes.total()
                        self._local = {key: n for key, n in self._local.items() if key[1] > now - SENDS_KEPT}
        except Exception:
            logger.warning("campaign send rates not recorded in Redis", exc_info=True)

    def sends(self, campaign_ids: list[int], *, until: float, window: int) -> dict[int, int]:
        """Each campaign's sends in the `window` seconds up to `until` (its current second included)."""
        if keys.client() is not None:
            return keys.campaign_sends(campaign_ids, until=until, window=window)
        with self._lock:
            local = dict(self._local)
        first = int(until) - window + 1
        return {
            campaign_id: sum(n for (pk, second), n in local.items() if pk == campaign_id and first <= second <= until)
            for campaign_id in campaign_ids
        }


campaign_sends = _CampaignSends()


# --- figures read at scrape time ---------------------------------------------------------------------------------


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


class _Readings:
    """The gauges read from the database and Redis, each time Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        up = _gauge(
            "whatsapp_hub_metrics_source_up", "Whether this scrape could read the source (1) or not (0).", ["source"]
        )
        for source, read in (("database", self._database), ("redis", self._redis)):
            if source == "redis" and keys.client() is None:
                continue  # no REDIS_URL: the embedded default has no Redis to read
            try:
                yield from list(read())
                up.add_metric([source], 1)
            except Exception:
                logger.warning("metrics: %s could not be read", source, exc_info=True)
                up.add_metric([source], 0)
        yield up

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
            sends = campaign_sends.sends([row[0] for row in running], until=until, window=SEND_RATE_WINDOW)
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


class _ThisProcess:
    """This process's own registry (the embedded default, and tests: no multiprocess directory)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(directory: str) -> list[int]:
    """Drop the live-only gauges (websockets) of this host's processes that died without saying so (a killed
    daphne): prometheus-client keeps their files until told. Returns their pids."""
    dead = set()
    for path in Path(directory).glob("gauge_live*_*.db"):
        with suppress(ValueError):
            pid = int(path.stem.rsplit("_", 1)[1])
            if not _alive(pid):
                dead.add(pid)
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)
    return sorted(dead)


def exposition() -> bytes:
    """Every figure, in Prometheus' text format."""
    registry = CollectorRegistry()
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        forget_dead_processes(directory)
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ThisProcess())
    registry.register(_Readings())
    return generate_latest(registry)
