"""What a live-inbox socket's client may do: send a message and mark a conversation read (through the API's
services, permissions and checks), say which conversations it looks at, ping; anything else is an error frame on a
socket that stays open."""

import pytest

from accounts import services as account_services
from accounts.models import Role
from messaging.models import WINDOW_CLOSED_DETAIL, Conversation, Message
from tests.factories import MembershipFactory
from tests.messaging.factories import ConversationFactory, MessageFactory
from tests.messaging.inbox_support import closed_window, cloud_number, messages_url, open_conversation
from tests.messaging.socket_support import WAIT, db, frames, open_inbox, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _answers(cookie: str, *sent: dict | str | bytes) -> list[dict]:
    """The answer to each frame sent on one socket, then a pong: the socket stayed open."""

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        answers = []
        for frame in sent:
            if isinstance(frame, bytes):
                await socket.send_to(bytes_data=frame)
            elif isinstance(frame, str):
                await socket.send_to(text_data=frame)
            else:
                await socket.send_json_to(frame)
            answers.append(await socket.receive_json_from(timeout=WAIT))
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=WAIT) == {"type": "pong"}
        await socket.disconnect()
        return answers

    return run(scenario)


def _error(code: str, detail: str, errors: dict | None = None, client_id: str | None = "c-1") -> dict:
    return {"type": "error", "client_id": client_id, "code": code, "detail": detail, "errors": errors or {}}


def _send(conversation, text="Hello from the socket", **fields) -> dict:
    return {"type": "message.send", "conversation_id": conversation.pk, "text": text, "client_id": "c-1", **fields}


# --- message.send ------------------------------------------------------------------------------------------


def test_a_message_sent_on_the_socket_goes_out_as_through_the_api(
    agent_membership, agent_client, conversation, fake_meta
):
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await socket.send_json_to(_send(conversation))
        received = await frames(socket, 4)
        await socket.disconnect()
        return received

    sent, *pushed = run(scenario)
    [api_message] = agent_client.get(messages_url(conversation)).json()["results"]
    assert sent == {"type": "message.sent", "client_id": "c-1", "message": api_message}
    assert [(frame["type"], frame["seq"]) for frame in pushed] == [
        ("message.created", 1),
        ("conversation.updated", 2),
        ("message.updated", 3),
    ]
    [stored] = Message.objects.all()
    assert (stored.text, stored.sent_by, stored.status) == ("Hello from the socket", agent_membership.user, "sent")
    assert [(body["to"], body["type"], body["text"]) for body in fake_meta.sends()] == [
        (conversation.contact.phone, "text", {"body": "Hello from the socket"})
    ]


def test_sends_are_refused_as_the_api_refuses_them(agent_membership, org, other_org, conversation, fake_meta):
    someone = MembershipFactory(organization=org, role=Role.AGENT)
    invisible = open_conversation(org, number=cloud_number(org, assigned_user=someone.user))
    foreign = open_conversation(other_org)
    closed = closed_window(org, number=conversation.number)

    answers = _answers(
        session_cookie(agent_membership.user),
        _send(invisible),
        _send(foreign),
        _send(closed),
        _send(conversation, text=" "),
        _send(conversation, text="x" * 4097),
    )

    not_found = _error("not_found", "Conversation not found.")
    assert answers == [
        not_found,
        not_found,
        _error("window_closed", WINDOW_CLOSED_DETAIL),
        _error("invalid", "text: The text is empty.", {"text": ["The text is empty."]}),
        _error(
            "invalid",
            "text: Ensure this field has no more than 4096 characters.",
            {"text": ["Ensure this field has no more than 4096 characters."]},
        ),
    ]
    assert (Message.objects.count(), fake_meta.requests) == (0, [])


def test_a_marketer_may_not_send(marketing_membership, conversation, fake_meta):
    answers = _answers(session_cookie(marketing_membership.user), _send(conversation))
    assert answers == [_error("permission_denied", "Agent or admin role required.")]
    assert (Message.objects.count(), fake_meta.requests) == (0, [])


def test_a_role_taken_away_since_the_socket_opened_applies_at_once(
    agent_membership, admin_membership, org, conversation, fake_meta
):
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await db(account_services.member_set_role)(
            organization=org, user_id=agent_membership.user_id, role=Role.MARKETING, actor=admin_membership.user
        )
        await socket.send_json_to(_send(conversation))
        answer = await socket.receive_json_from(timeout=WAIT)
        await socket.disconnect()
        return answer

    assert run(scenario) == _error("permission_denied", "Agent or admin role required.")
    assert (Message.objects.count(), fake_meta.requests) == (0, [])


def test_bad_frames_get_error_frames_and_the_socket_stays_open(agent_membership, conversation, fake_meta):
    malformed = _error("malformed_frame", "A frame is a JSON object with a type (at most 64 KiB of text).", None, None)
    answers = _answers(
        session_cookie(agent_membership.user),
        "not json",
        "[1, 2]",
        b"\x00binary",
        '{"type": 5}',
        "x" * 70_000,
        {"type": "message.delete", "client_id": "c-1"},
        {"type": "message.send", "conversation_id": conversation.pk, "client_id": "c-1"},
        {"type": "message.send", "conversation_id": str(conversation.pk), "text": 5, "client_id": "c-1"},
        _send(conversation, preview_url=True),
        {"type": "conversation.join", "conversation_id": 0, "client_id": ["not", "echoed"]},
    )

    assert answers == [
        malformed,
        malformed,
        malformed,
        malformed,
        malformed,
        _error(
            "unknown_type",
            "Unknown frame type: one of conversation.join, conversation.leave, conversation.read, message.send, ping.",
        ),
        _error("invalid", "text: This field is required.", {"text": ["This field is required."]}),
        _error(
            "invalid",
            "conversation_id: A valid integer is required.",
            {"conversation_id": ["A valid integer is required."], "text": ["Not a valid string."]},
        ),
        _error("invalid", "preview_url: Unknown field.", {"preview_url": ["Unknown field."]}),
        _error(
            "invalid",
            "client_id: Not a valid string.",
            {
                "client_id": ["Not a valid string."],
                "conversation_id": ["Ensure this value is greater than or equal to 1."],
            },
            None,
        ),
    ]
    assert (Message.objects.count(), fake_meta.requests) == (0, [])


# --- conversation.read, focus, ping -------------------------------------------------------------------------


def test_marking_a_conversation_read_works_as_through_the_api(agent_membership, org, conversation, fake_meta):
    inbound = MessageFactory(organization=org, conversation=conversation)
    Conversation.objects.filter(pk=conversation.pk).update(unread_count=3)
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await socket.send_json_to({"type": "conversation.read", "conversation_id": conversation.pk})
        [pushed] = await frames(socket, 1)
        await socket.send_json_to({"type": "conversation.read", "conversation_id": conversation.pk})
        assert await socket.receive_nothing(timeout=0.3)  # already read: nothing changes, nothing is pushed
        await socket.disconnect()
        return pushed

    pushed = run(scenario)
    assert (pushed["type"], pushed["data"]["conversations"][0]["unread_count"]) == ("conversation.updated", 0)
    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    assert [body["message_id"] for body in fake_meta.mark_reads()] == [inbound.provider_message_id]


def test_reading_is_refused_where_sending_is(marketing_membership, agent_membership, org, other_org):
    foreign = ConversationFactory(organization=other_org)
    read = {"type": "conversation.read", "conversation_id": foreign.pk, "client_id": "c-1"}
    assert _answers(session_cookie(agent_membership.user), read) == [_error("not_found", "Conversation not found.")]
    own = ConversationFactory(organization=org, unread_count=2)
    read = {"type": "conversation.read", "conversation_id": own.pk, "client_id": "c-1"}
    assert _answers(session_cookie(marketing_membership.user), read) == [
        _error("permission_denied", "Agent or admin role required.")
    ]
    own.refresh_from_db()
    assert own.unread_count == 2


def test_joining_and_leaving_conversations_is_silent(agent_membership, conversation):
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        for frame_type in ("conversation.join", "conversation.join", "conversation.leave"):
            await socket.send_json_to({"type": frame_type, "conversation_id": conversation.pk})
        assert await socket.receive_nothing(timeout=0.2)
        await socket.send_json_to({"type": "ping", "client_id": "p-1"})
        assert await socket.receive_json_from(timeout=WAIT) == {"type": "pong"}
        await socket.disconnect()

    run(scenario)
