"""A live-inbox socket belongs to the session it was opened within (the browser's, or the ticket's API sign-in):
ending that session (DELETE auth/sessions/{id}, revoke-others, signing out) closes it at once, and no other socket of
the person."""

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts import sessions
from accounts.models import UserSession
from accounts.services import _issue_tokens
from tests.conftest import signed_in
from tests.messaging.inbox_support import api_key_client
from tests.messaging.socket_support import closed_with, db, open_inbox, open_socket, run, ticket_for

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(browser) -> str:
    return f"sessionid={browser.cookies['sessionid'].value}"


def _browser_session_id(browser) -> int:
    return browser.session[sessions.BROWSER_SESSION_KEY]


def _api_sign_in(membership) -> tuple[APIClient, int]:
    """An API client signed in within its own API session, as POST auth/login signs in; and that session's id."""
    session_id = UserSession.objects.create(
        user=membership.user,
        kind=UserSession.Kind.API,
        expires_at=timezone.now() + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"],
    ).pk
    access, _ = _issue_tokens(user=membership.user, membership=membership, session_id=session_id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client, session_id


def test_revoking_one_browser_session_closes_its_socket_and_not_the_persons_other_session(agent_membership):
    laptop, phone = signed_in(agent_membership), signed_in(agent_membership)
    laptop_session = _browser_session_id(laptop)

    async def scenario():
        (laptop_socket, _), (phone_socket, _) = (
            await open_inbox(cookie=_cookie(laptop)),
            await open_inbox(cookie=_cookie(phone)),
        )
        # From the phone, the laptop's session ends (the sessions page's Sign out button).
        response = await db(phone.delete)(f"/api/v1/auth/sessions/{laptop_session}")
        assert response.status_code == 204, response.content
        assert await closed_with(laptop_socket) == 4403
        assert await phone_socket.receive_nothing(timeout=0.2)

    run(scenario)


def test_revoking_the_other_sessions_closes_a_tickets_socket_of_an_api_sign_in(agent_membership):
    browser = signed_in(agent_membership)
    api, _ = _api_sign_in(agent_membership)
    ticket = ticket_for(api)

    async def scenario():
        (api_socket, _), (browser_socket, _) = (
            await open_inbox(ticket=ticket),
            await open_inbox(cookie=_cookie(browser)),
        )
        response = await db(browser.post)("/api/v1/auth/sessions/revoke-others")
        assert response.status_code == 200, response.content
        assert await closed_with(api_socket) == 4403
        assert await browser_socket.receive_nothing(timeout=0.2)

    run(scenario)


def test_signing_out_through_the_api_closes_that_sessions_sockets(agent_membership):
    api, session_id = _api_sign_in(agent_membership)
    ticket = ticket_for(api)

    async def scenario():
        socket, _ = await open_inbox(ticket=ticket)
        await db(sessions.user_session_sign_out)(user_id=agent_membership.user_id, session_id=session_id)
        assert await closed_with(socket) == 4403

    run(scenario)


def test_a_ticket_of_a_session_ended_since_is_refused_with_4401(agent_membership):
    api, session_id = _api_sign_in(agent_membership)
    ticket = ticket_for(api)
    sessions.user_session_revoke(user=agent_membership.user, session_id=session_id)

    async def scenario():
        socket = await open_socket(ticket=ticket)
        assert await closed_with(socket) == 4401

    run(scenario)


def test_an_admins_sign_out_everywhere_closes_every_socket_of_the_person(agent_membership, admin_membership, org):
    laptop = signed_in(agent_membership)
    api, _ = _api_sign_in(agent_membership)
    ticket = ticket_for(api)

    async def scenario():
        (laptop_socket, _), (api_socket, _) = await open_inbox(cookie=_cookie(laptop)), await open_inbox(ticket=ticket)
        await db(sessions.member_sign_out_everywhere)(
            organization=org, user_id=agent_membership.user_id, actor=admin_membership.user
        )
        assert [await closed_with(laptop_socket), await closed_with(api_socket)] == [4403, 4403]

    run(scenario)


def test_an_api_keys_ticket_belongs_to_no_session(org):
    ticket = ticket_for(api_key_client(org))
    claim = account_services.ws_ticket_claim(ticket=ticket)
    assert (claim.api_key_id is not None, claim.session_id) == (True, None)


def test_a_ticket_asked_for_by_a_browser_session_belongs_to_that_session(agent_membership):
    laptop, phone = signed_in(agent_membership), signed_in(agent_membership)
    laptop_session = _browser_session_id(laptop)
    ticket = ticket_for(laptop)

    async def scenario():
        socket, _ = await open_inbox(ticket=ticket)
        await db(sessions.user_session_revoke)(user=agent_membership.user, session_id=laptop_session)
        assert await closed_with(socket) == 4403

    run(scenario)
    assert phone.get("/api/v1/auth/sessions").status_code == 200
