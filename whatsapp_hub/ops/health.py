"""Liveness and readiness, for load balancers and orchestrators (views.health, views.health_ready).

Liveness answers from the process alone: no database, no Redis.

Readiness runs django-health-check's checks: its own for the database (SELECT 1) and Redis (PING), and this hub's
(the channel layer, the Celery workers' heartbeat, beat's last run, the ingest lag), all at once, each within
HEALTH_TIMEOUT_SECONDS (its runner: coroutines, and blocking checks on a small pool of threads). The library's view
is not used: it answers 500 (a load balancer expects 503), has no notion of a part that is not configured (the
embedded default has no Redis, no worker and no beat), keeps no result (a probe every second would run every check
every second) and is not an API view (the OpenAPI schema would not show it).

A check whose part is not configured is reported as such and never fails: Redis without REDIS_URL, the worker and
beat when tasks run inline. The readiness report is kept HEALTH_CACHE_SECONDS per process: probes in between get it
as it was (a check in progress is waited for, never run twice at once).
"""

import asyncio
import dataclasses
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import redis
import redis.asyncio
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.utils import timezone
from health_check import Database, HealthCheck
from health_check.base import HealthCheckResult
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable

from whatsapp_hub.ops import keys

logger = logging.getLogger(__name__)

OK, FAIL, NOT_CONFIGURED = "ok", "fail", "not_configured"
READY, DEGRADED, UNAVAILABLE = "ok", "degraded", "unavailable"
LIVENESS_STATUSES = ("ok",)
CHECK_STATUSES = (OK, FAIL, NOT_CONFIGURED)
READINESS_STATUSES = (READY, DEGRADED, UNAVAILABLE)
# The group the channel-layer check sends to (no socket ever joins it).
PROBE_GROUP = "ops.health-probe"
# Blocking checks run on these threads (per process): a hung dependency holds at most this many.
THREADS = 4


@contextmanager
def _redis_unavailable():
    try:
        yield
    except redis.RedisError as exc:
        raise ServiceUnavailable("Redis did not answer.") from exc


@dataclasses.dataclass
class ChannelLayer(HealthCheck):
    """The channel layer takes a group message (Redis' PUBLISH in production; the in-process layer otherwise)."""

    async def run(self):
        layer = get_channel_layer()
        if layer is None:
            raise ServiceUnavailable("No channel layer is configured.")
        try:
            await layer.group_send(PROBE_GROUP, {"type": "ops.probe"})
        except Exception as exc:
            raise ServiceUnavailable("The channel layer refused a message.") from exc


@dataclasses.dataclass
class WorkerHeartbeat(HealthCheck):
    """A Celery worker sent its heartbeat (celery_signals.WorkerHeartbeat) within `max_age` seconds."""

    max_age: float = 60.0

    def run(self):
        with _redis_unavailable():
            heartbeats = keys.worker_heartbeats()
        now = time.time()
        ages = sorted(max(0.0, now - at) for at in heartbeats.values())
        self.figures = {
            "workers": sum(1 for age in ages if age <= self.max_age),
            "age_seconds": round(ages[0], 1) if ages else None,
            "max_age_seconds": self.max_age,
        }
        if not ages:
            raise ServiceUnavailable("No Celery worker has sent a heartbeat.")
        if ages[0] > self.max_age:
            raise ServiceUnavailable(f"The last worker heartbeat is {ages[0]:.0f} s old (limit {self.max_age:g} s).")


@dataclasses.dataclass
class BeatLastRun(HealthCheck):
    """Celery beat ran (started, or sent a scheduled task) within `max_age` seconds."""

    max_age: float = 180.0

    def run(self):
        with _redis_unavailable():
            last_run = keys.beat_last_run()
        age = max(0.0, time.time() - last_run) if last_run is not None else None
        self.figures = {"age_seconds": round(age, 1) if age is not None else None, "max_age_seconds": self.max_age}
        if age is None:
            raise ServiceUnavailable("Celery beat has not run.")
        if age > self.max_age:
            raise ServiceUnavailable(f"Celery beat last ran {age:.0f} s ago (limit {self.max_age:g} s).")


@dataclasses.dataclass
class IngestLag(HealthCheck):
    """The oldest webhook event not processed yet was received less than `max_lag` seconds ago."""

    max_lag: float = 120.0

    def run(self):
        from messaging.selectors.ingest import ingest_lag, webhook_event_backlog

        try:
            lag = ingest_lag(webhook_event_backlog(), now=timezone.now())
        finally:
            connection.close()  # this thread's: given back to the pool, none kept open by the check's threads
        self.figures = {"lag_seconds": round(lag, 1), "threshold_seconds": self.max_lag}
        if lag > self.max_lag:
            raise ServiceUnavailable(f"Webhook events wait {lag:.0f} s to be ingested (limit {self.max_lag:g} s).")


def _redis_client() -> redis.asyncio.Redis:
    timeout = settings.HEALTH_TIMEOUT_SECONDS
    return redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)


def _planned() -> dict[str, HealthCheck | str]:
    """Each readiness check, or why its part is not configured."""
    no_redis = "No REDIS_URL: the cache, the channel layer and the tasks run in this process."
    inline = "Tasks run inline (CELERY_TASK_ALWAYS_EAGER): no worker or beat is needed."
    no_workers = inline if settings.CELERY_TASK_ALWAYS_EAGER else no_redis if not settings.REDIS_URL else None
    planned: dict[str, HealthCheck | str] = {
        "database": Database(),
        "redis": Redis(client_factory=_redis_client) if settings.REDIS_URL else no_redis,
        "channel_layer": ChannelLayer(),
        "worker": no_workers or WorkerHeartbeat(max_age=settings.HEALTH_WORKER_MAX_AGE_SECONDS),
        "beat": no_workers or BeatLastRun(max_age=settings.HEALTH_BEAT_MAX_AGE_SECONDS),
        "ingest_lag": IngestLag(max_lag=settings.HEALTH_INGEST_LAG_SECONDS),
    }
    timeout = timedelta(seconds=settings.HEALTH_TIMEOUT_SECONDS)
    for check in planned.values():
        if isinstance(check, HealthCheck):
            check.timeout = timeout
    return planned


_threads: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    global _threads
    if _threads is None or _threads[0] != os.getpid():  # made after a fork (gunicorn's workers)
        _threads = (os.getpid(), ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="health-check"))
    return _threads[1]


async def _run(checks: list[HealthCheck]) -> list[HealthCheckResult]:
    executor = _executor()
    return await asyncio.gather(*(check.get_result(executor) for check in checks))


def _entry(result: HealthCheckResult | str, required: bool) -> dict:
    if isinstance(result, str):
        return {"status": NOT_CONFIGURED, "required": required, "detail": result}
    entry = {"status": FAIL if result.error else OK, "required": required, "seconds": round(result.time_taken, 4)}
    if result.error:
        entry["detail"] = result.error.message
    entry.update(getattr(result.check, "figures", {}))
    return entry


def check_now() -> dict:
    """Run the readiness checks now: {"status": ok | degraded | unavailable, "checks": {name: {...}}}."""
    planned = _planned()
    runnable = [check for check in planned.values() if isinstance(check, HealthCheck)]
    results = iter(async_to_sync(_run)(runnable))
    required = set(settings.HEALTH_REQUIRED_CHECKS)
    checks = {
        name: _entry(check if isinstance(check, str) else next(results), name in required)
        for name, check in planned.items()
    }
    failed = [name for name, entry in checks.items() if entry["status"] == FAIL]
    status = UNAVAILABLE if required.intersection(failed) else DEGRADED if failed else READY
    if failed:
        reasons = "; ".join(f"{name}: {checks[name]['detail']}" for name in failed)
        logger.warning("readiness %s (%s)", status, reasons)
    return {"status": status, "checks": checks}


_lock = threading.Lock()
_kept: tuple[float, dict] | None = None


def ready() -> dict:
    """The readiness report, at most HEALTH_CACHE_SECONDS old."""
    global _kept
    with _lock:
        if _kept is None or time.monotonic() - _kept[0] >= settings.HEALTH_CACHE_SECONDS:
            _kept = (time.monotonic(), check_now())
        return _kept[1]


def forget() -> None:
    """Drop the kept report (tests)."""
    global _kept
    with _lock:
        _kept = None
