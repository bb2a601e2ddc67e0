"""An inbox embed's live socket (/ws/embed/?token=): its token opens it, it hears only the events of the embed's scope
cut to what the page shows, it sends only in reply mode and never marks read, and it closes as the embed is revoked,
deleted or expires, or its organization is suspended."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Organization, Team
from messaging import realtime
from messaging.models import InboxEmbed, Message
from messaging.serializers.embeds import EMBED_EVENT_FIELDS
from messaging.services import embeds as embed_services
from messaging.services import events
from messaging.services.numbers import number_assign
from tests.factories import OrganizationFactory
from tests.messaging.embeds_support import embed as make_embed
from tests.messaging.factories import ConversationFactory, MessageFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import open_conversation
from tests.messaging.socket_support import WAIT, closed_with, db, frames, open_embed, open_socket, run

pytestmark = pytest.mark.django_db(transaction=True)


def _token(embed: InboxEmbed) -> str:
    return embed_services.embed_token(embed)


def _publish(org, messages, conversations) -> None:
    """message.created for the messages, then conversation.updated for the conversations, in one push each."""
    events.publish_messages_on_commit(
        organization_id=org.pk, message_ids=[m.pk for m in messages], event="message.created"
    )
    events.publish_conversations_on_commit(organization_id=org.pk, conversation_ids=[c.pk for c in conversations])


def test_an_embed_hears_only_the_conversations_of_its_numbers_and_teams(org):
    team = Team.objects.create(organization=org, name="Support")
    own, teams_number, team_less, other = (WhatsAppNumberFactory(organization=org) for _ in range(4))
    teams_number.assigned_team = team
    teams_number.save()
    embed = make_embed(org, numbers=[own], teams=[team])
    in_scope = [
        ConversationFactory(organization=org, number=own),
        ConversationFactory(organization=org, number=teams_number),  # its number's team
        ConversationFactory(organization=org, number=team_less, team=team),  # its own team
    ]
    outside = [ConversationFactory(organization=org, number=other), ConversationFactory(organization=org)]
    messages = [
        MessageFactory(organization=org, conversation=c, text=f"hi {i}") for i, c in enumerate(in_scope + outside)
    ]

    async def scenario():
        socket, hello = await open_embed(_token(embed))
        assert hello == {"type": "hello", "seq": 0, "embed_id": embed.pk, "mode": "read_only"}
        await db(_publish)(org, messages, in_scope + outside)
        received = await frames(socket, 2)
        assert await socket.receive_nothing(timeout=0.2)
        return received

    created, updated = run(scenario)
    assert (created["type"], created["first_seq"], created["seq"]) == ("message.created", 1, 1)
    assert [m["text"] for m in created["data"]["messages"]] == ["hi 0", "hi 1", "hi 2"]
    assert [set(m) for m in created["data"]["messages"]] == [set(EMBED_EVENT_FIELDS["messages"])] * 3
    assert (updated["type"], updated["first_seq"], updated["seq"]) == ("conversation.updated", 2, 2)
    assert [c["id"] for c in updated["data"]["conversations"]] == sorted(c.pk for c in in_scope)
    assert [set(c) for c in updated["data"]["conversations"]] == [set(EMBED_EVENT_FIELDS["conversations"])] * 3


def test_an_event_of_another_number_is_not_delivered_and_leaves_no_false_gap(org):
    own, other = WhatsAppNumberFactory(organization=org), WhatsAppNumberFactory(organization=org)
    embed = make_embed(org, numbers=[own])
    mine = MessageFactory(organization=org, conversation=ConversationFactory(organization=org, number=own))
    theirs = MessageFactory(organization=org, conversation=ConversationFactory(organization=org, number=other))

    async def scenario():
        socket, _ = await open_embed(_token(embed))
        publish = db(events.publish_message_on_commit)
        await publish(message_id=theirs.pk, organization_id=org.pk, event="message.created")
        # An organization-wide push (the admins' system log) is no embed's either.
        await db(realtime.publish)(org.pk, [("system_log.created", {"logs": []}, realtime.ORGANIZATION_WIDE)])
        assert await socket.receive_nothing(timeout=0.2)
        await publish(message_id=mine.pk, organization_id=org.pk, event="message.created")
        return await frames(socket, 1)

    [frame] = run(scenario)
    assert (frame["type"], frame["first_seq"], frame["seq"]) == ("message.created", 1, 3)
    assert [m["id"] for m in frame["data"]["messages"]] == [mine.pk]


def test_another_organizations_events_are_not_delivered(org, other_org):
    embed = make_embed(org)
    outsider = MessageFactory(organization=other_org, conversation=ConversationFactory(organization=other_org))

    async def scenario():
        socket, _ = await open_embed(_token(embed))
        await db(events.publish_message_on_commit)(
            message_id=outsider.pk, organization_id=other_org.pk, event="message.created"
        )
        assert await socket.receive_nothing(timeout=0.2)

    run(scenario)


def _answers(embed, sent: list[dict]) -> list[dict]:
    async def scenario():
        socket, _ = await open_embed(_token(embed))
        answers = []
        for frame in sent:
            await socket.send_json_to(frame)
            answers.append(await socket.receive_json_from(timeout=WAIT))
        return answers

    return run(scenario)


def test_a_read_only_embed_refuses_to_send_and_to_mark_read(org, number, fake_meta):
    embed = make_embed(org, numbers=[number])
    conversation = open_conversation(org, number=number)
    sent = [
        {"type": "message.send", "conversation_id": conversation.pk, "text": "Hi", "client_id": "c-1"},
        {"type": "conversation.read", "conversation_id": conversation.pk, "client_id": "c-2"},
    ]
    assert _answers(embed, sent) == [
        {
            "type": "error",
            "client_id": "c-1",
            "code": "permission_denied",
            "detail": "This embed is read only: it cannot send.",
            "errors": {},
        },
        {
            "type": "error",
            "client_id": "c-2",
            "code": "permission_denied",
            "detail": "An embed does not mark conversations read.",
            "errors": {},
        },
    ]
    assert (Message.objects.count(), fake_meta.requests) == (0, [])


def test_a_reply_embed_sends_in_its_scope_only_signed_with_its_name(org, number, fake_meta):
    embed = make_embed(org, numbers=[number], mode=InboxEmbed.Mode.REPLY, name="Helpdesk")
    conversation = open_conversation(org, number=number)
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=number.phone_number_id)
    outside = ConversationFactory(organization=org)
    sent = [
        {"type": "message.send", "conversation_id": outside.pk, "text": "Hi", "client_id": "c-1"},
        {"type": "message.send", "conversation_id": conversation.pk, "text": "Hello from the CRM", "client_id": "c-2"},
    ]
    refused, answer = _answers(embed, sent)
    assert refused == {
        "type": "error",
        "client_id": "c-1",
        "code": "not_found",
        "detail": "Conversation not found.",
        "errors": {},
    }
    [stored] = Message.objects.all()
    assert (stored.conversation, stored.text, stored.sender_label, stored.sent_by) == (
        conversation,
        "Hello from the CRM",
        "Helpdesk",
        None,
    )
    assert answer["type"] == "message.sent" and answer["client_id"] == "c-2"
    assert (answer["message"]["id"], answer["message"]["sender_label"]) == (stored.pk, "Helpdesk")
    assert set(answer["message"]) == set(EMBED_EVENT_FIELDS["messages"])
    assert [body["text"] for body in fake_meta.sends()] == [{"body": "Hello from the CRM"}]


def test_a_bad_token_is_refused_with_4401_and_an_ended_embed_with_4403(org):
    revoked, expired = make_embed(org), make_embed(org, expires_at=timezone.now() + timedelta(hours=1))
    embed_services.embed_revoke(embed=revoked, actor=None)
    InboxEmbed.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = OrganizationFactory()
    suspended_org = make_embed(gone)
    Organization.objects.filter(pk=gone.pk).update(status=Organization.Status.SUSPENDED)
    tokens = {
        "not-a-token": 4401,
        _token(revoked)[:-2] + "xx": 4401,
        _token(revoked): 4403,
        _token(expired): 4403,
        _token(suspended_org): 4403,
    }

    async def scenario():
        codes = {}
        for token in tokens:
            socket = await open_socket(path=f"/ws/embed/?token={token}")
            codes[token] = await closed_with(socket)
        return codes

    assert run(scenario) == tokens


def test_revoking_or_deleting_an_embed_closes_its_sockets_only(org):
    revoked, deleted, kept = make_embed(org), make_embed(org), make_embed(org)

    async def scenario():
        (revoked_socket, _), (deleted_socket, _), (kept_socket, _) = [
            await open_embed(_token(embed)) for embed in (revoked, deleted, kept)
        ]
        await db(embed_services.embed_revoke)(embed=revoked, actor=None)
        assert await closed_with(revoked_socket) == 4403
        await db(embed_services.embed_delete)(embed=deleted, actor=None)
        assert await closed_with(deleted_socket) == 4403
        assert await kept_socket.receive_nothing(timeout=0.2)

    run(scenario)


def test_an_embed_socket_closes_as_the_embed_expires(org):
    embed = make_embed(org, expires_at=timezone.now() + timedelta(seconds=1))

    async def scenario():
        socket, _ = await open_embed(_token(embed))
        assert await socket.receive_nothing(timeout=0.3)
        await asyncio.sleep(0.8)
        assert await closed_with(socket) == 4403

    run(scenario)


def test_suspending_the_organization_closes_its_embeds_sockets(org, other_org):
    embed, outsider = make_embed(org), make_embed(other_org)

    async def scenario():
        (socket, _), (outsider_socket, _) = await open_embed(_token(embed)), await open_embed(_token(outsider))
        await db(account_services.organization_set_status)(
            organization=org, status=Organization.Status.SUSPENDED, actor=None
        )
        assert await closed_with(socket) == 4403
        assert await outsider_socket.receive_nothing(timeout=0.2)

    run(scenario)


def test_a_team_number_assigned_since_the_socket_opened_is_heard(org):
    team = Team.objects.create(organization=org, name="Support")
    embed = make_embed(org, numbers=[], teams=[team])
    number = WhatsAppNumberFactory(organization=org)
    message = MessageFactory(organization=org, conversation=ConversationFactory(organization=org, number=number))

    def assign():
        number_assign(number=number, actor=None, user_id=None, team_id=team.pk)

    async def scenario():
        socket, _ = await open_embed(_token(embed))
        await db(assign)()
        await db(events.publish_message_on_commit)(
            message_id=message.pk, organization_id=org.pk, event="message.created"
        )
        return await frames(socket, 1)

    [frame] = run(scenario)
    assert [m["id"] for m in frame["data"]["messages"]] == [message.pk]
