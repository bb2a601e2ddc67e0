"""The live socket carries a person's notifications to their own sockets only (messaging.realtime.member_send), and
internal notes to those who see the conversation's number."""

import pytest

from accounts.models import Role
from messaging.services import notifications
from messaging.services.notes import note_create
from tests.factories import MembershipFactory
from tests.messaging.inbox_support import api_key_client, cloud_number, open_conversation
from tests.messaging.socket_support import WAIT, db, open_inbox, run, session_cookie, ticket_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_notification_reaches_its_recipients_sockets_and_nobody_elses(admin_membership, agent_membership, org):
    conversation = open_conversation(org, number=cloud_number(org))
    admin_cookie, agent_cookie = session_cookie(admin_membership.user), session_cookie(agent_membership.user)
    key_ticket = ticket_for(api_key_client(org, role=Role.ADMIN))

    async def scenario():
        mine, _ = await open_inbox(cookie=admin_cookie)
        theirs, _ = await open_inbox(cookie=agent_cookie)
        key, _ = await open_inbox(ticket=key_ticket)
        await db(note_create)(
            conversation=conversation,
            author=agent_membership.user,
            text="Approve?",
            mentions=[admin_membership.user_id],
        )
        # Both sockets see the note (the number is unassigned); only the admin's hears of the mention.
        received = [await mine.receive_json_from(timeout=WAIT) for _ in range(2)]
        note = await theirs.receive_json_from(timeout=WAIT)
        assert await theirs.receive_nothing(timeout=0.3)
        key_note = await key.receive_json_from(timeout=WAIT)
        assert await key.receive_nothing(timeout=0.3)
        return received, note, key_note

    received, note, key_note = run(scenario)
    by_type = {frame["type"]: frame for frame in received}
    assert set(by_type) == {"note.created", "notification.created"}
    created = by_type["notification.created"]
    assert "seq" not in created
    assert created["data"]["unread_count"] == 1
    assert created["data"]["browser"] is True
    assert created["data"]["notification"]["title"] == (
        f"{agent_membership.user.name} mentioned you in a note on {conversation.contact.display_name}"
    )
    assert note["type"] == key_note["type"] == "note.created"
    assert note["data"]["notes"][0]["text"] == "Approve?"


def test_a_note_on_a_hidden_number_reaches_no_socket_of_an_agent_who_may_not_see_it(
    admin_membership, agent_membership, org
):
    colleague = MembershipFactory(organization=org, role=Role.AGENT)
    conversation = open_conversation(org, number=cloud_number(org, assigned_user=colleague.user))
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await db(note_create)(conversation=conversation, author=admin_membership.user, text="private")
        return await socket.receive_nothing(timeout=0.5)

    assert run(scenario) is True


def test_marking_read_tells_the_persons_other_tabs_the_new_count(admin_membership, org):
    cookie = session_cookie(admin_membership.user)

    def mention():
        return notifications.notify(
            organization=org,
            recipient_ids=[admin_membership.user_id],
            kind="mention",
            title=notifications.TITLES["mention"],
            params={"actor": "Ann", "contact": "Bob"},
        )

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        [notification] = await db(mention)()
        created = await socket.receive_json_from(timeout=WAIT)
        await db(notifications.notification_mark_read)(notification=notification)
        count = await socket.receive_json_from(timeout=WAIT)
        return created, count

    created, count = run(scenario)
    assert created["data"]["unread_count"] == 1
    assert count == {"type": "notification.count", "data": {"unread_count": 0}}
