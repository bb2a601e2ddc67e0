"""The `send_flow` node: an automation flow sends a published WhatsApp Flow (Meta's form) through messaging's send
path, with a flow_token that maps the customer's answers back to it; a draft (or another organization's) flow is
refused when the automation flow is saved."""

import json

import pytest

from automation.services import flows as flow_services
from messaging.models import FlowResponse, Message
from tests.automation.flows_support import keyword_trigger, linked_flow, node, sandbox_number, writes
from tests.messaging.factories import WhatsAppFlowFactory
from whatsapp_hub.errors import ServiceError


@pytest.fixture
def number(org):
    return sandbox_number(org)


def form(org, number, status="PUBLISHED"):
    return WhatsAppFlowFactory(organization=org, number=number, waba_id="sandbox", status=status)


def test_the_node_sends_the_flow_and_the_answers_come_back_linked(org, number):
    whatsapp_flow = form(org, number)
    linked_flow(
        org,
        number,
        [
            keyword_trigger("book"),
            node("form", "send_flow", {"flow_id": whatsapp_flow.pk, "body": "Book a visit", "cta": "Book"}),
        ],
    )

    writes(org, number, "book")

    sent = Message.objects.for_org(org).get(direction="outbound")
    parameters = sent.payload["interactive"]["action"]["parameters"]
    token = parameters["flow_token"]
    assert sent.payload["interactive"]["body"] == {"text": "Book a visit"}
    assert parameters == {
        "flow_message_version": "3",
        "flow_cta": "Book",
        "flow_action": "navigate",
        "flow_action_payload": {"screen": "FORM"},
        "flow_id": whatsapp_flow.meta_flow_id,
        "flow_token": token,
    }
    reply = {
        "type": "interactive",
        "interactive": {
            "type": "nfm_reply",
            "nfm_reply": {
                "name": "flow",
                "body": "Sent",
                "response_json": json.dumps({"day": "Mon", "flow_token": token}),
            },
        },
    }
    writes(org, number, part=reply)
    response = FlowResponse.objects.for_org(org).get()
    assert (response.flow_id, response.response_json["day"]) == (whatsapp_flow.pk, "Mon")


@pytest.mark.parametrize("which", ["draft", "foreign"])
def test_a_draft_or_foreign_flow_is_refused_on_save(which, org, other_org, number):
    target = form(org, number, status="DRAFT") if which == "draft" else form(other_org, sandbox_number(other_org))
    nodes = [keyword_trigger("book"), node("form", "send_flow", {"flow_id": target.pk, "body": "Hi", "cta": "Go"})]
    with pytest.raises(ServiceError) as refused:
        flow_services.flow_create(organization=org, actor=None, name="F", nodes=nodes, edges=[])
    assert "form" in refused.value.errors["nodes"]
