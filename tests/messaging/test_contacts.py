"""Contacts API: create, read, update, delete, search and filters, roles, tenancy."""

from datetime import UTC, datetime

import pytest

from accounts.models import AuditLog
from messaging.models import Contact, ContactTag, Conversation, Tag, WhatsAppNumber
from messaging.services import contacts as services
from tests.conftest import client_for
from tests.messaging.factories import ContactFactory
from whatsapp_hub.errors import ServiceError

LIST_URL = "/api/v1/contacts"


def detail_url(contact) -> str:
    return f"/api/v1/contacts/{contact.pk}"


def tag_names(contact) -> list[str]:
    return sorted(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))


# --- create ----------------------------------------------------------------------------------------


def test_it_creates_a_contact_with_a_normalised_phone_tags_and_attributes(org, admin_membership, time_machine):
    time_machine.move_to(datetime(2026, 3, 1, 10, 0, tzinfo=UTC), tick=False)
    admin_client = client_for(admin_membership)  # a token issued in the frozen time
    body = {
        "name": " Raj Kumar ",
        "phone": "+966 50 123 4567",
        "tags": ["Lead", "Riyadh", "Lead"],
        "attributes": {"city": "Riyadh", "plan": 2},
    }

    response = admin_client.post(LIST_URL, body, format="json")

    assert response.status_code == 201
    contact = Contact.objects.get()
    assert response.json() == {
        "id": contact.pk,
        "name": "Raj Kumar",
        "profile_name": "",
        "phone": "+966501234567",
        "wa_id": "966501234567",
        "user_id": None,
        "tags": ["Lead", "Riyadh"],
        "attributes": {"city": "Riyadh", "plan": 2},
        "notes": "",
        "opted_out": False,
        "opted_out_at": None,
        "is_active": True,
        "last_inbound_at": None,
        "created_at": "2026-03-01T10:00:00Z",
    }
    assert contact.organization == org
    assert sorted(Tag.objects.for_org(org).values_list("name", flat=True)) == ["Lead", "Riyadh"]
    assert set(ContactTag.objects.filter(contact=contact).values_list("organization_id", flat=True)) == {org.pk}


def test_it_takes_number_as_the_seed_names_the_phone(marketing_client):
    response = marketing_client.post(LIST_URL, {"name": "Raj", "number": "966501234567"}, format="json")

    assert response.status_code == 201
    assert response.json()["phone"] == "+966501234567"


def test_it_reuses_the_organizations_existing_tags(org, admin_client):
    vip = Tag.objects.create(organization=org, name="VIP")

    admin_client.post(LIST_URL, {"phone": "+966501234567", "tags": ["VIP"]}, format="json")

    assert list(Tag.objects.for_org(org)) == [vip]


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "'12345' is not a possible phone number (too short for its country)."),
        ("+1555", "'+1555' is not a possible phone number (too short for its country)."),
        ("not a number", "'not a number' is not a phone number."),
    ],
)
def test_it_refuses_an_invalid_number_naming_the_phone_field(phone, message, admin_client):
    response = admin_client.post(LIST_URL, {"name": "X", "phone": phone}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": message, "code": "invalid", "errors": {"phone": [message]}}
    assert Contact.objects.count() == 0


def test_it_requires_a_phone(admin_client):
    response = admin_client.post(LIST_URL, {"name": "X"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"phone": ["A phone number is required."]}


def test_it_refuses_phone_and_number_that_differ(admin_client):
    body = {"phone": "+966501234567", "number": "966501234568"}

    response = admin_client.post(LIST_URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"phone": ["Send phone or number, not two different numbers."]}


def test_it_refuses_a_number_that_already_exists_in_the_organization(org, admin_client):
    existing = ContactFactory(organization=org, wa_id="966501234567", phone="+966501234567", name="First")

    response = admin_client.post(LIST_URL, {"name": "Second", "phone": "00966501234567"}, format="json")

    assert response.status_code == 400
    message = "A contact with the number +966501234567 already exists in this organization."
    assert response.json() == {"detail": message, "code": "duplicate", "errors": {"phone": [message]}}
    assert list(Contact.objects.values_list("pk", "name")) == [(existing.pk, "First")]


def test_the_same_number_may_be_a_contact_of_another_organization(other_org, admin_client):
    ContactFactory(organization=other_org, wa_id="966501234567", phone="+966501234567")

    response = admin_client.post(LIST_URL, {"phone": "+966501234567"}, format="json")

    assert response.status_code == 201
    assert Contact.objects.filter(wa_id="966501234567").count() == 2


def test_it_refuses_unknown_fields(admin_client):
    response = admin_client.post(LIST_URL, {"phone": "+966501234567", "opted_out": True}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"opted_out": ["Unknown field."]}
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("a,b", "Tag 'a,b' contains ',', ';' or '|' (they separate tags in CSV files)."),
        ("x" * 65, "Tag 'xxxxxxxxxxxxxxxxxxxx'... is longer than 64 characters."),
    ],
)
def test_it_refuses_a_tag_name_that_cannot_be_a_tag(tag, message, admin_client):
    response = admin_client.post(LIST_URL, {"phone": "+966501234567", "tags": [tag]}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"tags": [message]}
    assert Contact.objects.count() == 0
    assert Tag.objects.count() == 0


# --- list, search, filters -------------------------------------------------------------------------


def test_it_lists_the_organizations_contacts_newest_first_in_pages(org, other_org, admin_client):
    contacts = [ContactFactory(organization=org) for _ in range(3)]
    ContactFactory(organization=other_org)

    body = admin_client.get(LIST_URL, {"page_size": 2}).json()

    assert body["count"] == 3
    assert [row["id"] for row in body["results"]] == [contacts[2].pk, contacts[1].pk]
    assert body["next"].endswith("page=2&page_size=2")
    assert [row["id"] for row in admin_client.get(LIST_URL, {"page_size": 2, "page": 2}).json()["results"]] == [
        contacts[0].pk
    ]


@pytest.fixture
def people(org):
    return {
        "raj": ContactFactory(organization=org, name="Raj Kumar", wa_id="966501110001", phone="+966501110001"),
        "sara": ContactFactory(
            organization=org, name="", profile_name="Sara W", wa_id="12025550123", phone="+12025550123", tags=["VIP"]
        ),
        "omar": ContactFactory(
            organization=org, name="Omar", wa_id="966502220002", phone="+966502220002", tags=["VIP lead", "Jeddah"]
        ),
        "old": ContactFactory(organization=org, name="Old", is_active=False, opted_out=True),
    }


def listed(client, **params) -> set[str]:
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    return {row["name"] or row["profile_name"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("raj", {"Raj Kumar"}),  # name, case-insensitive
        ("sara", {"Sara W"}),  # profile name
        ("+1202", {"Sara W"}),  # phone as stored
        ("+1 (202) 555", {"Sara W"}),  # phone as typed: digits match the wa_id
        ("2220002", {"Omar"}),
        ("vip", {"Sara W", "Omar"}),  # tag names contain it
        ("jedd", {"Omar"}),
        ("nobody", set()),
    ],
)
def test_search_matches_name_profile_name_phone_and_tag(search, expected, people, admin_client):
    assert listed(admin_client, search=search) == expected


def test_tag_filter_matches_the_exact_tag_name(people, admin_client):
    assert listed(admin_client, tag="VIP") == {"Sara W"}
    assert listed(admin_client, tag="vip") == set()


def test_is_active_and_opted_out_filter(people, admin_client):
    assert listed(admin_client, is_active="false") == {"Old"}
    assert listed(admin_client, is_active="true") == {"Raj Kumar", "Sara W", "Omar"}
    assert listed(admin_client, opted_out="true") == {"Old"}
    assert listed(admin_client, opted_out="false", tag="VIP") == {"Sara W"}


def test_search_does_not_reach_another_organizations_tags(people, other_org, admin_client):
    ContactFactory(organization=other_org, tags=["Jeddah"])
    foreign_tagged = ContactTag.objects.get(organization=other_org)

    assert listed(admin_client, search="jeddah") == {"Omar"}
    assert foreign_tagged.contact_id not in {row["id"] for row in admin_client.get(LIST_URL).json()["results"]}


def test_a_malformed_filter_is_a_400(admin_client):
    response = admin_client.get(LIST_URL, {"is_active": "maybe"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["is_active"]


@pytest.mark.parametrize("page_size", [5, 50])
def test_the_list_costs_the_same_queries_whatever_the_page_size(
    page_size, org, admin_client, django_assert_num_queries
):
    for n in range(50):
        ContactFactory(organization=org, tags=[f"tag-{n % 7}", "all"])

    # user and membership (auth), count, page, tags of the page
    with django_assert_num_queries(5):
        response = admin_client.get(LIST_URL, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size
    assert {len(row["tags"]) for row in response.json()["results"]} == {2}


# --- retrieve, update, delete ----------------------------------------------------------------------


def test_it_retrieves_a_contact_with_its_tag_names(org, admin_client):
    contact = ContactFactory(organization=org, tags=["b", "a"])

    body = admin_client.get(detail_url(contact)).json()

    assert (body["id"], body["tags"]) == (contact.pk, ["a", "b"])


def test_patch_changes_only_the_fields_sent_and_replaces_tags(org, admin_client):
    contact = ContactFactory(organization=org, name="Raj", attributes={"city": "Delhi"}, tags=["old", "keep"])

    response = admin_client.patch(detail_url(contact), {"tags": ["keep", "new"]}, format="json")

    assert response.status_code == 200
    assert response.json()["tags"] == ["keep", "new"]
    contact.refresh_from_db()
    assert (contact.name, contact.attributes) == ("Raj", {"city": "Delhi"})
    assert tag_names(contact) == ["keep", "new"]
    assert Tag.objects.for_org(org).filter(name="old").exists()  # the tag stays for other contacts


def test_put_changes_only_the_fields_sent_too(org, admin_client):
    contact = ContactFactory(organization=org, name="Raj", tags=["vip"])

    response = admin_client.put(detail_url(contact), {"attributes": {"city": "Riyadh"}, "is_active": False})

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.name, contact.attributes, contact.is_active) == ("Raj", {"city": "Riyadh"}, False)
    assert tag_names(contact) == ["vip"]


def test_it_reads_a_contacts_notes(org, admin_client):
    contact = ContactFactory(organization=org, notes="Prefers Arabic.\nCalls after 5 pm.")

    body = admin_client.get(detail_url(contact)).json()

    assert body["notes"] == "Prefers Arabic.\nCalls after 5 pm."


def test_an_agent_writes_notes_trimmed_and_nothing_else_changes(org, agent_client):
    contact = ContactFactory(organization=org, name="Raj", tags=["vip"], notes="old")

    response = agent_client.patch(detail_url(contact), {"notes": "  يفضل العربية\nVIP since 2024  "}, format="json")

    assert response.status_code == 200
    assert response.json()["notes"] == "يفضل العربية\nVIP since 2024"
    contact.refresh_from_db()
    assert (contact.notes, contact.name) == ("يفضل العربية\nVIP since 2024", "Raj")
    assert tag_names(contact) == ["vip"]


def test_notes_may_be_cleared(org, admin_client):
    contact = ContactFactory(organization=org, notes="old")

    response = admin_client.patch(detail_url(contact), {"notes": ""}, format="json")

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.notes == ""


def test_notes_of_5000_characters_are_kept_and_longer_ones_refused_naming_notes(org, admin_client):
    contact = ContactFactory(organization=org, name="Raj", notes="old")

    kept = admin_client.patch(detail_url(contact), {"notes": "n" * 5000}, format="json")
    refused = admin_client.patch(detail_url(contact), {"notes": "n" * 5001, "name": "New"}, format="json")

    assert kept.status_code == 200
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"notes": ["Ensure this field has no more than 5000 characters."]}
    contact.refresh_from_db()
    assert (contact.notes, contact.name) == ("n" * 5000, "Raj")


def test_the_service_counts_a_line_break_as_one_character(org):
    contact = ContactFactory(organization=org)

    services.contact_update(contact=contact, notes="a\r\nb")
    with pytest.raises(ServiceError) as refused:
        services.contact_update(contact=contact, notes="n" * 5001)

    assert refused.value.errors == {"notes": ["Notes are longer than 5000 characters."]}
    contact.refresh_from_db()
    assert contact.notes == "a\nb"


def test_a_phone_change_is_normalised_and_moves_the_wa_id(org, admin_client):
    contact = ContactFactory(organization=org)

    response = admin_client.patch(detail_url(contact), {"number": "0012025550123"}, format="json")

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.phone, contact.wa_id) == ("+12025550123", "12025550123")


def test_a_phone_change_to_another_contacts_number_is_refused(org, admin_client):
    taken = ContactFactory(organization=org, wa_id="966501234567", phone="+966501234567")
    contact = ContactFactory(organization=org, name="Mine")
    before = (contact.phone, contact.wa_id)

    response = admin_client.patch(detail_url(contact), {"phone": "+966501234567", "name": "New"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "phone": ["A contact with the number +966501234567 already exists in this organization."]
    }
    contact.refresh_from_db()
    assert (contact.phone, contact.wa_id, contact.name) == (*before, "Mine")
    assert Contact.objects.filter(wa_id=taken.wa_id).count() == 1


def test_a_phone_change_to_an_invalid_number_is_refused(org, admin_client):
    contact = ContactFactory(organization=org)

    response = admin_client.patch(detail_url(contact), {"phone": "123"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"phone": ["'123' is not a possible phone number (too short for its country)."]}
    assert Contact.objects.get().phone == contact.phone


def test_delete_is_permanent_takes_the_conversations_and_is_audited(org, admin_client, admin_membership):
    contact = ContactFactory(organization=org)
    number = WhatsAppNumber.objects.create(organization=org, display_name="Main")
    Conversation.objects.create(organization=org, number=number, contact=contact)

    response = admin_client.delete(detail_url(contact))

    assert response.status_code == 204
    assert Contact.objects.count() == 0
    assert Conversation.objects.count() == 0
    entry = AuditLog.objects.get(action="contact.delete")
    assert (entry.actor, entry.target_type, entry.target_id) == (admin_membership.user, "contact", str(contact.pk))


# --- roles and tenancy -----------------------------------------------------------------------------


def test_agents_read_create_and_edit_contacts(org, agent_client):
    contact = ContactFactory(organization=org, name="Before")

    assert agent_client.get(LIST_URL).status_code == 200
    assert agent_client.get(detail_url(contact)).status_code == 200
    assert agent_client.post(LIST_URL, {"phone": "+966501234567"}, format="json").status_code == 201
    assert agent_client.patch(detail_url(contact), {"name": "After"}, format="json").status_code == 200
    contact.refresh_from_db()
    assert contact.name == "After"


def test_agents_cannot_delete_contacts(org, agent_client):
    contact = ContactFactory(organization=org)

    response = agent_client.delete(detail_url(contact))

    assert response.status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_marketing_deletes_contacts(org, marketing_client):
    contact = ContactFactory(organization=org)

    assert marketing_client.delete(detail_url(contact)).status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_anonymous_requests_are_refused(anon_client):
    assert anon_client.get(LIST_URL).status_code == 401


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("get", None),
        ("patch", {"name": "Hijack"}),
        ("patch", {"notes": "Hijacked"}),
        ("put", {"tags": ["x"]}),
        ("delete", None),
    ],
)
def test_another_organizations_contact_is_a_404_and_stays_unchanged(method, body, other_org, admin_client):
    foreign = ContactFactory(organization=other_org, name="Theirs", tags=["theirs"], notes="Their notes")

    response = getattr(admin_client, method)(detail_url(foreign), body, format="json")

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert (foreign.name, foreign.notes) == ("Theirs", "Their notes")
    assert tag_names(foreign) == ["theirs"]
    assert Tag.objects.for_org(other_org).count() == 1
