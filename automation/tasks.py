"""Celery tasks of automation: thin and safe to run twice (each handler is idempotent per inbound message)."""

from celery import shared_task

from automation.flows.tasks import wake_flow_runs  # noqa: F401  (beat's task of flows, registered with the app)
from automation.knowledge.tasks import process_document, sweep_documents  # noqa: F401


@shared_task
def handle_inbound(organization_id: int, message_id: int) -> None:
    """Offer one inbound message to the handlers of automation.dispatch, in order."""
    from django.utils.module_loading import import_string

    from automation import dispatch
    from messaging.models import Message

    message = Message.objects.filter(organization_id=organization_id, pk=message_id).first()
    if message is None:
        return
    for path in dispatch.HANDLERS:
        if import_string(path)(message):
            return


# --- outbound webhooks (automation/services/webhooks.py) ---------------------------------------------------------


@shared_task
def deliver_webhooks(organization_id: int, delivery_ids: list[int]) -> None:
    """Attempt these outbound webhook deliveries, those still due (claimed: safe to run twice)."""
    from automation.services.webhooks import webhook_deliveries_attempt

    webhook_deliveries_attempt(organization_id=organization_id, delivery_ids=delivery_ids)


@shared_task
def sweep_webhook_deliveries() -> int:
    """Beat, every minute: queue the webhook deliveries whose (re)try is due."""
    from automation.services.webhooks import webhook_deliveries_sweep

    return webhook_deliveries_sweep()


@shared_task
def push_webhook_log(organization_id: int, endpoint_ids: list[int]) -> None:
    """The trailing `webhook.deliveries` push of these endpoints' delivery logs (their pages reload them)."""
    from automation.services.webhooks import webhook_log_push

    webhook_log_push(organization_id=organization_id, endpoint_ids=endpoint_ids)


@shared_task
def send_webhook_disabled_email(organization_id: int, endpoint_id: int) -> None:
    """E-mail the organization's admins that a webhook endpoint was disabled for failing (queued in accounts.mail,
    which sends and retries)."""
    from automation.services.webhooks import webhook_endpoint_disabled_notify

    webhook_endpoint_disabled_notify(organization_id=organization_id, endpoint_id=endpoint_id)
