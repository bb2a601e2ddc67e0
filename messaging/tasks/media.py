"""Celery tasks of media: fetching inbound media from the provider into storage.

Thin and safe to run twice (a Media that is not pending is skipped). Transient errors retry with backoff.
Services are imported in the task bodies: services import tasks.
"""

from celery import shared_task

from messaging.services.retries import MAX_ATTEMPTS, RetryLater


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1)
def fetch_inbound_media(self, organization_id: int, media_id: int):
    """Download an inbound media file (size and sha256 checked) and mark it ready, or failed with the reason."""
    from messaging.services import media

    try:
        media.media_fetch_inbound(organization_id=organization_id, media_id=media_id, attempt=self.request.retries + 1)
    except RetryLater as exc:
        # Returned, not raised: a worker has queued the retry; an eager run (tests) applies it at once.
        return self.retry(countdown=exc.countdown, throw=False)
