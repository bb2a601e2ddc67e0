"""Helpers of the campaign tests: a Cloud number whose webhooks the fake Graph API signs, an approved template known
to the fake too (so it checks the sends' parameters), contacts, and the sends the fake received."""

from django.test import TestCase

from campaigns import services
from campaigns.models import Campaign, CampaignRecipient
from messaging.models import Tag, WhatsAppNumber
from templates.models import MessageTemplate
from tests.fakes import django_client_target
from tests.fakes.meta import DEFAULT_WABA_ID, FakeMetaServer
from tests.messaging.factories import WhatsAppNumberFactory

APP_SECRET = "test-app-secret"  # the fake's default signing secret
BODY = "Hello {{1}}, your code at {{2}} is ready."


def campaign_number(org, **fields) -> WhatsAppNumber:
    """A Cloud number in the fake's WhatsApp Business Account, its webhooks signed with the fake's secret."""
    defaults = {"waba_id": DEFAULT_WABA_ID, "app_secret": APP_SECRET, "throughput": 80, "is_primary": True}
    return WhatsAppNumberFactory(organization=org, **{**defaults, **fields})


def approved_template(
    org, fake_meta: FakeMetaServer | None = None, *, name: str = "promo", body: str = BODY, language: str = "en_US"
) -> MessageTemplate:
    """An approved MARKETING template in the fake's WABA; given the fake, the fake's library holds it too."""
    components = [{"type": "BODY", "text": body}]
    if fake_meta is not None:
        fake_meta.add_template(name, language=language, components=components, waba_id=DEFAULT_WABA_ID)
    return MessageTemplate.objects.create(
        organization=org,
        waba_id=DEFAULT_WABA_ID,
        meta_id=f"{name}-{language}",
        name=name,
        language=language,
        category=MessageTemplate.Category.MARKETING,
        status=MessageTemplate.Status.APPROVED,
        components=components,
    )


MAPPING = {
    "1": {"type": "contact_field", "value": "name", "fallback": "friend"},
    "2": {"type": "static", "value": "Acme"},
}


def webhooks_through_the_endpoint(fake_meta: FakeMetaServer, client, org) -> None:
    """The fake's webhooks go to the hub's real endpoint for the organization, signed."""
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")


def deliver(fake_meta: FakeMetaServer) -> list:
    """POST the fake's queued webhooks (statuses, inbound messages) with their after-commit work run."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return fake_meta.deliver_webhooks()


def sent_to(fake_meta: FakeMetaServer) -> list[str]:
    """The recipients (digits) of the template sends the fake accepted, in order."""
    return [sent.wa_id for sent in fake_meta.sent.values() if sent.type == "template"]


def statuses(campaign: Campaign) -> dict[str, str]:
    """Each recipient's status, by phone."""
    return dict(CampaignRecipient.objects.filter(campaign=campaign).values_list("phone", "status"))


def counters(campaign: Campaign) -> dict[str, int]:
    campaign.refresh_from_db()
    names = ("total", "sent", "delivered", "read", "replied", "failed", "skipped")
    return {name: getattr(campaign, name) for name in names}


def draft(org, *, name: str = "Spring sale", tag: str = "vip", **fields) -> Campaign:
    """A draft campaign of the organization's primary number and the `promo` template (MAPPING's values), to the
    contacts tagged `tag`."""
    Tag.objects.get_or_create(organization=org, name=tag)
    return services.campaign_create(
        organization=org,
        actor=None,
        name=name,
        template_name="promo",
        language="en_US",
        variable_mapping=MAPPING,
        tag=tag,
        **fields,
    )


def sandbox_campaign(org) -> Campaign:
    """A draft campaign on a sandbox number (sends need no network) to one contact, with its approved template."""
    from campaigns import services
    from tests.messaging.factories import ContactFactory

    number = WhatsAppNumberFactory(organization=org, provider="sandbox")
    template = MessageTemplate.objects.create(
        organization=org,
        waba_id=number.waba_id,
        meta_id=f"walker-{number.pk}",
        name="walker",
        language="en_US",
        category=MessageTemplate.Category.MARKETING,
        status=MessageTemplate.Status.APPROVED,
        components=[{"type": "BODY", "text": "Hello {{1}}"}],
    )
    contact = ContactFactory(organization=org)
    return services.campaign_create(
        organization=org,
        actor=None,
        name="Walker",
        number_id=number.pk,
        template_name=template.name,
        language=template.language,
        contact_ids=[contact.pk],
        variable_mapping={"1": {"type": "static", "value": "you"}},
    )
