"""The sandbox plays WhatsApp's part: the webhooks Meta would post (the statuses of a send, a message a person types
as the customer) are stored like real ones, and the normal ingest path takes them from there."""

from django.db import transaction

from accounts.models import Organization
from messaging.models import Message, Provider, WhatsAppNumber
from messaging.phones import wa_id_from_e164
from messaging.providers.sandbox import SANDBOX_DISPLAY_PHONE_NUMBER, inbound_webhook_for, new_wamid
from messaging.selectors.access import NumberIds
from messaging.selectors.numbers import number_list
from messaging.services import ingest
from messaging.services.contacts import phone_or_error
from messaging.services.conversations import sent_message_or_error
from whatsapp_hub.errors import ServiceError

NO_SANDBOX_NUMBER_DETAIL = (
    "This organization has no sandbox number to simulate inbound messages on: an admin adds one with "
    'POST /api/v1/numbers {"display_name": "Sandbox", "provider": "sandbox"}.'
)


def _number_error(detail: str) -> ServiceError:
    return ServiceError(detail, errors={"number_id": [detail]})


def _sandbox_number(*, organization: Organization, number_id: int | None, number_ids: NumberIds) -> WhatsAppNumber:
    """The sandbox number `number_id`, or by default the organization's primary sandbox number, else its only one,
    among `number_ids`."""
    numbers = number_list(org=organization, number_ids=number_ids)
    if number_id is not None:
        number = numbers.filter(pk=number_id).first()
        if number is None:
            raise _number_error("No such WhatsApp number in this organization.")
        if number.provider != Provider.SANDBOX:
            raise _number_error(
                f"Inbound messages can only be simulated on sandbox numbers; this is a "
                f"{number.get_provider_display()} number, whose customers write from WhatsApp."
            )
        return number
    sandboxes = list(numbers.filter(provider=Provider.SANDBOX)[:2])  # the primary number first
    if not sandboxes:
        raise ServiceError(NO_SANDBOX_NUMBER_DETAIL, code="no_sandbox_number")
    if len(sandboxes) > 1 and not sandboxes[0].is_primary:
        raise _number_error("This organization has several sandbox numbers: choose one with number_id.")
    return sandboxes[0]


@transaction.atomic
def sandbox_inbound_simulate(
    *,
    organization: Organization,
    number_id: int | None,
    phone: str,
    part: dict,
    profile_name: str = "",
    reply_to_id: int | None = None,
    reaction_to_id: int | None = None,
    number_ids: NumberIds = None,
) -> tuple[WhatsAppNumber, str]:
    """The customer `phone` (E.164) sends `part` (Meta's shape: type and its object; a reaction without its
    message_id) to a sandbox number: stores the webhook Meta would post for it, ingested after commit like a real
    one (contact, conversation, unread count, opt-out words, live inbox, hooks). `reply_to_id` quotes, and
    `reaction_to_id` reacts to, a message of the customer's conversation on that number (our ids).

    Returns the number and the message's wamid. 400 for a number that is not one of the organization's sandbox
    numbers among `number_ids` (the numbers the caller may see: selectors.access; None: all), or none to default
    to, a bad phone or a message outside the conversation.
    """
    number = _sandbox_number(organization=organization, number_id=number_id, number_ids=number_ids)
    wa_id = wa_id_from_e164(phone_or_error(phone, field="from"))
    number_wa_id = wa_id_from_e164(number.phone_number) if number.phone_number else SANDBOX_DISPLAY_PHONE_NUMBER
    conversation_messages = Message.objects.for_org(organization).filter(
        conversation__number=number, conversation__contact__wa_id=wa_id
    )
    context = None
    if reply_to_id is not None:
        quoted = sent_message_or_error(messages=conversation_messages, message_id=reply_to_id, field="reply_to")
        sender = wa_id if quoted.direction == Message.Direction.INBOUND else number_wa_id
        context = {"from": sender, "id": quoted.provider_message_id}
    if reaction_to_id is not None:
        target = sent_message_or_error(messages=conversation_messages, message_id=reaction_to_id, field="reaction")
        part = {**part, "reaction": {"message_id": target.provider_message_id, **part["reaction"]}}
    provider_message_id = new_wamid()
    payload = inbound_webhook_for(
        number.phone_number_id or "sandbox",
        provider_message_id,
        wa_id=wa_id,
        part=part,
        profile_name=profile_name,
        context=context,
        display_phone_number=number_wa_id,
    )
    ingest.sandbox_webhook_store(number=number, payload=payload)
    return number, provider_message_id
