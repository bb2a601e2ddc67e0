from decimal import Decimal

import pytest

from crm import services
from crm.models import Deal, DealHistory, Pipeline, Stage
from tests.crm.support import business, deal
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, ConversationFactory


def _stages(org) -> dict[str, Stage]:
    pipeline = services.pipeline_default(organization=org)
    return {s.name: s for s in pipeline.stages.all()}


def test_the_default_pipeline_is_made_once_with_five_ordered_stages(admin_client, org):
    first = admin_client.get("/api/v1/pipelines").json()
    second = admin_client.get("/api/v1/pipelines").json()
    assert first == second
    assert [(p["name"], p["is_default"]) for p in first] == [("Sales", True)]
    assert [(s["name"], s["outcome"], s["position"]) for s in first[0]["stages"]] == [
        ("New", "open", 0),
        ("Qualified", "open", 1),
        ("Proposal", "open", 2),
        ("Won", "won", 3),
        ("Lost", "lost", 4),
    ]
    assert Pipeline.objects.for_org(org).count() == 1


def test_a_deal_moves_through_every_stage_and_each_move_is_in_its_history(agent_client, agent_membership, org):
    stages = _stages(org)
    created = agent_client.post(
        "/api/v1/deals", {"title": "Fleet", "value": "1200.5", "currency": "usd"}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["stage_name"], body["status"], body["value"], body["currency"]) == ("New", "open", "1200.50", "USD")
    url = f"/api/v1/deals/{body['id']}"
    for name in ("Qualified", "Proposal", "Won"):
        response = agent_client.patch(url, {"stage_id": stages[name].pk}, format="json")
        assert response.status_code == 200, response.json()
    assert response.json()["status"] == "won"
    assert response.json()["closed_at"] is not None
    refused = agent_client.patch(url, {"stage_id": stages["Lost"].pk}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"lost_reason": ["Say why the deal was lost."]}
    lost = agent_client.patch(url, {"stage_id": stages["Lost"].pk, "lost_reason": "Budget cut"}, format="json")
    assert (lost.json()["status"], lost.json()["lost_reason"]) == ("lost", "Budget cut")
    reopened = agent_client.patch(url, {"status": "open"}, format="json")
    assert (reopened.json()["stage_name"], reopened.json()["status"], reopened.json()["lost_reason"]) == (
        "New",
        "open",
        "",
    )
    history = agent_client.get(f"{url}/history").json()
    assert [(h["from_stage_name"], h["to_stage_name"], h["from_status"], h["to_status"]) for h in history] == [
        ("", "New", "", "open"),
        ("New", "Qualified", "open", "open"),
        ("Qualified", "Proposal", "open", "open"),
        ("Proposal", "Won", "open", "won"),
        ("Won", "Lost", "won", "lost"),
        ("Lost", "New", "lost", "open"),
    ]
    assert history[4]["lost_reason"] == "Budget cut"
    assert {h["actor"]["id"] for h in history} == {agent_membership.user_id}


def test_marking_a_deal_won_by_status_moves_it_to_the_won_stage(admin_client, org):
    made = deal(org)
    response = admin_client.patch(f"/api/v1/deals/{made.pk}", {"status": "won"}, format="json")
    assert (response.json()["stage_name"], response.json()["status"]) == ("Won", "won")


def test_a_status_that_contradicts_the_stage_is_refused(admin_client, org):
    made = deal(org)
    response = admin_client.patch(
        f"/api/v1/deals/{made.pk}", {"stage_id": _stages(org)["Won"].pk, "status": "open"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]


def test_a_change_of_title_only_adds_no_history(admin_client, org):
    made = deal(org)
    admin_client.patch(f"/api/v1/deals/{made.pk}", {"title": "New title"}, format="json")
    assert DealHistory.objects.filter(deal=made).count() == 1


@pytest.mark.parametrize(
    ("value", "currency", "stored"),
    [("10", "JPY", "10"), ("12.5", "USD", "12.50"), ("1.234", "KWD", "1.234"), ("0.0001", "CLF", "0.0001")],
)
def test_values_are_kept_with_the_currency_minor_units(admin_client, value, currency, stored):
    response = admin_client.post("/api/v1/deals", {"title": "T", "value": value, "currency": currency}, format="json")
    assert response.status_code == 201
    assert response.json()["value"] == stored
    assert Deal.objects.get(pk=response.json()["id"]).value == Decimal(stored)


@pytest.mark.parametrize(
    ("value", "currency", "field"),
    [
        ("10.5", "JPY", "value"),
        ("12.345", "USD", "value"),
        ("1.2345", "KWD", "value"),
        ("-1", "USD", "value"),
        ("10", "XYZ", "currency"),
        ("10", "US", "currency"),
        ("1.00001", "CLF", "value"),
        ("not a number", "USD", "value"),
    ],
)
def test_unknown_currencies_and_too_many_decimals_are_refused(admin_client, value, currency, field):
    response = admin_client.post("/api/v1/deals", {"title": "T", "value": value, "currency": currency}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert Deal.objects.count() == 0


def test_changing_the_currency_checks_the_value_against_the_new_one(admin_client, org):
    made = deal(org, value="10.50", currency="USD")
    response = admin_client.patch(f"/api/v1/deals/{made.pk}", {"currency": "JPY"}, format="json")
    assert response.status_code == 400
    made.refresh_from_db()
    assert made.currency == "USD"


def test_a_deal_from_a_conversation_takes_its_contact_and_business(agent_client, org):
    conversation = ConversationFactory(organization=org)
    company = business(org, name="Acme")
    services.contact_set_business(contact=conversation.contact, business=company)
    response = agent_client.post(
        "/api/v1/deals", {"title": "T", "currency": "EUR", "conversation_id": conversation.pk}, format="json"
    )
    body = response.json()
    assert (body["contact"]["id"], body["business_id"], body["business_name"], body["source"]) == (
        conversation.contact_id,
        company.pk,
        "Acme",
        "conversation",
    )
    assert body["conversation_id"] == conversation.pk


def test_a_deal_cannot_name_another_organizations_rows_or_a_non_member_owner(admin_client, org, other_org):
    foreign_contact = ContactFactory(organization=other_org)
    outsider = MembershipFactory(organization=other_org)
    for field, value in (("contact_id", foreign_contact.pk), ("owner_id", outsider.user_id)):
        response = admin_client.post("/api/v1/deals", {"title": "T", "currency": "EUR", field: value}, format="json")
        assert response.status_code == 400
        assert list(response.json()["errors"]) == [field]


def test_the_list_filters_and_totals_per_stage_per_currency(admin_client, org, admin_membership):
    stages = _stages(org)
    deal(org, value="100.00", currency="USD")
    deal(org, value="50.25", currency="USD", owner=admin_membership.user)
    deal(org, value="1000", currency="JPY")
    deal(org, value="70.00", currency="EUR", stage=stages["Qualified"])
    deal(org, value="5000.00", currency="USD", stage=stages["Lost"], lost_reason="No")
    body = admin_client.get("/api/v1/deals", {"status": "open"}).json()
    assert body["count"] == 4
    assert body["totals"] == [
        {
            "stage_id": stages["New"].pk,
            "count": 3,
            "values": [{"currency": "JPY", "value": "1000"}, {"currency": "USD", "value": "150.25"}],
        },
        {"stage_id": stages["Qualified"].pk, "count": 1, "values": [{"currency": "EUR", "value": "70.00"}]},
    ]
    assert admin_client.get("/api/v1/deals", {"value_min": "60", "value_max": "100"}).json()["count"] == 2
    assert admin_client.get("/api/v1/deals", {"owner_id": admin_membership.user_id}).json()["count"] == 1
    assert admin_client.get("/api/v1/deals", {"stage_id": stages["Lost"].pk}).json()["count"] == 1
    assert admin_client.get("/api/v1/deals", {"status": "bogus"}).status_code == 400


def test_close_date_range_filter(admin_client, org):
    deal(org, expected_close_date="2025-03-01")
    deal(org, expected_close_date="2025-05-01")
    body = admin_client.get("/api/v1/deals", {"close_after": "2025-04-01", "close_before": "2025-06-01"}).json()
    assert [d["expected_close_date"] for d in body["results"]] == ["2025-05-01"]
