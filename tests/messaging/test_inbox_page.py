"""The inbox page (/inbox/, /inbox/<id>/): who may open it, what it hands its scripts (numbers, people, teams,
tab counts, the deep-linked conversation), other organizations' and hidden numbers' conversations as 404, the tabs'
counts endpoint, and a query count that does not grow with the inbox."""

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership, Organization, Role, Team, TeamMember
from messaging import call_labels
from messaging.models import Conversation, Provider
from messaging.serializers.conversations import conversation_data
from messaging.views.inbox import STRINGS
from tests.conftest import signed_in
from tests.factories import MembershipFactory
from tests.messaging.factories import ConversationFactory, WhatsAppNumberFactory

pytestmark = pytest.mark.django_db


def page_data(response) -> dict:
    assert response.status_code == 200
    match = re.search(r'<script id="inbox-data" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(match.group(1))


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client):
    response = client.get("/inbox/12/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/inbox/12/"


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
def test_agents_and_admins_get_the_inbox_with_its_data(org, role):
    membership = MembershipFactory(organization=org, role=role)
    org.settings = {"timezone": "Asia/Riyadh"}
    org.save()
    number = WhatsAppNumberFactory(organization=org, display_name="Support", phone_number="+15550001111")
    team = Team.objects.create(organization=org, name="Sales")

    response = signed_in(membership).get("/inbox/")

    data = page_data(response)
    assert data["me"] == {"id": membership.user_id, "name": membership.user.name, "role": role}
    assert data["numbers"] == [{"id": number.pk, "name": "Support", "phone": "+15550001111", "provider": "cloud"}]
    assert data["people"] == [{"id": membership.user_id, "name": membership.user.name, "assignable": True}]
    assert data["teams"] == [{"id": team.pk, "name": "Sales"}]
    assert data["counts"] == {"mine": 0, "unassigned": 0, "all": 0, "total": 0}
    assert data["opened"] is None
    assert data["time_zone"] == "Asia/Riyadh"
    page = response.content.decode()
    assert '<script type="module" src="/static/js/inbox.js"></script>' in page
    assert json.loads(re.search(r'id="inbox-strings" type="application/json">(.*?)</script>', page).group(1)) == {
        key: str(value) for key, value in {**STRINGS, **call_labels.inbox_strings()}.items()
    }


def test_marketers_are_told_the_inbox_is_for_agents_and_admins(marketing_membership):
    response = signed_in(marketing_membership).get("/inbox/")

    assert response.status_code == 403
    assert "The inbox is for agents and admins." in response.content.decode()
    assert signed_in(marketing_membership).get("/inbox/counts/").status_code == 403


def test_a_deactivated_agent_gets_the_reason_not_the_page(agent_membership):
    client = signed_in(agent_membership)
    Membership.objects.filter(pk=agent_membership.pk).update(is_active=False)

    response = client.get("/inbox/")

    assert response.status_code == 403
    assert "Your membership in this organization is deactivated." in response.content.decode()


def test_a_deep_link_opens_the_conversation_as_the_api_shows_it(org, agent_membership):
    conversation = ConversationFactory(organization=org, last_inbound_at=timezone.now())

    data = page_data(signed_in(agent_membership).get(f"/inbox/{conversation.pk}/"))

    assert data["opened"] == json.loads(json.dumps(conversation_data(Conversation.objects.get(pk=conversation.pk))))
    assert data["opened"]["id"] == conversation.pk


def test_a_deep_link_to_another_organization_s_conversation_is_a_404(org, other_org, agent_membership):
    theirs = ConversationFactory(organization=other_org)
    client = signed_in(agent_membership)

    assert client.get(f"/inbox/{theirs.pk}/").status_code == 404
    assert client.get("/inbox/999999999/").status_code == 404
    assert client.get(f"/inbox/{'9' * 19}/").status_code == 404  # no such id (and no overflowing query)


def test_numbers_assigned_to_someone_else_and_their_conversations_stay_hidden_from_an_agent(org, agent_membership):
    colleague = MembershipFactory(organization=org, role=Role.AGENT)
    team = Team.objects.create(organization=org, name="Support")
    TeamMember.objects.create(organization=org, team=team, user=agent_membership.user)
    open_line = WhatsAppNumberFactory(organization=org, display_name="Open line")
    teams_line = WhatsAppNumberFactory(organization=org, display_name="Team line", assigned_team=team)
    their_line = WhatsAppNumberFactory(organization=org, display_name="Their line", assigned_user=colleague.user)
    hidden = ConversationFactory(organization=org, number=their_line)
    ConversationFactory(organization=org, number=open_line)
    client = signed_in(agent_membership)

    data = page_data(client.get("/inbox/"))

    assert [number["id"] for number in data["numbers"]] == [open_line.pk, teams_line.pk]
    assert data["counts"]["all"] == 1
    assert client.get(f"/inbox/{hidden.pk}/").status_code == 404
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    assert page_data(signed_in(admin).get(f"/inbox/{hidden.pk}/"))["opened"]["id"] == hidden.pk


def test_people_to_assign_are_active_agents_and_admins_and_the_others_keep_their_names(org, agent_membership):
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    marketer = MembershipFactory(organization=org, role=Role.MARKETING)
    gone = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)
    MembershipFactory(organization=Organization.objects.create(name="Elsewhere", slug="elsewhere"))

    people = page_data(signed_in(agent_membership).get("/inbox/"))["people"]

    assert people == [
        {"id": agent_membership.user_id, "name": agent_membership.user.name, "assignable": True},
        {"id": admin.user_id, "name": admin.user.name, "assignable": True},
        {"id": marketer.user_id, "name": marketer.user.name, "assignable": False},
        {"id": gone.user_id, "name": gone.user.name, "assignable": False},
    ]


def test_the_tabs_count_open_conversations_mine_unassigned_and_all_beside_the_total(org, other_org, agent_membership):
    colleague = MembershipFactory(organization=org, role=Role.AGENT)
    ConversationFactory(organization=org, assigned_to=agent_membership.user)
    ConversationFactory(organization=org, assigned_to=agent_membership.user, status=Conversation.Status.CLOSED)
    ConversationFactory(organization=org, assigned_to=colleague.user)
    ConversationFactory(organization=org)
    ConversationFactory(organization=org)
    ConversationFactory(organization=org, status=Conversation.Status.PENDING)
    ConversationFactory(organization=other_org)
    client = signed_in(agent_membership)

    counts = {"mine": 1, "unassigned": 2, "all": 4, "total": 6}
    assert page_data(client.get("/inbox/"))["counts"] == counts
    response = client.get("/inbox/counts/")
    assert response.status_code == 200
    assert response.json() == counts


def test_the_sandbox_numbers_get_the_play_the_customer_dialog(org, agent_membership):
    client = signed_in(agent_membership)
    cloud = WhatsAppNumberFactory(organization=org)
    assert 'id="play-dialog"' not in client.get("/inbox/").content.decode()

    WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX, display_name="Sandbox", phone_number_id="sb")
    page = client.get("/inbox/").content.decode()

    assert 'id="play-dialog"' in page
    assert f'<option value="{cloud.pk}">' not in page.split('id="play-dialog"')[1]


def test_an_inbox_without_numbers_tells_an_admin_to_connect_one(org, admin_membership, agent_membership):
    assert "Connect a number" in signed_in(admin_membership).get("/inbox/").content.decode()
    page = signed_in(agent_membership).get("/inbox/").content.decode()
    assert "Ask an admin to connect one" in page
    assert 'id="new-dialog"' not in page


def _grow(org, count: int) -> Conversation:
    """`count` more agents, teams, numbers (every other one assigned to a team) and conversations; returns the first
    conversation (on a number everyone sees)."""
    conversations = []
    for index in range(count):
        member = MembershipFactory(organization=org, role=Role.AGENT)
        team = Team.objects.create(organization=org, name=f"Team {org.pk}-{count}-{index}")
        TeamMember.objects.create(organization=org, team=team, user=member.user)
        number = WhatsAppNumberFactory(organization=org, assigned_team=team if index % 2 else None)
        conversations.append(ConversationFactory(organization=org, number=number, assigned_to=member.user, team=team))
    return conversations[0]


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
def test_the_page_reads_the_same_number_of_queries_however_big_the_inbox(org, role):
    client = signed_in(MembershipFactory(organization=org, role=role))
    first = _grow(org, 2)  # a team's number among them: the selector reads the teams then
    client.get("/inbox/")  # the session is warm, as on any later page
    small = [_queries(client, "/inbox/"), _queries(client, f"/inbox/{first.pk}/"), _queries(client, "/inbox/counts/")]

    more = _grow(org, 6)

    big = [_queries(client, "/inbox/"), _queries(client, f"/inbox/{more.pk}/"), _queries(client, "/inbox/counts/")]
    assert big == small
