"""Settings > Lead routing (admins) and the away toggle of the person's menu, with Django's test client."""

import pytest

from accounts.models import AuditLog
from crm.routing.models import LeadRoutingRule
from tests.conftest import signed_in
from tests.crm.routing_support import agents, number_rule, rule, team
from tests.messaging.factories import WhatsAppNumberFactory
from tests.messaging.inbox_support import open_conversation

PAGE = "/settings/lead-routing/"


@pytest.fixture
def admin_browser(admin_membership):
    return signed_in(admin_membership)


def test_the_page_lists_the_rules_with_who_takes_leads_now(org, admin_browser):
    omar, lina, sami = agents(org, "Omar Haddad", "Lina Aziz", "Sami Nasser")
    lina.is_away = True
    lina.save()
    routing_rule = rule(org, team_=team(org, omar, lina, sami, name="Sales"), max_open_per_member=1)
    open_conversation(org, assigned_to=sami.user)

    page = admin_browser.get(PAGE)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Every number" in html and "To team <bdi>Sales</bdi>" in html
    assert "at most 1 open conversation per member" in html
    assert f'data-rule="{routing_rule.pk}"' in html
    assert [page.context["rules"][0].member_states[i].name for i in range(3)] == [
        "Lina Aziz",
        "Omar Haddad",
        "Sami Nasser",
    ]
    assert ">Away<" in html and ">At the limit<" in html


def test_an_admin_adds_a_rule_and_a_refusal_is_shown_next_to_its_field(org, admin_browser, admin_membership):
    sales = team(org, *agents(org, "Omar"), name="Sales")
    number = WhatsAppNumberFactory(organization=org)
    form = {"number": number.pk, "team": sales.pk, "max_open_per_member": "4", "enabled": "on"}

    response = admin_browser.post(PAGE, form)

    assert (response.status_code, response.headers["Location"]) == (302, PAGE)
    made = LeadRoutingRule.objects.get()
    assert (made.number_id, made.team_id, made.max_open_per_member, made.enabled) == (number.pk, sales.pk, 4, True)
    assert AuditLog.objects.get(action="lead_routing.create").actor_id == admin_membership.user_id

    again = admin_browser.post(PAGE, form)
    assert again.status_code == 200
    assert again.context["form"].errors == {"number": ["This number already has a rule; edit that one."]}
    zero = admin_browser.post(PAGE, {**form, "number": "", "max_open_per_member": "0"})
    assert list(zero.context["form"].errors) == ["max_open_per_member"]
    assert LeadRoutingRule.objects.count() == 1


def test_an_admin_edits_and_deletes_a_rule(org, admin_browser):
    routing_rule = number_rule(org)
    support = team(org, name="Support")
    edit = f"{PAGE}{routing_rule.pk}/"

    assert admin_browser.get(edit).status_code == 200
    response = admin_browser.post(edit, {"number": routing_rule.number_id, "team": support.pk})

    assert response.status_code == 302
    routing_rule.refresh_from_db()
    assert (routing_rule.team_id, routing_rule.max_open_per_member, routing_rule.enabled) == (support.pk, None, False)
    assert admin_browser.get(f"{edit}delete/").status_code == 405
    assert admin_browser.post(f"{edit}delete/").status_code == 302
    assert not LeadRoutingRule.objects.exists()


def test_agents_may_not_open_the_page(org, agent_membership):
    routing_rule = number_rule(org)
    browser = signed_in(agent_membership)

    assert browser.get(PAGE).status_code == 403
    assert browser.post(f"{PAGE}{routing_rule.pk}/delete/").status_code == 403
    assert LeadRoutingRule.objects.filter(pk=routing_rule.pk).exists()


def test_the_person_s_menu_sets_them_away_and_back(org, agent_membership):
    browser = signed_in(agent_membership)
    assert "Set yourself away" in browser.get("/contacts/").content.decode()

    response = browser.post("/availability/", {"is_away": "1", "next": "/contacts/"})

    assert (response.status_code, response.headers["Location"]) == (302, "/contacts/")
    agent_membership.refresh_from_db()
    assert agent_membership.is_away
    page = browser.get("/contacts/").content.decode()
    assert "Set yourself available" in page and "You are away" in page
    assert browser.post("/availability/", {"is_away": "0", "next": "https://evil.example/"}).headers["Location"] == "/"
    agent_membership.refresh_from_db()
    assert not agent_membership.is_away


def test_marketers_have_no_away_toggle(org, marketing_membership):
    browser = signed_in(marketing_membership)

    assert "Set yourself away" not in browser.get("/contacts/").content.decode()
    refused = browser.post("/availability/", {"is_away": "1"})
    assert refused.status_code == 403
    assert "Only admins and agents take conversations." in refused.content.decode()
    marketing_membership.refresh_from_db()
    assert not marketing_membership.is_away
