"""Templates > WhatsApp Flows pages: the list with status badges, a new flow (Meta's validation errors shown next to
the Flow JSON), publish, deprecate, delete (typed name), the preview link, the responses table and its CSV. Every
write goes through messaging.services.flows against the fake Graph API."""

import json

import pytest

from messaging.models import WhatsAppFlow
from tests.conftest import signed_in
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID
from tests.messaging.factories import FlowResponseFactory, WhatsAppFlowFactory, WhatsAppNumberFactory
from tests.messaging.test_whatsapp_flows import BROKEN, SIGN_UP

LIST = "/templates/whatsapp-flows/"
NEW = "/templates/whatsapp-flows/new/"


@pytest.fixture
def cloud(org, fake_meta):
    return WhatsAppNumberFactory(
        organization=org, phone_number_id=DEFAULT_PHONE_NUMBER_ID, waba_id=DEFAULT_WABA_ID, is_primary=True
    )


@pytest.fixture
def marketing(marketing_membership):
    return signed_in(marketing_membership)


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def new_flow(browser, cloud, flow_json) -> object:
    return browser.post(
        NEW,
        {
            "name": "Sign up",
            "categories": ["SIGN_UP", "SURVEY"],
            "number_id": cloud.pk,
            "flow_json": json.dumps(flow_json),
        },
    )


def test_the_templates_page_leads_to_the_flows(marketing, cloud):
    assert 'href="/templates/whatsapp-flows/"' in page(marketing.get("/templates/"))


def test_an_empty_list_says_what_to_do(marketing, cloud):
    html = page(marketing.get(LIST))
    assert "No flows yet" in html
    assert f'href="{NEW}"' in html


def test_a_new_flow_with_errors_shows_meta_s_errors_next_to_the_json(marketing, cloud, fake_meta):
    html = page(new_flow(marketing, cloud, BROKEN))
    assert "Invalid value found for property &#x27;type&#x27;." in html
    assert WhatsAppFlow.objects.count() == 0


def test_create_publish_deprecate(marketing, cloud, fake_meta):
    response = new_flow(marketing, cloud, SIGN_UP)
    flow = WhatsAppFlow.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{flow.pk}/"
    assert flow.categories == ["SIGN_UP", "SURVEY"]
    html = page(marketing.get(f"{LIST}{flow.pk}/"))
    assert 'data-status="DRAFT"' in html
    assert "Delete this draft" in html

    marketing.post(f"{LIST}{flow.pk}/publish/")
    flow.refresh_from_db()
    assert flow.status == "PUBLISHED"
    html = page(marketing.get(LIST))
    assert 'class="badge badge-success" data-status="PUBLISHED"' in html

    marketing.post(f"{LIST}{flow.pk}/deprecate/")
    flow.refresh_from_db()
    assert flow.status == "DEPRECATED"


def test_a_draft_is_deleted_only_with_its_name_typed(marketing, cloud, fake_meta):
    new_flow(marketing, cloud, SIGN_UP)
    flow = WhatsAppFlow.objects.get()
    marketing.post(f"{LIST}{flow.pk}/delete/", {"confirm": "nope"})
    assert WhatsAppFlow.objects.count() == 1
    response = marketing.post(f"{LIST}{flow.pk}/delete/", {"confirm": "Sign up"})
    assert response["Location"] == LIST
    assert WhatsAppFlow.objects.count() == 0
    assert fake_meta.flows == {}


def test_saving_json_with_errors_keeps_them_on_the_page(marketing, cloud, fake_meta):
    new_flow(marketing, cloud, SIGN_UP)
    flow = WhatsAppFlow.objects.get()
    html = page(
        marketing.post(
            f"{LIST}{flow.pk}/", {"name": "Sign up", "categories": ["SIGN_UP"], "flow_json": json.dumps(BROKEN)}
        )
    )
    assert "Meta found 1 error in the Flow JSON" in html
    assert "(screens[0].layout.children[0].type)" in html


def test_the_preview_goes_to_meta_s_link(marketing, cloud, fake_meta):
    new_flow(marketing, cloud, SIGN_UP)
    flow = WhatsAppFlow.objects.get()
    response = marketing.get(f"{LIST}{flow.pk}/preview/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://business.facebook.com/wa/manage/flows/")


def test_the_responses_show_as_fields_and_download_as_csv(org, marketing):
    response = FlowResponseFactory(organization=org, response_json={"email": "=cmd", "name": "Sara", "flow_token": "t"})
    flow = response.flow
    html = page(marketing.get(f"{LIST}{flow.pk}/"))
    assert '<th scope="col" dir="auto">email</th>' in html
    assert "Sara" in html
    csv = marketing.get(f"{LIST}{flow.pk}/responses.csv")
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == "received_at,contact,phone,email,name"
    assert ",'=cmd,Sara" in text.splitlines()[1]


def test_agents_read_but_do_not_change(org, agent_membership, cloud):
    flow = WhatsAppFlowFactory(organization=org, number=cloud)
    agent = signed_in(agent_membership)
    assert "Delete this draft" not in page(agent.get(f"{LIST}{flow.pk}/"))
    assert agent.post(f"{LIST}{flow.pk}/publish/").status_code == 403
    assert agent.get(NEW).status_code == 403
    flow.refresh_from_db()
    assert flow.status == "DRAFT"
