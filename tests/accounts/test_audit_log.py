"""GET audit-log: what the services record (sign-ins, role changes, invitations, API keys,
organization status) and the filters (action, actor, date_from/date_to)."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuditLog, Role
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

AUDIT_LOG = "/api/v1/audit-log"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, 0, tzinfo=UTC)


def entry(org, action: str, *, actor=None, when: datetime) -> AuditLog:
    return AuditLog.objects.create(organization=org, action=action, actor=actor, at=when)


def actions(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["action"] for row in response.json()["results"]]


def test_sign_ins_are_in_the_audit_log(org, admin_client, admin_membership, agent_membership, anon_client):
    r = anon_client.post("/api/v1/auth/login", {"email": agent_membership.user.email, "password": PASSWORD})
    assert r.status_code == 200, r.content

    body = admin_client.get(AUDIT_LOG, {"action": "auth.login"}).json()

    assert body["count"] == 1
    row = body["results"][0]
    assert (row["action"], row["actor"], row["target_type"], row["target_id"]) == (
        "auth.login",
        agent_membership.user.email,
        "user",
        str(agent_membership.user_id),
    )
    assert set(row) == {"id", "at", "action", "actor", "api_key", "target_type", "target_id", "data"}


def test_a_failed_sign_in_writes_no_entry(org, agent_membership, anon_client):
    r = anon_client.post("/api/v1/auth/login", {"email": agent_membership.user.email, "password": "wrong-one"})
    assert r.status_code == 401

    assert not AuditLog.objects.filter(action="auth.login").exists()


def test_admin_actions_are_in_the_audit_log(
    org, admin_client, admin_membership, agent_membership, django_capture_on_commit_callbacks
):
    staff = UserFactory(is_staff=True)
    admin_client.put(f"/api/v1/admin/users/{agent_membership.user_id}/role", {"role": "marketing"})
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/api/v1/admin/access-list", {"email": "new@example.com", "role": "agent"})
    admin_client.delete("/api/v1/admin/access-list/new@example.com")
    key_id = admin_client.post("/api/v1/api-keys", {"name": "zap", "role": "agent"}).json()["id"]
    admin_client.post(f"/api/v1/api-keys/{key_id}/revoke")
    platform = client_for(user=staff)
    assert (
        platform.put(f"/api/v1/super-admin/organizations/{org.pk}/status", {"status": "suspended"}).status_code == 200
    )
    assert platform.put(f"/api/v1/super-admin/organizations/{org.pk}/status", {"status": "active"}).status_code == 200

    r = admin_client.get(AUDIT_LOG)

    assert actions(r) == [
        "organization.status_change",
        "organization.status_change",
        "api_key.revoke",
        "api_key.create",
        "invitation.revoke",
        "invitation.create",
        "member.role_change",
    ]
    rows = r.json()["results"]
    assert rows[0]["actor"] == staff.email
    assert rows[0]["data"] == {"from": "suspended", "to": "active"}
    assert rows[1]["data"] == {"from": "active", "to": "suspended"}
    assert rows[6]["data"] == {"from": "agent", "to": "marketing"}
    assert {row["actor"] for row in rows[2:]} == {admin_membership.user.email}


def test_actions_through_an_api_key_name_the_key(org, admin_client):
    key, raw = services.api_key_create(organization=org, name="n8n", role=Role.ADMIN, actor=None)
    integration = APIClient()
    integration.credentials(HTTP_X_API_KEY=raw)
    assert integration.patch("/api/v1/organization", {"name": "Renamed"}).status_code == 200

    row = admin_client.get(AUDIT_LOG, {"action": "organization.update"}).json()["results"][0]

    assert (row["actor"], row["api_key"]) == (None, key.prefix)


def test_audit_log_filters_by_action(org, admin_client, admin_membership):
    entry(org, "member.role_change", when=at(1))
    entry(org, "api_key.create", when=at(2))
    entry(org, "member.role_change", when=at(3))

    assert actions(admin_client.get(AUDIT_LOG, {"action": "member.role_change"})) == ["member.role_change"] * 2
    assert actions(admin_client.get(AUDIT_LOG, {"action": "nothing.like.this"})) == []


def test_audit_log_filters_by_actor(org, admin_client, admin_membership, agent_membership):
    entry(org, "one", actor=admin_membership.user, when=at(1))
    entry(org, "two", actor=agent_membership.user, when=at(2))
    entry(org, "three", actor=None, when=at(3))

    assert actions(admin_client.get(AUDIT_LOG, {"actor": agent_membership.user_id})) == ["two"]
    assert actions(admin_client.get(AUDIT_LOG, {"actor": admin_membership.user_id})) == ["one"]


def test_audit_log_filters_by_date(org, admin_client):
    for day in (1, 2, 3, 4):
        entry(org, f"day{day}", when=at(day))

    assert actions(admin_client.get(AUDIT_LOG, {"date_from": "2025-03-02T00:00:00Z"})) == ["day4", "day3", "day2"]
    assert actions(admin_client.get(AUDIT_LOG, {"date_to": "2025-03-02T12:00:00Z"})) == ["day2", "day1"]
    between = admin_client.get(AUDIT_LOG, {"date_from": "2025-03-02T00:00:00Z", "date_to": "2025-03-03T23:59:59Z"})
    assert actions(between) == ["day3", "day2"]


def test_audit_log_date_filters_accept_plain_dates(org, admin_client):
    """A date alone means the whole day: date_to=2025-03-02 includes that day's entries."""
    for day in (1, 2, 3):
        entry(org, f"day{day}", when=at(day, hour=18))

    assert actions(admin_client.get(AUDIT_LOG, {"date_from": "2025-03-02"})) == ["day3", "day2"]
    assert actions(admin_client.get(AUDIT_LOG, {"date_to": "2025-03-02"})) == ["day2", "day1"]
    assert actions(admin_client.get(AUDIT_LOG, {"date_from": "2025-03-02", "date_to": "2025-03-02"})) == ["day2"]


def test_audit_log_filters_combine(org, admin_client, admin_membership, agent_membership):
    entry(org, "member.role_change", actor=admin_membership.user, when=at(1))
    entry(org, "member.role_change", actor=admin_membership.user, when=at(3))
    entry(org, "member.role_change", actor=agent_membership.user, when=at(3))
    entry(org, "api_key.create", actor=admin_membership.user, when=at(3))

    r = admin_client.get(
        AUDIT_LOG,
        {"action": "member.role_change", "actor": admin_membership.user_id, "date_from": "2025-03-02T00:00:00Z"},
    )

    assert r.json()["count"] == 1
    assert r.json()["results"][0]["at"] == "2025-03-03T12:00:00Z"


@pytest.mark.parametrize(
    ("param", "value"), [("date_from", "yesterday"), ("date_to", "2025-13-45"), ("actor", "someone")]
)
def test_audit_log_refuses_malformed_filters(param, value, admin_client):
    r = admin_client.get(AUDIT_LOG, {param: value})

    assert r.status_code == 400, r.content
    assert r.json()["detail"]
    assert list(r.json()["errors"]) == [param]


def test_audit_log_never_shows_another_organization(org, other_org, admin_client, outsider_membership):
    entry(org, "mine", when=at(1))
    entry(other_org, "theirs", actor=outsider_membership.user, when=at(2))

    assert actions(admin_client.get(AUDIT_LOG)) == ["mine"]
    assert actions(admin_client.get(AUDIT_LOG, {"actor": outsider_membership.user_id})) == []


def test_audit_log_is_paginated(org, admin_client):
    AuditLog.objects.bulk_create([AuditLog(organization=org, action=f"a{n}", at=at(1)) for n in range(25)])

    body = admin_client.get(AUDIT_LOG).json()

    assert body["count"] == 25
    assert len(body["results"]) == 20
    assert len(admin_client.get(AUDIT_LOG, {"page": 2}).json()["results"]) == 5


def test_audit_log_list_has_no_n_plus_one(org, admin_client, django_assert_max_num_queries):
    actors = [UserFactory() for _ in range(20)]
    AuditLog.objects.bulk_create([AuditLog(organization=org, action="x", actor=u, at=at(1)) for u in actors])

    with django_assert_max_num_queries(6):
        r = admin_client.get(AUDIT_LOG)

    assert len(r.json()["results"]) == 20


@pytest.mark.parametrize("who", ["agent", "marketing"])
def test_audit_log_is_refused_to_non_admins(who, org, agent_client, marketing_client):
    entry(org, "secret", when=at(1))
    client = agent_client if who == "agent" else marketing_client

    r = client.get(AUDIT_LOG)

    assert r.status_code == 403
    assert r.json()["detail"]


def test_the_audit_log_filters_are_documented_in_the_schema(anon_client, db):
    schema = anon_client.get("/api/v1/schema/", {"format": "json"}).json()

    parameters = {p["name"] for p in schema["paths"]["/api/v1/audit-log/"]["get"]["parameters"]}

    assert parameters == {"action", "actor", "date_from", "date_to", "page", "page_size"}
