"""Celery tasks of WhatsApp numbers: WAHA session housekeeping after a number is created, changed or deleted.

Thin and idempotent. A sync retries transient failures with backoff (countdown is ignored when tasks run eagerly,
as in tests) and leaves a lasting one in the audit log; a discard does not retry, its failure is logged.
Services are imported in the task bodies: services import tasks.
"""

import logging

from celery import shared_task

from messaging.providers import ProviderError
from messaging.services.retries import MAX_ATTEMPTS, RetryLater

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1)
def waha_session_sync(self, *, organization_id: int, number_id: int):
    """Create a WAHA number's session on WAHA (not started), or give the existing one the hub's webhook."""
    from messaging.services import waha_sessions

    try:
        waha_sessions.waha_session_sync(
            organization_id=organization_id, number_id=number_id, attempt=self.request.retries + 1
        )
    except RetryLater as exc:
        # Returned, not raised: a worker has queued the retry; an eager run (tests) applies it at once.
        return self.retry(countdown=exc.countdown, throw=False)


@shared_task
def waha_session_discard(*, organization_id: int, number_id: int) -> None:
    """Delete a deleted number's session on WAHA."""
    from messaging.services import waha_sessions

    try:
        waha_sessions.waha_session_discard(organization_id=organization_id, number_id=number_id)
    except ProviderError as exc:
        logger.warning("WAHA session of deleted number %s not deleted: %r", number_id, exc)
