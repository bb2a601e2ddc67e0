"""The retry policy of provider calls made by tasks (deliveries, media fetches, read receipts)."""

import random

MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 4
BACKOFF_MAX_SECONDS = 300


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
