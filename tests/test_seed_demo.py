import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase

from accounts.models import Membership, Organization, User
from messaging.models import CannedResponse, Contact, Conversation, Message, WhatsAppNumber
from templates.models import MessageTemplate

REFUSED = (
    "Refusing to seed demo accounts with known passwords: this is not the embedded default ({}). "
    "Add --force to seed it anyway."
)


def seed_demo(*args: str) -> None:
    """The command, with its after-commit work run (the sandbox's template reviews) as outside a test transaction."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("seed_demo", *args, stdout=open("/dev/null", "w"))  # noqa: SIM115


def assert_seeded() -> None:
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
    assert list(CannedResponse.objects.for_org(organization).values_list("shortcut", flat=True)) == [
        "hours",
        "price",
        "shipping",
        "thanks",
    ]
    templates = MessageTemplate.objects.for_org(organization)
    assert sorted(templates.values_list("name", "language", "status", "waba_id")) == [
        ("appointment_reminder", "en_US", "APPROVED", "sandbox"),
        ("order_update", "en_US", "APPROVED", "sandbox"),
        ("spring_sale", "en_US", "APPROVED", "sandbox"),
        ("welcome_back", "ar", "APPROVED", "sandbox"),
    ]


def test_seed_demo_creates_people_and_sandbox_conversations_once(db, embedded_default):
    seed_demo()
    seed_demo()

    assert_seeded()


@pytest.mark.parametrize(
    ("debug", "database_url", "reasons"),
    [
        (False, None, "DEBUG is off"),
        (True, "postgres://hub@db.example.com:5432/hub", "DATABASE_URL is set"),
        (False, "postgres://hub@db.example.com:5432/hub", "DEBUG is off and DATABASE_URL is set"),
    ],
)
def test_seed_demo_refuses_a_production_configuration(db, settings, debug, database_url, reasons):
    settings.DEBUG, settings.DATABASE_URL = debug, database_url

    with pytest.raises(CommandError) as refused:
        seed_demo()

    assert str(refused.value) == REFUSED.format(reasons)
    assert not User.objects.exists()
    assert not Organization.objects.exists()


def test_seed_demo_seeds_a_production_configuration_when_forced(db, settings):
    settings.DEBUG, settings.DATABASE_URL = False, "postgres://hub@db.example.com:5432/hub"

    seed_demo("--force")

    assert_seeded()
