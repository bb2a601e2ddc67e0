"""The lead-routing API: rules CRUD (admins only), validation with 400s naming the field, other organizations' rows
not found; a member's own availability."""

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import AuditLog, Role
from crm.routing.models import LeadRoutingRule
from tests.crm.routing_support import agents, rule, team
from tests.messaging.factories import WhatsAppNumberFactory

URL = "/api/v1/lead-routing/"


@pytest.fixture
def sales(org):
    return team(org, *agents(org, "Omar", "Lina"), name="Sales")


def test_an_admin_creates_a_rule_for_a_number(org, admin_client, admin_membership, sales):
    number = WhatsAppNumberFactory(organization=org, display_name="Sales line")

    response = admin_client.post(
        URL, {"number_id": number.pk, "team_id": sales.pk, "max_open_per_member": 5}, format="json"
    )

    assert response.status_code == 201, response.json()
    made = LeadRoutingRule.objects.get()
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("created_at", "updated_at")} == {
        "id": made.pk,
        "number_id": number.pk,
        "number_name": "Sales line",
        "team_id": sales.pk,
        "team_name": "Sales",
        "enabled": True,
        "max_open_per_member": 5,
        "last_assigned_id": None,
    }
    log = AuditLog.objects.get(action="lead_routing.create")
    assert (log.actor_id, log.target_id, log.data) == (
        admin_membership.user_id,
        str(made.pk),
        {"number": number.pk, "team": sales.pk, "enabled": True, "max_open_per_member": 5},
    )


def test_a_rule_for_every_number_without_a_cap(org, admin_client, sales):
    response = admin_client.post(URL, {"team_id": sales.pk}, format="json")

    assert response.status_code == 201
    assert (response.json()["number_id"], response.json()["max_open_per_member"]) == (None, None)
    assert admin_client.get(URL).json()["results"][0]["id"] == response.json()["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "team_id"),
        ({"team_id": "other-org"}, "team_id"),
        ({"team_id": "sales", "number_id": "other-org"}, "number_id"),
        ({"team_id": "sales", "number_id": "deleted"}, "number_id"),
        ({"team_id": "sales", "max_open_per_member": 0}, "max_open_per_member"),
        ({"team_id": "sales", "max_open_per_member": -3}, "max_open_per_member"),
        ({"team_id": "sales", "max_open_per_member": "many"}, "max_open_per_member"),
        ({"team_id": "sales", "number_id": "taken"}, "number_id"),
        ({"team_id": "sales", "enabled": "maybe"}, "enabled"),
        ({"team_id": "sales", "colour": "red"}, "colour"),
    ],
)
def test_invalid_rules_are_refused_with_the_field_named(org, other_org, admin_client, sales, body, field):
    taken = WhatsAppNumberFactory(organization=org)
    rule(org, team_=sales, number=taken)
    deleted = WhatsAppNumberFactory(organization=org)
    deleted.deleted_at = deleted.created_at
    deleted.save()
    rows = {
        "sales": sales.pk,
        "other-org": None,
        "taken": taken.pk,
        "deleted": deleted.pk,
    }
    key = "team_id" if body.get("team_id") == "other-org" else "number_id"
    rows["other-org"] = (team(other_org) if key == "team_id" else WhatsAppNumberFactory(organization=other_org)).pk
    sent = {k: rows.get(v, v) if isinstance(v, str) and k.endswith("_id") else v for k, v in body.items()}

    response = admin_client.post(URL, sent, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == [field]
    assert LeadRoutingRule.objects.count() == 1


def test_a_second_rule_for_every_number_is_refused(org, admin_client, sales):
    rule(org, team_=sales)

    response = admin_client.post(URL, {"team_id": sales.pk}, format="json")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["number_id"])


def test_put_and_patch_change_the_fields_sent_and_a_new_team_restarts_the_round_robin(org, admin_client, sales):
    omar = sales.members.order_by("pk").first()
    routing_rule = rule(org, team_=sales, max_open_per_member=3, last_assigned=omar)
    support = team(org, name="Support")

    response = admin_client.patch(f"{URL}{routing_rule.pk}", {"max_open_per_member": None}, format="json")
    assert (response.status_code, response.json()["max_open_per_member"]) == (200, None)
    assert response.json()["last_assigned_id"] == omar.pk
    response = admin_client.put(f"{URL}{routing_rule.pk}", {"team_id": support.pk, "enabled": False}, format="json")

    assert response.status_code == 200
    routing_rule.refresh_from_db()
    assert (routing_rule.team_id, routing_rule.enabled, routing_rule.last_assigned_id) == (support.pk, False, None)
    assert AuditLog.objects.filter(action="lead_routing.update").count() == 2


def test_moving_a_rule_to_a_number_that_has_one_is_refused(org, admin_client, sales):
    first, second = WhatsAppNumberFactory(organization=org), WhatsAppNumberFactory(organization=org)
    rule(org, team_=sales, number=first)
    moved = rule(org, team_=sales, number=second)

    response = admin_client.patch(f"{URL}{moved.pk}", {"number_id": first.pk}, format="json")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["number_id"])
    moved.refresh_from_db()
    assert moved.number_id == second.pk


def test_an_admin_deletes_a_rule(org, admin_client, sales):
    routing_rule = rule(org, team_=sales)

    assert admin_client.delete(f"{URL}{routing_rule.pk}").status_code == 204
    assert not LeadRoutingRule.objects.exists()
    assert AuditLog.objects.get(action="lead_routing.delete").target_id == str(routing_rule.pk)


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING])
def test_only_admins_read_or_change_rules(org, sales, role, agent_client, marketing_client):
    client = agent_client if role == Role.AGENT else marketing_client
    routing_rule = rule(org, team_=sales, max_open_per_member=2)

    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{routing_rule.pk}").status_code == 403
    assert client.post(URL, {"team_id": sales.pk}, format="json").status_code == 403
    assert client.patch(f"{URL}{routing_rule.pk}", {"max_open_per_member": 9}, format="json").status_code == 403
    assert client.delete(f"{URL}{routing_rule.pk}").status_code == 403
    routing_rule.refresh_from_db()
    assert (LeadRoutingRule.objects.count(), routing_rule.max_open_per_member) == (1, 2)


def test_another_organization_s_rule_is_not_found(org, other_org, admin_client, sales):
    foreign = rule(other_org, max_open_per_member=2)

    assert admin_client.get(URL).json()["results"] == []
    assert admin_client.get(f"{URL}{foreign.pk}").status_code == 404
    for method in ("patch", "put", "delete"):
        response = getattr(admin_client, method)(f"{URL}{foreign.pk}", {"max_open_per_member": 9}, format="json")
        assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.max_open_per_member == 2


# --- availability ----------------------------------------------------------------------------------------------------

AVAILABILITY = "/api/v1/auth/me/availability"


def test_a_member_marks_themselves_away_and_back(agent_client, agent_membership):
    assert agent_client.get(AVAILABILITY).json() == {"is_away": False, "away_since": None}

    response = agent_client.put(AVAILABILITY, {"is_away": True}, format="json")

    assert response.status_code == 200
    agent_membership.refresh_from_db()
    assert agent_membership.is_away
    assert response.json()["is_away"] is True
    assert response.json()["away_since"] is not None
    again = agent_client.put(AVAILABILITY, {"is_away": True}, format="json").json()
    assert again["away_since"] == response.json()["away_since"]  # the first time is kept
    assert agent_client.put(AVAILABILITY, {"is_away": False}, format="json").json() == {
        "is_away": False,
        "away_since": None,
    }


def test_availability_is_refused_to_api_keys_and_bad_input(org, agent_client):
    _, raw = account_services.api_key_create(organization=org, name="zap", role=Role.ADMIN, actor=None)

    assert agent_client.put(AVAILABILITY, {"is_away": "later"}, format="json").status_code == 400
    assert agent_client.put(AVAILABILITY, {}, format="json").status_code == 400
    assert agent_client.generic("PUT", AVAILABILITY, "{", content_type="application/json").status_code == 400
    key_client = APIClient()
    key_client.credentials(HTTP_X_API_KEY=raw)
    assert key_client.get(AVAILABILITY).status_code == 403
    assert key_client.put(AVAILABILITY, {"is_away": True}, format="json").status_code == 403
