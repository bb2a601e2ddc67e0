"""What answers an inbound message on its own: a waiting flow run, then a flow's trigger, then the bot.

Messaging announces stored inbound messages (hooks.message_received, after commit); each is handled in a task,
in this order, and the first handler that takes it stops the rest:
1. flows: a run of this contact on this number waiting for a reply continues (before any trigger is matched);
   else an active flow of the number whose trigger matches starts a run;
2. bots: the conversation's bot (the number's, or one a flow handed it to) answers, unless a person holds it.
"""

from __future__ import annotations

from automation.models import Bot, Flow, FlowRun

HANDLERS: tuple[str, ...] = (  # dotted paths of `handler(message) -> bool`, in order
    "automation.services.flows.flow_handle_inbound",
    "automation.services.bots.bot_handle_inbound",
)


def inbound_dispatch_on_commit(*, organization_id: int, message_ids: list[int], **_) -> None:
    from automation import tasks

    if not _may_answer(organization_id):
        return  # no task per message (some 600 µs of a worker's CPU each) where nothing would answer
    for message_id in message_ids:
        tasks.handle_inbound.delay(organization_id, message_id)


def _may_answer(organization_id: int) -> bool:
    """Whether a handler could take a message of this organization: it has an active bot or flow, or a flow run
    under way (a run whose flow was switched off still takes its answer, and STOP still cancels it)."""
    return (
        Bot.objects.filter(organization_id=organization_id, is_active=True).exists()
        or Flow.objects.filter(organization_id=organization_id, is_active=True).exists()
        or FlowRun.objects.filter(organization_id=organization_id, status__in=FlowRun.ACTIVE).exists()
    )
