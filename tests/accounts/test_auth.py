"""Sign-up, sign-in (with the per-e-mail-and-client lockout), token refresh and logout, auth/me, password reset,
and tokens dying at once when a member is deactivated or an organization suspended."""

import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.models import EmailLog, Membership, Organization, Role, User
from accounts.services import EMAIL_TAKEN_DETAIL
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import PASSWORD, MembershipFactory, UserFactory

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
RESET_REQUEST = "/api/v1/auth/password-reset-request"
RESET = "/api/v1/auth/password-reset"
ORGANIZATION = "/api/v1/organization"

NEW_PASSWORD = "a-much-better-secret-42"
LOCKED = (
    "Too many failed sign-in attempts: this account is locked for 15 minutes on this device. A sign-in link sent by "
    "e-mail still works."
)
INVALID_CREDENTIALS = "Invalid e-mail or password."
INVALID_REFRESH = "Refresh token is invalid, expired or revoked."
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def login(email: str, password: str = PASSWORD, **extra):
    return APIClient().post(LOGIN, {"email": email, "password": password, **extra})


def bearer(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def refresh(refresh_token: str):
    return APIClient().post(REFRESH, {"refresh_token": refresh_token})


def session_for(membership: Membership) -> dict:
    r = login(membership.user.email, organization_id=membership.organization_id)
    assert r.status_code == 200, r.content
    return r.json()


# --- registration --------------------------------------------------------------------------------------


def test_register_creates_an_organization_with_the_user_as_admin(anon_client, db):
    r = anon_client.post(
        REGISTER, {"email": "Ann@Example.com", "password": PASSWORD, "name": "Ann", "organization_name": "Ann Co"}
    )

    assert r.status_code == 201, r.content
    user = User.objects.get()
    organization = Organization.objects.get()
    assert r.json() == {"user_id": user.pk, "organization_id": organization.pk}
    assert (user.email, user.name, user.is_staff) == ("ann@example.com", "Ann", False)
    assert (organization.name, organization.slug, organization.status, organization.plan) == (
        "Ann Co",
        "ann-co",
        "active",
        "starter",
    )
    assert list(Membership.objects.values_list("organization_id", "user_id", "role", "is_active")) == [
        (organization.pk, user.pk, "admin", True)
    ]
    assert login("ann@example.com").json()["role"] == "admin"


def test_register_refuses_an_email_already_taken(anon_client, db):
    UserFactory(email="taken@example.com")

    r = anon_client.post(
        REGISTER, {"email": "taken@example.com", "password": PASSWORD, "name": "B", "organization_name": "B Co"}
    )

    body = assert_error(r, 400)
    assert body["errors"] == {"email": [EMAIL_TAKEN_DETAIL]}
    assert body["detail"] == (
        "An account with this e-mail already exists: sign in with it instead. Once signed in, you can create another "
        "organization (POST /api/v1/organizations)."
    )
    assert User.objects.count() == 1
    assert Organization.objects.count() == 0


def test_register_compares_emails_case_insensitively(anon_client, db):
    first = {"email": "Ann@Example.COM", "password": PASSWORD, "name": "Ann", "organization_name": "Ann Co"}
    assert anon_client.post(REGISTER, first).status_code == 201

    r = anon_client.post(REGISTER, {**first, "email": "ann@example.com", "organization_name": "Other Co"})

    assert assert_error(r, 400)["errors"] == {"email": [EMAIL_TAKEN_DETAIL]}
    assert list(User.objects.values_list("email", flat=True)) == ["ann@example.com"]
    assert Organization.objects.count() == 1
    assert login("ANN@EXAMPLE.com").status_code == 200


@pytest.mark.parametrize(
    ("password", "messages"),
    [
        ("Zq7-Lm", ["This password is too short. It must contain at least 8 characters."]),
        ("password", ["This password is too common."]),
        ("73829104", ["This password is entirely numeric."]),
    ],
)
def test_register_refuses_a_password_that_fails_the_validators(password, messages, anon_client, db):
    r = anon_client.post(
        REGISTER, {"email": "ann@example.com", "password": password, "name": "Ann", "organization_name": "Ann Co"}
    )

    body = assert_error(r, 400)
    assert body["errors"] == {"password": messages}
    assert body["detail"] == messages[0]
    assert User.objects.count() == 0
    assert Organization.objects.count() == 0


def test_register_reports_every_missing_field(anon_client, db):
    body = assert_error(anon_client.post(REGISTER, {}), 400)

    assert body["errors"] == {
        field: ["This field is required."] for field in ("email", "password", "name", "organization_name")
    }


# --- login -----------------------------------------------------------------------------------------------


def test_login_answers_tokens_user_organization_and_role(org, admin_membership):
    user = admin_membership.user

    r = login(user.email.upper())

    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "user", "organization", "role"}
    assert body["token_type"] == "bearer"
    assert body["role"] == "admin"
    assert body["user"] == {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "is_active": True,
        "is_staff": False,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }
    assert (body["organization"]["id"], body["organization"]["name"], body["organization"]["status"]) == (
        org.pk,
        "Acme",
        "active",
    )
    claims = jwt.decode(
        body["access_token"],
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithms=["HS256"],
        audience="whatsapp-hub-api",
        issuer="whatsapp-hub",
    )
    assert (claims["token_type"], claims["user_id"], claims["org"], claims["tv"]) == ("access", str(user.pk), org.pk, 0)
    assert claims["exp"] - claims["iat"] == 30 * 60
    assert bearer(body["access_token"]).get(ORGANIZATION).json()["id"] == org.pk


def test_login_with_organization_id_selects_among_memberships(org, other_org, admin_membership):
    user = admin_membership.user
    MembershipFactory(organization=other_org, user=user, role=Role.MARKETING)

    default = login(user.email).json()
    chosen = login(user.email, organization_id=other_org.pk).json()

    assert (default["organization"]["id"], default["role"]) == (org.pk, "admin")
    assert (chosen["organization"]["id"], chosen["role"]) == (other_org.pk, "marketing")
    assert bearer(chosen["access_token"]).get(ORGANIZATION).json()["id"] == other_org.pk
    assert bearer(default["access_token"]).get(ORGANIZATION).json()["id"] == org.pk


def test_login_into_an_organization_the_user_is_not_in_is_401(other_org, admin_membership):
    r = login(admin_membership.user.email, organization_id=other_org.pk)

    assert assert_error(r, 401)["detail"] == "You are not a member of this organization."


def test_login_without_organization_id_skips_a_suspended_organization(org, other_org, agent_membership):
    MembershipFactory(organization=other_org, user=agent_membership.user, role=Role.ADMIN)
    services.organization_set_status(organization=org, status=Organization.Status.SUSPENDED, actor=None)

    body = login(agent_membership.user.email).json()

    assert (body["organization"]["id"], body["role"]) == (other_org.pk, "admin")


@pytest.mark.parametrize("email", ["known", "unknown@example.com"])
def test_wrong_credentials_are_401_with_the_same_detail(email, admin_membership):
    email = admin_membership.user.email if email == "known" else email

    r = login(email, "not-the-password")

    assert r.json() == {"detail": INVALID_CREDENTIALS, "code": "invalid_credentials"}
    assert r.status_code == 401


def test_a_deactivated_user_cannot_log_in(admin_membership):
    User.objects.filter(pk=admin_membership.user_id).update(is_active=False)

    assert assert_error(login(admin_membership.user.email), 401)["detail"] == INVALID_CREDENTIALS


def test_a_deactivated_membership_cannot_log_in(agent_membership):
    Membership.objects.filter(pk=agent_membership.pk).update(is_active=False)

    r = login(agent_membership.user.email)

    assert assert_error(r, 401)["detail"] == "Your membership in this organization is deactivated."


def test_a_suspended_organization_cannot_log_in(org, agent_membership):
    services.organization_set_status(organization=org, status=Organization.Status.SUSPENDED, actor=None)

    r = login(agent_membership.user.email)

    assert assert_error(r, 401)["detail"] == "The organization is suspended."


def test_login_validates_its_input(db):
    body = assert_error(APIClient().post(LOGIN, {"email": "not-an-email", "organization_id": "x"}), 400)

    assert body["errors"] == {
        "email": ["Enter a valid email address."],
        "password": ["This field is required."],
        "organization_id": ["A valid integer is required."],
    }


# --- tokens: lifetime, signature, issuer, audience -------------------------------------------------------


def test_an_access_token_expires_after_30_minutes(time_machine, admin_membership):
    time_machine.move_to(T0, tick=False)
    client = bearer(session_for(admin_membership)["access_token"])

    time_machine.shift(timedelta(minutes=29))
    assert client.get(ORGANIZATION).status_code == 200
    time_machine.shift(timedelta(minutes=2))
    assert_error(client.get(ORGANIZATION), 401)


def _resigned(access_token: str, *, key: str | None = None, **claims) -> str:
    """The token's claims with `claims` changed (None removes one), signed with `key`."""
    payload = jwt.decode(access_token, options={"verify_signature": False})
    payload = {name: value for name, value in {**payload, **claims}.items() if value is not None}
    return jwt.encode(payload, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


def test_tokens_are_signed_with_their_own_key_not_secret_key(admin_membership):
    genuine = session_for(admin_membership)["access_token"]
    assert settings.SIMPLE_JWT["SIGNING_KEY"] != settings.SECRET_KEY

    assert bearer(_resigned(genuine)).get(ORGANIZATION).status_code == 200
    assert_error(bearer(_resigned(genuine, key=settings.SECRET_KEY)).get(ORGANIZATION), 401)


@pytest.mark.parametrize(
    "claims",
    [{"aud": "someone-else"}, {"iss": "someone-else"}, {"aud": None}, {"iss": None}],
    ids=["wrong-audience", "wrong-issuer", "no-audience", "no-issuer"],
)
def test_tokens_are_checked_for_issuer_and_audience(claims, admin_membership):
    genuine = session_for(admin_membership)["access_token"]

    assert_error(bearer(_resigned(genuine, **claims)).get(ORGANIZATION), 401)


# --- lockout (django-axes, per e-mail and client: tests/accounts/test_lockout.py for the rest) -------------


def fail(email: str, time_machine, times: int = 1) -> None:
    """Failed sign-ins, each after the wait the progressive slow-down asks for (2, 4, 8 s...)."""
    for _ in range(times):
        assert assert_error(login(email, "wrong"), 401)["code"] in ("invalid_credentials", "account_locked")
        time_machine.shift(timedelta(seconds=16))


def test_five_failures_lock_the_email_even_for_the_right_password(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    email = agent_membership.user.email
    for _ in range(4):
        assert assert_error(login(email, "wrong"), 401)["detail"] == INVALID_CREDENTIALS
        time_machine.shift(timedelta(minutes=3))
    assert_error(login(email, "wrong"), 401)  # the 5th failure, 12 minutes after the 1st

    r = login(email, PASSWORD)

    assert r.json() == {"detail": LOCKED, "code": "account_locked"}
    assert r.status_code == 401


def test_the_lock_lasts_15_minutes_then_the_right_password_works(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    email = agent_membership.user.email
    fail(email, time_machine, 5)

    time_machine.shift(timedelta(minutes=14))
    assert assert_error(login(email), 401)["detail"] == LOCKED  # trying while locked does not extend the lock
    time_machine.shift(timedelta(minutes=2))
    r = login(email)

    assert r.status_code == 200, r.content
    assert r.json()["role"] == "agent"


def test_failures_older_than_the_window_are_forgotten(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    email = agent_membership.user.email
    login(email, "wrong")
    time_machine.shift(timedelta(minutes=16))
    for _ in range(4):
        assert assert_error(login(email, "wrong"), 401)["detail"] == INVALID_CREDENTIALS
        time_machine.shift(timedelta(seconds=16))

    assert login(email).status_code == 200


def test_the_lock_counts_failures_per_email_whatever_the_case(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    email = agent_membership.user.email
    other = MembershipFactory(organization=agent_membership.organization)
    for variant in [email.upper(), email, email.title(), f" {email} ", email.upper()]:
        APIClient().post(LOGIN, {"email": variant, "password": "wrong"})
        time_machine.shift(timedelta(seconds=16))

    assert assert_error(login(email), 401)["detail"] == LOCKED
    assert login(other.user.email).status_code == 200  # another e-mail is not locked
    elsewhere = APIClient(REMOTE_ADDR="10.0.0.9").post(LOGIN, {"email": email, "password": PASSWORD})
    assert elsewhere.status_code == 200  # nor the same e-mail from another client


def test_a_success_resets_the_failure_count(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    email = agent_membership.user.email
    fail(email, time_machine, 4)
    assert login(email).status_code == 200
    for _ in range(4):
        assert assert_error(login(email, "wrong"), 401)["detail"] == INVALID_CREDENTIALS
        time_machine.shift(timedelta(seconds=16))

    r = login(email)

    assert r.status_code == 200, r.content


# --- refresh and logout ----------------------------------------------------------------------------------


def test_refresh_rotates_the_pair_and_blacklists_the_used_token(org, agent_membership):
    first = session_for(agent_membership)

    r = refresh(first["refresh_token"])

    assert r.status_code == 200, r.content
    second = r.json()
    assert set(second) == {"access_token", "refresh_token", "token_type", "user", "organization", "role"}
    assert (second["token_type"], second["role"], second["organization"]["id"]) == ("bearer", "agent", org.pk)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert bearer(second["access_token"]).get(ORGANIZATION).status_code == 200
    assert refresh(first["refresh_token"]).json() == {"detail": INVALID_REFRESH, "code": "token_not_valid"}
    assert refresh(first["refresh_token"]).status_code == 401
    assert refresh(second["refresh_token"]).status_code == 200  # the new one works (once)


def test_refresh_stays_in_the_organization_of_the_session(org, other_org, admin_membership):
    MembershipFactory(organization=other_org, user=admin_membership.user, role=Role.AGENT)
    session = login(admin_membership.user.email, organization_id=other_org.pk).json()

    body = refresh(session["refresh_token"]).json()

    assert (body["organization"]["id"], body["role"]) == (other_org.pk, "agent")


def test_an_expired_refresh_token_is_401(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    token = session_for(agent_membership)["refresh_token"]

    time_machine.shift(timedelta(days=7, minutes=1))

    assert assert_error(refresh(token), 401)["detail"] == INVALID_REFRESH


def test_a_refresh_token_still_works_on_its_last_day(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    token = session_for(agent_membership)["refresh_token"]

    time_machine.shift(timedelta(days=6, hours=23))

    assert refresh(token).status_code == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "access"])
def test_a_malformed_refresh_token_or_an_access_token_is_401(token, agent_membership):
    if token == "access":
        token = session_for(agent_membership)["access_token"]

    assert assert_error(refresh(token), 401)["detail"] == INVALID_REFRESH


def test_refresh_without_a_token_is_400(db):
    assert assert_error(APIClient().post(REFRESH, {}), 400)["errors"] == {"refresh_token": ["This field is required."]}


def test_logout_blacklists_the_refresh_token(agent_membership):
    session = session_for(agent_membership)

    r = APIClient().post(LOGOUT, {"refresh_token": session["refresh_token"]})

    assert r.status_code == 204
    assert r.content == b""
    assert assert_error(refresh(session["refresh_token"]), 401)["detail"] == INVALID_REFRESH
    assert assert_error(APIClient().post(LOGOUT, {"refresh_token": session["refresh_token"]}), 401)


def test_logout_with_a_garbage_token_is_401(db):
    assert_error(APIClient().post(LOGOUT, {"refresh_token": "garbage"}), 401)


# --- auth/me ---------------------------------------------------------------------------------------------


def test_me_shows_profile_current_organization_role_and_memberships(org, other_org, agent_membership):
    user = agent_membership.user
    elsewhere = MembershipFactory(organization=other_org, user=user, role=Role.ADMIN)
    session = login(user.email, organization_id=other_org.pk).json()

    r = bearer(session["access_token"]).get(ME)

    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"user", "organization", "role", "memberships"}
    assert (body["user"]["id"], body["user"]["email"], body["user"]["name"]) == (user.pk, user.email, user.name)
    assert (body["organization"]["id"], body["organization"]["name"]) == (other_org.pk, "Globex")
    assert body["role"] == "admin"
    assert body["memberships"] == [
        {
            "organization_id": org.pk,
            "organization_name": "Acme",
            "organization_status": "active",
            "role": "agent",
            "is_active": True,
        },
        {
            "organization_id": elsewhere.organization_id,
            "organization_name": "Globex",
            "organization_status": "active",
            "role": "admin",
            "is_active": True,
        },
    ]


def test_me_needs_authentication(anon_client, db):
    assert_error(anon_client.get(ME), 401)


# --- password reset --------------------------------------------------------------------------------------


def reset_token_from(message) -> str:
    return re.search(r"^(\S+\.\S+)$", message.body, re.MULTILINE).group(1)


RESET_REQUESTED = {"detail": "If an account exists for this e-mail, a reset token has been sent to it."}


def test_reset_request_does_the_same_work_for_known_and_unknown_emails(agent_membership):
    seen = []
    for email in (agent_membership.user.email.upper(), "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries, TestCase.captureOnCommitCallbacks() as callbacks:
            r = APIClient().post(RESET_REQUEST, {"email": email})
        seen.append((r.status_code, r.json(), len(queries), len(callbacks)))

    # The same answer from the same work: no query (the task looks the account up), one task queued, no e-mail.
    assert seen == [(200, RESET_REQUESTED, 0, 1)] * 2
    assert mail.outbox == []


def test_the_reset_email_is_sent_by_the_task_which_is_given_no_token(agent_membership, task_runs):
    user = agent_membership.user

    with TestCase.captureOnCommitCallbacks(execute=True):
        known = APIClient().post(RESET_REQUEST, {"email": user.email.upper()})
        unknown = APIClient().post(RESET_REQUEST, {"email": "nobody@example.com"})

    assert known.json() == unknown.json() == RESET_REQUESTED
    log = EmailLog.objects.get()  # the e-mail travels to the sending task as its log row's id, never its token
    assert task_runs == [
        ("accounts.tasks.send_password_reset", (user.email,), {}),
        ("accounts.tasks.send_password_reset", ("nobody@example.com",), {}),
        ("accounts.tasks.send_email", (log.pk,), {}),
    ]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    token = reset_token_from(message)
    assert token not in known.content.decode()
    assert f"?token={token}" in message.body


def test_reset_request_sends_nothing_for_a_deactivated_user(agent_membership):
    User.objects.filter(pk=agent_membership.user_id).update(is_active=False)

    with TestCase.captureOnCommitCallbacks(execute=True):
        r = APIClient().post(RESET_REQUEST, {"email": agent_membership.user.email})

    assert r.status_code == 200
    assert mail.outbox == []


def request_reset_token(user) -> str:
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert APIClient().post(RESET_REQUEST, {"email": user.email}).status_code == 200
    return reset_token_from(mail.outbox[-1])


def test_reset_sets_the_new_password_and_the_token_works_once(agent_membership):
    user = agent_membership.user
    token = request_reset_token(user)

    r = APIClient().post(RESET, {"token": token, "new_password": NEW_PASSWORD})

    assert r.status_code == 200, r.content
    assert r.json() == {"detail": "Password reset. Sign in with the new password."}
    assert login(user.email, NEW_PASSWORD).status_code == 200
    assert assert_error(login(user.email, PASSWORD), 401)["detail"] == INVALID_CREDENTIALS
    again = APIClient().post(RESET, {"token": token, "new_password": "yet-another-secret-77"})
    assert assert_error(again, 400)["errors"] == {"token": ["Invalid or expired."]}
    assert login(user.email, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize("token", ["garbage", "", "MQ.abc-def", "Zm9v.abc-def", "..."])
def test_reset_refuses_an_invalid_token(token, agent_membership):
    r = APIClient().post(RESET, {"token": token, "new_password": NEW_PASSWORD})

    assert r.status_code == 400, r.content
    assert set(assert_error(r, 400)["errors"]) == {"token"}
    assert login(agent_membership.user.email).status_code == 200


def test_reset_refuses_another_users_signature(agent_membership, admin_membership):
    token = request_reset_token(agent_membership.user)
    _, signature = token.split(".", 1)
    other_uid = request_reset_token(admin_membership.user).split(".", 1)[0]

    r = APIClient().post(RESET, {"token": f"{other_uid}.{signature}", "new_password": NEW_PASSWORD})

    assert assert_error(r, 400)["errors"] == {"token": ["Invalid or expired."]}


def test_reset_refuses_an_expired_token(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    token = request_reset_token(agent_membership.user)

    time_machine.shift(timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1))
    r = APIClient().post(RESET, {"token": token, "new_password": NEW_PASSWORD})

    assert assert_error(r, 400)["errors"] == {"token": ["Invalid or expired."]}
    assert login(agent_membership.user.email).status_code == 200


def test_reset_refuses_a_weak_password_and_keeps_the_token_usable(agent_membership):
    token = request_reset_token(agent_membership.user)

    weak = APIClient().post(RESET, {"token": token, "new_password": "password"})

    assert assert_error(weak, 400)["errors"] == {"new_password": ["This password is too common."]}
    assert User.objects.get(pk=agent_membership.user_id).check_password(PASSWORD)
    assert APIClient().post(RESET, {"token": token, "new_password": NEW_PASSWORD}).status_code == 200
    assert login(agent_membership.user.email, NEW_PASSWORD).status_code == 200


def test_reset_kills_existing_access_and_refresh_tokens(org, other_org, agent_membership):
    user = agent_membership.user
    MembershipFactory(organization=other_org, user=user, role=Role.ADMIN)
    sessions = [session_for(agent_membership), login(user.email, organization_id=other_org.pk).json()]
    for session in sessions:
        assert bearer(session["access_token"]).get(ME).status_code == 200

    token = request_reset_token(user)
    assert APIClient().post(RESET, {"token": token, "new_password": NEW_PASSWORD}).status_code == 200

    for session in sessions:
        assert assert_error(bearer(session["access_token"]).get(ME), 401)["detail"] == "Token has been revoked."
        assert assert_error(refresh(session["refresh_token"]), 401)["detail"] == INVALID_REFRESH
    fresh = login(user.email, NEW_PASSWORD).json()
    assert bearer(fresh["access_token"]).get(ME).status_code == 200
    assert refresh(fresh["refresh_token"]).status_code == 200


# --- deactivation and suspension kill live tokens --------------------------------------------------------


def test_deactivating_a_member_kills_their_tokens_at_once_and_reactivating_restores_them(
    org, admin_client, admin_membership, agent_membership
):
    session = session_for(agent_membership)
    agent = bearer(session["access_token"])
    assert agent.get(ORGANIZATION).status_code == 200

    assert admin_client.post(f"/api/v1/admin/users/{agent_membership.user_id}/deactivate").status_code == 200

    detail = "Your membership in this organization is deactivated."
    assert assert_error(agent.get(ORGANIZATION), 401)["detail"] == detail
    assert assert_error(refresh(session["refresh_token"]), 401)["detail"] == detail
    assert assert_error(login(agent_membership.user.email), 401)["detail"] == detail

    assert admin_client.post(f"/api/v1/admin/users/{agent_membership.user_id}/activate").status_code == 200

    assert agent.get(ORGANIZATION).status_code == 200
    assert refresh(session["refresh_token"]).status_code == 200


def test_deactivation_in_one_organization_leaves_the_other_membership_working(
    org, other_org, admin_client, agent_membership
):
    MembershipFactory(organization=other_org, user=agent_membership.user, role=Role.ADMIN)
    here = bearer(session_for(agent_membership)["access_token"])
    elsewhere = bearer(login(agent_membership.user.email, organization_id=other_org.pk).json()["access_token"])
    assert admin_client.post(f"/api/v1/admin/users/{agent_membership.user_id}/deactivate").status_code == 200

    assert_error(here.get(ORGANIZATION), 401)
    assert elsewhere.get(ORGANIZATION).json()["id"] == other_org.pk


def test_deactivating_the_user_account_kills_every_token(agent_membership):
    session = session_for(agent_membership)

    User.objects.filter(pk=agent_membership.user_id).update(is_active=False)

    assert_error(bearer(session["access_token"]).get(ORGANIZATION), 401)
    assert assert_error(refresh(session["refresh_token"]), 401)["detail"] == INVALID_REFRESH


@pytest.fixture
def staff_client(db):
    return client_for(user=UserFactory(is_staff=True))


@pytest.mark.parametrize("via", ["service", "super-admin"])
def test_suspending_the_organization_kills_member_tokens_and_reactivation_restores(
    via, org, staff_client, admin_membership, agent_membership
):
    sessions = [session_for(admin_membership), session_for(agent_membership)]

    def set_status(status: str) -> None:
        if via == "service":
            services.organization_set_status(organization=org, status=status, actor=None)
        else:
            r = staff_client.put(f"/api/v1/super-admin/organizations/{org.pk}/status", {"status": status})
            assert r.status_code == 200, r.content

    set_status("suspended")
    for session in sessions:
        body = assert_error(bearer(session["access_token"]).get(ORGANIZATION), 401)
        assert body["detail"] == "The organization is suspended."
        assert assert_error(refresh(session["refresh_token"]), 401)["detail"] == "The organization is suspended."

    set_status("active")
    for session in sessions:
        assert bearer(session["access_token"]).get(ORGANIZATION).status_code == 200
        assert refresh(session["refresh_token"]).status_code == 200


def test_suspension_of_one_organization_leaves_another_working(org, other_org, outsider_membership):
    outsider = bearer(session_for(outsider_membership)["access_token"])

    services.organization_set_status(organization=org, status="suspended", actor=None)

    assert outsider.get(ORGANIZATION).json()["id"] == other_org.pk


def test_a_token_issued_for_a_membership_later_removed_is_401(org, agent_membership):
    client = bearer(session_for(agent_membership)["access_token"])

    Membership.objects.filter(pk=agent_membership.pk).delete()

    assert assert_error(client.get(ORGANIZATION), 401)["detail"] == "You are not a member of this organization."
