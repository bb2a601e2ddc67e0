"""Super admin (platform staff = User.is_staff): login, dashboard, tenants. Everyone else gets 403."""

import re

import pytest
from django.apps import apps
from django.core import mail
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, AuditLog, Invitation, Membership, Organization, Role, Team, TeamMember, User
from messaging.models import WhatsAppNumber
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

ORGS = "/api/v1/super-admin/organizations"
DASHBOARD = "/api/v1/super-admin/dashboard"
LOGIN = "/api/v1/super-admin/login"
# The seed's figures and ours (tests/accounts/test_platform.py checks the rest: usage, months, revenue by currency).
FIGURES = [
    "total_organizations",
    "active_organizations",
    "suspended_organizations",
    "total_users",
    "organizations_by_plan",
    "active_subscriptions",
    "monthly_revenue",
]


def org_url(org_id, suffix: str = "") -> str:
    return f"{ORGS}/{org_id}{suffix}"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, email="ops@platform.example")


@pytest.fixture
def staff_client(staff):
    return client_for(user=staff)


# --- login -----------------------------------------------------------------------------------------------


def test_staff_sign_in_with_the_auth_login_response_shape(staff, anon_client, org, admin_membership):
    r = anon_client.post(LOGIN, {"email": "OPS@platform.example", "password": PASSWORD})

    assert r.status_code == 200, r.content
    body = r.json()
    regular = anon_client.post(
        "/api/v1/auth/login", {"email": admin_membership.user.email, "password": PASSWORD}
    ).json()
    assert set(body) == set(regular) == {"access_token", "refresh_token", "token_type", "user", "organization", "role"}
    assert set(body["user"]) == set(regular["user"])
    assert body["token_type"] == "bearer"
    assert body["role"] == "super_admin"
    assert body["organization"] is None
    assert (body["user"]["id"], body["user"]["email"], body["user"]["is_staff"]) == (staff.pk, staff.email, True)
    platform = APIClient()
    platform.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert platform.get(DASHBOARD).status_code == 200


def test_staff_who_is_also_a_member_signs_in_as_super_admin(staff, anon_client, org):
    MembershipFactory(organization=org, user=staff, role=Role.AGENT)

    r = anon_client.post(LOGIN, {"email": staff.email, "password": PASSWORD})

    assert r.status_code == 200, r.content
    assert r.json()["role"] == "super_admin"
    assert r.json()["organization"] is None


def test_super_admin_login_refuses_non_staff(anon_client, admin_membership):
    body = assert_error(anon_client.post(LOGIN, {"email": admin_membership.user.email, "password": PASSWORD}), 403)

    assert "access_token" not in body


def test_super_admin_login_refuses_a_wrong_password(staff, anon_client):
    body = assert_error(anon_client.post(LOGIN, {"email": staff.email, "password": "not-the-password"}), 401)

    assert "access_token" not in body


def test_super_admin_login_refuses_a_deactivated_staff_user(staff, anon_client):
    User.objects.filter(pk=staff.pk).update(is_active=False)

    assert_error(anon_client.post(LOGIN, {"email": staff.email, "password": PASSWORD}), 401)


def test_super_admin_login_refuses_unknown_fields(staff, anon_client):
    body = assert_error(
        anon_client.post(LOGIN, {"email": staff.email, "password": PASSWORD, "organization_id": 1}), 400
    )

    assert list(body["errors"]) == ["organization_id"]


# --- dashboard -------------------------------------------------------------------------------------------


def test_dashboard_counts_organizations_and_users(staff_client, staff, org, other_org, admin_membership):
    MembershipFactory(organization=org, role=Role.AGENT)
    MembershipFactory(organization=other_org, user=admin_membership.user, role=Role.AGENT)  # one user, two orgs
    OrganizationFactory(plan=Organization.Plan.STARTER, status=Organization.Status.SUSPENDED)
    OrganizationFactory(plan=Organization.Plan.ENTERPRISE)
    UserFactory(is_active=False)  # a deactivated account is not counted

    r = staff_client.get(DASHBOARD)

    assert r.status_code == 200, r.content
    body = r.json()
    assert {key: body[key] for key in FIGURES} == {
        "total_organizations": 4,
        "active_organizations": 3,
        "suspended_organizations": 1,
        "total_users": 3,  # the admin, the agent and the staff user
        "organizations_by_plan": {"starter": 1, "pro": 2, "enterprise": 1},
        "active_subscriptions": 0,  # every plan is free until staff price it
        "monthly_revenue": 0,
    }


def test_dashboard_of_an_empty_platform(staff_client):
    body = staff_client.get(DASHBOARD).json()
    assert {key: body[key] for key in FIGURES} == {
        "total_organizations": 0,
        "active_organizations": 0,
        "suspended_organizations": 0,
        "total_users": 1,
        "organizations_by_plan": {"starter": 0, "pro": 0, "enterprise": 0},
        "active_subscriptions": 0,
        "monthly_revenue": 0,
    }
    assert (body["usage"], body["messages_this_month"], body["revenue_currency"]) == ([], 0, "")


# --- organizations ---------------------------------------------------------------------------------------


def test_staff_lists_every_organization_with_member_counts(staff_client, org, other_org, admin_membership):
    MembershipFactory(organization=org, role=Role.AGENT)
    MembershipFactory(organization=org, role=Role.AGENT, is_active=False)

    r = staff_client.get(ORGS)

    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 2
    rows = [(o["id"], o["name"], o["status"], o["plan"], o["member_count"], o["user_limit"]) for o in body["results"]]
    assert rows == [(org.pk, "Acme", "active", "pro", 2, 25), (other_org.pk, "Globex", "active", "pro", 0, 25)]


def test_organization_list_filters_and_searches(staff_client, org, other_org):
    services.organization_set_status(organization=other_org, status="suspended", actor=None)

    assert [o["name"] for o in staff_client.get(ORGS, {"status": "suspended"}).json()["results"]] == ["Globex"]
    assert [o["name"] for o in staff_client.get(ORGS, {"search": "acm"}).json()["results"]] == ["Acme"]
    assert [o["name"] for o in staff_client.get(ORGS, {"plan": "enterprise"}).json()["results"]] == []


def test_organization_list_has_no_n_plus_one(staff_client, django_assert_max_num_queries):
    for _ in range(20):
        MembershipFactory(role=Role.ADMIN)

    with django_assert_max_num_queries(6):
        r = staff_client.get(ORGS)

    assert len(r.json()["results"]) == 20
    assert {o["member_count"] for o in r.json()["results"]} == {1}


def test_staff_creates_an_organization_and_invites_its_first_admin(
    staff_client, staff, anon_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = staff_client.post(ORGS, {"name": "Initech", "admin_email": "Boss@Initech.example", "plan": "starter"})

    assert r.status_code == 201, r.content
    organization = Organization.objects.get(name="Initech")
    body = r.json()
    assert (body["id"], body["name"], body["slug"], body["status"], body["plan"], body["user_limit"]) == (
        organization.pk,
        "Initech",
        "initech",
        "active",
        "starter",
        5,
    )
    assert body["admin_invitation"]["email"] == "boss@initech.example"
    assert body["admin_invitation"]["role"] == "admin"
    assert body["admin_invitation"]["status"] == "pending"
    invitation = Invitation.objects.for_org(organization).get()
    assert (invitation.email, invitation.role, invitation.invited_by) == ("boss@initech.example", "admin", staff)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["boss@initech.example"]
    token = re.search(r"Invitation token: (\S+)", mail.outbox[0].body).group(1)
    assert token not in r.content.decode()
    assert set(AuditLog.objects.for_org(organization).values_list("action", flat=True)) == {
        "organization.create",
        "invitation.create",
    }

    # The invitee registers with the token and becomes the organization's admin.
    joined = anon_client.post("/api/v1/auth/register-with-invite", {"token": token, "password": PASSWORD, "name": "B"})
    assert joined.status_code == 201, joined.content
    assert joined.json()["organization_id"] == organization.pk
    assert joined.json()["role"] == "admin"
    login = anon_client.post("/api/v1/auth/login", {"email": "boss@initech.example", "password": PASSWORD}).json()
    assert (login["role"], login["organization"]["id"]) == ("admin", organization.pk)
    boss = APIClient()
    boss.credentials(HTTP_AUTHORIZATION=f"Bearer {login['access_token']}")
    assert boss.get("/api/v1/admin/team").json()["count"] == 1


def test_an_existing_user_may_be_the_first_admin_of_a_new_organization(
    staff_client, admin_membership, anon_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = staff_client.post(ORGS, {"name": "Second Co", "admin_email": admin_membership.user.email, "plan": "pro"})
    assert r.status_code == 201, r.content
    token = re.search(r"Invitation token: (\S+)", mail.outbox[0].body).group(1)

    joined = anon_client.post("/api/v1/auth/register-with-invite", {"token": token, "password": PASSWORD})

    assert joined.status_code == 201, joined.content
    assert joined.json()["user_id"] == admin_membership.user_id
    assert Membership.objects.filter(user=admin_membership.user).count() == 2


def test_organization_create_defaults_to_the_starter_plan(staff_client):
    r = staff_client.post(ORGS, {"name": "Tiny", "admin_email": "a@tiny.example"})

    assert r.status_code == 201, r.content
    assert r.json()["plan"] == "starter"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "admin_email": "a@x.example", "plan": "gold"}, "plan"),
        ({"name": "X", "plan": "pro"}, "admin_email"),
        ({"name": "X", "admin_email": "nope", "plan": "pro"}, "admin_email"),
        ({"admin_email": "a@x.example"}, "name"),
        ({"name": "X", "admin_email": "a@x.example", "status": "suspended"}, "status"),
    ],
)
def test_organization_create_validates_its_input(payload, field, staff_client):
    body = assert_error(staff_client.post(ORGS, payload), 400)

    assert list(body["errors"]) == [field]
    assert not Organization.objects.exists()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_staff_reads_one_organization(staff_client, org, admin_membership):
    r = staff_client.get(org_url(org.pk))

    assert r.status_code == 200, r.content
    assert (r.json()["id"], r.json()["name"], r.json()["member_count"]) == (org.pk, "Acme", 1)


def test_an_unknown_organization_is_404(staff_client, db):
    assert_error(staff_client.get(org_url(999_999)), 404)
    assert_error(staff_client.patch(org_url(999_999), {"name": "X"}), 404)
    assert_error(staff_client.put(org_url(999_999, "/status"), {"status": "suspended"}), 404)
    assert_error(staff_client.delete(org_url(999_999)), 404)
    assert_error(staff_client.get(org_url("abc")), 404)
    assert_error(staff_client.delete(org_url("abc")), 404)


def test_staff_patches_name_and_plan(staff_client, staff, org):
    r = staff_client.patch(org_url(org.pk), {"name": "Acme Global", "plan": "enterprise"})

    assert r.status_code == 200, r.content
    assert (r.json()["name"], r.json()["plan"], r.json()["user_limit"]) == ("Acme Global", "enterprise", None)
    org.refresh_from_db()
    assert (org.name, org.plan, org.slug) == ("Acme Global", "enterprise", org.slug)
    entry = AuditLog.objects.for_org(org).get(action="organization.update")
    assert entry.actor == staff
    assert entry.data == {"name": "Acme Global", "plan": "enterprise"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"plan": "gold"}, "plan"), ({"status": "suspended"}, "status"), ({"slug": "x"}, "slug"), ({"name": ""}, "name")],
)
def test_organization_patch_validates_its_input(payload, field, staff_client, org):
    body = assert_error(staff_client.patch(org_url(org.pk), payload), 400)

    assert list(body["errors"]) == [field]
    org.refresh_from_db()
    assert (org.name, org.plan, org.status) == ("Acme", "pro", "active")


def test_organization_put_is_refused_in_favour_of_patch(staff_client, org):
    assert_error(staff_client.put(org_url(org.pk), {"name": "X", "plan": "pro"}), 405)

    org.refresh_from_db()
    assert org.name == "Acme"


def test_suspension_stops_the_organizations_tokens_and_keys_at_once(
    staff_client, staff, org, other_org, admin_client, agent_client, outsider_client, admin_membership, anon_client
):
    _, raw_key = services.api_key_create(organization=org, name="zap", role=Role.ADMIN, actor=None)
    integration = APIClient()
    integration.credentials(HTTP_X_API_KEY=raw_key)
    assert admin_client.get("/api/v1/organization").status_code == 200

    r = staff_client.put(org_url(org.pk, "/status"), {"status": "suspended"})

    assert r.status_code == 200, r.content
    assert r.json()["status"] == "suspended"
    org.refresh_from_db()
    assert org.status == "suspended"
    for client in (admin_client, agent_client, integration):
        assert_error(client.get("/api/v1/organization"), 401)
    assert_error(
        anon_client.post("/api/v1/auth/login", {"email": admin_membership.user.email, "password": PASSWORD}), 401
    )
    assert outsider_client.get("/api/v1/organization").status_code == 200
    entry = AuditLog.objects.for_org(org).get(action="organization.status_change")
    assert (entry.actor, entry.data) == (staff, {"from": "active", "to": "suspended"})

    # Reactivation lets the same tokens work again.
    assert staff_client.put(org_url(org.pk, "/status"), {"status": "active"}).status_code == 200
    assert admin_client.get("/api/v1/organization").status_code == 200
    assert integration.get("/api/v1/organization").status_code == 200


def test_setting_the_same_status_again_writes_no_entry(staff_client, org):
    assert staff_client.put(org_url(org.pk, "/status"), {"status": "active"}).status_code == 200

    assert not AuditLog.objects.filter(action="organization.status_change").exists()


@pytest.mark.parametrize("payload", [{"status": "deleted"}, {}, {"status": "suspended", "plan": "pro"}])
def test_status_change_validates_its_input(payload, staff_client, org):
    assert_error(staff_client.put(org_url(org.pk, "/status"), payload), 400)

    org.refresh_from_db()
    assert org.status == "active"


def _populate(org: Organization) -> dict:
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    agent = MembershipFactory(organization=org, role=Role.AGENT)
    services.invitation_create(organization=org, email=f"inv-{org.pk}@example.com", role=Role.AGENT, invited_by=None)
    services.team_create(organization=org, name="Support", member_ids=[agent.user_id], actor=admin.user)
    key, _ = services.api_key_create(organization=org, name="zap", role=Role.ADMIN, actor=admin.user)
    services.api_key_revoke(api_key=key, actor=admin.user)
    WhatsAppNumber.objects.create(organization=org, display_name="Main", access_token="EAABtoken")
    return {"users": [admin.user_id, agent.user_id]}


TENANT_MODELS = [Membership, Invitation, Team, TeamMember, ApiKey, AuditLog, WhatsAppNumber]


def _counts(org_id: int) -> dict:
    return {model.__name__: model.objects.filter(organization_id=org_id).count() for model in TENANT_MODELS}


def _every_tenant_row(org_id: int) -> dict:
    """Rows of every installed tenant-owned model (any model with an `organization` foreign key)."""
    tenant_models = [
        model
        for model in apps.get_models()
        if any(f.name == "organization" and f.related_model is Organization for f in model._meta.concrete_fields)
    ]
    return {model._meta.label: model._base_manager.filter(organization_id=org_id).count() for model in tenant_models}


def test_deleting_an_organization_removes_the_tenant_and_all_its_rows(staff_client, org, other_org):
    mine, theirs = _populate(org), _populate(other_org)
    before_other = _counts(other_org.pk)
    assert all(before_other.values())
    assert all(_counts(org.pk).values())

    r = staff_client.delete(org_url(org.pk))

    assert r.status_code == 204, r.content
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert _counts(org.pk) == {model.__name__: 0 for model in TENANT_MODELS}
    assert _counts(other_org.pk) == before_other
    assert set(_every_tenant_row(org.pk).values()) == {0}
    # People are not tenant rows: their accounts remain (they may belong elsewhere).
    assert User.objects.filter(pk__in=mine["users"] + theirs["users"]).count() == 4
    assert staff_client.get(ORGS).json()["count"] == 1


# --- everyone else gets 403 ------------------------------------------------------------------------------


def _non_staff_clients(org, admin_membership, agent_membership) -> dict:
    _, raw = services.api_key_create(organization=org, name="zap", role=Role.ADMIN, actor=None)
    api_key = APIClient()
    api_key.credentials(HTTP_X_API_KEY=raw)
    return {"admin": client_for(admin_membership), "agent": client_for(agent_membership), "api_key": api_key}


@pytest.mark.parametrize("who", ["admin", "agent", "api_key"])
def test_tenant_credentials_get_403_on_every_super_admin_endpoint(
    who, org, other_org, admin_membership, agent_membership, outsider_membership
):
    client = _non_staff_clients(org, admin_membership, agent_membership)[who]
    calls = [
        ("get", DASHBOARD, None),
        ("get", ORGS, None),
        ("post", ORGS, {"name": "Evil", "admin_email": "evil@example.com", "plan": "enterprise"}),
        ("get", org_url(other_org.pk), None),
        ("patch", org_url(other_org.pk), {"name": "Owned", "plan": "enterprise"}),
        ("put", org_url(other_org.pk, "/status"), {"status": "suspended"}),
        ("put", org_url(org.pk, "/status"), {"status": "suspended"}),
        ("delete", org_url(other_org.pk), None),
        ("delete", org_url(org.pk), None),
    ]
    for method, url, data in calls:
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, f"{method} {url}: {response.status_code}"
        assert response.json()["detail"]

    assert list(Organization.objects.order_by("pk").values_list("name", "status", "plan")) == [
        ("Acme", "active", "pro"),
        ("Globex", "active", "pro"),
    ]
    assert not Invitation.objects.exists()
    assert mail.outbox == []
    assert Membership.objects.filter(organization=other_org).count() == 1


def test_anonymous_callers_get_401_on_super_admin_endpoints(anon_client, org):
    assert_error(anon_client.get(DASHBOARD), 401)
    assert_error(anon_client.get(ORGS), 401)
    assert_error(anon_client.delete(org_url(org.pk)), 401)
    assert Organization.objects.filter(pk=org.pk).exists()


def test_a_staff_user_who_was_deactivated_loses_super_admin_access(staff, staff_client):
    User.objects.filter(pk=staff.pk).update(is_active=False)

    assert_error(staff_client.get(DASHBOARD), 401)
