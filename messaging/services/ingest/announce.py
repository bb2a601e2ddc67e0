"""After a batch commits: its live-inbox pushes (lists, in the API's shapes) and its hooks."""

from collections.abc import Sequence

from accounts.models import Organization
from messaging import hooks
from messaging.models import Conversation, Message
from messaging.services import events


def announce(
    organization: Organization,
    *,
    created: list[Message],
    updated: list[Message],
    conversations: list[Conversation],
    changes: list[tuple[int, str, int | None]],
    new_contact_ids: Sequence[int] = (),
    new_conversation_ids: Sequence[int] = (),
    reopened_conversation_ids: Sequence[int] = (),
) -> None:
    """The batch's pushes (lists, in the API's shapes) and hooks, after commit: one call of each hook for the whole
    batch (lists of ids), never one per row."""
    org_id = organization.pk
    events.publish_ingested_on_commit(
        organization_id=org_id,
        created=created,
        conversations=conversations,
        updated_message_ids=[m.pk for m in updated] + [pk for pk, _, _ in changes],
    )
    if new_contact_ids:
        hooks.contact_created.send_on_commit(organization_id=org_id, contact_ids=list(new_contact_ids))
    if new_conversation_ids:
        hooks.conversation_created.send_on_commit(organization_id=org_id, conversation_ids=list(new_conversation_ids))
    if reopened_conversation_ids:
        hooks.conversation_updated.send_on_commit(
            organization_id=org_id, conversation_ids=list(reopened_conversation_ids), fields=["status"]
        )
    inbound = [m.pk for m in created if m.direction == Message.Direction.INBOUND]
    if inbound:
        hooks.message_received.send_on_commit(organization_id=org_id, message_ids=inbound)
    referrals = [m.pk for m in created if m.direction == Message.Direction.INBOUND and m.referral]
    if referrals:
        hooks.referral_received.send_on_commit(organization_id=org_id, message_ids=referrals)
    if changes:
        hooks.message_status_changed.send_on_commit(organization_id=org_id, changes=changes)
