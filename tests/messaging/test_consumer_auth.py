"""The live-inbox socket's doors: who may open it (a browser session, a one-time ticket), from where (the Origin),
and its closing when its principal may no longer act (suspension, deactivation, key revocation)."""

from datetime import timedelta

import pytest
from channels.testing import WebsocketCommunicator

from accounts import services as account_services
from accounts.models import ApiKey, Organization, Role
from messaging import realtime
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.inbox_support import api_key_client
from tests.messaging.socket_support import (
    WAIT,
    closed_with,
    db,
    open_inbox,
    open_socket,
    run,
    session_cookie,
    ticket_for,
)
from whatsapp_hub.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


# --- the ticket endpoint ----------------------------------------------------------------------------------


def test_a_ticket_is_issued_to_a_signed_in_member_and_to_an_api_key(agent_client, org):
    for client in (agent_client, api_key_client(org)):
        response = client.post("/api/v1/auth/ws-ticket")
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"ticket", "expires_in"}
        assert body["expires_in"] == 30
        assert len(body["ticket"]) >= 40


def test_no_ticket_without_a_credential_or_outside_an_organization(anon_client, db):
    assert anon_client.post("/api/v1/auth/ws-ticket").status_code == 401
    staff = client_for(user=UserFactory(is_staff=True))  # platform staff act in no organization
    assert staff.post("/api/v1/auth/ws-ticket").status_code == 403


# --- opening -----------------------------------------------------------------------------------------


def test_a_browser_session_opens_the_socket_and_hears_hello_with_the_current_sequence(agent_membership, org):
    realtime.publish(org.pk, [("conversation.updated", {"conversations": []}, [])] * 2)
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        socket, hello = await open_inbox(cookie=cookie)
        assert hello == {"type": "hello", "seq": 2, "organization_id": org.pk, "user_id": agent_membership.user_id}
        await socket.disconnect()

    run(scenario)


def test_a_ticket_opens_the_socket_as_the_member_in_the_tokens_organization(agent_membership, agent_client, org):
    MembershipFactory(user=agent_membership.user, role=Role.ADMIN)  # the same person elsewhere
    ticket = ticket_for(agent_client)

    async def scenario():
        socket, hello = await open_inbox(ticket=ticket)
        assert hello == {"type": "hello", "seq": 0, "organization_id": org.pk, "user_id": agent_membership.user_id}
        await socket.disconnect()

    run(scenario)


def test_an_api_key_ticket_opens_the_socket_as_nobody(org):
    ticket = ticket_for(api_key_client(org))

    async def scenario():
        socket, hello = await open_inbox(ticket=ticket)
        assert hello == {"type": "hello", "seq": 0, "organization_id": org.pk, "user_id": None}
        await socket.disconnect()

    run(scenario)


def test_an_api_client_without_an_origin_connects_with_a_ticket(agent_client):
    ticket = ticket_for(agent_client)

    async def scenario():
        socket, hello = await open_inbox(ticket=ticket, origin=None)
        assert hello["type"] == "hello"
        await socket.disconnect()

    run(scenario)


# --- refusals ----------------------------------------------------------------------------------------


def _refused_with(code: int, **credentials) -> None:
    async def scenario():
        socket = await open_socket(**credentials)
        assert await closed_with(socket) == code

    run(scenario)


def test_nobody_signed_in_is_refused_with_4401(db):
    _refused_with(4401)


def test_a_session_cookie_without_an_origin_is_ignored(agent_membership):
    # No browser leaves out the Origin: such a client authenticates with a ticket, never with cookies.
    _refused_with(4401, cookie=session_cookie(agent_membership.user), origin=None)


def test_an_unknown_ticket_is_refused_with_4401_and_not_taken_for_the_session(agent_membership):
    cookie = session_cookie(agent_membership.user)
    for ticket in ("not-a-ticket", ""):
        _refused_with(4401, ticket=ticket, cookie=cookie)


def test_a_ticket_opens_one_socket_only(agent_client):
    ticket = ticket_for(agent_client)

    async def scenario():
        first, _ = await open_inbox(ticket=ticket)
        second = await open_socket(ticket=ticket)
        assert await closed_with(second) == 4401
        await first.disconnect()

    run(scenario)


def test_a_ticket_expires_after_30_seconds(agent_client, frozen):
    late, in_time = ticket_for(agent_client), ticket_for(agent_client)
    frozen.shift(timedelta(seconds=29))

    async def scenario():
        socket, _ = await open_inbox(ticket=in_time)
        await socket.disconnect()

    run(scenario)
    frozen.shift(timedelta(seconds=1))
    _refused_with(4401, ticket=late)


def test_another_sites_page_cannot_open_the_socket(agent_membership):
    cookie = session_cookie(agent_membership.user)

    async def scenario():
        for origin in ("https://evil.example", "http://testserver.evil.example", "null"):
            headers = [(b"origin", origin.encode()), (b"cookie", cookie.encode())]
            socket = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
            connected, _ = await socket.connect(timeout=WAIT)
            assert not connected, origin

    run(scenario)


def test_a_deactivated_member_is_refused_with_4403(agent_membership, agent_client):
    cookie = session_cookie(agent_membership.user)
    ticket = ticket_for(agent_client)
    agent_membership.is_active = False
    agent_membership.save()
    _refused_with(4403, cookie=cookie)
    _refused_with(4403, ticket=ticket)


def test_a_suspended_organization_is_refused_with_4403(agent_membership, agent_client, org):
    cookie = session_cookie(agent_membership.user)
    ticket = ticket_for(agent_client)
    Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    _refused_with(4403, cookie=cookie)
    _refused_with(4403, ticket=ticket)


def test_a_ticket_of_a_key_revoked_since_is_refused_with_4403(org):
    ticket = ticket_for(api_key_client(org))
    account_services.api_key_revoke(api_key=ApiKey.objects.get(), actor=None)
    _refused_with(4403, ticket=ticket)


# --- closing when the principal may no longer act ---------------------------------------------------------


def test_deactivating_a_member_closes_their_sockets_only(agent_membership, admin_membership, org):
    agent, admin = session_cookie(agent_membership.user), session_cookie(admin_membership.user)

    async def scenario():
        (agent_socket, _), (admin_socket, _) = await open_inbox(cookie=agent), await open_inbox(cookie=admin)
        await db(account_services.member_deactivate)(
            organization=org, user_id=agent_membership.user_id, actor=admin_membership.user
        )
        assert await closed_with(agent_socket) == 4403
        assert await admin_socket.receive_nothing(timeout=0.2)
        await admin_socket.disconnect()

    run(scenario)


def test_suspending_an_organization_closes_its_sockets(agent_membership, admin_membership, org, outsider_membership):
    cookies = [session_cookie(m.user) for m in (agent_membership, admin_membership, outsider_membership)]

    async def scenario():
        agent, admin, outsider = [(await open_inbox(cookie=cookie))[0] for cookie in cookies]
        await db(account_services.organization_set_status)(
            organization=org, status=Organization.Status.SUSPENDED, actor=None
        )
        assert [await closed_with(agent), await closed_with(admin)] == [4403, 4403]
        assert await outsider.receive_nothing(timeout=0.2)
        await outsider.disconnect()

    run(scenario)


def test_revoking_an_api_key_closes_its_sockets_only(org, agent_client):
    key_ticket = ticket_for(api_key_client(org))
    member_ticket = ticket_for(agent_client)

    async def scenario():
        (key_socket, _), (member_socket, _) = (
            await open_inbox(ticket=key_ticket),
            await open_inbox(ticket=member_ticket),
        )
        await db(lambda: account_services.api_key_revoke(api_key=ApiKey.objects.get(), actor=None))()
        assert await closed_with(key_socket) == 4403
        assert await member_socket.receive_nothing(timeout=0.2)
        await member_socket.disconnect()

    run(scenario)
