"""The web app's shell: sign-in with a browser session, the member check of every page, the organization switcher,
the saved language, the API through the session (CSRF enforced) and the Content-Security-Policy."""

import pytest
from django.test import Client

from accounts.models import Organization, Role, User
from accounts.selectors import SESSION_ORGANIZATION_KEY
from tests.conftest import signed_in
from tests.factories import PASSWORD, MembershipFactory
from tests.messaging.factories import ConversationFactory, MessageFactory, WhatsAppNumberFactory
from whatsapp_hub.demo import DEMO_PEOPLE


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/dashboard/"


def test_sign_in_opens_a_session_in_the_member_organization(client, agent_membership):
    response = client.post(
        "/sign-in/", {"email": agent_membership.user.email.upper(), "password": PASSWORD, "next": "/dashboard/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.session[SESSION_ORGANIZATION_KEY] == agent_membership.organization_id
    assert client.get("/dashboard/").status_code == 200


def test_sign_in_refuses_a_wrong_password_and_never_redirects_off_site(client, agent_membership):
    response = client.post("/sign-in/", {"email": agent_membership.user.email, "password": "nope"})
    assert response.status_code == 200
    assert "Invalid e-mail or password." in response.content.decode()
    response = client.post(
        "/sign-in/", {"email": agent_membership.user.email, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/inbox/"


def test_sign_in_locks_out_after_repeated_failures(client, agent_membership, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/sign-in/", {"email": agent_membership.user.email, "password": "nope"})
    response = client.post("/sign-in/", {"email": agent_membership.user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert SESSION_ORGANIZATION_KEY not in client.session


def test_a_deactivated_member_gets_the_reason_not_the_page(agent_membership):
    client = signed_in(agent_membership)
    agent_membership.is_active = False
    agent_membership.save()
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert "Your membership in this organization is deactivated." in response.content.decode()


def test_a_suspended_organization_gets_the_reason(agent_membership):
    client = signed_in(agent_membership)
    Organization.objects.filter(pk=agent_membership.organization_id).update(status=Organization.Status.SUSPENDED)
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert "The organization is suspended." in response.content.decode()


def test_the_switcher_moves_the_session_to_another_of_the_person_s_organizations(agent_membership, other_org):
    elsewhere = MembershipFactory(organization=other_org, user=agent_membership.user, role=Role.ADMIN)
    client = signed_in(agent_membership)
    assert "Settings" not in client.get("/dashboard/").content.decode()  # an agent here

    response = client.post("/switch-organization/", {"organization_id": other_org.pk})
    assert response.status_code == 302
    assert client.session[SESSION_ORGANIZATION_KEY] == elsewhere.organization_id
    page = client.get("/dashboard/").content.decode()
    assert "Globex" in page and "Settings" in page  # an admin there


def test_the_switcher_refuses_an_organization_the_person_is_not_in(agent_membership, other_org):
    client = signed_in(agent_membership)
    client.post("/switch-organization/", {"organization_id": other_org.pk})
    assert client.session[SESSION_ORGANIZATION_KEY] == agent_membership.organization_id
    client.post("/switch-organization/", {"organization_id": "not-a-number"})
    assert client.session[SESSION_ORGANIZATION_KEY] == agent_membership.organization_id


def test_the_language_is_saved_for_the_person_and_the_page_turns_right_to_left(agent_membership):
    client = signed_in(agent_membership)
    response = client.post("/language/", {"language": "ar", "next": "/dashboard/"})
    assert response.status_code == 302
    agent_membership.user.refresh_from_db()
    assert agent_membership.user.language == "ar"

    fresh = signed_in(agent_membership)  # another browser, English by default: the saved preference wins
    page = fresh.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ar" dir="rtl">' in page


def test_without_a_saved_language_the_browser_s_is_used(agent_membership):
    page = signed_in(agent_membership).get("/dashboard/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    page = signed_in(agent_membership).get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en" dir="ltr">' in page


def test_an_unknown_language_is_refused(agent_membership):
    client = signed_in(agent_membership)
    client.post("/language/", {"language": "xx", "next": "/dashboard/"})
    agent_membership.user.refresh_from_db()
    assert agent_membership.user.language == ""


def test_the_api_accepts_the_browser_session_with_its_csrf_token(agent_membership):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent_membership.user)
    assert client.get("/api/v1/auth/me").status_code == 200
    refused = client.post("/api/v1/teams/", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_the_api_refuses_a_session_whose_membership_is_deactivated(agent_membership):
    client = signed_in(agent_membership)
    agent_membership.is_active = False
    agent_membership.save()
    response = client.get("/api/v1/conversations/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Your membership in this organization is deactivated."


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/sign-in/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_sign_in_page_shows_the_demo_credentials_only_in_the_embedded_default(client, embedded_default, db):
    email, name, _, password = DEMO_PEOPLE[0]
    User.objects.create_user(email, password, name=name)
    assert password in client.get("/sign-in/").content.decode()
    embedded_default.DEBUG = False
    assert password not in client.get("/sign-in/").content.decode()


@pytest.mark.parametrize("path", ["/dashboard/"])
def test_pages_render_for_every_role(path, org):
    for role in Role.values:
        membership = MembershipFactory(organization=org, role=role)
        assert signed_in(membership).get(path).status_code == 200


def test_the_root_sends_visitors_to_sign_in(client):
    assert client.get("/")["Location"] == "/sign-in/"


def test_the_dashboard_counts_only_the_numbers_the_member_sees(org, agent_membership):
    hidden = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)
    MessageFactory(organization=org, conversation=ConversationFactory(organization=org, number=hidden))
    agent_stats = signed_in(agent_membership).get("/dashboard/").context["stats"]
    admin_stats = signed_in(MembershipFactory(organization=org, role=Role.ADMIN)).get("/dashboard/").context["stats"]

    assert (agent_stats["total_messages"], admin_stats["total_messages"]) == (0, 1)


def test_marketing_starts_on_the_contacts_and_sees_no_inbox_in_the_rail(client, marketing_membership):
    response = client.post("/sign-in/", {"email": marketing_membership.user.email, "password": PASSWORD})
    assert response["Location"] == "/contacts/"
    assert client.get("/")["Location"] == "/contacts/"
    assert 'href="/inbox/"' not in client.get("/dashboard/").content.decode()


def test_agents_start_in_the_inbox(agent_membership):
    client = signed_in(agent_membership)
    assert client.get("/")["Location"] == "/inbox/"
    assert 'href="/inbox/"' in client.get("/dashboard/").content.decode()
