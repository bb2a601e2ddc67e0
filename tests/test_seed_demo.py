from django.core.management import call_command

from accounts.models import Membership, Organization
from messaging.models import Contact, Conversation, Message, WhatsAppNumber


def test_seed_demo_creates_people_and_sandbox_conversations_once(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    organization = Organization.objects.get(slug="demo-store")
    assert sorted(Membership.objects.for_org(organization).values_list("role", flat=True)) == [
        "admin",
        "agent",
        "marketing",
    ]
    assert list(WhatsAppNumber.objects.for_org(organization).values_list("provider", flat=True)) == ["sandbox"]
    assert Contact.objects.for_org(organization).count() == 3
    assert sorted(Conversation.objects.for_org(organization).values_list("unread_count", flat=True)) == [1, 1, 1]
    assert Message.objects.for_org(organization).filter(direction="inbound").count() == 3
