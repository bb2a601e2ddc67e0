"""Celery tasks of automation: thin and safe to run twice (each handler is idempotent per inbound message)."""

from celery import shared_task


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


from automation.knowledge.tasks import process_document, sweep_documents  # noqa: E402, F401
