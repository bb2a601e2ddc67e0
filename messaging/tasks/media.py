"""Celery tasks of media: fetching inbound media from the provider into storage, and its sweeper (beat, every
minute).

Thin and safe to run twice (a Media that is not pending, or whose attempt is claimed already, is skipped).
Transient errors retry with backoff. Services are imported in the task bodies: services import tasks.
"""

from celery import shared_task

from messaging.services.retries import MAX_ATTEMPTS, RetryLater


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1)
def fetch_inbound_media(self, organization_id: int, media_id: int, first_attempt: int = 1):
    """Download an inbound media file (size and sha256 checked) and mark it ready, or failed with the reason. The
    sweeper queues an interrupted download again with its next attempt as `first_attempt`."""
    from messaging.services import media

    try:
        media.media_fetch_inbound(
            organization_id=organization_id, media_id=media_id, attempt=first_attempt + self.request.retries
        )
    except RetryLater as exc:
        # Returned, not raised: a worker has queued the retry; an eager run (tests) applies it at once.
        return self.retry(countdown=exc.countdown, throw=False)


@shared_task
def sweep_inbound_media() -> int:
    """Queue again the downloads never run or interrupted; fail the media out of attempts."""
    from messaging.services import media

    return media.media_fetches_sweep()
