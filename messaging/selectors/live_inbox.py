"""Reads of the live-inbox socket (messaging.consumers): what its person sees."""

from accounts.models import Organization
from accounts.permissions import IsAgent
from messaging.models import Conversation
from messaging.selectors.access import only_visible_numbers, visible_number_ids
from messaging.selectors.conversations import conversation_list
from whatsapp_hub.errors import ServiceError


def socket_number_ids(*, org: Organization, user_id: int | None, role: str) -> frozenset[int] | None:
    """The numbers whose events a socket forwards (visible_number_ids; None: all), of the event types its role hears
    (messaging.realtime.event_roles: the inbox's are for agents and admins, as in the API)."""
    return visible_number_ids(org=org, user_id=user_id, role=role)


def inbox_conversation(*, org: Organization, user_id: int | None, role: str, conversation_id: int) -> Conversation:
    """The conversation an inbox action of the socket names, as the API's conversation routes find it: agents and
    admins only (403), of the organization and on a number this person sees (else 404, as for a missing one)."""
    if role not in IsAgent.roles:
        raise ServiceError(IsAgent.message, status_code=403, code="permission_denied")
    number_ids = visible_number_ids(org=org, user_id=user_id, role=role)
    conversation = only_visible_numbers(conversation_list(org=org), number_ids).filter(pk=conversation_id).first()
    if conversation is None:
        raise ServiceError("Conversation not found.", status_code=404, code="not_found")
    return conversation
