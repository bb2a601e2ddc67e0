"""A person's sessions (accounts.sessions): listed with device, address and times, only their own; ending one, or all
the others, takes effect at once for browsers and API tokens; admins sign a member out everywhere, audited."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import sessions
from accounts.models import AuditLog, UserSession
from tests.accounts.test_auth import INVALID_REFRESH, bearer, refresh
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import PASSWORD

SESSIONS = "/api/v1/auth/sessions"
REVOKE_OTHERS = "/api/v1/auth/sessions/revoke-others"
ME = "/api/v1/auth/me"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
    "Mobile/15E148 Safari/604.1"
)


def api_sign_in(membership, *, agent: str = CHROME, address: str = "203.0.113.7") -> dict:
    response = APIClient().post(
        "/api/v1/auth/login",
        {"email": membership.user.email, "password": PASSWORD, "organization_id": membership.organization_id},
        HTTP_USER_AGENT=agent,
        REMOTE_ADDR=address,
    )
    assert response.status_code == 200, response.content
    return response.json()


def browser_sign_in(membership, *, agent: str = IPHONE) -> Client:
    browser = Client(HTTP_USER_AGENT=agent)
    response = browser.post("/sign-in/", {"email": membership.user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return browser


def listed(client) -> list[dict]:
    response = client.get(SESSIONS)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_sign_in_opens_a_session_listed_with_device_address_and_current(agent_membership):
    first = api_sign_in(agent_membership, address="203.0.113.7")
    browser_sign_in(agent_membership)

    rows = listed(bearer(first["access_token"]))

    assert [(row["kind"], row["device"], row["current"]) for row in rows] == [
        ("browser", "Mobile Safari 17 on iOS (iPhone)", False),
        ("api", "Chrome 120 on Windows", True),
    ]
    assert rows[1]["ip"] == "203.0.113.7" and rows[1]["user_agent"] == CHROME
    assert rows[0]["ip"] == "127.0.0.1"


def test_the_address_is_the_client_behind_num_proxies(settings, agent_membership):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    response = APIClient().post(
        "/api/v1/auth/login",
        {"email": agent_membership.user.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.4",
        REMOTE_ADDR="10.0.0.1",
    )
    assert response.status_code == 200
    assert UserSession.objects.get(user=agent_membership.user).ip == "198.51.100.4"


def test_only_my_own_sessions_are_listed_and_another_persons_is_404(agent_membership, outsider_membership):
    mine = api_sign_in(agent_membership)
    theirs = api_sign_in(outsider_membership)
    their_session = UserSession.objects.get(user=outsider_membership.user)
    client = bearer(mine["access_token"])

    assert [row["id"] for row in listed(client)] == [UserSession.objects.get(user=agent_membership.user).pk]
    assert assert_error(client.delete(f"{SESSIONS}/{their_session.pk}"), 404)["detail"] == "Session not found."
    assert UserSession.objects.get(pk=their_session.pk).ended_at is None
    assert bearer(theirs["access_token"]).get(ME).status_code == 200


def test_revoking_an_api_session_kills_its_access_and_refresh_tokens_at_once(agent_membership):
    phone = api_sign_in(agent_membership, agent=IPHONE)
    laptop = api_sign_in(agent_membership)
    phone_session = UserSession.objects.get(user=agent_membership.user, user_agent=IPHONE)

    assert bearer(laptop["access_token"]).delete(f"{SESSIONS}/{phone_session.pk}").status_code == 204

    assert assert_error(bearer(phone["access_token"]).get(ME), 401)["detail"] == "This session was signed out."
    assert assert_error(refresh(phone["refresh_token"]), 401)["detail"] == INVALID_REFRESH
    assert bearer(laptop["access_token"]).get(ME).status_code == 200
    phone_session.refresh_from_db()
    assert phone_session.end_reason == "revoked" and phone_session.ended_at is not None
    assert assert_error(bearer(laptop["access_token"]).delete(f"{SESSIONS}/{phone_session.pk}"), 404)


def test_a_refresh_rotates_within_the_same_session(agent_membership):
    pair = api_sign_in(agent_membership)
    rotated = refresh(pair["refresh_token"]).json()
    session = UserSession.objects.get(user=agent_membership.user)

    assert UserSession.objects.filter(user=agent_membership.user).count() == 1
    assert [row["current"] for row in listed(bearer(rotated["access_token"]))] == [True]
    assert session.token_jti == RefreshToken(rotated["refresh_token"])["jti"]
    bearer(pair["access_token"]).delete(f"{SESSIONS}/{session.pk}")
    assert refresh(rotated["refresh_token"]).status_code == 401
    assert bearer(rotated["access_token"]).get(ME).status_code == 401


def test_a_token_from_before_sessions_gets_one_at_its_refresh(agent_membership):
    legacy = client_for(agent_membership)  # issued without a session
    assert legacy.get(ME).status_code == 200
    from accounts.services import _issue_tokens

    _, old_refresh = _issue_tokens(user=agent_membership.user, membership=agent_membership)
    pair = APIClient().post("/api/v1/auth/refresh", {"refresh_token": old_refresh}, HTTP_USER_AGENT=CHROME).json()

    assert [(row["device"], row["current"]) for row in listed(bearer(pair["access_token"]))] == [
        ("Chrome 120 on Windows", True)
    ]


def test_revoking_a_browser_session_signs_that_browser_out_on_its_next_request(agent_membership):
    browser = browser_sign_in(agent_membership)
    assert browser.get("/account/sessions/").status_code == 200
    api = api_sign_in(agent_membership)
    browser_session = UserSession.objects.get(user=agent_membership.user, kind="browser")

    assert bearer(api["access_token"]).delete(f"{SESSIONS}/{browser_session.pk}").status_code == 204

    response = browser.get("/account/sessions/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
    assert browser.get(ME).status_code in (401, 403)


def test_revoke_others_keeps_the_current_session(agent_membership):
    browser = browser_sign_in(agent_membership)
    other = api_sign_in(agent_membership, agent=IPHONE)
    current = api_sign_in(agent_membership)

    response = bearer(current["access_token"]).post(REVOKE_OTHERS)

    assert response.status_code == 200 and response.json() == {"revoked": 2}
    assert bearer(current["access_token"]).get(ME).status_code == 200
    assert bearer(other["access_token"]).get(ME).status_code == 401
    assert browser.get("/account/sessions/").status_code == 302
    assert [row["current"] for row in listed(bearer(current["access_token"]))] == [True]


def test_signing_out_ends_the_session(agent_membership):
    pair = api_sign_in(agent_membership)
    assert APIClient().post("/api/v1/auth/logout", {"refresh_token": pair["refresh_token"]}).status_code == 204
    assert UserSession.objects.get(user=agent_membership.user).end_reason == "signed_out"
    assert bearer(pair["access_token"]).get(ME).status_code == 401

    browser = browser_sign_in(agent_membership)
    browser.post("/sign-out/")
    assert list(UserSession.objects.filter(user=agent_membership.user).values_list("kind", "end_reason")) == [
        ("browser", "signed_out"),
        ("api", "signed_out"),
    ]


def test_an_api_key_has_no_sessions(org, admin_membership):
    from accounts import services

    _, raw = services.api_key_create(organization=org, name="zap", role="admin", actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get(SESSIONS).status_code == 403
    assert client.post(REVOKE_OTHERS).status_code == 403


def test_an_admin_signs_a_member_out_everywhere_audited(admin_client, admin_membership, agent_membership):
    browser = browser_sign_in(agent_membership)
    pair = api_sign_in(agent_membership)
    legacy = client_for(agent_membership)

    response = admin_client.post(f"/api/v1/admin/users/{agent_membership.user_id}/sign-out-everywhere")

    assert response.status_code == 200, response.content
    assert bearer(pair["access_token"]).get(ME).status_code == 401
    assert refresh(pair["refresh_token"]).status_code == 401
    assert legacy.get(ME).status_code == 401  # a token from before sessions: the token version moved
    assert browser.get("/account/sessions/").status_code == 302
    assert UserSession.objects.filter(user=agent_membership.user, ended_at__isnull=True).count() == 0
    entry = AuditLog.objects.get(action="member.sign_out_everywhere")
    assert (entry.actor_id, entry.target_id, entry.data) == (
        admin_membership.user_id,
        str(agent_membership.user_id),
        {"sessions": 2},
    )
    assert api_sign_in(agent_membership)["access_token"]  # they can sign in again


def test_only_admins_sign_members_out_and_only_their_own(
    agent_client, admin_client, agent_membership, outsider_membership
):
    pair = api_sign_in(outsider_membership)
    url = f"/api/v1/admin/users/{outsider_membership.user_id}/sign-out-everywhere"

    assert admin_client.post(url).status_code == 404
    assert agent_client.post(f"/api/v1/admin/users/{agent_membership.user_id}/sign-out-everywhere").status_code == 403
    assert bearer(pair["access_token"]).get(ME).status_code == 200
    assert not AuditLog.objects.filter(action="member.sign_out_everywhere").exists()


def test_use_is_recorded_at_most_once_a_minute(time_machine, agent_membership):
    time_machine.move_to("2025-03-01T09:00:00Z", tick=False)
    pair = api_sign_in(agent_membership)
    client = bearer(pair["access_token"])
    session = UserSession.objects.get(user=agent_membership.user)
    started = session.last_used_at

    time_machine.move_to("2025-03-01T09:00:40Z", tick=False)
    client.get(ME)
    assert UserSession.objects.get(pk=session.pk).last_used_at == started
    time_machine.move_to("2025-03-01T09:01:05Z", tick=False)
    client.get(ME)
    assert UserSession.objects.get(pk=session.pk).last_used_at == started + timedelta(seconds=65)


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        ("", "Unknown device"),
        ("curl/8.5.0", "curl 8"),
        ("python-requests/2.32.3", "Python Requests 2"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Firefox 121 on Mac OS X",
        ),
    ],
)
def test_the_device_is_read_from_the_user_agent(agent, label):
    with translation.override("en"):
        assert sessions.device_label(agent) == label


def test_the_device_is_said_in_the_person_s_language():
    with translation.override("ar"):
        assert sessions.device_label(CHROME) == "Chrome 120 على Windows"


# --- the page: Account > Sessions ---------------------------------------------------------------------------------


def test_the_page_lists_my_sessions_with_this_browser_first(agent_membership, outsider_membership):
    api_sign_in(agent_membership)
    api_sign_in(outsider_membership, agent=IPHONE)
    browser = browser_sign_in(agent_membership, agent=CHROME)

    html = browser.get("/account/sessions/").content.decode()

    assert html.count("data-session=") == 2
    assert html.index("This browser") < html.index(">API<")
    assert "Mobile Safari" not in html  # the outsider's
    assert "Sign out all other sessions" in html


def test_the_page_signs_another_session_out_and_then_all_others(agent_membership):
    phone = api_sign_in(agent_membership, agent=IPHONE)
    tablet = api_sign_in(agent_membership)
    browser = browser_sign_in(agent_membership, agent=CHROME)
    phone_session = UserSession.objects.get(user=agent_membership.user, user_agent=IPHONE)

    response = browser.post(f"/account/sessions/{phone_session.pk}/sign-out/", follow=True)

    assert "The session is signed out." in response.content.decode()
    assert bearer(phone["access_token"]).get(ME).status_code == 401
    assert bearer(tablet["access_token"]).get(ME).status_code == 200
    response = browser.post("/account/sessions/sign-out-others/", follow=True)
    assert "1 other session is signed out." in response.content.decode()
    assert bearer(tablet["access_token"]).get(ME).status_code == 401
    assert browser.get("/account/sessions/").status_code == 200


def test_the_page_answers_404_for_another_persons_session(agent_membership, outsider_membership):
    pair = api_sign_in(outsider_membership)
    theirs = UserSession.objects.get(user=outsider_membership.user)
    browser = browser_sign_in(agent_membership)

    assert browser.post(f"/account/sessions/{theirs.pk}/sign-out/").status_code == 404
    assert bearer(pair["access_token"]).get(ME).status_code == 200
