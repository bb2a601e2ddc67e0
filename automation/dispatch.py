"""What answers an inbound message on its own: a waiting flow run, then a flow's trigger, then the bot.

Messaging announces stored inbound messages (hooks.message_received, after commit); each is handled in a task,
in this order, and the first handler that takes it stops the rest:
1. flows: a run of this contact on this number waiting for a reply continues (before any trigger is matched);
   else an active flow of the number whose trigger matches starts a run;
2. bots: the conversation's bot (the number's, or one a flow handed it to) answers, unless a person holds it.
"""

from __future__ import annotations

HANDLERS: tuple[str, ...] = (  # dotted paths of `handler(message) -> bool`, in order
    "automation.services.flows.flow_handle_inbound",
    "automation.services.bots.bot_handle_inbound",
)


def inbound_dispatch_on_commit(*, organization_id: int, message_ids: list[int], **_) -> None:
    from automation import tasks

    for message_id in message_ids:
        tasks.handle_inbound.delay(organization_id, message_id)
