"""Celery tasks of outbound messages: delivery through the number's provider, its sweeper (beat, every minute),
and read receipts.

Thin and safe to run twice: the services claim the message in the database and skip what is already done.
Transient provider errors come back as RetryLater: the task retries with the backoff it carries (countdown is
ignored when tasks run eagerly, as in tests). Services are imported in the task bodies: services import tasks.
"""

from celery import shared_task

from messaging.services.retries import MAX_ATTEMPTS, RetryLater


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1)
def deliver_message(self, organization_id: int, message_id: int, first_attempt: int = 1):
    """Send a queued outbound message (stores the provider's id, or the error). The sweeper queues an
    interrupted delivery again with its next attempt as `first_attempt`."""
    from messaging.services import conversations

    try:
        conversations.message_deliver(
            organization_id=organization_id, message_id=message_id, attempt=first_attempt + self.request.retries
        )
    except RetryLater as exc:
        # Returned, not raised: a worker has queued the retry; an eager run (tests) applies it at once.
        return self.retry(countdown=exc.countdown, throw=False)


@shared_task
def sweep_message_deliveries() -> int:
    """Queue again the deliveries never run or interrupted; fail the messages out of attempts."""
    from messaging.services import conversations

    return conversations.message_deliveries_sweep()


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1)
def send_read_receipt(self, organization_id: int, message_id: int):
    """Tell WhatsApp an inbound message (and the earlier ones of its chat) was read."""
    from messaging.services import conversations

    try:
        conversations.message_send_read_receipt(
            organization_id=organization_id, message_id=message_id, attempt=self.request.retries + 1
        )
    except RetryLater as exc:
        # Returned, not raised: a worker has queued the retry; an eager run (tests) applies it at once.
        return self.retry(countdown=exc.countdown, throw=False)
