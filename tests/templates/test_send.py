"""Sending a template: send-test to a phone and send into a conversation (the inbox picker) go through messaging's
normal send path; the exact body Meta receives, a closed conversation opened again, and the refusals."""

import pytest

from messaging.models import Conversation, Message
from templates.models import MessageTemplate
from tests.assertions import assert_error
from tests.factories import MembershipFactory
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID
from tests.messaging.factories import WhatsAppNumberFactory
from tests.messaging.inbox_support import closed_window
from tests.templates.factories import MessageTemplateFactory
from tests.templates.support import committed

COMPONENTS = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1042"]}},
    {"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}.", "example": {"body_text": [["Maya", "May 3"]]}},
    {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}"}]},
]
VALUES = {"header.1": "#77", "1": "Omar", "2": "June 9", "button.0": "A 77"}


@pytest.fixture
def template(org, cloud, fake_meta):
    """An approved template, known to Meta (the fake checks sends against its library)."""
    at_meta = fake_meta.add_template("order_shipped", category="UTILITY", components=COMPONENTS)
    return MessageTemplateFactory(organization=org, meta_id=at_meta["id"], name="order_shipped", components=COMPONENTS)


def _send_test(client, template, body):
    return committed(client.post, f"/api/v1/templates/{template.pk}/send-test", body, format="json")


def _send(client, template, body):
    return committed(client.post, f"/api/v1/templates/{template.pk}/send", body, format="json")


def test_send_test_sends_the_rendered_template_through_the_normal_path(marketing_client, template, cloud, fake_meta):
    response = _send_test(marketing_client, template, {"to": "+1 650 555 1234", "parameters": VALUES})

    assert response.status_code == 201, response.json()
    message = Message.objects.get()
    assert fake_meta.sends() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+16505551234",
            "type": "template",
            "template": {
                "name": "order_shipped",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "#77"}]},
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": "Omar"}, {"type": "text", "text": "June 9"}],
                    },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "0",
                        "parameters": [{"type": "text", "text": "A%2077"}],
                    },
                ],
            },
            "biz_opaque_callback_data": f"msg:{message.pk}",
        }
    ]
    body = response.json()
    assert (body["id"], body["type"], body["status"], body["contact_id"]) == (
        message.pk,
        "template",
        "queued",  # as stored; delivered after the commit
        message.conversation.contact_id,
    )
    assert (message.conversation.number_id, message.conversation.contact.phone) == (cloud.pk, "+16505551234")


def test_a_missing_value_is_named_and_nothing_is_sent(marketing_client, template, fake_meta):
    body = assert_error(
        _send_test(marketing_client, template, {"to": "+16505551234", "parameters": {"1": "Omar"}}), 400
    )

    assert body["errors"] == {
        "parameters": {
            "header.1": ["A value is needed here."],
            "2": ["A value is needed here."],
            "button.0": ["A value is needed here."],
        }
    }
    assert fake_meta.sends() == [] and Message.objects.count() == 0


@pytest.mark.parametrize("status", ["PENDING", "REJECTED", "PAUSED"])
def test_only_an_approved_template_is_sent(marketing_client, template, fake_meta, status):
    MessageTemplate.objects.filter(pk=template.pk).update(status=status)

    body = assert_error(_send_test(marketing_client, template, {"to": "+16505551234", "parameters": VALUES}), 409)

    assert body["code"] == "template_not_approved"
    assert fake_meta.sends() == []


def test_a_number_of_another_account_cannot_send_it(marketing_client, org, template, fake_meta):
    elsewhere = WhatsAppNumberFactory(organization=org, waba_id="5467539754836534")

    body = {"to": "+16505551234", "parameters": VALUES, "number_id": elsewhere.pk}
    response = assert_error(_send_test(marketing_client, template, body), 400)

    assert response["errors"] == {
        "number_id": ["This number cannot send this template: choose a number of the template's account."]
    }
    assert fake_meta.sends() == []


def test_agents_do_not_send_tests(agent_client, template, fake_meta):
    assert_error(_send_test(agent_client, template, {"to": "+16505551234", "parameters": VALUES}), 403)
    assert fake_meta.sends() == []


# --- into a conversation: the inbox picker -----------------------------------------------------------------------


@pytest.fixture
def closed(org, cloud):
    """A conversation closed a day ago, whose customer last wrote 25 hours ago."""
    return closed_window(org, number=cloud, status=Conversation.Status.CLOSED)


def test_sending_into_a_closed_conversation_opens_it_again(agent_client, agent_membership, template, closed, fake_meta):
    response = _send(agent_client, template, {"conversation_id": closed.pk, "parameters": VALUES})

    assert response.status_code == 202, response.json()
    closed.refresh_from_db()
    assert closed.status == "open"
    message = Message.objects.get()
    assert (message.conversation_id, message.sent_by_id, message.type, message.status) == (
        closed.pk,
        agent_membership.user_id,
        "template",
        "sent",
    )
    [sent] = fake_meta.sends()
    assert (sent["to"], sent["template"]["name"]) == (closed.contact.phone, "order_shipped")
    assert response.json()["id"] == message.pk


def test_marketing_does_not_send_in_the_inbox(marketing_client, template, closed, fake_meta):
    assert_error(_send(marketing_client, template, {"conversation_id": closed.pk, "parameters": VALUES}), 403)
    assert fake_meta.sends() == []


@pytest.mark.parametrize("which", ["other-organization", "hidden-number"])
def test_a_conversation_the_caller_does_not_see_is_a_400(agent_client, org, other_org, template, fake_meta, which):
    if which == "hidden-number":
        hidden = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)
        conversation = closed_window(org, number=hidden)
    else:
        conversation = closed_window(other_org)

    body = assert_error(_send(agent_client, template, {"conversation_id": conversation.pk, "parameters": VALUES}), 400)

    assert body["errors"] == {"conversation_id": ["No such conversation in this organization."]}
    assert fake_meta.sends() == []


def test_an_agent_starts_a_new_conversation_with_a_template(
    agent_client, agent_membership, org, template, cloud, fake_meta
):
    body = {"to": "+44 7700 900123", "number_id": cloud.pk, "parameters": VALUES}
    response = _send(agent_client, template, body)

    assert response.status_code == 202, response.json()
    conversation = Conversation.objects.get(organization=org, contact__wa_id="447700900123")
    message = Message.objects.get()
    assert (message.conversation_id, message.sent_by_id, message.type, message.status) == (
        conversation.pk,
        agent_membership.user_id,
        "template",
        "sent",
    )
    assert (response.json()["id"], response.json()["conversation_id"]) == (message.pk, conversation.pk)
    [sent] = fake_meta.sends()
    assert (sent["to"], sent["template"]["name"]) == ("+447700900123", "order_shipped")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"conversation_id": ["Give either conversation_id or to."], "to": ["Give either conversation_id or to."]}),
        (
            {"conversation_id": 1, "to": "+447700900123"},
            {"conversation_id": ["Give either conversation_id or to."], "to": ["Give either conversation_id or to."]},
        ),
        ({"conversation_id": 1, "number_id": 1}, {"number_id": ["number_id goes with to."]}),
    ],
)
def test_a_send_goes_either_into_a_conversation_or_to_a_phone(agent_client, template, fake_meta, body, errors):
    assert assert_error(_send(agent_client, template, {**body, "parameters": VALUES}), 400)["errors"] == errors
    assert fake_meta.sends() == []


def test_an_agent_cannot_start_a_conversation_from_a_number_hidden_from_them(agent_client, org, template, fake_meta):
    hidden = WhatsAppNumberFactory(
        organization=org, waba_id=template.waba_id, assigned_user=MembershipFactory(organization=org).user
    )

    assert_error(
        _send(agent_client, template, {"to": "+447700900123", "number_id": hidden.pk, "parameters": VALUES}), 400
    )

    assert fake_meta.sends() == []
    assert not Conversation.objects.exists()


def test_a_template_of_another_account_is_refused(agent_client, org, template, fake_meta):
    conversation = closed_window(org, number=WhatsAppNumberFactory(organization=org, waba_id="5467539754836534"))

    body = assert_error(_send(agent_client, template, {"conversation_id": conversation.pk, "parameters": VALUES}), 400)

    assert body["errors"] == {
        "template": ["This template belongs to another WhatsApp Business Account than this conversation's number."]
    }
    assert Conversation.objects.get(pk=conversation.pk).status == "open"


def test_the_number_default_is_the_primary_of_the_account(marketing_client, org, template, cloud, fake_meta):
    WhatsAppNumberFactory(organization=org, waba_id=cloud.waba_id, phone_number_id="another-line")

    _send_test(marketing_client, template, {"to": "+16505551234", "parameters": VALUES})

    [request] = fake_meta.find_requests(method="POST", path_endswith="/messages")
    assert request.path == f"/v23.0/{DEFAULT_PHONE_NUMBER_ID}/messages"
