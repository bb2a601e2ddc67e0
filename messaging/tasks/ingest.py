"""Celery tasks of inbound webhooks: the batch processor and the sweeper (beat, every minute).

Thin and safe to run twice: events are claimed in the database, so a second run finds nothing to do.
Services are imported in the task bodies: services import tasks.
"""

from celery import shared_task
from django.conf import settings


@shared_task(bind=True)
def process_webhook_events(self, slot: int = 0) -> int:
    """Ingest pending webhook events, batch after batch; returns how many were claimed. A worker lingers
    between small batches so that they fill up, and under a backlog queues drains in the other slots (up to
    INGEST_DRAINS at once); an inline (eager) run answers at once, alone."""
    from messaging.services import ingest

    if self.request.is_eager:
        return ingest.webhook_events_drain(slot=slot)
    return ingest.webhook_events_drain(slot=slot, drains=settings.INGEST_DRAINS, linger=ingest.BATCH_LINGER)


@shared_task
def sweep_webhook_events() -> int:
    """Queue again the events not processed within a minute (broker down, worker died, failed)."""
    from messaging.services import ingest

    return ingest.webhook_events_sweep()
