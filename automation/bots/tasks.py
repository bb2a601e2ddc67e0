"""The bots' Celery task (imported by automation.bots.wiring when the app is ready, so workers know it). Thin and
idempotent: the answer is claimed per inbound message (automation.services.bots)."""

from celery import shared_task


@shared_task
def answer_latest(organization_id: int, conversation_id: int) -> None:
    """A flow handed the conversation to a bot: answer the customer's latest message if no bot dealt with it."""
    from automation.services import bots

    bots.bot_answer_latest(organization_id=organization_id, conversation_id=conversation_id)
