"""Per-number access through the API: within one organization, an agent assigned nothing, an agent assigned a number,
a member of the team assigned another, and an admin each see exactly their numbers' conversations, messages, media
and figures; a hidden number's rows answer like another organization's. (The isolation walker, tests/test_isolation.py,
proves the 404 on every route.)"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role, Team, TeamMember
from messaging.models import Contact, Conversation, Media, Message, Provider
from messaging.services import numbers as number_services
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.messaging.factories import ConversationFactory, MediaFactory, MessageFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import api_key_client, committed, open_conversation

PEOPLE = ("unassigned_agent", "assigned_agent", "team_member", "admin")


class Office:
    """One organization: an open (unassigned) number, one assigned to an agent, one assigned to a team; a
    conversation with one message on each (the assigned agent's with an image)."""

    def __init__(self, org, admin_membership, agent_membership):
        self.org = org
        self.members = {
            "unassigned_agent": agent_membership,
            "assigned_agent": MembershipFactory(organization=org, role=Role.AGENT),
            "team_member": MembershipFactory(organization=org, role=Role.AGENT),
            "admin": admin_membership,
        }
        team = Team.objects.create(organization=org, name="Sales")
        TeamMember.objects.create(organization=org, team=team, user=self.members["team_member"].user)
        self.numbers = {
            "open": WhatsAppNumberFactory(organization=org, display_name="Open"),
            "agents": WhatsAppNumberFactory(
                organization=org, display_name="Ann's", assigned_user=self.members["assigned_agent"].user
            ),
            "teams": WhatsAppNumberFactory(organization=org, display_name="Sales", assigned_team=team),
        }
        self.conversations = {name: open_conversation(org, number=number) for name, number in self.numbers.items()}
        self.messages = {
            name: MessageFactory(organization=org, conversation=conversation, text=f"hello from {name}")
            for name, conversation in self.conversations.items()
        }
        image = MessageFactory(organization=org, conversation=self.conversations["agents"], type="image", text="")
        self.agents_media = MediaFactory(organization=org, message=image)

    def client(self, person: str):
        return client_for(self.members[person])


# Which numbers each person sees.
SEES = {
    "unassigned_agent": ["open"],
    "assigned_agent": ["agents", "open"],
    "team_member": ["open", "teams"],
    "admin": ["agents", "open", "teams"],
}


@pytest.fixture
def office(org, admin_membership, agent_membership):
    return Office(org, admin_membership, agent_membership)


def _names(office: Office, ids, rows: dict) -> list[str]:
    by_id = {row.pk: name for name, row in rows.items()}
    return sorted(by_id[pk] for pk in ids if pk in by_id)


@pytest.mark.parametrize("person", PEOPLE)
def test_each_person_lists_the_numbers_they_may_see(office, person):
    body = office.client(person).get("/api/v1/numbers").json()

    assert _names(office, [row["id"] for row in body["results"]], office.numbers) == SEES[person]
    assert len(body["results"]) == body["count"] == len(SEES[person])


@pytest.mark.parametrize("person", PEOPLE)
def test_each_person_reads_the_conversations_of_their_numbers_only(office, person):
    client = office.client(person)

    listed = client.get("/api/v1/conversations").json()["results"]
    reachable = [
        name
        for name, conversation in office.conversations.items()
        if client.get(f"/api/v1/conversations/{conversation.pk}").status_code == 200
    ]

    assert _names(office, [row["id"] for row in listed], office.conversations) == SEES[person]
    assert sorted(reachable) == SEES[person]


def test_a_hidden_row_answers_exactly_like_a_missing_one(office):
    client = office.client("unassigned_agent")
    hidden = office.conversations["agents"]

    for suffix in ("", "/messages"):
        assert _answer(client.get(f"/api/v1/conversations/{hidden.pk}{suffix}")) == _answer(
            client.get(f"/api/v1/conversations/999999{suffix}")
        )
    assert _answer(client.get(f"/api/v1/numbers/{hidden.number_id}")) == _answer(client.get("/api/v1/numbers/999999"))
    assert client.get(f"/api/v1/numbers/{hidden.number_id}").status_code == 404


def _answer(response) -> tuple[int, dict]:
    return response.status_code, response.json()


@pytest.mark.parametrize("person", PEOPLE)
def test_messages_across_conversations_and_search_cover_visible_numbers_only(office, person):
    client = office.client(person)

    listed = client.get("/api/v1/messages", {"direction": "inbound"}).json()["results"]
    found = client.get("/api/v1/messages/search", {"q": "hello"}).json()["results"]

    texts = sorted(message["text"] for message in listed if message["text"])
    assert texts == [f"hello from {name}" for name in SEES[person]]
    assert sorted(message["text"] for message in found) == [f"hello from {name}" for name in SEES[person]]


@pytest.mark.parametrize("person", PEOPLE)
def test_the_dashboard_counts_visible_numbers_and_every_contact(office, person):
    stats = office.client(person).get("/api/v1/dashboard/stats").json()
    days = office.client(person).get("/api/v1/analytics").json()

    visible = len(SEES[person])
    messages = visible + (1 if "agents" in SEES[person] else 0)  # the image
    assert (stats["total_messages"], stats["messages_in_24h"]) == (messages, messages)
    assert (stats["conversations_open"], stats["active_numbers"]) == (visible, visible)
    assert stats["total_contacts"] == Contact.objects.filter(organization=office.org).count() == 3
    assert sum(day["received"] for day in days) == messages


def test_the_file_of_a_hidden_message_is_a_404_and_an_upload_not_sent_yet_is_everyones(office):
    media = office.agents_media
    upload = MediaFactory(organization=office.org)

    for person in PEOPLE:
        client = office.client(person)
        expected = 200 if "agents" in SEES[person] else 404
        assert client.get(f"/api/v1/media/{media.pk}").status_code == expected
        assert client.get(f"/api/v1/media/{media.pk}/content").status_code == expected
        assert client.get(f"/api/v1/media/{upload.pk}/content").status_code == 200


def test_a_hidden_file_cannot_be_sent_by_its_media_id(office, fake_meta):
    conversation = office.conversations["open"]
    before = Message.objects.count()

    response = committed(
        office.client("unassigned_agent").post,
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"type": "image", "media_id": office.agents_media.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "media_id": ["No such uploaded media in this organization (upload it with POST media/ first)."]
    }
    assert Message.objects.count() == before
    assert fake_meta.requests == []


NO_NUMBER = {"number_id": ["No such WhatsApp number in this organization."]}


def test_a_hidden_number_cannot_start_or_send_like_another_organizations(office, other_org, fake_meta):
    client = office.client("unassigned_agent")
    template = {"name": "hello_world", "language": "en_US"}
    foreign = WhatsAppNumberFactory(organization=other_org)

    answers = [
        client.post(
            "/api/v1/conversations/start",
            {"phone": "+966501234567", "number_id": number.pk, "template": template},
            format="json",
        )
        for number in (office.numbers["agents"], foreign)
    ] + [
        client.post(
            "/api/v1/messages",
            {"to": "+966501234567", "number_id": number.pk, "type": "template", "template": template},
            format="json",
        )
        for number in (office.numbers["agents"], foreign)
    ]

    assert [(answer.status_code, answer.json()["errors"]) for answer in answers] == [(400, NO_NUMBER)] * 4
    assert not Contact.objects.filter(phone="+966501234567").exists()
    assert fake_meta.requests == []


def test_the_sandbox_plays_only_the_customers_of_visible_sandbox_numbers(office, fake_meta):
    sandbox = {"provider": Provider.SANDBOX, "phone_number_id": "", "access_token": "", "app_secret": ""}
    hidden = WhatsAppNumberFactory(
        organization=office.org, is_primary=True, assigned_user=office.members["assigned_agent"].user, **sandbox
    )
    visible = WhatsAppNumberFactory(organization=office.org, **sandbox)
    client = office.client("unassigned_agent")

    refused = client.post(
        "/api/v1/sandbox/inbound", {"number_id": hidden.pk, "from": "+16505551234", "text": "hi"}, format="json"
    )
    by_default = committed(
        client.post, "/api/v1/sandbox/inbound", {"from": "+16505551234", "text": "hi"}, format="json"
    )

    assert (refused.status_code, refused.json()["errors"]) == (400, NO_NUMBER)
    assert (by_default.status_code, by_default.json()["number_id"]) == (202, visible.pk)
    assert Conversation.objects.filter(number=hidden).count() == 0


def test_settings_whatsapp_reads_as_unconfigured_to_whom_the_primary_number_is_hidden(office):
    number_services.number_update(number=office.numbers["agents"], actor=None, is_primary=True)

    hidden = office.client("unassigned_agent").get("/api/v1/settings/whatsapp").json()
    shown = office.client("assigned_agent").get("/api/v1/settings/whatsapp").json()

    assert hidden == {"configured": False, "phone_number_id": None, "waba_id": None}
    assert (shown["configured"], shown["phone_number_id"]) == (True, office.numbers["agents"].phone_number_id)


@pytest.mark.parametrize(("role", "sees"), [(Role.AGENT, ["open"]), (Role.ADMIN, ["agents", "open", "teams"])])
def test_api_keys_see_unassigned_numbers_unless_they_are_admin_keys(office, role, sees):
    client = api_key_client(office.org, role=role)

    conversations = client.get("/api/v1/conversations").json()["results"]

    assert _names(office, [row["id"] for row in conversations], office.conversations) == sees


def test_an_assignment_takes_effect_on_the_next_request(office):
    client = office.client("unassigned_agent")
    conversation = office.conversations["agents"]
    assert client.get(f"/api/v1/conversations/{conversation.pk}").status_code == 404

    number_services.number_assign(
        number=office.numbers["agents"], actor=None, user_id=office.members["unassigned_agent"].user_id, team_id=None
    )

    assert client.get(f"/api/v1/conversations/{conversation.pk}").status_code == 200
    assert office.client("assigned_agent").get(f"/api/v1/conversations/{conversation.pk}").status_code == 404


def test_visibility_costs_no_query_of_its_own(office, django_assert_num_queries):
    for _ in range(20):
        ConversationFactory(organization=office.org, number=office.numbers["teams"])
    client = office.client("team_member")

    # Authentication (the user, the membership) and the page: the visible numbers are a subquery of it.
    with django_assert_num_queries(3):
        body = client.get("/api/v1/conversations", {"page_size": 50}).json()

    assert len(body["results"]) == 22  # 20 + the open and the team's conversations


def test_an_upload_is_everyones_until_it_is_sent(office):
    client = office.client("unassigned_agent")

    response = client.post(
        "/api/v1/media",
        {"file": SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, content_type="image/png")},
        format="multipart",
    )

    assert response.status_code == 201
    media = Media.objects.get(pk=response.json()["id"])
    assert office.client("assigned_agent").get(f"/api/v1/media/{media.pk}").status_code == 200


def test_a_conversation_cannot_be_assigned_to_a_member_who_does_not_see_its_number(org, admin_client):
    hidden = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)
    conversation = ConversationFactory(organization=org, number=hidden)
    agent = MembershipFactory(organization=org, role=Role.AGENT)

    response = admin_client.patch(f"/api/v1/conversations/{conversation.pk}/", {"assigned_to": agent.user_id})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "assigned_to": ["This member does not see the conversation's WhatsApp number: assign the number to them first."]
    }
    conversation.refresh_from_db()
    assert conversation.assigned_to_id is None
