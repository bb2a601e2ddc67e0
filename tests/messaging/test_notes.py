"""Internal notes (messaging.services.notes): the team's words in the thread, never the customer's; @mentions of
members who see the conversation."""

import pytest
from django.test import TestCase

from accounts.models import Role, Team, TeamMember
from messaging import hooks
from messaging.models import ConversationNote, Message, Notification
from tests.factories import MembershipFactory
from tests.messaging.inbox_support import api_key_client, cloud_number, committed, listen_to_inbox, open_conversation


def notes_url(conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}/notes"


@pytest.fixture
def announced():
    """Every messaging hook call made while the test runs: (hook, kwargs)."""
    calls: list[tuple[str, dict]] = []
    subscribers = []
    for hook in (hooks.message_received, hooks.outbound_message_created, hooks.conversation_updated):

        def record(_name=hook.name, **kwargs):
            calls.append((_name, kwargs))

        hook.connect(record)
        subscribers.append((hook, record))
    yield calls
    for hook, record in subscribers:
        hook.disconnect(record)


def test_a_note_is_stored_for_the_team_and_never_reaches_the_provider_nor_the_window(
    agent_client, agent_membership, conversation, fake_meta, announced
):
    before = (conversation.last_message_at, conversation.last_message_preview, conversation.unread_count)

    response = committed(
        agent_client.post, notes_url(conversation), {"text": "Customer is a VIP, be nice"}, format="json"
    )

    assert response.status_code == 201, response.content
    note = ConversationNote.objects.get()
    assert response.json() == {
        "id": note.pk,
        "conversation_id": conversation.pk,
        "author_id": agent_membership.user_id,
        "author_name": agent_membership.user.name,
        "text": "Customer is a VIP, be nice",
        "mentions": [],
        "created_at": note.created_at.isoformat(),
    }
    assert fake_meta.requests == []  # nothing sent, not even a read receipt
    assert Message.objects.count() == 0  # not a message: never counted as outbound
    assert announced == []  # no hook: automation, outbound webhooks and campaigns never see it
    conversation.refresh_from_db()
    assert (conversation.last_message_at, conversation.last_message_preview, conversation.unread_count) == before


def test_a_note_can_be_written_when_the_window_is_closed(agent_client, org, fake_meta):
    conversation = open_conversation(org, number=cloud_number(org), last_inbound_at=None)

    response = committed(agent_client.post, notes_url(conversation), {"text": "Call them tomorrow"}, format="json")

    assert response.status_code == 201
    assert fake_meta.requests == []


def test_notes_are_listed_newest_first_and_pushed_live_to_those_who_see_the_number(agent_client, conversation):
    receive = listen_to_inbox(conversation.organization_id)
    committed(agent_client.post, notes_url(conversation), {"text": "first"}, format="json")
    committed(agent_client.post, notes_url(conversation), {"text": "second"}, format="json")

    listed = agent_client.get(notes_url(conversation)).json()
    assert [note["text"] for note in listed["results"]] == ["second", "first"]
    events = receive(2)
    assert [(e["event"], e["data"]["notes"][0]["text"], e["number_ids"]) for e in events] == [
        ("note.created", "first", [conversation.number_id]),
        ("note.created", "second", [conversation.number_id]),
    ]


def test_notes_of_a_number_an_agent_may_not_see_are_hidden_like_another_organizations(
    org, admin_client, agent_client, outsider_client, fake_meta
):
    team = Team.objects.create(organization=org, name="Sales")
    hidden = open_conversation(org, number=cloud_number(org, assigned_team=team))
    assert committed(admin_client.post, notes_url(hidden), {"text": "secret"}, format="json").status_code == 201

    assert agent_client.get(notes_url(hidden)).status_code == 404
    assert agent_client.post(notes_url(hidden), {"text": "x"}, format="json").status_code == 404
    assert outsider_client.get(notes_url(hidden)).status_code == 404
    assert ConversationNote.objects.count() == 1


def test_marketing_and_api_keys_write_no_notes(org, marketing_client, conversation):
    assert marketing_client.post(notes_url(conversation), {"text": "x"}, format="json").status_code == 403
    key = api_key_client(org, role=Role.AGENT)
    assert key.post(notes_url(conversation), {"text": "x"}, format="json").status_code == 403
    assert ConversationNote.objects.count() == 0


def test_a_mention_notifies_the_member_and_never_the_author(
    agent_client, agent_membership, admin_membership, conversation
):
    body = {"text": "@Boss can you approve?", "mentions": [admin_membership.user_id, agent_membership.user_id]}

    response = committed(agent_client.post, notes_url(conversation), body, format="json")

    assert response.status_code == 201
    assert response.json()["mentions"] == [admin_membership.user_id, agent_membership.user_id]
    [notification] = Notification.objects.all()
    assert (notification.recipient_id, notification.kind, notification.link, notification.body) == (
        admin_membership.user_id,
        "mention",
        f"/inbox/{conversation.pk}/",
        "@Boss can you approve?",
    )


def test_only_active_members_who_see_the_conversation_can_be_mentioned(
    org, other_org, admin_client, agent_membership, marketing_membership, fake_meta
):
    team = Team.objects.create(organization=org, name="Sales")
    seller = MembershipFactory(organization=org, role=Role.AGENT)
    TeamMember.objects.create(organization=org, team=team, user=seller.user)
    conversation = open_conversation(org, number=cloud_number(org, assigned_team=team))
    gone = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)
    stranger = MembershipFactory(organization=other_org, role=Role.AGENT)

    members = admin_client.get(f"/api/v1/conversations/{conversation.pk}/members").json()
    assert sorted(member["id"] for member in members) == sorted(
        [seller.user_id, *org.membership_set.filter(role=Role.ADMIN).values_list("user_id", flat=True)]
    )
    for refused in (agent_membership, marketing_membership, gone, stranger):  # outside the team, no inbox, ...
        response = admin_client.post(
            notes_url(conversation), {"text": "hi", "mentions": [refused.user_id]}, format="json"
        )
        assert response.status_code == 400, refused
        assert "mentions" in response.json()["errors"]
    assert ConversationNote.objects.count() == 0
    assert Notification.objects.count() == 0

    ok = committed(
        admin_client.post, notes_url(conversation), {"text": "hi", "mentions": [seller.user_id]}, format="json"
    )
    assert ok.status_code == 201
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [seller.user_id]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": "x" * 4097},
        {"text": "x", "mentions": "1"},
        {"text": "x", "mentions": [0]},
    ],
)
def test_bad_notes_are_a_clear_400(agent_client, conversation, body):
    response = agent_client.post(notes_url(conversation), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert ConversationNote.objects.count() == 0


def test_a_rolled_back_note_pushes_and_notifies_nothing(agent_membership, admin_membership, conversation):
    from django.db import transaction

    from messaging.services.notes import note_create

    receive = listen_to_inbox(conversation.organization_id)
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                note_create(
                    conversation=conversation,
                    author=agent_membership.user,
                    text="x",
                    mentions=[admin_membership.user_id],
                )
                raise RuntimeError
        except RuntimeError:
            pass
    assert callbacks == []
    assert ConversationNote.objects.count() == 0
    assert Notification.objects.count() == 0
    del receive
