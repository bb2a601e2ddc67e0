"""More than one organization per person: creating another one from inside (POST organizations), switching between
one's memberships (POST auth/switch-organization), and what auth/me lists."""

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuditLog, Membership, Organization, Role
from accounts.services import EMAIL_TAKEN_DETAIL
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import MembershipFactory, OrganizationFactory
from tests.messaging.inbox_support import api_key_client

ORGANIZATIONS = "/api/v1/organizations"
SWITCH = "/api/v1/auth/switch-organization"
ME = "/api/v1/auth/me"
ORGANIZATION = "/api/v1/organization"


def bearer(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


# --- creating another organization ---------------------------------------------------------------------------


def test_a_member_creates_another_organization_and_gets_tokens_acting_in_it(org, agent_membership):
    user = agent_membership.user

    response = client_for(agent_membership).post(ORGANIZATIONS, {"name": "  Side Project "}, format="json")

    assert response.status_code == 201, response.json()
    created = Organization.objects.exclude(pk=org.pk).get()
    assert (created.name, created.slug, created.plan, created.status) == (
        "Side Project",
        "side-project",
        "starter",
        "active",
    )
    assert list(Membership.objects.filter(organization=created).values_list("user_id", "role", "is_active")) == [
        (user.pk, Role.ADMIN, True)
    ]
    body = response.json()
    assert (body["organization"]["id"], body["role"], body["user"]["id"], body["token_type"]) == (
        created.pk,
        "admin",
        user.pk,
        "bearer",
    )
    assert bearer(body["access_token"]).get(ORGANIZATION).json()["id"] == created.pk
    assert APIClient().post("/api/v1/auth/refresh", {"refresh_token": body["refresh_token"]}).status_code == 200
    assert list(AuditLog.objects.filter(organization=created).values_list("action", "actor_id")) == [
        ("organization.create", user.pk)
    ]
    # The membership it was made from is untouched.
    agent_membership.refresh_from_db()
    assert (agent_membership.role, agent_membership.is_active) == (Role.AGENT, True)


def test_names_may_repeat_each_organization_gets_its_own_slug(org, admin_membership):
    client = client_for(admin_membership)

    answers = [client.post(ORGANIZATIONS, {"name": org.name}, format="json") for _ in range(2)]

    assert [answer.status_code for answer in answers] == [201, 201]
    created = [Organization.objects.get(pk=answer.json()["organization"]["id"]) for answer in answers]
    assert [(o.name, o.slug) for o in created] == [("Acme", "acme"), ("Acme", "acme-2")]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": "   "}, {"name": ["This field may not be blank."]}),
        ({"name": 5}, {"name": ["Not a valid string."]}),
        ({"name": "x" * 201}, {"name": ["Ensure this field has no more than 200 characters."]}),
        ({"name": "Co", "plan": "enterprise"}, {"plan": ["Unknown field."]}),
    ],
)
def test_a_bad_name_is_a_400_and_creates_nothing(agent_client, org, body, errors):
    response = agent_client.post(ORGANIZATIONS, body, format="json")

    assert assert_error(response, 400)["errors"] == errors
    assert Organization.objects.count() == 1


def test_an_api_key_cannot_create_an_organization(org):
    response = api_key_client(org, role=Role.ADMIN).post(ORGANIZATIONS, {"name": "Keyed"}, format="json")

    assert assert_error(response, 403)["detail"] == "Sign in as a user: an API key acts for its organization only."
    assert Organization.objects.count() == 1


def test_signing_in_is_needed(anon_client, db):
    assert_error(anon_client.post(ORGANIZATIONS, {"name": "Anon"}, format="json"), 401)
    assert_error(anon_client.post(SWITCH, {"organization_id": 1}, format="json"), 401)


def test_the_web_app_service_creates_one_for_a_person(org, agent_membership):
    membership = services.organization_create_for_user(user=agent_membership.user, name="From the web")

    assert (membership.organization.name, membership.role, membership.user_id) == (
        "From the web",
        Role.ADMIN,
        agent_membership.user_id,
    )


# --- switching -------------------------------------------------------------------------------------------------


def test_a_member_switches_to_another_of_their_organizations(org, other_org, agent_membership):
    user = agent_membership.user
    MembershipFactory(organization=other_org, user=user, role=Role.MARKETING)

    response = client_for(agent_membership).post(SWITCH, {"organization_id": other_org.pk}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["organization"]["id"], body["role"], body["user"]["id"]) == (other_org.pk, "marketing", user.pk)
    assert bearer(body["access_token"]).get(ME).json()["organization"]["id"] == other_org.pk
    assert list(AuditLog.objects.filter(organization=other_org).values_list("action", "actor_id")) == [
        ("auth.switch", user.pk)
    ]
    # The tokens it switched from keep acting where they were.
    assert client_for(agent_membership).get(ORGANIZATION).json()["id"] == org.pk


def test_the_memberships_to_switch_between_are_listed_in_me(org, agent_membership):
    second = client_for(agent_membership).post(ORGANIZATIONS, {"name": "Second"}, format="json").json()

    memberships = bearer(second["access_token"]).get(ME).json()["memberships"]

    assert [(m["organization_id"], m["organization_name"], m["role"], m["is_active"]) for m in memberships] == [
        (org.pk, "Acme", "agent", True),
        (second["organization"]["id"], "Second", "admin", True),
    ]


@pytest.mark.parametrize(
    ("situation", "detail"),
    [
        ("not_a_member", "You are not a member of this organization."),
        ("deactivated", "Your membership in this organization is deactivated."),
        ("suspended", "The organization is suspended."),
        ("no_such_organization", "You are not a member of this organization."),
    ],
)
def test_switching_is_refused_where_the_person_cannot_act(org, other_org, agent_membership, situation, detail):
    target = other_org.pk
    if situation == "deactivated":
        MembershipFactory(organization=other_org, user=agent_membership.user, is_active=False)
    elif situation == "suspended":
        MembershipFactory(organization=other_org, user=agent_membership.user)
        Organization.objects.filter(pk=other_org.pk).update(status=Organization.Status.SUSPENDED)
    elif situation == "no_such_organization":
        target = OrganizationFactory().pk + 1000

    response = client_for(agent_membership).post(SWITCH, {"organization_id": target}, format="json")

    body = assert_error(response, 403)
    assert body == {"detail": detail, "code": "membership_inactive", "errors": {"organization_id": [detail]}}
    assert "access_token" not in body
    assert not AuditLog.objects.filter(action="auth.switch").exists()


def test_an_api_key_cannot_switch(org, other_org):
    response = api_key_client(org, role=Role.ADMIN).post(SWITCH, {"organization_id": other_org.pk}, format="json")

    assert_error(response, 403)


@pytest.mark.parametrize("body", [{}, {"organization_id": "2"}, {"organization_id": 0}, {"organization": 2}])
def test_a_bad_switch_body_is_a_400(agent_client, body):
    assert_error(agent_client.post(SWITCH, body, format="json"), 400)


# --- signing up with an e-mail that has an account -----------------------------------------------------------


def test_sign_up_with_an_existing_account_says_to_sign_in_and_create_organizations_from_inside(agent_membership):
    response = APIClient().post(
        "/api/v1/auth/register",
        {
            "email": agent_membership.user.email,
            "password": "another-long-password-42",
            "name": "Ann",
            "organization_name": "Second Co",
        },
        format="json",
    )

    body = assert_error(response, 400)
    assert body["errors"] == {"email": [EMAIL_TAKEN_DETAIL]}
    assert "sign in" in EMAIL_TAKEN_DETAIL and "POST /api/v1/organizations" in EMAIL_TAKEN_DETAIL
    assert Organization.objects.count() == 1
