"""Helpers of the bots' tests: a Cloud number whose webhooks the fake Graph API signs, with a bot on it; customers
writing to it through the real webhook endpoint; what the bot sent."""

from django.test import TestCase

from automation.models import Bot
from automation.services import bots as services
from messaging.models import Conversation, Message, WhatsAppNumber
from tests.campaigns.support import campaign_number, webhooks_through_the_endpoint
from tests.fakes.meta import FakeMetaServer

CUSTOMER = "966500000001"


def bot_number(org) -> WhatsAppNumber:
    """A Cloud number in the fake's account, its webhooks signed with the fake's secret."""
    return campaign_number(org)


def make_bot(org, *, number: WhatsAppNumber | None = None, **fields) -> Bot:
    """A bot (services.bot_create), set on `number` when given. No handoff keywords or fallback unless given."""
    fields = {"name": "Support bot", "handoff_keywords": [], "fallback_message": "", **fields}
    bot = services.bot_create(organization=org, actor=None, **fields)
    if number is not None:
        with TestCase.captureOnCommitCallbacks(execute=True):
            services.number_automation_set(number=number, actor=None, values={"bot_id": bot.pk})
    return bot


def customer_writes(
    fake_meta: FakeMetaServer, client, org, number: WhatsAppNumber, text: str | None = None, *, wa_id=CUSTOMER, **kw
) -> dict:
    """The customer writes to the number (through the hub's real webhook endpoint); every after-commit work runs:
    ingest, the bot's answer, its delivery to the fake. Returns the inbound message object."""
    webhooks_through_the_endpoint(fake_meta, client, org)
    sent = fake_meta.send_inbound(wa_id, text=text, phone_number_id=number.phone_number_id, **kw)
    with TestCase.captureOnCommitCallbacks(execute=True):
        responses = fake_meta.deliver_webhooks()
    assert {response.status_code for response in responses} == {200}
    return sent


def bot_texts(fake_meta: FakeMetaServer, wa_id: str = CUSTOMER) -> list[str]:
    """The texts the fake Graph API was asked to send to the customer, in order."""
    return [send["text"]["body"] for send in fake_meta.sends(to=wa_id, type="text")]


def conversation_of(org, number: WhatsAppNumber, wa_id: str = CUSTOMER) -> Conversation:
    return Conversation.objects.get(organization=org, number=number, contact__wa_id=wa_id)


def outbound(conversation: Conversation) -> list[tuple[str, str, str]]:
    """(text, sender_label, status) of the conversation's outbound messages, oldest first."""
    return list(
        Message.objects.filter(conversation=conversation, direction="outbound")
        .order_by("id")
        .values_list("text", "sender_label", "status")
    )
