"""POST conversations/{id}/messages: every send type, validated into Meta's shape and delivered to the fake Graph
API (the exact JSON it received), the 24-hour window, references (reply, reaction, media) and permissions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from messaging.models import WINDOW_CLOSED_DETAIL, Contact, Conversation, Media, Message, WhatsAppNumber
from tests.messaging.factories import MediaFactory, MessageFactory
from tests.messaging.inbox_support import (
    api_key_client,
    closed_window,
    listen_to_inbox,
    open_conversation,
    send,
    waha_number,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def _expected(conversation: Conversation, message: Message, part: dict) -> dict:
    """The body Meta must receive: the envelope, the part, and our callback data."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": conversation.contact.phone,
        **part,
        "biz_opaque_callback_data": f"msg:{message.pk}",
    }


def _sent_one(response, fake_meta) -> Message:
    """The message of a 202 answer, delivered: sent, with the wamid the fake gave it."""
    assert response.status_code == 202, response.json()
    message = Message.objects.get(pk=response.json()["id"])
    [wamid] = fake_meta.sent
    assert (message.status, message.provider_message_id, message.attempts) == ("sent", wamid, 1)
    return message


# --- every type, the exact JSON Meta received ----------------------------------------------------------------

CASES = {
    "text": (
        {"type": "text", "text": "Your order ships today", "preview_url": True},
        {"type": "text", "text": {"body": "Your order ships today", "preview_url": True}},
        "Your order ships today",
    ),
    "location": (
        {
            "type": "location",
            "location": {"latitude": 24.7136, "longitude": 46.6753, "name": "Store", "address": "Riyadh"},
        },
        {
            "type": "location",
            "location": {"latitude": 24.7136, "longitude": 46.6753, "name": "Store", "address": "Riyadh"},
        },
        "Store Riyadh",
    ),
    "contacts": (
        {
            "type": "contacts",
            "contacts": [
                {
                    "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"},
                    "phones": [{"phone": "+1 (415) 555-0829", "type": "MOBILE", "wa_id": "14155550829"}],
                    "emails": [{"email": "barbara@example.com", "type": "WORK"}],
                    "org": {"company": "Social Tsunami"},
                }
            ],
        },
        {
            "type": "contacts",
            "contacts": [
                {
                    "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"},
                    "phones": [{"phone": "+1 (415) 555-0829", "type": "MOBILE", "wa_id": "14155550829"}],
                    "emails": [{"email": "barbara@example.com", "type": "WORK"}],
                    "org": {"company": "Social Tsunami"},
                }
            ],
        },
        "Barbara J. Johnson",
    ),
    "interactive_buttons": (
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "text", "text": "Workshop"},
                "body": {"text": "Your workshop is at 9am tomorrow."},
                "footer": {"text": "Lucky Shrub"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                        {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}},
                    ]
                },
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "text", "text": "Workshop"},
                "body": {"text": "Your workshop is at 9am tomorrow."},
                "footer": {"text": "Lucky Shrub"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                        {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}},
                    ]
                },
            },
        },
        "Your workshop is at 9am tomorrow.",
    ),
    "interactive_list": (
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Which shipping option do you prefer?"},
                "action": {
                    "button": "Shipping Options",
                    "sections": [
                        {
                            "title": "I want it ASAP!",
                            "rows": [{"id": "priority_express", "title": "Priority Mail Express"}],
                        },
                        {
                            "title": "I can wait a bit",
                            "rows": [{"id": "media_mail", "title": "Media Mail", "description": "2–8 Days"}],
                        },
                    ],
                },
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Which shipping option do you prefer?"},
                "action": {
                    "button": "Shipping Options",
                    "sections": [
                        {
                            "title": "I want it ASAP!",
                            "rows": [{"id": "priority_express", "title": "Priority Mail Express"}],
                        },
                        {
                            "title": "I can wait a bit",
                            "rows": [{"id": "media_mail", "title": "Media Mail", "description": "2–8 Days"}],
                        },
                    ],
                },
            },
        },
        "Which shipping option do you prefer?",
    ),
    "template": (
        {
            "type": "template",
            "template": {
                "name": "order_confirmation",
                "language": "en_US",
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Jessica"}],
                    },
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": 0,
                        "parameters": [{"type": "payload", "payload": "TRACK"}],
                    },
                ],
            },
        },
        {
            "type": "template",
            "template": {
                "name": "order_confirmation",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Jessica"}],
                    },
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "0",
                        "parameters": [{"type": "payload", "payload": "TRACK"}],
                    },
                ],
            },
        },
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_type_reaches_meta_in_its_exact_shape(case, agent_client, agent_membership, conversation, fake_meta):
    body, part, text = CASES[case]

    response = send(agent_client, conversation, body)

    message = _sent_one(response, fake_meta)
    assert fake_meta.sends() == [_expected(conversation, message, part)]
    assert message.payload == part
    assert (message.direction, message.type, message.text, message.sent_by_id) == (
        "outbound",
        part["type"],
        text,
        agent_membership.user_id,
    )


def test_the_answer_is_the_queued_message_and_the_conversation_shows_it_last(
    agent_client, agent_membership, conversation, fake_meta
):
    response = send(agent_client, conversation, {"type": "text", "text": "  Hello   there  "})

    body = response.json()
    assert response.status_code == 202
    assert {key: body[key] for key in ("conversation_id", "direction", "type", "text", "status", "sent_by")} == {
        "conversation_id": conversation.pk,
        "direction": "outbound",
        "type": "text",
        "text": "  Hello   there  ",
        "status": "queued",  # stored queued; the delivery ran after the answer was built
        "sent_by": agent_membership.user_id,
    }
    conversation.refresh_from_db()
    assert (conversation.last_message_preview, conversation.last_message_direction, conversation.last_message_type) == (
        "Hello there",
        "outbound",
        "text",
    )


def test_the_live_inbox_hears_of_the_message_its_conversation_and_its_delivery(
    org, agent_client, conversation, fake_meta
):
    live = listen_to_inbox(org.pk)

    message = _sent_one(send(agent_client, conversation, {"type": "text", "text": "On its way"}), fake_meta)

    events = live(3)
    assert [event["event"] for event in events] == ["message.created", "conversation.updated", "message.updated"]
    [created], [updated_conversation], [updated] = (
        events[0]["data"]["messages"],
        events[1]["data"]["conversations"],
        events[2]["data"]["messages"],
    )
    assert (created["id"], created["status"], created["text"]) == (message.pk, "queued", "On its way")
    assert (updated_conversation["id"], updated_conversation["last_message"]["text"]) == (conversation.pk, "On its way")
    assert (updated["id"], updated["status"], updated["provider_message_id"]) == (
        message.pk,
        "sent",
        message.provider_message_id,
    )
    assert events[1]["seq"] - events[0]["seq"] == events[2]["seq"] - events[1]["seq"] == 1


def test_a_reply_quotes_the_message_by_its_wamid(agent_client, conversation, fake_meta):
    quoted = MessageFactory(organization=conversation.organization, conversation=conversation)

    response = send(agent_client, conversation, {"type": "text", "text": "Sure", "reply_to": quoted.pk})

    message = _sent_one(response, fake_meta)
    assert fake_meta.last_send()["context"] == {"message_id": quoted.provider_message_id}
    assert message.reply_to_provider_id == quoted.provider_message_id
    assert response.json()["reply_to"] == {"id": quoted.pk, "provider_message_id": quoted.provider_message_id}


def test_a_reaction_targets_the_message_by_its_wamid(agent_client, conversation, fake_meta):
    target = MessageFactory(organization=conversation.organization, conversation=conversation)

    response = send(
        agent_client, conversation, {"type": "reaction", "reaction": {"message_id": target.pk, "emoji": "👍"}}
    )

    message = _sent_one(response, fake_meta)
    part = {"type": "reaction", "reaction": {"message_id": target.provider_message_id, "emoji": "👍"}}
    assert fake_meta.sends() == [_expected(conversation, message, part)]
    assert response.json()["reaction"] == part["reaction"]


def test_a_multipart_image_is_uploaded_to_meta_then_sent_by_id(agent_client, conversation, fake_meta):
    upload = SimpleUploadedFile("../../shop.png", PNG, content_type="image/png")

    response = send(
        agent_client, conversation, {"type": "image", "file": upload, "caption": "New stock"}, multipart=True
    )

    message = _sent_one(response, fake_meta)
    [upload_request] = fake_meta.find_requests(method="POST", path_endswith="/media")
    assert upload_request.path.endswith(f"/{conversation.number.phone_number_id}/media")
    assert upload_request.form == {"messaging_product": "whatsapp", "type": "image/png"}
    assert (upload_request.files["file"].content, upload_request.files["file"].content_type) == (PNG, "image/png")
    [meta_media_id] = fake_meta.media
    part = {"type": "image", "image": {"caption": "New stock", "id": meta_media_id}}
    assert fake_meta.sends() == [_expected(conversation, message, part)]
    media = Media.objects.get(message=message)
    assert (media.provider_media_id, media.filename, media.size, media.mime_type) == (
        meta_media_id,
        "shop.png",  # the client's path is not kept
        len(PNG),
        "image/png",
    )
    assert "shop" not in media.file.name  # a server-chosen storage name
    assert response.json()["media"]["id"] == media.pk


def test_an_uploaded_document_is_sent_by_media_id_with_its_filename(agent_client, conversation, fake_meta):
    pdf = MediaFactory(organization=conversation.organization, mime_type="application/pdf", filename="invoice.pdf")

    response = send(agent_client, conversation, {"type": "document", "media_id": pdf.pk, "caption": "Invoice"})

    message = _sent_one(response, fake_meta)
    [meta_media_id] = fake_meta.media
    part = {"type": "document", "document": {"caption": "Invoice", "filename": "invoice.pdf", "id": meta_media_id}}
    assert fake_meta.sends() == [_expected(conversation, message, part)]
    pdf.refresh_from_db()
    assert pdf.message_id == message.pk


def test_media_already_sent_once_is_sent_again_from_a_copy(agent_client, conversation, fake_meta):
    earlier = MessageFactory(organization=conversation.organization, conversation=conversation, type="image")
    picture = MediaFactory(organization=conversation.organization, message=earlier)

    response = send(agent_client, conversation, {"type": "image", "media_id": picture.pk})

    message = _sent_one(response, fake_meta)
    copy = Media.objects.get(message=message)
    assert copy.pk != picture.pk
    assert copy.file.name == picture.file.name
    picture.refresh_from_db()
    assert picture.message_id == earlier.pk


def test_a_whatsapp_web_number_has_no_window(org, agent_client, fake_waha):
    fake_waha.add_session("default")
    conversation = closed_window(org, number=waha_number(org))

    response = send(agent_client, conversation, {"type": "text", "text": "Hi there!"})

    assert response.status_code == 202
    [sent] = fake_waha.sends("sendText")
    assert sent == {
        "session": "default",
        "chatId": f"{conversation.contact.wa_id}@c.us",
        "text": "Hi there!",
        "linkPreview": False,
    }
    assert Message.objects.get().status == "sent"


def test_a_whatsapp_web_number_refuses_what_whatsapp_web_cannot_send(org, agent_client, fake_waha):
    conversation = open_conversation(org, number=waha_number(org))

    response = send(agent_client, conversation, {"type": "template", "template": {"name": "hello", "language": "en"}})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "type": ["A WhatsApp Web (WAHA) number cannot send template messages; use a Cloud API number."]
    }
    assert Message.objects.count() == 0
    assert fake_waha.requests == []


def test_an_api_key_sends_as_nobody(org, conversation, fake_meta):
    response = send(api_key_client(org), conversation, {"type": "text", "text": "Automated hello"})

    message = _sent_one(response, fake_meta)
    assert message.sent_by_id is None


# --- the 24-hour window --------------------------------------------------------------------------------------


def test_free_form_outside_the_window_is_refused_before_storing_or_sending(org, agent_client, number, fake_meta):
    conversation = closed_window(org, number=number)

    response = send(agent_client, conversation, {"type": "text", "text": "Are you there?"})

    assert response.status_code == 409
    assert response.json() == {"detail": WINDOW_CLOSED_DETAIL, "code": "window_closed"}
    assert "template" in WINDOW_CLOSED_DETAIL
    assert Message.objects.count() == 0
    assert Media.objects.count() == 0
    assert fake_meta.requests == []


def test_a_conversation_the_customer_never_wrote_to_takes_only_templates(org, agent_client, number, fake_meta):
    conversation = open_conversation(org, number=number, last_inbound_at=None)
    upload = SimpleUploadedFile("a.png", PNG, content_type="image/png")

    response = send(agent_client, conversation, {"type": "image", "file": upload}, multipart=True)

    assert (response.status_code, response.json()["code"]) == (409, "window_closed")
    assert Media.objects.count() == 0
    assert fake_meta.requests == []


def test_a_template_goes_out_whatever_the_window(org, agent_client, number, fake_meta):
    conversation = closed_window(org, number=number)

    response = send(agent_client, conversation, {"type": "template", "template": {"name": "hello", "language": "en"}})

    message = _sent_one(response, fake_meta)
    part = {"type": "template", "template": {"name": "hello", "language": {"code": "en"}}}
    assert fake_meta.sends() == [_expected(conversation, message, part)]
    conversation.refresh_from_db()
    assert conversation.last_message_preview == "Template: hello"


def test_no_template_goes_to_a_contact_who_opted_out(org, agent_client, conversation, fake_meta):
    Contact.objects.filter(pk=conversation.contact_id).update(opted_out=True)

    response = send(agent_client, conversation, {"type": "template", "template": {"name": "promo", "language": "en"}})

    assert (response.status_code, response.json()["code"]) == (409, "opted_out")
    assert Message.objects.count() == 0
    assert fake_meta.requests == []


def test_nothing_is_sent_from_a_deleted_number(org, agent_client, conversation, fake_meta):
    WhatsAppNumber.objects.filter(pk=conversation.number_id).update(deleted_at=timezone.now())

    response = send(agent_client, conversation, {"type": "text", "text": "Hello?"})

    assert (response.status_code, response.json()["code"]) == (409, "number_deleted")
    assert Message.objects.count() == 0
    assert fake_meta.requests == []


# --- refused input: 400 before anything is stored ------------------------------------------------------------

INVALID = {
    "unknown_field": ({"type": "text", "text": "hi", "colour": "red"}, {"colour": ["Unknown field."]}),
    "caption_on_text": ({"type": "text", "text": "hi", "caption": "x"}, {"caption": ["Not used by text messages."]}),
    "missing_text": ({"type": "text"}, {"text": ["This field is required."]}),
    "blank_text": ({"type": "text", "text": "   "}, {"text": ["The text is empty."]}),
    "text_too_long": (
        {"type": "text", "text": "x" * 4097},
        {"text": ["Ensure this field has no more than 4096 characters."]},
    ),
    "unknown_type": ({"type": "poll"}, {"type": ['"poll" is not a valid choice.']}),
    "image_without_file": (
        {"type": "image"},
        {"file": ["Send the file (multipart) or the media_id of an uploaded file, one of them."]},
    ),
    "reply_on_reaction": (
        {"type": "reaction", "reaction": {"message_id": 1, "emoji": "👍"}, "reply_to": 1},
        {"reply_to": ["Not used by reaction messages."]},
    ),
    "four_buttons": (
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Pick one"},
                "action": {
                    "buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": f"B{i}"}} for i in range(4)]
                },
            },
        },
        {"interactive": {"action": {"buttons": ["Ensure this field has no more than 3 elements."]}}},
    ),
    "button_title_too_long": (
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Pick one"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]},
            },
        },
        {
            "interactive": {
                "action": {"buttons": {0: {"reply": {"title": ["Ensure this field has no more than 20 characters."]}}}}
            }
        },
    ),
    "list_with_eleven_rows": (
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick"},
                "action": {
                    "button": "Open",
                    "sections": [
                        {"title": "A", "rows": [{"id": f"a{i}", "title": f"A{i}"} for i in range(6)]},
                        {"title": "B", "rows": [{"id": f"b{i}", "title": f"B{i}"} for i in range(5)]},
                    ],
                },
            },
        },
        {"interactive": {"action": ["A list has at most 10 rows in all its sections."]}},
    ),
    "template_bad_name": (
        {"type": "template", "template": {"name": "Order Confirmation", "language": "en"}},
        {"template": {"name": ["This value does not match the required pattern."]}},
    ),
    "template_bad_parameter": (
        {
            "type": "template",
            "template": {
                "name": "order",
                "language": "en",
                "components": [{"type": "body", "parameters": [{"type": "currency", "currency": {"code": "USD"}}]}],
            },
        },
        {
            "template": {
                "components": {
                    0: {"parameters": {0: ["A currency parameter needs a valid 'currency' value (Meta's shape)."]}}
                }
            }
        },
    ),
    "latitude_out_of_range": (
        {"type": "location", "location": {"latitude": 91, "longitude": 0}},
        {"location": {"latitude": ["Ensure this value is less than or equal to 90."]}},
    ),
    "contact_card_without_name": (
        {"type": "contacts", "contacts": [{"phones": [{"phone": "+1 415 555 0829"}]}]},
        {"contacts": {0: {"name": ["This field is required."]}}},
    ),
}


def _json_keys(errors):
    """JSON turns the int keys of DRF's list errors into strings."""
    if isinstance(errors, dict):
        return {str(key): _json_keys(value) for key, value in errors.items()}
    return errors


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_input_is_a_400_naming_the_field(case, agent_client, conversation, fake_meta):
    body, errors = INVALID[case]

    response = send(agent_client, conversation, body)

    assert response.status_code == 400
    assert response.json()["errors"] == _json_keys(errors)
    assert Message.objects.count() == 0
    assert fake_meta.requests == []


@pytest.mark.parametrize(
    ("mtype", "name", "mime", "size", "error"),
    [
        ("image", "a.gif", "image/gif", 100, "A image must be one of image/jpeg, image/png; this file is image/gif."),
        (
            "image",
            "big.png",
            "image/png",
            5 * 1024 * 1024 + 1,
            "image/png files are limited to 5 MB by WhatsApp; this one has 5242881 bytes.",
        ),
        ("sticker", "s.png", "image/png", 100, "A sticker must be one of image/webp; this file is image/png."),
        (
            "audio",
            "a.ogg",
            "audio/ogg",
            16 * 1024 * 1024 + 1,
            "audio/ogg files are limited to 16 MB by WhatsApp; this one has 16777217 bytes.",
        ),
    ],
)
def test_media_whatsapp_would_refuse_is_a_400_before_storing(
    mtype, name, mime, size, error, agent_client, conversation, fake_meta
):
    upload = SimpleUploadedFile(name, b"\x00" * size, content_type=mime)

    response = send(agent_client, conversation, {"type": mtype, "file": upload}, multipart=True)

    assert response.status_code == 400
    assert response.json()["errors"] == {"file": [error]}
    assert Message.objects.count() == 0
    assert Media.objects.count() == 0
    assert fake_meta.requests == []


def test_an_uploaded_file_of_the_wrong_kind_is_refused_by_media_id(agent_client, conversation, fake_meta):
    pdf = MediaFactory(organization=conversation.organization, mime_type="application/pdf", filename="a.pdf")

    response = send(agent_client, conversation, {"type": "image", "media_id": pdf.pk})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "media_id": ["A image must be one of image/jpeg, image/png; this file is application/pdf."]
    }
    assert Message.objects.count() == 0


def test_references_must_be_of_this_conversation_and_organization(
    org, other_org, agent_client, conversation, fake_meta
):
    elsewhere = MessageFactory(organization=org)  # another conversation of the organization
    foreign_media = MediaFactory(organization=other_org)
    unsent = MessageFactory(
        organization=org, conversation=conversation, direction="outbound", status="queued", provider_message_id=None
    )

    replies = [
        send(agent_client, conversation, {"type": "text", "text": "x", "reply_to": elsewhere.pk}),
        send(agent_client, conversation, {"type": "reaction", "reaction": {"message_id": unsent.pk, "emoji": "👍"}}),
        send(agent_client, conversation, {"type": "image", "media_id": foreign_media.pk}),
    ]

    assert [(r.status_code, r.json()["errors"]) for r in replies] == [
        (400, {"reply_to": ["No such message in this conversation."]}),
        (400, {"reaction": ["That message has not reached WhatsApp yet (it has no WhatsApp id)."]}),
        (400, {"media_id": ["No such uploaded media in this organization (upload it with POST media/ first)."]}),
    ]
    assert Message.objects.filter(direction="outbound").count() == 1  # only `unsent`
    assert fake_meta.requests == []


# --- permissions ------------------------------------------------------------------------------------------


def test_marketing_cannot_send(marketing_client, conversation, fake_meta):
    response = send(marketing_client, conversation, {"type": "text", "text": "Buy now"})

    assert response.status_code == 403
    assert Message.objects.count() == 0
    assert fake_meta.requests == []


def test_another_organizations_conversation_is_a_404_and_nothing_is_sent(other_org, agent_client, fake_meta):
    foreign = open_conversation(other_org)
    before = Conversation.objects.filter(pk=foreign.pk).values().get()

    response = send(agent_client, foreign, {"type": "text", "text": "Hello"})

    assert response.status_code == 404
    assert Conversation.objects.filter(pk=foreign.pk).values().get() == before
    assert Message.objects.count() == 0
    assert fake_meta.requests == []
