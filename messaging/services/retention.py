"""Retention of raw webhook events: processed events are deleted after WEBHOOK_EVENT_RETENTION_DAYS (beat, hourly).

Their content lives on in the messages and statuses they were ingested into; the raw bodies only hold personal
data longer. Dead letters (and whatever is still pending, processing or failed) are kept until they are replayed
and processed, or deleted by hand.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging.models import WebhookEvent
from whatsapp_hub.retention import delete_in_batches

PRUNE_BATCH = 1000
# A run deletes at most this many batches (the next run goes on), so it stays well inside the task time limit.
PRUNE_MAX_BATCHES = 200


def webhook_events_prune(*, batch_size: int = PRUNE_BATCH, max_batches: int = PRUNE_MAX_BATCHES) -> int:
    """Delete the events processed, and received, more than the retention ago, in batches of `batch_size` (one
    short transaction each: never one huge DELETE). Returns how many were deleted. Safe to run twice at once."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    # received_at first: the (status, received_at) index finds them; processed_at: a replayed dead letter counts
    # from when it was processed at last.
    expired = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.PROCESSED, received_at__lt=cutoff, processed_at__lt=cutoff
    )
    return delete_in_batches(expired, batch_size=batch_size, max_batches=max_batches)
