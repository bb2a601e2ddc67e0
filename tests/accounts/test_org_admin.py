"""Organization admin endpoints: the team, roles, (de)activation, the access list, API keys and
the organization itself. Two organizations: `org` (admin, agent, marketing) and `other_org`."""

import re
import secrets
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, AuditLog, Invitation, Membership, Organization, Role, User, hash_secret
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import PASSWORD, MembershipFactory, UserFactory

TEAM = "/api/v1/admin/team"
ACCESS_LIST = "/api/v1/admin/access-list"
API_KEYS = "/api/v1/api-keys"
ORGANIZATION = "/api/v1/organization"


def role_url(user_id) -> str:
    return f"/api/v1/admin/users/{user_id}/role"


def member_url(user_id, what: str) -> str:
    return f"/api/v1/admin/users/{user_id}/{what}"


def fill_to(org: Organization, active_members: int) -> None:
    """Add agents until `org` has this many active members."""
    missing = active_members - Membership.objects.for_org(org).filter(is_active=True).count()
    for _ in range(missing):
        MembershipFactory(organization=org, role=Role.AGENT)


def make_invitation(org: Organization) -> Invitation:
    return Invitation.objects.create(
        organization=org,
        email=f"invitee-{secrets.token_hex(4)}@example.com",
        role=Role.AGENT,
        token_hash=hash_secret(secrets.token_hex(16)),
        expires_at=timezone.now() + timedelta(days=7),
    )


def make_api_key(org: Organization) -> ApiKey:
    key, _ = services.api_key_create(organization=org, name="zap", role=Role.ADMIN, actor=None)
    return key


def invitation_token(message) -> str:
    return re.search(r"Invitation token: (\S+)", message.body).group(1)


# --- GET admin/team ------------------------------------------------------------------------------------


def test_team_lists_members_with_role_and_active_flag(org, admin_client, admin_membership, agent_membership):
    marketer = MembershipFactory(organization=org, role=Role.MARKETING, is_active=False)
    MembershipFactory(role=Role.ADMIN)  # someone in another organization

    r = admin_client.get(TEAM)

    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 3
    assert body["next"] is None and body["previous"] is None
    rows = [(row["user_id"], row["email"], row["role"], row["is_active"]) for row in body["results"]]
    assert rows == [
        (admin_membership.user_id, admin_membership.user.email, "admin", True),
        (agent_membership.user_id, agent_membership.user.email, "agent", True),
        (marketer.user_id, marketer.user.email, "marketing", False),
    ]
    assert set(body["results"][0]) == {"user_id", "email", "name", "role", "is_active", "user_is_active", "created_at"}


def test_team_is_paginated_and_page_size_is_capped_at_100(org, admin_client, admin_membership):
    users = User.objects.bulk_create([User(email=f"bulk{n}@example.com", name=f"B {n}") for n in range(110)])
    Membership.objects.bulk_create([Membership(organization=org, user=u, role=Role.AGENT) for u in users])

    default = admin_client.get(TEAM).json()
    assert default["count"] == 111
    assert len(default["results"]) == 20
    assert default["previous"] is None
    assert "page=2" in default["next"]

    hundred = admin_client.get(TEAM, {"page_size": 100}).json()
    assert len(hundred["results"]) == 100

    capped = admin_client.get(TEAM, {"page_size": 500}).json()
    assert len(capped["results"]) == 100
    assert capped["count"] == 111

    last = admin_client.get(TEAM, {"page_size": 100, "page": 2}).json()
    assert len(last["results"]) == 11
    assert last["next"] is None
    assert last["previous"] is not None


@pytest.mark.parametrize("who", ["agent", "marketing"])
def test_team_is_refused_to_non_admins(who, agent_client, marketing_client):
    client = {"agent": agent_client, "marketing": marketing_client}[who]
    assert_error(client.get(TEAM), 403)


def test_team_needs_authentication(anon_client, db):
    assert_error(anon_client.get(TEAM), 401)


# --- PUT admin/users/{id}/role -------------------------------------------------------------------------


def test_admin_changes_a_role_and_it_is_audited(org, admin_client, admin_membership, agent_membership):
    r = admin_client.put(role_url(agent_membership.user_id), {"role": "marketing"}, format="json")

    assert r.status_code == 200, r.content
    assert r.json()["role"] == "marketing"
    assert r.json()["user_id"] == agent_membership.user_id
    agent_membership.refresh_from_db()
    assert agent_membership.role == "marketing"
    entry = AuditLog.objects.for_org(org).get(action="member.role_change")
    assert entry.actor == admin_membership.user
    assert entry.target_type == "user"
    assert entry.target_id == str(agent_membership.user_id)
    assert entry.data == {"from": "agent", "to": "marketing"}


def test_the_changed_role_applies_to_the_members_live_token(agent_membership, admin_client):
    agent_client = client_for(agent_membership)
    assert agent_client.get(TEAM).status_code == 403

    admin_client.put(role_url(agent_membership.user_id), {"role": "admin"}, format="json")

    assert agent_client.get(TEAM).status_code == 200


def test_role_change_refuses_an_invalid_role(org, admin_client, agent_membership):
    body = assert_error(admin_client.put(role_url(agent_membership.user_id), {"role": "owner"}, format="json"), 400)

    assert list(body["errors"]) == ["role"]
    agent_membership.refresh_from_db()
    assert agent_membership.role == "agent"
    assert not AuditLog.objects.for_org(org).filter(action="member.role_change").exists()


def test_role_change_refuses_a_missing_role(admin_client, agent_membership):
    body = assert_error(admin_client.put(role_url(agent_membership.user_id), {}, format="json"), 400)
    assert list(body["errors"]) == ["role"]


def test_the_last_admin_cannot_be_demoted(org, admin_client, admin_membership, agent_membership):
    body = assert_error(admin_client.put(role_url(admin_membership.user_id), {"role": "agent"}, format="json"), 400)

    assert "last admin" in body["detail"]
    admin_membership.refresh_from_db()
    assert admin_membership.role == "admin"
    assert not AuditLog.objects.for_org(org).filter(action="member.role_change").exists()


def test_an_inactive_admin_does_not_count_as_another_admin(org, admin_client, admin_membership):
    MembershipFactory(organization=org, role=Role.ADMIN, is_active=False)

    assert_error(admin_client.put(role_url(admin_membership.user_id), {"role": "agent"}, format="json"), 400)

    admin_membership.refresh_from_db()
    assert admin_membership.role == "admin"


def test_with_two_admins_one_can_be_demoted(org, admin_client, admin_membership):
    second = MembershipFactory(organization=org, role=Role.ADMIN)

    r = admin_client.put(role_url(second.user_id), {"role": "agent"}, format="json")

    assert r.status_code == 200, r.content
    second.refresh_from_db()
    assert second.role == "agent"
    # Now the remaining one is the last admin.
    assert_error(admin_client.put(role_url(admin_membership.user_id), {"role": "agent"}, format="json"), 400)


def test_an_admin_may_demote_themselves_when_another_admin_remains(org, admin_client, admin_membership):
    MembershipFactory(organization=org, role=Role.ADMIN)

    r = admin_client.put(role_url(admin_membership.user_id), {"role": "agent"}, format="json")

    assert r.status_code == 200, r.content
    admin_membership.refresh_from_db()
    assert admin_membership.role == "agent"


def test_role_change_of_another_organizations_user_is_404(admin_client, outsider_membership, other_org):
    assert_error(admin_client.put(role_url(outsider_membership.user_id), {"role": "agent"}, format="json"), 404)

    outsider_membership.refresh_from_db()
    assert outsider_membership.role == "admin"
    assert not AuditLog.objects.filter(action="member.role_change").exists()


def test_role_change_of_an_unknown_user_is_404(admin_client, db):
    assert_error(admin_client.put(role_url(999_999), {"role": "agent"}, format="json"), 404)


@pytest.mark.parametrize("who", ["agent", "marketing"])
def test_non_admins_cannot_change_roles(who, org, agent_membership, marketing_membership):
    client = client_for(agent_membership if who == "agent" else marketing_membership)

    assert_error(client.put(role_url(agent_membership.user_id), {"role": "admin"}, format="json"), 403)

    agent_membership.refresh_from_db()
    assert agent_membership.role == "agent"
    assert not AuditLog.objects.filter(action="member.role_change").exists()


# --- POST admin/users/{id}/deactivate and activate -----------------------------------------------------


def test_admin_deactivates_a_member_and_it_is_audited(org, admin_client, admin_membership, agent_membership):
    agent_client = client_for(agent_membership)
    assert agent_client.get(ORGANIZATION).status_code == 200

    r = admin_client.post(member_url(agent_membership.user_id, "deactivate"))

    assert r.status_code == 200, r.content
    assert r.json()["is_active"] is False
    agent_membership.refresh_from_db()
    assert agent_membership.is_active is False
    entry = AuditLog.objects.for_org(org).get(action="member.deactivate")
    assert (entry.actor, entry.target_id) == (admin_membership.user, str(agent_membership.user_id))
    # The member's live token stops working at once.
    assert_error(agent_client.get(ORGANIZATION), 401)


def test_admin_activates_a_member_and_it_is_audited(org, admin_client, admin_membership):
    member = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)

    r = admin_client.post(member_url(member.user_id, "activate"))

    assert r.status_code == 200, r.content
    assert r.json()["is_active"] is True
    member.refresh_from_db()
    assert member.is_active is True
    entry = AuditLog.objects.for_org(org).get(action="member.activate")
    assert (entry.actor, entry.target_id) == (admin_membership.user, str(member.user_id))
    assert client_for(member).get(ORGANIZATION).status_code == 200


def test_the_last_admin_cannot_be_deactivated(org, admin_client, admin_membership, agent_membership):
    body = assert_error(admin_client.post(member_url(admin_membership.user_id, "deactivate")), 400)

    assert "last admin" in body["detail"]
    admin_membership.refresh_from_db()
    assert admin_membership.is_active is True
    assert not AuditLog.objects.for_org(org).filter(action="member.deactivate").exists()


def test_with_two_admins_one_can_be_deactivated(org, admin_client, admin_membership):
    second = MembershipFactory(organization=org, role=Role.ADMIN)

    assert admin_client.post(member_url(second.user_id, "deactivate")).status_code == 200

    second.refresh_from_db()
    assert second.is_active is False
    assert_error(admin_client.post(member_url(admin_membership.user_id, "deactivate")), 400)


def test_activate_respects_the_starter_plan_user_limit(org, admin_client, admin_membership):
    org.plan = Organization.Plan.STARTER
    org.save()
    fill_to(org, 5)
    waiting = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)

    body = assert_error(admin_client.post(member_url(waiting.user_id, "activate")), 400)

    assert "limit" in body["detail"]
    assert body["code"] == "user_limit_reached"
    waiting.refresh_from_db()
    assert waiting.is_active is False
    assert Membership.objects.for_org(org).filter(is_active=True).count() == 5
    assert not AuditLog.objects.for_org(org).filter(action="member.activate").exists()


def test_activate_works_again_once_a_seat_is_freed(org, admin_client, admin_membership):
    org.plan = Organization.Plan.STARTER
    org.save()
    fill_to(org, 5)
    leaving = Membership.objects.for_org(org).filter(role=Role.AGENT).first()
    waiting = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)

    assert admin_client.post(member_url(leaving.user_id, "deactivate")).status_code == 200
    assert admin_client.post(member_url(waiting.user_id, "activate")).status_code == 200

    assert Membership.objects.for_org(org).filter(is_active=True).count() == 5


@pytest.mark.parametrize("what", ["deactivate", "activate"])
def test_deactivate_and_activate_of_another_organizations_user_is_404(what, admin_client, outsider_membership):
    if what == "activate":
        Membership.objects.filter(pk=outsider_membership.pk).update(is_active=False)

    assert_error(admin_client.post(member_url(outsider_membership.user_id, what)), 404)

    outsider_membership.refresh_from_db()
    assert outsider_membership.is_active is (what == "deactivate")


def test_an_agent_cannot_deactivate_or_activate(org, agent_client, admin_membership, agent_membership):
    inactive = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)

    assert_error(agent_client.post(member_url(admin_membership.user_id, "deactivate")), 403)
    assert_error(agent_client.post(member_url(inactive.user_id, "activate")), 403)

    admin_membership.refresh_from_db()
    inactive.refresh_from_db()
    assert admin_membership.is_active is True
    assert inactive.is_active is False
    assert not AuditLog.objects.filter(action__startswith="member.").exists()


# --- the access list -----------------------------------------------------------------------------------


def test_admin_invites_by_email_and_the_token_goes_out_by_email_only(
    org, admin_client, admin_membership, anon_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(ACCESS_LIST, {"email": "New.Person@Example.com", "role": "marketing"}, format="json")

    assert r.status_code == 201, r.content
    body = r.json()
    assert body["email"] == "new.person@example.com"
    assert body["role"] == "marketing"
    assert body["status"] == "pending"
    assert body["invited_by"] == admin_membership.user.email
    assert set(body) == {"id", "email", "role", "status", "invited_by", "invited_at", "expires_at", "accepted_at"}

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    token = invitation_token(message)
    invitation = Invitation.objects.for_org(org).get()
    assert invitation.token_hash == hash_secret(token)
    assert token not in r.content.decode()
    listing = admin_client.get(ACCESS_LIST)
    assert token not in listing.content.decode()
    assert invitation.token_hash not in listing.content.decode()

    entry = AuditLog.objects.for_org(org).get(action="invitation.create")
    assert (entry.actor, entry.target_id, entry.data) == (
        admin_membership.user,
        str(invitation.pk),
        {"role": "marketing"},
    )

    # The e-mailed token is the real one: the invitee joins with the invited role.
    joined = anon_client.post(
        "/api/v1/auth/register-with-invite", {"token": token, "password": PASSWORD, "name": "New"}, format="json"
    )
    assert joined.status_code == 201, joined.content
    assert joined.json()["role"] == "marketing"
    assert joined.json()["organization_id"] == org.pk


def test_access_list_lists_the_organizations_invitations_only(org, other_org, admin_client, admin_membership):
    mine = make_invitation(org)
    make_invitation(other_org)

    r = admin_client.get(ACCESS_LIST)

    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 1
    assert [row["email"] for row in body["results"]] == [mine.email]
    assert "token" not in body["results"][0] and "token_hash" not in body["results"][0]


def test_invite_refuses_an_email_already_invited(org, admin_client, admin_membership):
    admin_client.post(ACCESS_LIST, {"email": "x@example.com", "role": "agent"}, format="json")
    mail.outbox.clear()

    body = assert_error(admin_client.post(ACCESS_LIST, {"email": "X@example.com", "role": "admin"}, format="json"), 400)

    assert body["errors"] == {"email": ["Already invited."]}
    assert Invitation.objects.for_org(org).count() == 1
    assert Invitation.objects.for_org(org).get().role == "agent"
    assert mail.outbox == []


def test_invite_refuses_an_existing_member(org, admin_client, agent_membership):
    body = assert_error(
        admin_client.post(ACCESS_LIST, {"email": agent_membership.user.email.upper(), "role": "admin"}, format="json"),
        400,
    )

    assert body["errors"] == {"email": ["Already a member."]}
    assert not Invitation.objects.for_org(org).exists()


def test_invite_accepts_a_member_of_another_organization(org, admin_client, admin_membership, outsider_membership):
    r = admin_client.post(ACCESS_LIST, {"email": outsider_membership.user.email, "role": "agent"}, format="json")

    assert r.status_code == 201, r.content
    assert Invitation.objects.for_org(org).get().email == outsider_membership.user.email


def test_invite_refuses_when_the_user_limit_is_reached(org, admin_client, admin_membership):
    org.plan = Organization.Plan.STARTER
    org.save()
    fill_to(org, 5)

    body = assert_error(
        admin_client.post(ACCESS_LIST, {"email": "six@example.com", "role": "agent"}, format="json"), 400
    )

    assert body["code"] == "user_limit_reached"
    assert not Invitation.objects.for_org(org).exists()
    assert mail.outbox == []


def test_pending_invitations_count_against_the_user_limit(org, admin_client, admin_membership):
    org.plan = Organization.Plan.STARTER
    org.save()
    fill_to(org, 4)
    assert (
        admin_client.post(ACCESS_LIST, {"email": "five@example.com", "role": "agent"}, format="json").status_code == 201
    )

    assert_error(admin_client.post(ACCESS_LIST, {"email": "six@example.com", "role": "agent"}, format="json"), 400)

    assert list(Invitation.objects.for_org(org).values_list("email", flat=True)) == ["five@example.com"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "role": "agent"}, "email"),
        ({"email": "a@example.com", "role": "owner"}, "role"),
        ({"email": "a@example.com", "role": "agent", "token": "mine"}, "token"),
    ],
)
def test_invite_validates_its_input(payload, field, org, admin_client):
    body = assert_error(admin_client.post(ACCESS_LIST, payload, format="json"), 400)

    assert list(body["errors"]) == [field]
    assert not Invitation.objects.exists()


def test_admin_revokes_an_invitation_by_email(
    org, admin_client, admin_membership, anon_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(ACCESS_LIST, {"email": "gone@example.com", "role": "agent"}, format="json")
    token = invitation_token(mail.outbox[0])

    r = admin_client.delete(f"{ACCESS_LIST}/GONE@example.com")

    assert r.status_code == 204, r.content
    invitation = Invitation.objects.for_org(org).get()
    assert invitation.status == "revoked"
    entry = AuditLog.objects.for_org(org).get(action="invitation.revoke")
    assert (entry.actor, entry.target_id) == (admin_membership.user, str(invitation.pk))
    refused = anon_client.post(
        "/api/v1/auth/register-with-invite", {"token": token, "password": PASSWORD, "name": "G"}, format="json"
    )
    assert_error(refused, 403)
    assert not User.objects.filter(email="gone@example.com").exists()
    # The e-mail may be invited again.
    assert (
        admin_client.post(ACCESS_LIST, {"email": "gone@example.com", "role": "agent"}, format="json").status_code == 201
    )


def test_revoking_an_unknown_email_is_404(admin_client, db):
    assert_error(admin_client.delete(f"{ACCESS_LIST}/nobody@example.com"), 404)


def test_revoking_another_organizations_invitation_is_404(other_org, admin_client):
    theirs = make_invitation(other_org)

    assert_error(admin_client.delete(f"{ACCESS_LIST}/{theirs.email}"), 404)

    theirs.refresh_from_db()
    assert theirs.status == "pending"


def test_non_admins_cannot_use_the_access_list(org, agent_client, marketing_client):
    existing = make_invitation(org)
    for client in (agent_client, marketing_client):
        assert_error(client.get(ACCESS_LIST), 403)
        assert_error(client.post(ACCESS_LIST, {"email": "z@example.com", "role": "admin"}, format="json"), 403)
        assert_error(client.delete(f"{ACCESS_LIST}/{existing.email}"), 403)

    assert list(Invitation.objects.values_list("email", "status")) == [(existing.email, "pending")]
    assert mail.outbox == []


# --- API keys ------------------------------------------------------------------------------------------


def test_admin_creates_an_api_key_whose_secret_is_shown_once(org, admin_client, admin_membership):
    r = admin_client.post(API_KEYS, {"name": "n8n", "role": "marketing"}, format="json")

    assert r.status_code == 201, r.content
    body = r.json()
    secret = body["key"]
    key = ApiKey.objects.for_org(org).get()
    assert body["id"] == key.pk
    assert body["prefix"] == key.prefix
    assert secret.startswith(f"wh_{key.prefix}_")
    assert (body["name"], body["role"], body["created_by"], body["is_active"]) == (
        "n8n",
        "marketing",
        admin_membership.user.email,
        True,
    )
    assert key.key_hash == hash_secret(secret)
    assert secret not in (key.key_hash, key.prefix)
    # Never again: not in the list, not in the detail.
    listing = admin_client.get(API_KEYS)
    detail = admin_client.get(f"{API_KEYS}/{key.pk}")
    for response in (listing, detail):
        assert response.status_code == 200
        assert secret not in response.content.decode()
        assert key.key_hash not in response.content.decode()
    assert "key" not in detail.json()
    assert listing.json()["count"] == 1
    entry = AuditLog.objects.for_org(org).get(action="api_key.create")
    assert (entry.actor, entry.target_id, entry.data) == (admin_membership.user, str(key.pk), {"role": "marketing"})
    # The secret works, with the role chosen at creation.
    integration = APIClient()
    integration.credentials(HTTP_X_API_KEY=secret)
    assert integration.get(ORGANIZATION).json()["id"] == org.pk
    assert_error(integration.get(TEAM), 403)


def test_admin_revokes_an_api_key_and_it_stops_working(org, admin_client, admin_membership):
    created = admin_client.post(API_KEYS, {"name": "zap", "role": "admin"}, format="json").json()
    integration = APIClient()
    integration.credentials(HTTP_AUTHORIZATION=f"Api-Key {created['key']}")
    assert integration.get(ORGANIZATION).status_code == 200

    r = admin_client.post(f"{API_KEYS}/{created['id']}/revoke")

    assert r.status_code == 200, r.content
    assert r.json()["is_active"] is False
    assert r.json()["revoked_at"] is not None
    assert "key" not in r.json()
    key = ApiKey.objects.for_org(org).get()
    assert key.revoked_at is not None
    entry = AuditLog.objects.for_org(org).get(action="api_key.revoke")
    assert (entry.actor, entry.target_id) == (admin_membership.user, str(key.pk))
    assert_error(integration.get(ORGANIZATION), 401)
    # Revoking again changes nothing and writes no second entry.
    assert admin_client.post(f"{API_KEYS}/{created['id']}/revoke").status_code == 200
    assert AuditLog.objects.for_org(org).filter(action="api_key.revoke").count() == 1


def test_api_key_create_validates_its_input(org, admin_client):
    assert list(
        assert_error(admin_client.post(API_KEYS, {"name": "x", "role": "root"}, format="json"), 400)["errors"]
    ) == ["role"]
    assert list(assert_error(admin_client.post(API_KEYS, {"role": "agent"}, format="json"), 400)["errors"]) == ["name"]
    body = assert_error(
        admin_client.post(API_KEYS, {"name": "x", "role": "agent", "prefix": "aaaa"}, format="json"), 400
    )
    assert list(body["errors"]) == ["prefix"]
    assert not ApiKey.objects.exists()


def test_revoking_another_organizations_api_key_is_404(other_org, admin_client):
    theirs = make_api_key(other_org)

    assert_error(admin_client.post(f"{API_KEYS}/{theirs.pk}/revoke"), 404)
    assert_error(admin_client.get(f"{API_KEYS}/{theirs.pk}"), 404)

    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_an_agent_cannot_list_create_or_revoke_api_keys(org, agent_client, marketing_client):
    existing = make_api_key(org)
    for client in (agent_client, marketing_client):
        assert_error(client.get(API_KEYS), 403)
        assert_error(client.post(API_KEYS, {"name": "mine", "role": "admin"}, format="json"), 403)
        assert_error(client.post(f"{API_KEYS}/{existing.pk}/revoke"), 403)

    assert list(ApiKey.objects.values_list("pk", flat=True)) == [existing.pk]
    existing.refresh_from_db()
    assert existing.revoked_at is None
    assert not AuditLog.objects.filter(action="api_key.revoke").exists()


# --- GET/PATCH organization ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "agent", "marketing"])
def test_every_member_reads_their_organization(who, org, admin_membership, agent_membership, marketing_membership):
    membership = {"admin": admin_membership, "agent": agent_membership, "marketing": marketing_membership}[who]

    r = client_for(membership).get(ORGANIZATION)

    assert r.status_code == 200, r.content
    assert r.json() == {
        "id": org.pk,
        "name": "Acme",
        "slug": org.slug,
        "status": "active",
        "plan": "pro",
        "user_limit": 25,
        "settings": {},
        "created_at": r.json()["created_at"],
    }


def test_admin_patches_name_and_settings(org, admin_client, admin_membership):
    org.settings = {"timezone": "UTC", "locale": "en"}
    org.save()

    r = admin_client.patch(ORGANIZATION, {"name": " Acme Ltd ", "settings": {"locale": "ar"}}, format="json")

    assert r.status_code == 200, r.content
    assert r.json()["name"] == "Acme Ltd"
    assert r.json()["settings"] == {"timezone": "UTC", "locale": "ar"}
    org.refresh_from_db()
    assert (org.name, org.settings) == ("Acme Ltd", {"timezone": "UTC", "locale": "ar"})
    entry = AuditLog.objects.for_org(org).get(action="organization.update")
    assert entry.actor == admin_membership.user
    assert entry.data == {"fields": ["name", "settings"]}


@pytest.mark.parametrize("who", ["agent", "marketing"])
def test_non_admins_cannot_patch_the_organization(who, org, agent_client, marketing_client):
    client = agent_client if who == "agent" else marketing_client

    assert_error(client.patch(ORGANIZATION, {"name": "Hacked", "settings": {"x": 1}}, format="json"), 403)

    org.refresh_from_db()
    assert (org.name, org.settings) == ("Acme", {})
    assert not AuditLog.objects.filter(action="organization.update").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"colour": "green"}, "colour"),
        ({"status": "suspended"}, "status"),
        ({"plan": "enterprise"}, "plan"),
        ({"settings": ["not", "an", "object"]}, "settings"),
        ({"name": ""}, "name"),
    ],
)
def test_patch_organization_refuses_unknown_read_only_and_invalid_fields(payload, field, org, admin_client):
    body = assert_error(admin_client.patch(ORGANIZATION, payload, format="json"), 400)

    assert list(body["errors"]) == [field]
    org.refresh_from_db()
    assert (org.name, org.status, org.plan, org.settings) == ("Acme", "active", "pro", {})


def test_a_token_without_organization_cannot_read_one(db):
    staff = UserFactory(is_staff=True)

    assert_error(client_for(user=staff).get(ORGANIZATION), 403)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", TEAM),
        ("get", "/api/v1/admin/users/{user_id}/role"),
        ("get", "/api/v1/admin/users/{user_id}/deactivate"),
        ("put", ACCESS_LIST),
        ("patch", f"{API_KEYS}/{{key_id}}"),
        ("delete", ORGANIZATION),
        ("post", "/api/v1/audit-log"),
    ],
)
def test_unsupported_methods_answer_405_in_json_and_change_nothing(method, path, org, admin_client, agent_membership):
    key = make_api_key(org)
    url = path.format(user_id=agent_membership.user_id, key_id=key.pk)

    assert_error(getattr(admin_client, method)(url, {"name": "x", "role": "admin"}, format="json"), 405)

    key.refresh_from_db()
    agent_membership.refresh_from_db()
    assert (key.name, key.revoked_at, agent_membership.role) == ("zap", None, "agent")
    assert ApiKey.objects.count() == 1
