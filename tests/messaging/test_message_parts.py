"""messaging.message_parts: the checks of outbound messages live below the API, so every sender (the API, a
campaign, a flow) gets them from the send service itself, with the API's field names."""

import pytest

from messaging import message_parts
from messaging.models import Contact, Conversation, Message
from messaging.services import conversations as services
from tests.messaging.inbox_support import cloud_number, committed
from tests.messaging.test_send import INVALID
from whatsapp_hub.errors import ServiceError

ORDER_TEMPLATE = {
    "name": "order_update",
    "language": "en-US",
    "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Jessica"}]},
        {"type": "button", "sub_type": "url", "index": 0, "parameters": [{"type": "text", "text": "A17"}]},
    ],
}


def test_it_turns_a_send_body_into_metas_part_and_the_references_to_resolve():
    text = message_parts.parse({"type": "text", "text": "Hi", "preview_url": False, "reply_to": 7})
    template = message_parts.parse({"type": "template", "template": ORDER_TEMPLATE})
    reaction = message_parts.parse({"type": "reaction", "reaction": {"message_id": 9, "emoji": "👍"}})

    assert text == message_parts.OutboundPart(
        part={"type": "text", "text": {"body": "Hi", "preview_url": False}},
        upload=None,
        media_id=None,
        reply_to_id=7,
        reaction_to_id=None,
    )
    assert template.part == {
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Jessica"}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A17"}]},
            ],
        },
    }
    assert (reaction.part, reaction.reaction_to_id) == (
        {"type": "reaction", "reaction": {"message_id": None, "emoji": "👍"}},
        9,
    )


@pytest.mark.parametrize("case", sorted(INVALID))
def test_it_refuses_what_the_api_refuses_with_the_same_field_names(case):
    content, errors = INVALID[case]

    with pytest.raises(ServiceError) as refused:
        message_parts.parse(content)

    assert (refused.value.status_code, refused.value.errors) == (400, errors)


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ([], "Invalid data. Expected a dictionary, but got list."),
        ("Hi", "Invalid data. Expected a dictionary, but got str."),
        ({"type": "text", "text": "x" * 4097}, "text: Ensure this field has no more than 4096 characters."),
    ],
)
def test_its_detail_is_the_first_problem(content, detail):
    with pytest.raises(ServiceError) as refused:
        message_parts.parse(content)

    assert refused.value.detail == detail


# --- through the send service, without the API -------------------------------------------------------------------


def test_the_send_service_refuses_a_part_whatsapp_would_refuse_before_storing_it(conversation, fake_meta):
    four_buttons = INVALID["four_buttons"][0]

    with pytest.raises(ServiceError) as refused:
        committed(services.message_send, conversation=conversation, sent_by=None, content=four_buttons)

    assert refused.value.errors == {
        "interactive": {"action": {"buttons": ["Ensure this field has no more than 3 elements."]}}
    }
    assert Message.objects.count() == 0
    assert fake_meta.requests == []


def test_the_send_service_sends_a_template_for_a_caller_without_the_api(org, conversation, fake_meta):
    message = committed(
        services.message_send,
        conversation=conversation,
        sent_by=None,
        content={"type": "template", "template": ORDER_TEMPLATE},
    )

    message.refresh_from_db()
    assert (message.status, message.sent_by, message.payload["template"]["language"]) == (
        "sent",
        None,
        {"code": "en_US"},
    )
    [sent] = fake_meta.sends()
    assert (sent["to"], sent["template"]["components"][1]["index"]) == (conversation.contact.phone, "0")


def test_starting_a_conversation_checks_the_template_there_too(org, fake_meta):
    number = cloud_number(org)

    with pytest.raises(ServiceError) as refused:
        services.conversation_start(
            organization=org,
            number_id=number.pk,
            template={"name": "Order Update", "language": "en"},
            sent_by=None,
            phone="+966501234567",
        )

    assert refused.value.errors == {"template": {"name": ["This value does not match the required pattern."]}}
    assert (Contact.objects.count(), Conversation.objects.count(), Message.objects.count()) == (0, 0, 0)
    assert fake_meta.requests == []


def test_the_api_answers_the_services_400_for_a_bad_template_on_start(org, agent_client, fake_meta):
    number = cloud_number(org)
    body = {"phone": "+966501234567", "number_id": number.pk, "template": {"name": "hello", "language": "english"}}

    response = committed(agent_client.post, "/api/v1/conversations/start", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "template: language: This value does not match the required pattern.",
        "code": "invalid",
        "errors": {"template": {"language": ["This value does not match the required pattern."]}},
    }
    assert Contact.objects.count() == 0
    assert fake_meta.requests == []
