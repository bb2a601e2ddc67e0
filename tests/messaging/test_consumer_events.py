"""What the live-inbox socket forwards: the organization's events in the API's shapes, each frame with the sequence
numbers it covers (no false gaps for what it drops, a gap for what was lost), status storms merged, other
organizations' events and other people's numbers left out."""

import time

import pytest
from channels.layers import get_channel_layer
from django.core.cache import cache

from accounts import services as account_services
from accounts.models import Role, Team
from messaging import realtime
from messaging.serializers.conversations import message_data
from messaging.services import events
from messaging.services.numbers import number_assign
from tests.factories import MembershipFactory
from tests.messaging.factories import ConversationFactory, MessageFactory
from tests.messaging.inbox_support import cloud_number, messages_url
from tests.messaging.socket_support import WAIT, db, frames, open_inbox, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _conversation_updated(conversation):
    events.publish_conversation_on_commit(conversation_id=conversation.pk, organization_id=conversation.organization_id)


def _seqs(received: list[dict]) -> list[tuple[str, int, int]]:
    return [(frame["type"], frame["first_seq"], frame["seq"]) for frame in received]


def test_each_event_is_forwarded_in_the_apis_shapes(admin_membership, admin_client, org):
    message = MessageFactory(organization=org, text="Where is my order?")
    conversation = message.conversation
    cookie = session_cookie(admin_membership.user)

    async def scenario():
        socket, hello = await open_inbox(cookie=cookie)
        assert hello["seq"] == 0
        publish = db(events.publish_message_on_commit)
        await publish(message_id=message.pk, organization_id=org.pk, event="message.created")
        await db(_conversation_updated)(conversation)
        await publish(message_id=message.pk, organization_id=org.pk, event="message.updated")
        return await frames(socket, 3)

    received = run(scenario)
    [api_message] = admin_client.get(messages_url(conversation)).json()["results"]
    api_conversation = admin_client.get(f"/api/v1/conversations/{conversation.pk}").json()
    assert received == [
        {"type": "message.created", "seq": 1, "first_seq": 1, "data": {"messages": [api_message]}},
        {"type": "conversation.updated", "seq": 2, "first_seq": 2, "data": {"conversations": [api_conversation]}},
        {"type": "message.updated", "seq": 3, "first_seq": 3, "data": {"messages": [api_message]}},
    ]


def test_the_events_of_one_push_come_in_one_frame_in_order(admin_membership, org):
    conversation = ConversationFactory(organization=org)
    cookie = session_cookie(admin_membership.user)
    pushed = [
        ("message.created", {"messages": [{"id": 1}]}, [conversation.number_id]),
        ("conversation.updated", {"conversations": [{"id": conversation.pk}]}, [conversation.number_id]),
    ]

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await db(realtime.publish)(org.pk, pushed)
        frame = await socket.receive_json_from(timeout=WAIT)
        assert await socket.receive_nothing(timeout=0.2)
        return frame

    assert run(scenario) == {
        "type": "events",
        "events": [
            {"type": "message.created", "seq": 1, "first_seq": 1, "data": {"messages": [{"id": 1}]}},
            {
                "type": "conversation.updated",
                "seq": 2,
                "first_seq": 2,
                "data": {"conversations": [{"id": conversation.pk}]},
            },
        ],
    }


def test_a_status_storm_comes_as_a_few_frames_with_every_final_status(admin_membership, org, settings):
    messages = [MessageFactory(organization=org, direction="outbound") for _ in range(100)]
    shapes = [message_data(message, reply_ids={}) for message in messages]
    statuses = ["queued", "sent", "delivered", "read", "failed"]
    # 1,000 updates, each on its own push (as deliveries push them): every message moves through ten statuses.
    storm = [(index, statuses[(index + turn) % 5]) for turn in range(10) for index in range(100)]
    final = {shapes[index]["id"]: status for index, status in storm}
    cookie = session_cookie(admin_membership.user)

    def push_storm():
        for index, status in storm:
            item = {**shapes[index], "status": status}
            realtime.publish(
                org.pk, [("message.updated", {"messages": [item]}, [messages[index].conversation.number_id])]
            )

    received: list[dict] = []

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        started = time.monotonic()
        await db(push_storm)()
        while not received or received[-1]["seq"] < 1000:
            received.append(await socket.receive_json_from(timeout=WAIT))
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        return time.monotonic() - started

    seconds = run(scenario)
    # One frame at once, then at most one per interval while the storm lasts (about 10 in 2.5 s here).
    assert 2 <= len(received) <= 2 + seconds / settings.INBOX_UPDATE_FLUSH_SECONDS, (len(received), seconds)
    assert [frame["first_seq"] for frame in received] == [1] + [frame["seq"] + 1 for frame in received[:-1]]
    merged = {}
    for frame in received:
        assert frame["type"] == "message.updated"
        merged.update({item["id"]: item["status"] for item in frame["data"]["messages"]})
    assert merged == final
    assert all(len({item["id"] for item in f["data"]["messages"]}) == len(f["data"]["messages"]) for f in received)


def test_another_event_sends_the_waiting_status_changes_first(admin_membership, org, settings):
    settings.INBOX_UPDATE_FLUSH_SECONDS = 30  # nothing waits for the timer in this test
    message = MessageFactory(organization=org)
    cookie = session_cookie(admin_membership.user)
    publish = db(events.publish_message_on_commit)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await publish(message_id=message.pk, organization_id=org.pk, event="message.updated")
        first = await frames(socket, 1)  # the first status change after a quiet moment goes at once
        await publish(message_id=message.pk, organization_id=org.pk, event="message.updated")
        await publish(message_id=message.pk, organization_id=org.pk, event="message.updated")
        assert await socket.receive_nothing(timeout=0.3)  # waiting for the next flush
        await publish(message_id=message.pk, organization_id=org.pk, event="message.created")
        rest = await frames(socket, 2)
        await socket.disconnect()
        return first + rest

    received = run(scenario)
    assert _seqs(received) == [("message.updated", 1, 1), ("message.updated", 2, 3), ("message.created", 4, 4)]
    assert [len(frame["data"]["messages"]) for frame in received] == [1, 1, 1]


def test_dropped_events_leave_no_gap_and_lost_ones_do(agent_membership, admin_membership, org):
    mine = ConversationFactory(organization=org, number=cloud_number(org))
    theirs = ConversationFactory(
        organization=org, number=cloud_number(org, assigned_user=MembershipFactory(organization=org).user)
    )
    agent, admin = session_cookie(agent_membership.user), session_cookie(admin_membership.user)
    updated = db(_conversation_updated)

    def lose_one():
        cache.incr(f"realtime:seq:{org.pk}")  # a push whose event the channel layer lost

    async def scenario():
        (agent_socket, _), (admin_socket, _) = await open_inbox(cookie=agent), await open_inbox(cookie=admin)
        for conversation in (mine, theirs, theirs, mine):
            await updated(conversation)
        await db(lose_one)()
        await updated(mine)
        seen = {"agent": await frames(agent_socket, 3), "admin": await frames(admin_socket, 5)}
        await agent_socket.disconnect()
        await admin_socket.disconnect()
        return seen

    seen = run(scenario)
    # The agent's second frame covers the two events it did not show; after the lost 5th, a gap: catch up.
    assert [(f["first_seq"], f["seq"]) for f in seen["agent"]] == [(1, 1), (2, 4), (6, 6)]
    assert [f["data"]["conversations"][0]["id"] for f in seen["agent"]] == [mine.pk] * 3
    assert [(f["first_seq"], f["seq"]) for f in seen["admin"]] == [(1, 1), (2, 2), (3, 3), (4, 4), (6, 6)]


def test_an_event_with_items_of_several_numbers_keeps_those_the_person_sees(agent_membership, org):
    mine = ConversationFactory(organization=org, number=cloud_number(org))
    theirs = ConversationFactory(
        organization=org, number=cloud_number(org, assigned_user=MembershipFactory(organization=org).user)
    )
    message = MessageFactory(organization=org, conversation=mine)
    hidden = MessageFactory(organization=org, conversation=theirs)
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await db(events.publish_conversations_on_commit)(organization_id=org.pk, conversation_ids=[mine.pk, theirs.pk])
        await db(events.publish_messages_on_commit)(
            organization_id=org.pk, message_ids=[message.pk, hidden.pk], event="message.created"
        )
        received = await frames(socket, 2)
        await socket.disconnect()
        return received

    received = run(scenario)
    assert [item["id"] for item in received[0]["data"]["conversations"]] == [mine.pk]
    assert [item["id"] for item in received[1]["data"]["messages"]] == [message.pk]
    assert "number_ids" not in received[0] and "number_ids" not in received[1]


def test_another_organizations_events_never_arrive(agent_membership, outsider_membership, org, other_org):
    ours, theirs = ConversationFactory(organization=org), ConversationFactory(organization=other_org)
    agent, outsider = session_cookie(agent_membership.user), session_cookie(outsider_membership.user)

    async def scenario():
        (agent_socket, _), (outsider_socket, _) = await open_inbox(cookie=agent), await open_inbox(cookie=outsider)
        await db(_conversation_updated)(theirs)
        await db(_conversation_updated)(ours)
        [mine] = await frames(agent_socket, 1)
        [foreign] = await frames(outsider_socket, 1)
        assert await agent_socket.receive_nothing(timeout=0.2)
        assert await outsider_socket.receive_nothing(timeout=0.2)
        await agent_socket.disconnect()
        await outsider_socket.disconnect()
        return [mine, foreign]

    received = run(scenario)
    mine, foreign = received
    assert (mine["data"]["conversations"][0]["id"], mine["seq"]) == (ours.pk, 1)
    assert (foreign["data"]["conversations"][0]["id"], foreign["seq"]) == (theirs.pk, 1)


def test_an_agent_hears_nothing_of_a_number_assigned_to_someone_else(
    agent_membership, admin_membership, admin_client, org, fake_meta
):
    someone = MembershipFactory(organization=org, role=Role.AGENT)
    number = cloud_number(org, assigned_user=someone.user)
    conversation = ConversationFactory(organization=org, number=number)
    agent, admin, assignee = (session_cookie(m.user) for m in (agent_membership, admin_membership, someone))

    async def scenario():
        sockets = [(await open_inbox(cookie=cookie))[0] for cookie in (agent, admin, assignee)]
        await db(_conversation_updated)(conversation)
        await db(lambda: MessageFactory(organization=org, conversation=conversation))()
        await db(
            lambda: events.publish_messages_on_commit(
                organization_id=org.pk, message_ids=[conversation.messages.get().pk], event="message.created"
            )
        )()
        agent_socket, admin_socket, assignee_socket = sockets
        assert await agent_socket.receive_nothing(timeout=0.3)
        for socket in (admin_socket, assignee_socket):
            assert _seqs(await frames(socket, 2)) == [("conversation.updated", 1, 1), ("message.created", 2, 2)]
        for socket in sockets:
            await socket.disconnect()

    run(scenario)


def test_a_new_assignment_changes_what_an_open_socket_shows(agent_membership, admin_membership, org):
    number = cloud_number(org, assigned_user=admin_membership.user)
    conversation = ConversationFactory(organization=org, number=number)
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await db(_conversation_updated)(conversation)
        assert await socket.receive_nothing(timeout=0.3)
        await db(number_assign)(
            number=number, actor=admin_membership.user, user_id=agent_membership.user_id, team_id=None
        )
        await db(_conversation_updated)(conversation)
        [frame] = await frames(socket, 1)
        assert (frame["first_seq"], frame["seq"]) == (1, 2)
        await socket.disconnect()

    run(scenario)


def test_joining_a_team_changes_what_an_open_socket_shows(agent_membership, admin_membership, org):
    team = Team.objects.create(organization=org, name="Support")
    conversation = ConversationFactory(organization=org, number=cloud_number(org, assigned_team=team))
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await db(_conversation_updated)(conversation)
        assert await socket.receive_nothing(timeout=0.3)
        await db(account_services.team_update)(
            team=team, actor=admin_membership.user, member_ids=[agent_membership.user_id]
        )
        await db(_conversation_updated)(conversation)
        [frame] = await frames(socket, 1)
        assert frame["data"]["conversations"][0]["id"] == conversation.pk
        await socket.disconnect()

    run(scenario)


def test_a_marketer_hears_nothing_of_the_inbox(marketing_membership, org):
    conversation = ConversationFactory(organization=org)
    cookie = session_cookie(marketing_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await db(_conversation_updated)(conversation)
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_an_event_numbered_before_hello_is_left_to_the_clients_reload(admin_membership, org):
    conversation = ConversationFactory(organization=org)
    _conversation_updated(conversation)
    cookie = session_cookie(admin_membership.user)

    async def scenario():
        socket, hello = await open_inbox(cookie=cookie)
        assert hello["seq"] == 1
        late = {"event": "conversation.updated", "seq": 1, "data": {"conversations": []}, "number_ids": []}
        await get_channel_layer().group_send(realtime.org_group(org.pk), {"type": "inbox.events", "events": [late]})
        await db(_conversation_updated)(conversation)
        received = await frames(socket, 1)
        assert await socket.receive_nothing(timeout=0.2)
        return received

    assert _seqs(run(scenario)) == [("conversation.updated", 2, 2)]
