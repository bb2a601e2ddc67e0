"""The retry policy of provider calls made by tasks (deliveries, media fetches, read receipts), and when their
sweepers take up work whose task was lost or whose worker died."""

import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 4
BACKOFF_MAX_SECONDS = 300
# No attempt claimed this long after the row was stored (or queued again): its task was never queued (the broker
# was down at commit) or was lost. Nothing was attempted, so it is queued again.
UNCLAIMED_GRACE = timedelta(minutes=2)


class RetryLater(Exception):
    """A transient provider failure: the task should run again after `countdown` seconds."""

    def __init__(self, countdown: float):
        super().__init__(f"retry in {countdown:.1f}s")
        self.countdown = countdown


def backoff_countdown(attempt: int) -> float:
    """Exponential backoff with jitter after failed attempt `attempt` (1-based): 4, 16, 64, 256 s, capped at
    BACKOFF_MAX_SECONDS, each drawn between half and all of it so retries of a burst spread out (Meta's
    advice for 131056 is 4^X seconds)."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS**attempt)
    return random.uniform(ceiling / 2, ceiling)


def attempt_grace() -> timedelta:
    """How long after its claim an attempt may still be running (the task's hard time limit) or waiting for its
    retry (the longest backoff): past it, the attempt was interrupted (its worker died) or its retry was lost."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + BACKOFF_MAX_SECONDS)


def waiting_since_before(moment: datetime) -> Q:
    """Rows (`attempted_at`, `created_at`) whose last attempt was claimed or queued again before `moment` (never:
    stored before it)."""
    return Q(attempted_at__lt=moment) | Q(attempted_at__isnull=True, created_at__lt=moment)


def stalled(now: datetime, *, grace: timedelta) -> Q:
    """Rows (`attempts`, `attempted_at`, `created_at`) whose work should have moved on by `now`: never claimed
    within UNCLAIMED_GRACE, or last claimed (or queued again) longer than `grace` ago."""
    return waiting_since_before(now - UNCLAIMED_GRACE) & (Q(attempts=0) | waiting_since_before(now - grace))
