"""WhatsApp Flows (`whatsapp-flows/`) against the fake Graph API: the lifecycle Meta allows (create, upload the Flow
JSON and get its validation errors, publish, deprecate, delete drafts only) with Meta's refusals mapped to 4xx, a flow
message sent through the normal send path (the exact body at the fake), the customer's `nfm_reply` stored as a
FlowResponse linked to its flow, and the responses' CSV export."""

import csv
import io
import json

import pytest

from accounts.models import AuditLog
from messaging.models import FlowResponse, Message, WhatsAppFlow
from tests.assertions import assert_error
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID
from tests.messaging.factories import WhatsAppNumberFactory
from tests.messaging.inbox_support import closed_window, deliver_meta_webhooks, open_conversation, send

URL = "/api/v1/whatsapp-flows/"

SIGN_UP = {
    "version": "7.2",
    "screens": [
        {
            "id": "SIGN_UP",
            "title": "Sign up",
            "terminal": True,
            "layout": {
                "type": "SingleColumnLayout",
                "children": [
                    {"type": "TextInput", "name": "full_name", "label": "Name"},
                    {"type": "TextInput", "name": "email", "label": "Email", "input-type": "email"},
                    {"type": "Footer", "label": "Done", "on-click-action": {"name": "complete", "payload": {}}},
                ],
            },
        }
    ],
}
BROKEN = {
    "version": "7.2",
    "screens": [
        {"id": "SIGN_UP", "layout": {"type": "SingleColumnLayout", "children": [{"type": "TextInputt", "name": "x"}]}}
    ],
}


@pytest.fixture
def cloud(org, fake_meta):
    return WhatsAppNumberFactory(
        organization=org, phone_number_id=DEFAULT_PHONE_NUMBER_ID, waba_id=DEFAULT_WABA_ID, is_primary=True
    )


def create(client, **body):
    body = {"name": "Sign up", "categories": ["SIGN_UP"], **body}
    return client.post(URL, body, format="json")


def published(client, fake_meta) -> dict:
    flow = create(client, flow_json=SIGN_UP).json()
    response = client.post(f"{URL}{flow['id']}/publish")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_flow_is_created_on_the_number_s_account_with_its_json(marketing_client, cloud, fake_meta):
    response = create(marketing_client, flow_json=SIGN_UP)

    assert response.status_code == 201, response.json()
    [request] = fake_meta.find_requests(method="POST", path_endswith=f"/{DEFAULT_WABA_ID}/flows")
    assert request.json["name"] == "Sign up"
    assert request.json["categories"] == ["SIGN_UP"]
    assert json.loads(request.json["flow_json"]) == SIGN_UP
    [at_meta] = fake_meta.flows.values()
    flow = WhatsAppFlow.objects.get()
    assert (flow.meta_flow_id, flow.waba_id, flow.status, flow.flow_json) == (
        at_meta["id"],
        DEFAULT_WABA_ID,
        "DRAFT",
        SIGN_UP,
    )
    data = response.json()
    assert (data["status"], data["first_screen"], data["validation_errors"], data["number_id"]) == (
        "DRAFT",
        "SIGN_UP",
        [],
        cloud.pk,
    )
    assert AuditLog.objects.filter(action="whatsapp_flow.create", target_id=str(flow.pk)).count() == 1


def test_a_flow_json_meta_finds_wrong_is_a_400_naming_the_errors_and_nothing_is_kept(
    marketing_client, cloud, fake_meta
):
    response = create(marketing_client, flow_json=BROKEN)

    assert_error(response, 400)
    assert response.json()["errors"]["flow_json"] == [
        "line 10, column 21: Invalid value found for property 'type'. (screens[0].layout.children[0].type)"
    ]
    assert WhatsAppFlow.objects.count() == 0
    assert fake_meta.flows == {}  # the refused draft was deleted at Meta again


def test_uploading_json_to_a_draft_keeps_meta_s_errors_and_answers_them(marketing_client, cloud, fake_meta):
    flow = create(marketing_client).json()

    response = marketing_client.patch(f"{URL}{flow['id']}/", {"flow_json": json.dumps(BROKEN)}, format="json")

    assert_error(response, 400)
    assert response.json()["errors"]["flow_json"][0].endswith("(screens[0].layout.children[0].type)")
    [upload] = fake_meta.find_requests(method="POST", path_endswith="/assets")
    assert upload.form["asset_type"] == "FLOW_JSON"
    assert upload.form["name"] == "flow.json"
    assert json.loads(upload.files["file"].content) == BROKEN
    row = WhatsAppFlow.objects.get()
    assert [e["error"] for e in row.validation_errors] == ["INVALID_PROPERTY_VALUE"]
    # publishing is refused before asking Meta
    assert_error(marketing_client.post(f"{URL}{flow['id']}/publish"), 409)
    assert fake_meta.find_requests(method="POST", path_endswith="/publish") == []

    fixed = marketing_client.patch(f"{URL}{flow['id']}/", {"flow_json": SIGN_UP, "name": "Join"}, format="json")
    assert fixed.status_code == 200, fixed.json()
    assert (fixed.json()["validation_errors"], fixed.json()["name"]) == ([], "Join")
    assert next(iter(fake_meta.flows.values()))["name"] == "Join"


def test_publish_then_deprecate_and_only_drafts_change_or_go(marketing_client, cloud, fake_meta):
    flow = published(marketing_client, fake_meta)
    assert flow["status"] == "PUBLISHED"
    assert next(iter(fake_meta.flows.values()))["status"] == "PUBLISHED"

    assert_error(marketing_client.patch(f"{URL}{flow['id']}/", {"name": "x"}, format="json"), 409)
    assert_error(marketing_client.delete(f"{URL}{flow['id']}/"), 409)
    assert WhatsAppFlow.objects.filter(pk=flow["id"]).exists()

    response = marketing_client.post(f"{URL}{flow['id']}/deprecate")
    assert response.status_code == 200
    assert response.json()["status"] == "DEPRECATED"
    assert next(iter(fake_meta.flows.values()))["status"] == "DEPRECATED"
    assert_error(marketing_client.post(f"{URL}{flow['id']}/deprecate"), 409)


def test_a_draft_is_deleted_at_meta_and_here(marketing_client, cloud, fake_meta):
    flow = create(marketing_client).json()

    response = marketing_client.delete(f"{URL}{flow['id']}/")

    assert response.status_code == 204
    assert WhatsAppFlow.objects.count() == 0
    assert fake_meta.flows == {}
    [request] = fake_meta.find_requests(method="DELETE")
    assert request.path.endswith(f"/{flow['meta_flow_id']}")


def test_meta_s_refusals_are_4xx_with_meta_s_words(marketing_client, cloud, fake_meta):
    flow = published(marketing_client, fake_meta)
    row = WhatsAppFlow.objects.get()
    row.status = "DRAFT"  # the hub thinks it is a draft; Meta knows better
    row.save()

    response = marketing_client.delete(f"{URL}{flow['id']}/")

    # Meta's 139004 "Can't delete published Flow": a conflict, like the hub's own check, in Meta's words.
    assert_error(response, 409)
    assert response.json()["detail"].startswith("Meta refused: Can't delete published Flow.")
    assert response.json()["code"] == "meta_refused"
    assert WhatsAppFlow.objects.count() == 1


def test_publishing_what_meta_finds_wrong_is_meta_s_139002(marketing_client, cloud, fake_meta):
    flow = create(marketing_client, flow_json=SIGN_UP).json()
    at_meta = next(iter(fake_meta.flows.values()))
    at_meta["validation_errors"] = [{"error": "INVALID_PROPERTY_VALUE", "message": "Invalid value."}]

    response = marketing_client.post(f"{URL}{flow['id']}/publish")

    assert_error(response, 409)
    assert response.json()["detail"].startswith("Meta refused: Publishing Flow with validation errors.")
    assert WhatsAppFlow.objects.get().status == "DRAFT"


def test_deprecating_a_flow_meta_deprecated_already_is_meta_s_139003(marketing_client, cloud, fake_meta):
    flow = published(marketing_client, fake_meta)
    next(iter(fake_meta.flows.values()))["status"] = "DEPRECATED"  # deprecated in WhatsApp Manager

    response = marketing_client.post(f"{URL}{flow['id']}/deprecate")

    assert_error(response, 409)
    assert response.json()["detail"].startswith("Meta refused: Flow is already deprecated.")


def test_a_name_meta_has_already_is_a_400_on_the_name(marketing_client, cloud, fake_meta):
    fake_meta.add_flow(name="Sign up")  # made in WhatsApp Manager, unknown to the hub

    response = create(marketing_client)

    body = assert_error(response, 400)
    assert body["code"] == "flow_exists"
    assert body["errors"]["name"] == ["Another flow of this WhatsApp account at Meta already has this name."]
    assert WhatsAppFlow.objects.count() == 0


def test_meta_not_answering_is_a_502_and_nothing_changes(marketing_client, cloud, fake_meta):
    flow = create(marketing_client, flow_json=SIGN_UP).json()
    fake_meta.fail_next(131016, endpoint="flows", http_status=503)

    response = marketing_client.post(f"{URL}{flow['id']}/publish")

    assert_error(response, 502)
    assert WhatsAppFlow.objects.get().status == "DRAFT"


def test_a_name_taken_on_the_account_is_refused_before_meta(marketing_client, cloud, fake_meta):
    create(marketing_client)
    response = create(marketing_client)
    assert_error(response, 400)
    assert "name" in response.json()["errors"]
    assert len(fake_meta.find_requests(method="POST", path_endswith="/flows")) == 1


def test_the_preview_link_is_meta_s_and_kept(marketing_client, cloud, fake_meta):
    flow = create(marketing_client, flow_json=SIGN_UP).json()

    first = marketing_client.get(f"{URL}{flow['id']}/preview")
    second = marketing_client.get(f"{URL}{flow['id']}/preview")

    assert first.status_code == 200
    url = first.json()["preview_url"]
    assert url.startswith(f"https://business.facebook.com/wa/manage/flows/{flow['meta_flow_id']}/preview/?token=")
    assert second.json() == first.json()
    [request] = fake_meta.find_requests(method="GET", path_endswith=f"/{flow['meta_flow_id']}")
    assert request.query["fields"] == "preview.invalidate(false)"


def test_agents_read_flows_but_do_not_change_them(agent_client, marketing_client, cloud, fake_meta):
    flow = create(marketing_client).json()
    assert agent_client.get(URL).json()["count"] == 1
    assert_error(agent_client.post(f"{URL}{flow['id']}/publish"), 403)
    assert_error(create(agent_client, name="Other"), 403)


def test_a_sandbox_flow_lives_in_the_hub(marketing_client, org):
    WhatsAppNumberFactory(organization=org, provider="sandbox", waba_id="", access_token="", phone_number_id="sb")
    response = create(marketing_client, flow_json={"version": "7.2", "screens": []})
    assert_error(response, 400)
    assert response.json()["errors"]["flow_json"] == [
        "line 1, column 1: Property 'screens' must be a non-empty array. (screens)"
    ]
    response = create(marketing_client, flow_json=SIGN_UP)
    assert response.status_code == 201, response.json()
    published_ = marketing_client.post(f"{URL}{response.json()['id']}/publish")
    assert published_.json()["status"] == "PUBLISHED"


# --- sending ------------------------------------------------------------------------------------------------------


def test_a_flow_message_goes_through_the_send_path_as_meta_takes_it(org, admin_client, cloud, fake_meta):
    flow = published(admin_client, fake_meta)
    conversation = open_conversation(org, number=cloud)
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=cloud.phone_number_id)

    response = send(
        admin_client,
        conversation,
        {
            "type": "flow",
            "flow": {
                "flow_id": flow["id"],
                "header": "Welcome",
                "body": "Sign up in a minute",
                "footer": "It is free",
                "cta": "Sign up",
                "data": {"plan": "gold"},
            },
        },
    )

    assert response.status_code == 202, response.json()
    sent = fake_meta.last_send()
    token = sent["interactive"]["action"]["parameters"]["flow_token"]
    assert token.startswith(f"{flow['id']}.")
    assert sent == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+" + conversation.contact.wa_id,
        "type": "interactive",
        "interactive": {
            "type": "flow",
            "header": {"type": "text", "text": "Welcome"},
            "body": {"text": "Sign up in a minute"},
            "footer": {"text": "It is free"},
            "action": {
                "name": "flow",
                "parameters": {
                    "flow_message_version": "3",
                    "flow_cta": "Sign up",
                    "flow_action": "navigate",
                    "flow_action_payload": {"screen": "SIGN_UP", "data": {"plan": "gold"}},
                    "flow_id": flow["meta_flow_id"],
                    "flow_token": token,
                },
            },
        },
        "biz_opaque_callback_data": sent["biz_opaque_callback_data"],
    }
    message = Message.objects.get(pk=response.json()["id"])
    assert (message.type, message.status, message.text) == ("interactive", "sent", "Sign up in a minute")


def test_a_flow_that_is_not_published_or_of_another_account_is_not_sent(org, admin_client, cloud, fake_meta):
    draft = create(admin_client, flow_json=SIGN_UP).json()
    conversation = open_conversation(org, number=cloud)
    body = {"type": "flow", "flow": {"flow_id": draft["id"], "body": "Hi", "cta": "Open"}}

    assert_error(send(admin_client, conversation, body), 400)
    other = open_conversation(org, number=WhatsAppNumberFactory(organization=org))
    assert_error(send(admin_client, other, body), 400)
    assert fake_meta.sends() == []
    # a draft may be tested in draft mode
    body["flow"]["mode"] = "draft"
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=cloud.phone_number_id)
    response = send(admin_client, conversation, body)
    assert response.status_code == 202, response.json()
    assert fake_meta.last_send()["interactive"]["action"]["parameters"]["mode"] == "draft"


def test_a_button_label_over_meta_s_20_characters_is_refused_unsent(org, admin_client, cloud, fake_meta):
    flow = published(admin_client, fake_meta)
    conversation = open_conversation(org, number=cloud)
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=cloud.phone_number_id)
    body = {"type": "flow", "flow": {"flow_id": flow["id"], "body": "Hi", "cta": "x" * 21}}

    assert_error(send(admin_client, conversation, body), 400)
    assert fake_meta.sends() == []
    body["flow"]["cta"] = "x" * 20
    assert send(admin_client, conversation, body).status_code == 202


def test_a_flow_message_needs_the_24_hour_window(org, admin_client, cloud, fake_meta):
    flow = published(admin_client, fake_meta)
    conversation = closed_window(org, number=cloud)
    body = {"type": "flow", "flow": {"flow_id": flow["id"], "body": "Hi", "cta": "Open"}}
    assert_error(send(admin_client, conversation, body), 409)


# --- what customers submit -----------------------------------------------------------------------------------------


def test_the_customer_s_nfm_reply_is_stored_and_linked_to_its_flow(client, org, admin_client, cloud, fake_meta):
    flow = published(admin_client, fake_meta)
    conversation = open_conversation(org, number=cloud)
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=cloud.phone_number_id)
    send(admin_client, conversation, {"type": "flow", "flow": {"flow_id": flow["id"], "body": "Hi", "cta": "Open"}})
    sent = fake_meta.last_send()
    token = sent["interactive"]["action"]["parameters"]["flow_token"]

    fake_meta.flow_reply(
        conversation.contact.wa_id, flow_token=token, response={"full_name": "Sara", "email": "sara@example.com"}
    )
    deliver_meta_webhooks(client, fake_meta, org, cloud)
    deliver_meta_webhooks(client, fake_meta, org, cloud)  # Meta redelivers: nothing more is stored

    response = FlowResponse.objects.get()
    assert (response.flow_id, response.contact_id, response.conversation_id, response.flow_token) == (
        flow["id"],
        conversation.contact_id,
        conversation.pk,
        token,
    )
    assert response.response_json == {"full_name": "Sara", "email": "sara@example.com", "flow_token": token}
    assert response.message.type == "interactive"
    listed = admin_client.get(f"{URL}{flow['id']}/responses").json()
    assert listed["count"] == 1
    assert listed["results"][0]["fields"] == [
        {"field": "email", "value": "sara@example.com"},
        {"field": "full_name", "value": "Sara"},
    ]
    assert admin_client.get(f"{URL}{flow['id']}/").json()["response_count"] == 1


def test_a_reply_whose_token_names_no_flow_of_the_organization_is_kept_unlinked(
    client, org, other_org, cloud, fake_meta
):
    foreign = WhatsAppFlow.objects.create(
        organization=other_org,
        number=WhatsAppNumberFactory(organization=other_org),
        waba_id="x",
        meta_flow_id="1",
        name="theirs",
    )
    conversation = open_conversation(org, number=cloud)
    fake_meta.flow_reply(conversation.contact.wa_id, flow_token=f"{foreign.pk}.abc", response={"a": "b"})
    deliver_meta_webhooks(client, fake_meta, org, cloud)
    response = FlowResponse.objects.get()
    assert (response.flow_id, response.organization_id) == (None, org.pk)


def test_the_csv_export_has_a_column_per_field_and_neutralises_formulas(org, admin_client, cloud, fake_meta):
    flow = published(admin_client, fake_meta)
    row = WhatsAppFlow.objects.get()
    first = open_conversation(org, number=cloud, contact__name="Sara", contact__phone="+15550001111")
    second = open_conversation(org, number=cloud, contact__name="=Omar", contact__phone="+15550002222")
    for conversation, answers, at in (
        (first, {"full_name": "Sara", "email": "s@x.io"}, "2026-01-01T10:00:00Z"),
        (second, {"full_name": "=HYPERLINK(1)", "plan": ["a", "b"]}, "2026-01-02T10:00:00Z"),
    ):
        message = Message.objects.create(
            organization=org, conversation=conversation, direction="inbound", type="interactive"
        )
        FlowResponse.objects.create(
            organization=org,
            flow=row,
            contact=conversation.contact,
            conversation=conversation,
            message=message,
            flow_token="t",
            response_json={**answers, "flow_token": "t"},
            received_at=at,
        )

    response = admin_client.get(f"{URL}{flow['id']}/responses", {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["received_at", "contact", "phone", "email", "full_name", "plan"]
    assert [r[1:] for r in rows[1:]] == [
        ["'=Omar", "'+15550002222", "", "'=HYPERLINK(1)", "a, b"],
        ["Sara", "'+15550001111", "s@x.io", "Sara", ""],
    ]
