"""Celery task of data retention: processed webhook events pruned (beat, hourly). Thin and safe to run twice.
Services are imported in the task body: services import tasks."""

from celery import shared_task


@shared_task
def prune_webhook_events() -> int:
    """Delete the processed webhook events older than WEBHOOK_EVENT_RETENTION_DAYS; returns how many."""
    from messaging.services import retention

    return retention.webhook_events_prune()
