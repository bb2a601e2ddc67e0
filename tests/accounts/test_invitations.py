"""Invitations through the API: an admin puts an e-mail on the access list, the token goes out by
e-mail, the invitee joins with auth/register-with-invite (a new account, or a second membership)."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services, tasks
from accounts.models import AuditLog, EmailLog, Invitation, Membership, Organization, Role, User, hash_secret
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

ACCESS_LIST = "/api/v1/admin/access-list"
ACCEPT = "/api/v1/auth/register-with-invite"
LOGIN = "/api/v1/auth/login"
INVALID = "The invitation is invalid, revoked or expired."
LIMIT_REACHED = "The Starter plan allows 5 users: the user limit is reached."
NEW_PASSWORD = "invitee-secret-2025"


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """POST admin/access-list as `client`; returns the token from the e-mail it sent."""

    def invite(client, email: str, role: str = Role.AGENT) -> str:
        sent = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(ACCESS_LIST, {"email": email, "role": role})
        assert r.status_code == 201, r.content
        assert len(mail.outbox) == sent + 1
        message = mail.outbox[-1]
        assert message.to == [email.lower()]
        token = re.search(r"Invitation token: (\S+)", message.body).group(1)
        assert token not in r.content.decode()
        return token

    return invite


def accept(token: str, password: str = NEW_PASSWORD, name: str = "New Person"):
    return APIClient().post(ACCEPT, {"token": token, "password": password, "name": name})


@pytest.fixture
def starter(db) -> Organization:
    """A starter-plan organization (limit 5) with its admin."""
    return OrganizationFactory(name="Small", plan=Organization.Plan.STARTER)


@pytest.fixture
def starter_admin(starter) -> Membership:
    return MembershipFactory(organization=starter, role=Role.ADMIN)


def fill(org: Organization, active_members: int) -> None:
    for _ in range(active_members - Membership.objects.for_org(org).filter(is_active=True).count()):
        MembershipFactory(organization=org, role=Role.AGENT)


def test_an_invitee_registers_with_the_emailed_token(org, admin_client, admin_membership, invite):
    token = invite(admin_client, "New.Person@Example.com", Role.MARKETING)

    r = accept(token)

    assert r.status_code == 201, r.content
    user = User.objects.get(email="new.person@example.com")
    assert r.json() == {"user_id": user.pk, "organization_id": org.pk, "role": "marketing"}
    assert user.name == "New Person"
    assert list(Membership.objects.filter(user=user).values_list("organization_id", "role", "is_active")) == [
        (org.pk, "marketing", True)
    ]
    invitation = Invitation.objects.for_org(org).get()
    assert invitation.status == "accepted"
    assert invitation.accepted_at is not None
    entry = AuditLog.objects.for_org(org).get(action="invitation.accept")
    assert (entry.actor, entry.target_id) == (user, str(invitation.pk))
    session = APIClient().post(LOGIN, {"email": "new.person@example.com", "password": NEW_PASSWORD}).json()
    assert (session["organization"]["id"], session["role"]) == (org.pk, "marketing")


def test_an_accepted_invitation_cannot_be_used_twice(org, admin_client, invite):
    token = invite(admin_client, "once@example.com")
    assert accept(token).status_code == 201

    again = accept(token, password="another-secret-99")

    assert assert_error(again, 403)["detail"] == INVALID
    assert Membership.objects.filter(user__email="once@example.com").count() == 1
    assert User.objects.get(email="once@example.com").check_password(NEW_PASSWORD)


def test_a_revoked_invitation_is_403(org, admin_client, invite):
    token = invite(admin_client, "revoked@example.com")
    assert admin_client.delete(f"{ACCESS_LIST}/revoked@example.com").status_code == 204

    r = accept(token)

    assert r.json() == {"detail": INVALID, "code": "invalid_invitation"}
    assert r.status_code == 403
    assert not User.objects.filter(email="revoked@example.com").exists()
    assert Invitation.objects.for_org(org).get().status == "revoked"


def test_an_expired_invitation_is_403(time_machine, org, admin_client, invite):
    time_machine.move_to(timezone.now(), tick=False)  # not backwards: admin_client's token is already issued
    token = invite(admin_client, "late@example.com")

    time_machine.shift(settings.INVITATION_TTL + timedelta(minutes=1))
    r = accept(token)

    assert assert_error(r, 403)["detail"] == INVALID
    assert not User.objects.filter(email="late@example.com").exists()
    assert Invitation.objects.for_org(org).get().status == "pending"


def test_an_invitation_is_still_good_just_before_it_expires(time_machine, org, admin_client, invite):
    time_machine.move_to(timezone.now(), tick=False)  # not backwards: admin_client's token is already issued
    token = invite(admin_client, "justintime@example.com")

    time_machine.shift(settings.INVITATION_TTL - timedelta(minutes=1))

    assert accept(token).status_code == 201


@pytest.mark.parametrize("token", ["unknown-token", "x" * 512])
def test_an_unknown_token_is_403(token, db):
    r = APIClient().post(ACCEPT, {"token": token, "password": NEW_PASSWORD})

    assert r.json() == {"detail": INVALID, "code": "invalid_invitation"}
    assert r.status_code == 403
    assert User.objects.count() == 0


def test_a_blank_token_is_400(db):
    r = APIClient().post(ACCEPT, {"token": "", "password": NEW_PASSWORD})

    assert assert_error(r, 400)["errors"] == {"token": ["This field may not be blank."]}


def test_a_weak_password_is_400_and_the_invitation_stays_usable(org, admin_client, invite):
    token = invite(admin_client, "weak@example.com")

    r = accept(token, password="password")

    assert assert_error(r, 400)["errors"] == {"password": ["This password is too common."]}
    assert not User.objects.filter(email="weak@example.com").exists()
    assert Invitation.objects.for_org(org).get().status == "pending"
    assert accept(token).status_code == 201


def test_an_invitation_to_a_suspended_organization_is_403(org, admin_client, invite):
    token = invite(admin_client, "paused@example.com")
    services.organization_set_status(organization=org, status="suspended", actor=None)

    r = accept(token)

    assert assert_error(r, 403)["detail"] == "The organization is suspended."
    assert not User.objects.filter(email="paused@example.com").exists()


# --- the e-mail, from a task ----------------------------------------------------------------------------


def test_the_invitation_email_is_sent_by_a_task_that_issues_the_token(org, admin_client, task_runs):
    with TestCase.captureOnCommitCallbacks() as callbacks:
        r = admin_client.post(ACCESS_LIST, {"email": "new@example.com", "role": "agent"})
    invitation = Invitation.objects.for_org(org).get()
    unknown_hash = invitation.token_hash

    assert r.status_code == 201, r.content
    assert (len(callbacks), mail.outbox, task_runs) == (1, [], [])  # nothing sent in the request

    with TestCase.captureOnCommitCallbacks(execute=True):
        callbacks[0]()

    # The broker carried ids only: the token was issued in the task, and only its hash stored; the e-mail it
    # queued travelled as its log row's id.
    log = EmailLog.objects.get()
    assert task_runs == [
        ("accounts.tasks.send_invitation", (org.pk, invitation.pk), {}),
        ("accounts.tasks.send_email", (log.pk,), {}),
    ]
    assert len(mail.outbox) == 1
    token = re.search(r"Invitation token: (\S+)", mail.outbox[0].body).group(1)
    invitation.refresh_from_db()
    assert invitation.token_hash == hash_secret(token) != unknown_hash
    assert accept(token).status_code == 201


def test_a_second_run_of_the_task_sends_a_token_that_supersedes_the_first(org, admin_client, invite):
    first = invite(admin_client, "new@example.com")
    invitation = Invitation.objects.for_org(org).get()

    with TestCase.captureOnCommitCallbacks(execute=True):
        tasks.send_invitation(org.pk, invitation.pk)

    second = re.search(r"Invitation token: (\S+)", mail.outbox[-1].body).group(1)
    assert (len(mail.outbox), second != first) == (2, True)
    assert assert_error(accept(first), 403)["detail"] == INVALID
    assert accept(second).status_code == 201


def test_the_task_sends_nothing_for_a_revoked_invitation_or_another_organization(org, other_org, admin_client, invite):
    invite(admin_client, "new@example.com")
    invitation = Invitation.objects.for_org(org).get()
    token_hash = invitation.token_hash

    tasks.send_invitation(other_org.pk, invitation.pk)
    assert admin_client.delete(f"{ACCESS_LIST}/new@example.com").status_code == 204
    tasks.send_invitation(org.pk, invitation.pk)

    assert len(mail.outbox) == 1  # the e-mail of the invitation, before
    assert Invitation.objects.for_org(org).get().token_hash == token_hash


# --- the plan's user limit -----------------------------------------------------------------------------


def test_inviting_is_refused_when_the_user_limit_is_reached(starter, starter_admin, django_capture_on_commit_callbacks):
    fill(starter, 5)
    admin = client_for(starter_admin)

    with django_capture_on_commit_callbacks(execute=True):
        r = admin.post(ACCESS_LIST, {"email": "sixth@example.com", "role": "agent"})

    body = assert_error(r, 400)
    assert (body["detail"], body["code"]) == (LIMIT_REACHED, "user_limit_reached")
    assert not Invitation.objects.for_org(starter).exists()
    assert mail.outbox == []


def test_accepting_is_refused_when_the_user_limit_was_reached_meanwhile(starter, starter_admin, invite):
    fill(starter, 4)
    admin = client_for(starter_admin)
    token = invite(admin, "fifth@example.com")  # the invitation holds the 5th seat
    extra = MembershipFactory(organization=starter, role=Role.AGENT)  # e.g. added by a super admin meanwhile

    r = accept(token)

    assert assert_error(r, 400)["detail"] == LIMIT_REACHED
    assert not User.objects.filter(email="fifth@example.com").exists()
    assert Invitation.objects.for_org(starter).get().status == "pending"
    assert Membership.objects.for_org(starter).filter(is_active=True).count() == 5

    # A freed seat lets the same invitation through.
    assert admin.post(f"/api/v1/admin/users/{extra.user_id}/deactivate").status_code == 200
    assert accept(token).status_code == 201
    assert Membership.objects.for_org(starter).filter(is_active=True).count() == 5


def test_the_last_seat_can_be_taken_by_invitation(starter, starter_admin, invite):
    fill(starter, 4)

    r = accept(invite(client_for(starter_admin), "fifth@example.com"))

    assert r.status_code == 201, r.content
    assert Membership.objects.for_org(starter).filter(is_active=True).count() == 5


# --- existing users ------------------------------------------------------------------------------------


def test_an_existing_user_gets_a_second_membership_and_logs_in_to_either(
    org, other_org, admin_client, outsider_membership, invite
):
    user = outsider_membership.user
    token = invite(admin_client, user.email.upper(), Role.AGENT)

    r = accept(token, password=PASSWORD, name="Ignored")

    assert r.status_code == 201, r.content
    assert r.json() == {"user_id": user.pk, "organization_id": org.pk, "role": "agent"}
    assert User.objects.filter(email=user.email).count() == 1
    user.refresh_from_db()
    assert user.name != "Ignored"
    assert user.check_password(PASSWORD)
    assert sorted(Membership.objects.filter(user=user).values_list("organization_id", "role")) == sorted(
        [(other_org.pk, "admin"), (org.pk, "agent")]
    )
    for organization, role in ((org, "agent"), (other_org, "admin")):
        session = (
            APIClient()
            .post(LOGIN, {"email": user.email, "password": PASSWORD, "organization_id": organization.pk})
            .json()
        )
        assert (session["organization"]["id"], session["role"]) == (organization.pk, role)


def test_an_existing_user_must_accept_with_their_password(org, admin_client, outsider_membership, invite):
    token = invite(admin_client, outsider_membership.user.email)

    r = accept(token, password="not-their-password")

    assert assert_error(r, 400)["errors"] == {"password": ["Wrong password for the existing account."]}
    assert not Membership.objects.for_org(org).filter(user=outsider_membership.user).exists()
    assert Invitation.objects.for_org(org).get().status == "pending"
    assert outsider_membership.user.check_password(PASSWORD)


def test_a_deactivated_member_is_reactivated_by_a_new_invitation(org, admin_client, agent_membership, invite):
    assert admin_client.post(f"/api/v1/admin/users/{agent_membership.user_id}/deactivate").status_code == 200
    token = invite(admin_client, agent_membership.user.email, Role.MARKETING)

    r = accept(token, password=PASSWORD)

    assert r.status_code == 201, r.content
    agent_membership.refresh_from_db()
    assert (agent_membership.is_active, agent_membership.role) == (True, "marketing")
    assert Membership.objects.for_org(org).filter(user=agent_membership.user).count() == 1


def test_a_user_who_registered_meanwhile_joins_with_their_password(org, admin_client, invite):
    token = invite(admin_client, "meanwhile@example.com")
    UserFactory(email="meanwhile@example.com")

    r = accept(token, password=PASSWORD)

    assert r.status_code == 201, r.content
    assert r.json()["user_id"] == User.objects.get(email="meanwhile@example.com").pk
