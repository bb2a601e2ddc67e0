"""After a batch commits: its live-inbox pushes (lists, in the API's shapes) and its hooks."""

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
) -> None:
    """The batch's pushes (lists, in the API's shapes) and hooks, after commit."""
    org_id = organization.pk
    events.publish_ingested_on_commit(
        organization_id=org_id,
        created=created,
        conversations=conversations,
        updated_message_ids=[m.pk for m in updated] + [pk for pk, _, _ in changes],
    )
    inbound = [m.pk for m in created if m.direction == Message.Direction.INBOUND]
    if inbound:
        hooks.message_received.send_on_commit(organization_id=org_id, message_ids=inbound)
    if changes:
        hooks.message_status_changed.send_on_commit(organization_id=org_id, changes=changes)
