"""The templates pages (Django's test client): the list with its badges and filters, the empty states, the new
template form, a template's page, the delete confirmation, and who sees what."""

import pytest

from accounts.models import Role
from messaging.models import Provider
from templates.models import MessageTemplate
from tests.conftest import signed_in
from tests.factories import MembershipFactory
from tests.messaging.factories import WhatsAppNumberFactory
from tests.templates.factories import MessageTemplateFactory


@pytest.fixture
def browser(admin_membership):
    return signed_in(admin_membership)


def test_the_list_shows_each_template_with_its_badges(browser, org, cloud):
    MessageTemplateFactory(organization=org, name="welcome", status="APPROVED", quality_score="GREEN")
    MessageTemplateFactory(organization=org, name="promo", status="REJECTED", rejected_reason="INVALID_FORMAT")
    MessageTemplateFactory(organization=org, name="gone", deleted_at="2026-01-01T00:00:00Z")

    response = browser.get("/templates/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-template-id="' in page and "gone" not in page
    assert '<span class="badge badge-accent" data-status="APPROVED">Approved</span>' in page
    assert 'data-status="REJECTED" title="INVALID_FORMAT">Rejected</span>' in page
    assert '<span class="badge badge-accent" data-quality="GREEN">High</span>' in page
    assert "Sync from Meta" in page and "New template" in page


def test_the_list_filters_as_the_api_does(browser, org, cloud):
    MessageTemplateFactory(organization=org, name="welcome", category="MARKETING")
    MessageTemplateFactory(organization=org, name="receipt", category="UTILITY")

    page = browser.get("/templates/", {"category": "UTILITY", "search": "rec"}).content.decode()

    assert "receipt" in page and "welcome" not in page


def test_an_organization_without_a_number_is_told_to_connect_one(browser):
    page = browser.get("/templates/").content.decode()

    assert "Connect a number" in page and "New template" not in page and "Sync from Meta" not in page


def test_a_sandbox_organization_creates_but_has_nothing_to_sync(browser, sandbox):
    page = browser.get("/templates/").content.decode()

    assert "Create a template" in page and "Sync from Meta" not in page


def test_agents_read_but_do_not_manage(org, agent_membership, cloud):
    template = MessageTemplateFactory(organization=org)
    browser = signed_in(agent_membership)

    listing = browser.get("/templates/").content.decode()
    detail = browser.get(f"/templates/{template.pk}/").content.decode()

    assert template.name in listing and "New template" not in listing and "Sync from Meta" not in listing
    assert "Delete template" not in detail
    assert browser.get("/templates/new/").status_code == 403
    refused = browser.post(f"/templates/{template.pk}/delete/", {"confirm": template.name})
    assert refused.status_code == 403
    assert MessageTemplate.objects.get().deleted_at is None


def test_the_new_template_form_offers_the_numbers_with_templates(org, marketing_membership, cloud, sandbox):
    waha = WhatsAppNumberFactory(organization=org, provider=Provider.WAHA, waba_id="", waha_session="web")
    hidden = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)

    page = signed_in(marketing_membership).get("/templates/new/").content.decode()

    assert f'<option value="{cloud.pk}">' in page and f'<option value="{sandbox.pk}">' in page
    assert f'value="{waha.pk}"' not in page and f'value="{hidden.pk}"' not in page
    assert 'data-api="/api/v1/templates"' in page


def test_a_template_s_page_shows_its_preview_and_placeholders(browser, org, cloud):
    template = MessageTemplateFactory(
        organization=org,
        status="REJECTED",
        rejected_reason="INVALID_FORMAT Separate parameters with text.",
        components=[
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hi {{1}}, thanks!", "example": {"body_text": [["Maya"]]}},
            {"type": "FOOTER", "text": "Acme"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"}]},
        ],
    )

    page = browser.get(f"/templates/{template.pk}/").content.decode()

    assert '<p class="preview-body" dir="auto">Hi {{1}}, thanks!</p>' in page
    assert '<p class="preview-media">Image</p>' in page
    assert '<li dir="auto">Stop</li>' in page
    assert "INVALID_FORMAT Separate parameters with text." in page
    assert '<code dir="ltr">header</code>' in page and '<td dir="auto">Maya</td>' in page


def test_a_delete_waits_for_the_name_and_then_deletes(browser, org, cloud, fake_meta):
    template = MessageTemplateFactory(organization=org, name="welcome")

    wrong = browser.post(f"/templates/{template.pk}/delete/", {"confirm": "welcom"})
    right = browser.post(f"/templates/{template.pk}/delete/", {"confirm": "welcome"})

    assert wrong.status_code == 200 and "That is not this template&#x27;s name." in wrong.content.decode()
    assert right.status_code == 302 and right["Location"] == "/templates/"
    assert MessageTemplate.objects.get().status == "DELETED"
    assert [r.query["name"] for r in fake_meta.find_requests(method="DELETE")] == ["welcome"]


def test_meta_refusing_a_delete_is_shown_on_the_page(browser, org, cloud, fake_meta):
    template = MessageTemplateFactory(organization=org, name="welcome")
    fake_meta.fail_next(368, endpoint="templates")

    response = browser.post(f"/templates/{template.pk}/delete/", {"confirm": "welcome"})

    assert response.status_code == 200
    assert "Meta refused: Temporarily blocked for policies violations." in response.content.decode()
    assert MessageTemplate.objects.get().deleted_at is None


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING, Role.ADMIN])
def test_the_rail_leads_every_member_to_the_templates(org, role):
    page = signed_in(MembershipFactory(organization=org, role=role)).get("/templates/").content.decode()

    assert 'href="/templates/" class="rail-item is-current" aria-current="page"' in page
