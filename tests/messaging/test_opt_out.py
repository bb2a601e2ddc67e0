"""Opt-out: the inbound keywords (opt_keyword) and the opt-out / opt-in endpoints."""

from datetime import UTC, datetime

import pytest

from accounts.models import AuditLog
from messaging import hooks
from messaging.services.contacts import opt_keyword
from tests.conftest import client_for
from tests.messaging.factories import ContactFactory

# --- keywords --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", True),
        ("stop", True),
        ("  Stop \n", True),
        ("UNSUBSCRIBE", True),
        ("Stop All", True),
        ("إيقاف", True),
        (" ايقاف ", True),
        ("إلغاء الاشتراك", True),
        ("START", False),
        ("  start\t", False),
        ("اشتراك", False),
        ("please stop", None),
        ("stopping", None),
        ("Hello", None),
        ("", None),
        ("   ", None),
    ],
)
def test_default_keywords_in_english_and_arabic_ignore_case_and_spaces(text, expected, org):
    assert opt_keyword(organization=org, text=text) is expected


def test_an_organizations_own_lists_replace_the_defaults_above_the_floor(org):
    org.settings = {"opt_out_keywords": ["Halt", "قف"], "opt_in_keywords": ["RESUME"]}
    org.save()

    assert opt_keyword(organization=org, text="halt") is True
    assert opt_keyword(organization=org, text=" قف ") is True
    assert opt_keyword(organization=org, text="resume") is False
    assert opt_keyword(organization=org, text="cancel") is None  # a default, not the floor
    assert opt_keyword(organization=org, text="STOP") is True  # the floor (tests/security/test_settings_schema.py)
    assert opt_keyword(organization=org, text="START") is None


def test_an_organization_may_set_only_one_list(org):
    org.settings = {"opt_out_keywords": ["halt"]}
    org.save()

    assert opt_keyword(organization=org, text="HALT") is True
    assert opt_keyword(organization=org, text="start") is False


# --- endpoints -------------------------------------------------------------------------------------


def opt_out_url(contact) -> str:
    return f"/api/v1/contacts/{contact.pk}/opt-out"


def opt_in_url(contact) -> str:
    return f"/api/v1/contacts/{contact.pk}/opt-in"


@pytest.fixture
def told():
    """What the contact_opted_out hook told its subscribers (after commit)."""
    calls = []

    def subscriber(**kwargs):
        calls.append(kwargs)

    hooks.contact_opted_out.connect(subscriber)
    yield calls
    hooks.contact_opted_out.disconnect(subscriber)


def test_opt_out_marks_the_contact_records_it_and_tells_subscribers(
    org, admin_membership, time_machine, told, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2026, 3, 1, 10, 0, tzinfo=UTC), tick=False)
    contact = ContactFactory(organization=org)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_membership).post(opt_out_url(contact))

    assert response.status_code == 200
    assert (response.json()["opted_out"], response.json()["opted_out_at"]) == (True, "2026-03-01T10:00:00Z")
    contact.refresh_from_db()
    assert (contact.opted_out, contact.opted_out_at) == (True, datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    entry = AuditLog.objects.get()
    assert (entry.action, entry.actor, entry.target_id, entry.data) == (
        "contact.opt_out",
        admin_membership.user,
        str(contact.pk),
        {"source": "api"},
    )
    assert told == [{"organization_id": org.pk, "contact_id": contact.pk, "opted_out": True}]


def test_opt_in_reverses_it_and_is_audited(org, marketing_client, marketing_membership, told):
    contact = ContactFactory(organization=org, opted_out=True, opted_out_at=datetime(2026, 1, 1, tzinfo=UTC))

    response = marketing_client.post(opt_in_url(contact))

    assert response.status_code == 200
    assert (response.json()["opted_out"], response.json()["opted_out_at"]) == (False, None)
    contact.refresh_from_db()
    assert (contact.opted_out, contact.opted_out_at) == (False, None)
    assert list(AuditLog.objects.values_list("action", "actor")) == [("contact.opt_in", marketing_membership.user_id)]


def test_opting_out_twice_changes_and_records_nothing_the_second_time(org, admin_client):
    contact = ContactFactory(organization=org)
    admin_client.post(opt_out_url(contact))
    first = type(contact).objects.get().opted_out_at

    response = admin_client.post(opt_out_url(contact))

    assert response.status_code == 200
    assert type(contact).objects.get().opted_out_at == first
    assert AuditLog.objects.filter(action="contact.opt_out").count() == 1


def test_opted_out_contacts_are_listed_with_the_filter(org, admin_client):
    stays, leaves = ContactFactory(organization=org), ContactFactory(organization=org)
    admin_client.post(opt_out_url(leaves))

    opted_out = admin_client.get("/api/v1/contacts", {"opted_out": "true"}).json()["results"]
    opted_in = admin_client.get("/api/v1/contacts", {"opted_out": "false"}).json()["results"]

    assert [row["id"] for row in opted_out] == [leaves.pk]
    assert [row["id"] for row in opted_in] == [stays.pk]


def test_an_agent_may_opt_a_contact_out_but_not_back_in(org, agent_client):
    contact = ContactFactory(organization=org)

    assert agent_client.post(opt_out_url(contact)).status_code == 200
    response = agent_client.post(opt_in_url(contact))

    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.opted_out is True
    assert list(AuditLog.objects.values_list("action", flat=True)) == ["contact.opt_out"]


@pytest.mark.parametrize("url", [opt_out_url, opt_in_url])
def test_another_organizations_contact_cannot_be_opted_in_or_out(url, other_org, admin_client, told):
    # Each call would change the contact: opt-in an opted-out one, opt-out an opted-in one.
    foreign = ContactFactory(organization=other_org, opted_out=url is opt_in_url)

    response = admin_client.post(url(foreign))

    assert response.status_code == 404
    assert type(foreign).objects.get().opted_out is (url is opt_in_url)
    assert AuditLog.objects.count() == 0
    assert told == []
