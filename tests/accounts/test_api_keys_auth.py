"""Organization API keys as credentials: `Authorization: Api-Key <key>` or `X-API-Key`, acting for the
key's organization with the key's role, never beyond it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, AuditLog, Role, Team
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import UserFactory

API_KEYS = "/api/v1/api-keys"
ORGANIZATION = "/api/v1/organization"
TEAM = "/api/v1/admin/team"
TEAMS = "/api/v1/teams"
INVALID_KEY = "Invalid or revoked API key."


def key_client(secret: str, header: str = "authorization") -> APIClient:
    client = APIClient()
    if header == "authorization":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    else:
        client.credentials(HTTP_X_API_KEY=secret)
    return client


def make_key(org, role: str = Role.ADMIN) -> tuple[ApiKey, str]:
    return services.api_key_create(organization=org, name=f"{role} key", role=role, actor=None)


def test_admin_creates_a_key_whose_secret_is_in_the_201_body_only(org, admin_client, admin_membership):
    r = admin_client.post(API_KEYS, {"name": "n8n", "role": "agent"})

    assert r.status_code == 201, r.content
    secret = r.json()["key"]
    key = ApiKey.objects.for_org(org).get()
    assert (r.json()["id"], r.json()["prefix"], r.json()["role"]) == (key.pk, key.prefix, "agent")
    assert secret.startswith(f"wh_{key.prefix}_")
    for later in (admin_client.get(API_KEYS), admin_client.get(f"{API_KEYS}/{key.pk}")):
        assert later.status_code == 200
        assert secret not in later.content.decode()
        assert '"key"' not in later.content.decode()
    assert key_client(secret).get(ORGANIZATION).json()["id"] == org.pk


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_a_key_authenticates_with_either_header(header, org):
    _, secret = make_key(org)

    r = key_client(secret, header).get(ORGANIZATION)

    assert r.status_code == 200, r.content
    assert (r.json()["id"], r.json()["name"]) == (org.pk, "Acme")


@pytest.mark.parametrize(
    ("role", "team_status", "keys_status", "organization_status"),
    [
        (Role.ADMIN, 200, 200, 200),
        (Role.MARKETING, 403, 403, 200),
        (Role.AGENT, 403, 403, 200),
    ],
)
def test_a_key_acts_with_its_role(role, team_status, keys_status, organization_status, org, admin_membership):
    _, secret = make_key(org, role)
    client = key_client(secret)

    assert client.get(TEAM).status_code == team_status
    assert client.get(API_KEYS).status_code == keys_status
    assert client.get(ORGANIZATION).status_code == organization_status
    if team_status == 403:
        assert client.get(TEAM).json()["detail"] == "Admin role required."
        assert_error(client.patch(ORGANIZATION, {"name": "Renamed"}), 403)
        org.refresh_from_db()
        assert org.name == "Acme"


def test_a_key_is_never_a_super_admin(org):
    _, secret = make_key(org)

    assert_error(key_client(secret).get("/api/v1/super-admin/dashboard"), 403)
    assert_error(key_client(secret).get("/api/v1/super-admin/organizations"), 403)


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_a_revoked_key_is_401(header, org, admin_client):
    key, secret = make_key(org)
    client = key_client(secret, header)
    assert client.get(ORGANIZATION).status_code == 200

    assert admin_client.post(f"{API_KEYS}/{key.pk}/revoke").status_code == 200

    assert assert_error(client.get(ORGANIZATION), 401) == {"detail": INVALID_KEY}


def test_delete_revokes_the_key_at_once_audited_once_and_idempotent(time_machine, org, admin_client, admin_membership):
    time_machine.move_to(timezone.now(), tick=False)
    key, secret = make_key(org)
    client = key_client(secret)
    assert client.get(ORGANIZATION).status_code == 200
    revoked_at = timezone.now()

    first = admin_client.delete(f"{API_KEYS}/{key.pk}")
    time_machine.shift(timedelta(minutes=5))
    again = admin_client.delete(f"{API_KEYS}/{key.pk}")
    by_action = admin_client.post(f"{API_KEYS}/{key.pk}/revoke")

    assert (first.status_code, first.content, again.status_code, again.content) == (204, b"", 204, b"")
    assert assert_error(client.get(ORGANIZATION), 401) == {"detail": INVALID_KEY}
    assert (by_action.status_code, by_action.json()["revoked_at"], by_action.json()["is_active"]) == (
        200,
        revoked_at.isoformat().replace("+00:00", "Z"),
        False,
    )
    assert [row["id"] for row in admin_client.get(API_KEYS).json()["results"] if not row["is_active"]] == [key.pk]
    assert ApiKey.objects.get(pk=key.pk).revoked_at == revoked_at
    entries = AuditLog.objects.for_org(org).filter(action="api_key.revoke")
    assert [(e.actor, e.target_type, e.target_id) for e in entries] == [(admin_membership.user, "apikey", str(key.pk))]


def test_only_admins_of_the_keys_organization_delete_it(org, other_org, agent_client, outsider_client):
    key, secret = make_key(org)

    assert_error(agent_client.delete(f"{API_KEYS}/{key.pk}"), 403)
    assert_error(outsider_client.delete(f"{API_KEYS}/{key.pk}"), 404)

    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    assert key_client(secret).get(ORGANIZATION).status_code == 200
    assert not AuditLog.objects.filter(action="api_key.revoke").exists()


def test_the_key_list_searches_names_and_prefixes(org, admin_client):
    n8n, _ = services.api_key_create(organization=org, name="n8n flows", role=Role.AGENT, actor=None)
    zapier, _ = services.api_key_create(organization=org, name="Zapier", role=Role.ADMIN, actor=None)

    by_name = admin_client.get(API_KEYS, {"search": "N8N"}).json()["results"]
    by_prefix = admin_client.get(API_KEYS, {"search": zapier.prefix}).json()["results"]

    assert ([row["id"] for row in by_name], [row["id"] for row in by_prefix]) == ([n8n.pk], [zapier.pk])


@pytest.mark.parametrize("secret", ["", "garbage", "wh_", "wh_nope_nope", "wrong-secret-of-a-real-prefix"])
def test_an_unknown_or_malformed_key_is_401(secret, org):
    key, _ = make_key(org)
    if secret == "wrong-secret-of-a-real-prefix":
        secret = f"wh_{key.prefix}_{'0' * 48}"

    assert_error(key_client(secret, "x-api-key").get(ORGANIZATION), 401)
    assert_error(key_client(secret).get(ORGANIZATION), 401)
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None


def test_a_key_of_one_organization_cannot_touch_another_organizations_rows(org, other_org):
    _, secret = make_key(org)
    client = key_client(secret)
    mine = Team.objects.create(organization=org, name="Sales")
    theirs = Team.objects.create(organization=other_org, name="Support")

    listing = client.get(TEAMS)
    read = client.get(f"{TEAMS}/{theirs.pk}")
    update = client.patch(f"{TEAMS}/{theirs.pk}", {"name": "Hijacked"})
    delete = client.delete(f"{TEAMS}/{theirs.pk}")

    assert [row["id"] for row in listing.json()["results"]] == [mine.pk]
    for response in (read, update, delete):
        assert assert_error(response, 404)["detail"] == "No Team matches the given query."
    theirs.refresh_from_db()
    assert theirs.name == "Support"
    assert not AuditLog.objects.for_org(other_org).exists()


def test_a_key_cannot_revoke_another_organizations_key(org, other_org):
    _, secret = make_key(org)
    theirs, their_secret = make_key(other_org)

    assert_error(key_client(secret).post(f"{API_KEYS}/{theirs.pk}/revoke"), 404)

    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
    assert key_client(their_secret).get(ORGANIZATION).json()["id"] == other_org.pk


def test_writes_through_a_key_land_in_its_organization_and_are_audited_with_it(org, other_org):
    key, secret = make_key(org)

    r = key_client(secret).post(TEAMS, {"name": "Bots", "organization": other_org.pk})
    assert assert_error(r, 400)["errors"] == {"organization": ["Unknown field."]}
    r = key_client(secret).post(TEAMS, {"name": "Bots"})

    assert r.status_code == 201, r.content
    team = Team.objects.get(pk=r.json()["id"])
    assert team.organization_id == org.pk
    entry = AuditLog.objects.for_org(org).get(action="team.create")
    assert (entry.actor, entry.api_key, entry.target_id) == (None, key, str(team.pk))


def test_last_used_at_is_recorded_at_most_once_a_minute(time_machine, org):
    time_machine.move_to(timezone.now(), tick=False)
    key, secret = make_key(org)
    assert key.last_used_at is None
    client = key_client(secret)

    first = timezone.now()
    assert client.get(ORGANIZATION).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == first

    time_machine.shift(timedelta(seconds=30))
    assert client.get(ORGANIZATION).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == first

    time_machine.shift(timedelta(seconds=45))
    assert client.get(ORGANIZATION).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == first + timedelta(seconds=75)


@pytest.mark.parametrize("via", ["service", "super-admin"])
def test_suspension_stops_the_organizations_keys_at_once_and_reactivation_restores(via, org, other_org):
    staff = client_for(user=UserFactory(is_staff=True))
    _, secret = make_key(org)
    _, other_secret = make_key(other_org)
    client = key_client(secret, "x-api-key")

    def set_status(status: str) -> None:
        if via == "service":
            services.organization_set_status(organization=org, status=status, actor=None)
        else:
            r = staff.put(f"/api/v1/super-admin/organizations/{org.pk}/status", {"status": status})
            assert r.status_code == 200, r.content

    set_status("suspended")
    assert assert_error(client.get(ORGANIZATION), 401) == {"detail": "The organization is suspended."}
    assert key_client(other_secret).get(ORGANIZATION).status_code == 200

    set_status("active")
    assert client.get(ORGANIZATION).status_code == 200


def test_a_key_has_no_profile(org):
    _, secret = make_key(org)

    r = key_client(secret).get("/api/v1/auth/me")

    assert assert_error(r, 403)["detail"] == "An API key has no profile: sign in as a user."
