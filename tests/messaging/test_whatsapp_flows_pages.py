"""Templates > WhatsApp Flows pages: the list with status badges, a new flow (Meta's validation errors shown next to
the Flow JSON), publish, deprecate, delete (typed name), the preview link, the responses table and its CSV. Every
write goes through messaging.services.flows against the fake Graph API."""

import json

import pytest
from django.utils import timezone

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


def blocked_flow(org, cloud) -> WhatsAppFlow:
    """A flow Meta blocked after its endpoint's error rate crossed 10 % (as the `flows` webhook leaves it)."""
    return WhatsAppFlowFactory(
        organization=org,
        number=cloud,
        name="Booking",
        status="BLOCKED",
        last_alert={
            "event": "ENDPOINT_ERROR_RATE",
            "message": "The flow endpoint request error rate has reached the 10% threshold in the last 30 minutes.",
            "alert_state": "ACTIVATED",
            "threshold": 10,
            "error_rate": 14.28,
            "errors": [{"error_type": "TIMEOUT", "error_rate": 100, "error_count": 3}],
        },
        last_alert_at=timezone.now(),
    )


def test_a_blocked_flow_shows_its_status_and_meta_s_last_alert(org, marketing, cloud):
    flow = blocked_flow(org, cloud)

    listed = page(marketing.get(LIST))
    detail = page(marketing.get(f"{LIST}{flow.pk}/"))

    assert 'data-status="BLOCKED">Blocked</span>' in listed
    assert "Active</span> <span>Endpoint error rate: 14.28% of requests failed (threshold 10%)</span>" in listed
    assert 'data-status="BLOCKED" data-flow-live' in detail
    assert "Meta blocked this flow: it cannot be sent, and customers cannot open the ones they received." in detail
    assert "<strong>Endpoint error rate</strong>: 14.28% of requests failed (threshold 10%)" in detail
    assert '<span class="ltr mono">TIMEOUT</span> 3 times' in detail
    assert "Meta: The flow endpoint request error rate has reached the 10% threshold" in detail


def test_the_status_and_the_alert_read_in_arabic(org, marketing, cloud):
    flow = blocked_flow(org, cloud)

    listed = page(marketing.get(LIST, HTTP_ACCEPT_LANGUAGE="ar"))
    detail = page(marketing.get(f"{LIST}{flow.pk}/", HTTP_ACCEPT_LANGUAGE="ar"))

    assert 'data-status="BLOCKED">محظور</span>' in listed
    assert "نشط</span> <span>نسبة أخطاء نقطة النهاية: فشل 14,28% من الطلبات (الحد 10%)</span>" in listed
    assert "حظرت Meta هذا النموذج" in detail
    assert "الصحة لدى Meta" in detail


def test_a_recovered_alert_says_so(org, marketing, cloud):
    flow = blocked_flow(org, cloud)
    flow.status = "PUBLISHED"
    flow.last_alert = {"event": "ENDPOINT_LATENCY", "alert_state": "DEACTIVATED", "p90_latency": 800, "threshold": 1000}
    flow.save()

    detail = page(marketing.get(f"{LIST}{flow.pk}/"))

    assert '<span class="badge badge-success">Recovered</span> <span><strong>Endpoint latency</strong>' in detail
    assert "90% of requests answered within 800 ms (threshold 1000 ms)" in detail
    assert "Meta blocked this flow" not in detail
