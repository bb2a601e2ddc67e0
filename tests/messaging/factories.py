"""Factories of messaging models. Shared by every messaging test module: append, never rewrite."""

import factory
from django.utils import timezone

from messaging.models import (
    Call,
    CannedResponse,
    Contact,
    ContactTag,
    Conversation,
    FlowResponse,
    Media,
    Message,
    Provider,
    Tag,
    WhatsAppFlow,
    WhatsAppNumber,
)
from tests.factories import OrganizationFactory


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact with a valid Saudi mobile number (+9665...)."""

    class Meta:
        model = Contact
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    wa_id = factory.Sequence(lambda n: f"9665{n:08d}")
    phone = factory.LazyAttribute(lambda contact: f"+{contact.wa_id}")
    name = factory.Sequence(lambda n: f"Customer {n}")

    @factory.post_generation
    def tags(contact, create, extracted, **kwargs):
        """ContactFactory(tags=["vip"]): tags by name, created in the contact's organization."""
        for name in extracted or ():
            tag, _ = Tag.objects.get_or_create(organization=contact.organization, name=name)
            ContactTag.objects.create(organization=contact.organization, contact=contact, tag=tag)


class WhatsAppNumberFactory(factory.django.DjangoModelFactory):
    """A connected Cloud API number (not primary: pass is_primary=True for the one primary of an organization)."""

    class Meta:
        model = WhatsAppNumber

    organization = factory.SubFactory(OrganizationFactory)
    display_name = factory.Sequence(lambda n: f"Line {n}")
    provider = Provider.CLOUD
    phone_number = factory.Sequence(lambda n: f"+9665{n + 50_000_000:08d}")
    phone_number_id = factory.Sequence(lambda n: f"1{n:014d}")
    waba_id = factory.Sequence(lambda n: f"2{n:014d}")
    access_token = factory.Sequence(lambda n: f"EAAG-access-token-{n:06d}")
    app_secret = factory.Sequence(lambda n: f"app-secret-{n:06d}")
    verify_token = factory.Sequence(lambda n: f"verify-token-{n:06d}")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    organization = factory.SubFactory(OrganizationFactory)
    number = factory.SubFactory(WhatsAppNumberFactory, organization=factory.SelfAttribute("..organization"))
    contact = factory.SubFactory(ContactFactory, organization=factory.SelfAttribute("..organization"))


class MessageFactory(factory.django.DjangoModelFactory):
    """An inbound text message (pass direction/status for an outbound one)."""

    class Meta:
        model = Message

    organization = factory.SubFactory(OrganizationFactory)
    conversation = factory.SubFactory(ConversationFactory, organization=factory.SelfAttribute("..organization"))
    direction = Message.Direction.INBOUND
    type = Message.Type.TEXT
    text = factory.Sequence(lambda n: f"Message {n}")
    status = Message.Status.RECEIVED
    provider_message_id = factory.Sequence(lambda n: f"wamid.TEST{n:010d}")


class MediaFactory(factory.django.DjangoModelFactory):
    """An uploaded PNG, ready to send (stored under MEDIA_ROOT, a temporary directory in tests)."""

    class Meta:
        model = Media

    organization = factory.SubFactory(OrganizationFactory)
    mime_type = "image/png"
    filename = factory.Sequence(lambda n: f"picture-{n}.png")
    file = factory.django.FileField(filename="picture.png", data=b"\x89PNG\r\n\x1a\n fake image bytes")
    size = 25
    status = Media.Status.READY


class CannedResponseFactory(factory.django.DjangoModelFactory):
    """A canned response (/reply-N) with a text and no attachment."""

    class Meta:
        model = CannedResponse

    organization = factory.SubFactory(OrganizationFactory)
    shortcut = factory.Sequence(lambda n: f"reply-{n}")
    title = factory.Sequence(lambda n: f"Reply {n}")
    text = "Hello {{contact.first_name}}, this is {{agent.name}}."


class CallFactory(factory.django.DjangoModelFactory):
    """A missed inbound call in a conversation (its number and contact the conversation's)."""

    class Meta:
        model = Call

    organization = factory.SubFactory(OrganizationFactory)
    conversation = factory.SubFactory(ConversationFactory, organization=factory.SelfAttribute("..organization"))
    number = factory.SelfAttribute("conversation.number")
    contact = factory.SelfAttribute("conversation.contact")
    provider_call_id = factory.Sequence(lambda n: f"wacid.TEST{n:010d}")
    direction = Call.Direction.INBOUND
    status = Call.Status.MISSED
    started_at = factory.LazyFunction(timezone.now)


class WhatsAppFlowFactory(factory.django.DjangoModelFactory):
    """A draft flow of a Cloud number's account, with a one-screen Flow JSON."""

    class Meta:
        model = WhatsAppFlow

    organization = factory.SubFactory(OrganizationFactory)
    number = factory.SubFactory(WhatsAppNumberFactory, organization=factory.SelfAttribute("..organization"))
    waba_id = factory.SelfAttribute("number.waba_id")
    meta_flow_id = factory.Sequence(lambda n: f"7{n:014d}")
    name = factory.Sequence(lambda n: f"Flow {n}")
    categories = ["SIGN_UP"]
    flow_json = {
        "version": "7.2",
        "screens": [{"id": "FORM", "layout": {"type": "SingleColumnLayout", "children": []}}],
    }


class FlowResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlowResponse

    organization = factory.SubFactory(OrganizationFactory)
    flow = factory.SubFactory(WhatsAppFlowFactory, organization=factory.SelfAttribute("..organization"))
    conversation = factory.SubFactory(
        ConversationFactory,
        organization=factory.SelfAttribute("..organization"),
        number=factory.SelfAttribute("..flow.number"),
    )
    contact = factory.SelfAttribute("conversation.contact")
    message = factory.SubFactory(
        MessageFactory,
        organization=factory.SelfAttribute("..organization"),
        conversation=factory.SelfAttribute("..conversation"),
        direction="inbound",
        type="interactive",
    )
    flow_token = factory.LazyAttribute(lambda o: f"{o.flow.pk}.probe")
    response_json = factory.LazyAttribute(
        lambda o: {"answer": f"probe-{o.organization.pk}", "flow_token": o.flow_token}
    )
