"""GET messages (the organization's messages across conversations: filters, cursor pages, one query a page) and
POST messages (reaching a phone in one call: the contact and conversation found or created, the 24-hour window on
Cloud and sandbox numbers, WhatsApp Web numbers starting chats, races, refusals before anything is stored)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import WINDOW_CLOSED_DETAIL, Contact, Conversation, Message, Provider
from messaging.services import conversations as services
from tests.factories import OrganizationFactory
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import (
    api_key_client,
    cloud_number,
    committed,
    open_conversation,
    waha_number,
)
from tests.races import committed_meanwhile

URL = "/api/v1/messages"
OUT, IN = Message.Direction.OUTBOUND, Message.Direction.INBOUND
TEMPLATE = {"name": "order_update", "language": "en_US"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


# --- GET: across conversations --------------------------------------------------------------------------------


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def history(org, other_org):
    """Two conversations of one contact (two numbers) and one of another contact, a message a day (March 1-6)."""
    contact = ContactFactory(organization=org)
    first = ConversationFactory(organization=org, contact=contact)
    second = ConversationFactory(organization=org, contact=contact)
    third = ConversationFactory(organization=org)
    rows = [
        (first, IN, 1),
        (first, OUT, 2),
        (second, IN, 3),
        (third, OUT, 4),
        (third, IN, 5),
        (second, OUT, 6),
    ]
    messages = [
        MessageFactory(organization=org, conversation=conversation, direction=direction, created_at=_at(day))
        for conversation, direction, day in rows
    ]
    MessageFactory(organization=other_org, created_at=_at(6))
    return {"contact": contact, "conversations": (first, second, third), "messages": messages}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_it_lists_the_organizations_messages_newest_first_with_their_conversation_and_contact(history, agent_client):
    response = agent_client.get(URL)

    newest = history["messages"][-1]
    assert _ids(response) == [message.pk for message in reversed(history["messages"])]
    first = response.json()["results"][0]
    assert (first["conversation_id"], first["contact_id"], first["direction"]) == (
        newest.conversation_id,
        history["contact"].pk,
        "outbound",
    )
    assert first["contact_name"] == history["contact"].name
    assert response.json()["next"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda h: {"contact_id": h["contact"].pk}, [5, 2, 1, 0]),
        (lambda h: {"conversation_id": h["conversations"][1].pk}, [5, 2]),
        (lambda h: {"direction": "inbound"}, [4, 2, 0]),
        (lambda h: {"number_id": h["conversations"][2].number_id}, [4, 3]),
        (lambda h: {"created_after": "2026-03-03T12:00:00Z", "created_before": "2026-03-05T12:00:00Z"}, [3, 2]),
        (lambda h: {"created_after": "2026-03-05T14:00:00+02:00"}, [5, 4]),
        (lambda h: {"created_before": "2026-03-02"}, [0]),
        (lambda h: {"contact_id": h["contact"].pk, "direction": "outbound"}, [5, 1]),
    ],
)
def test_filters(history, agent_client, params, expected):
    response = agent_client.get(URL, params(history))

    assert _ids(response) == [history["messages"][index].pk for index in expected]


def test_pages_follow_the_cursor_in_one_query_each_without_a_count(history, agent_client):
    seen = []
    url, params = URL, {"page_size": 4}
    while url:
        with CaptureQueriesContext(connection) as queries:
            body = agent_client.get(url, params).json()
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], None
        # Authentication (the user, the membership) and the page, contact and media joined.
        assert len(queries.captured_queries) == 3
        page = queries.captured_queries[-1]["sql"].upper()
        assert "COUNT(" not in page
        assert "OFFSET" not in page

    assert seen == [message.pk for message in reversed(history["messages"])]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plan")
def test_a_later_page_is_a_range_scan_of_the_time_index(org, agent_client):
    conversation = ConversationFactory(organization=org)
    Message.objects.bulk_create(
        Message(organization=org, conversation=conversation, direction=IN, created_at=_at(1) + timedelta(minutes=i))
        for i in range(200)
    )
    next_page = agent_client.get(URL, {"page_size": 10}).json()["next"]
    with CaptureQueriesContext(connection) as queries:
        agent_client.get(next_page)
    [sql] = [query["sql"] for query in queries.captured_queries if 'FROM "messaging_message"' in query["sql"]]

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using messaging_msg_org_created" in plan, plan
    # Rows come in the index's order (at most an incremental sort of equal times by id): the LIMIT stops the scan.
    assert not re.search(r"(?<!Incremental )Sort  \(", plan), plan


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"created_after": "yesterday"}, ["created_after"]),
        ({"created_before": "2026-02-30T00:00:00Z"}, ["created_before"]),
        ({"created_after": "2026-03-05", "created_before": "2026-03-05"}, ["created_before"]),
        ({"direction": "sideways"}, ["direction"]),
        ({"contact_id": "0"}, ["contact_id"]),
        ({"conversation_id": "99999999999999999999"}, ["conversation_id"]),
        ({"cursor": "not-a-cursor"}, ["cursor"]),
        ({"page_size": "0"}, ["page_size"]),
        ({"contact": "1"}, ["contact"]),
    ],
)
def test_bad_query_parameters_are_a_400_naming_them(agent_client, params, errors):
    response = agent_client.get(URL, params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == errors


def test_extreme_time_offsets_are_a_400_or_an_answer_never_a_500(history, agent_client):
    for value in ("2026-03-01T00:00:00+23:59", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        assert agent_client.get(URL, {"created_after": value}).status_code in (200, 400), value


def test_marketing_cannot_read_the_inbox(marketing_client):
    assert marketing_client.get(URL).status_code == 403


# --- POST: reaching a phone -------------------------------------------------------------------------------------


def _send(client, body: dict, *, multipart: bool = False):
    return committed(client.post, URL, body, format="multipart" if multipart else "json")


def test_a_new_phone_on_a_cloud_number_needs_a_template_and_nothing_is_left_behind(org, agent_client, fake_meta):
    number = cloud_number(org)

    response = _send(agent_client, {"to": "+966 50 123 4567", "number_id": number.pk, "type": "text", "text": "Hi"})

    assert response.status_code == 409
    assert response.json() == {"detail": WINDOW_CLOSED_DETAIL, "code": "window_closed"}
    assert "template" in WINDOW_CLOSED_DETAIL
    assert (Contact.objects.count(), Conversation.objects.count(), Message.objects.count()) == (0, 0, 0)
    assert fake_meta.requests == []


def test_a_template_to_a_new_phone_creates_the_contact_and_conversation(org, agent_client, agent_membership, fake_meta):
    number = cloud_number(org)

    response = _send(
        agent_client, {"to": "00966501234567", "number_id": number.pk, "type": "template", "template": TEMPLATE}
    )

    assert response.status_code == 201, response.json()
    contact, conversation, message = Contact.objects.get(), Conversation.objects.get(), Message.objects.get()
    assert (contact.phone, contact.wa_id) == ("+966501234567", "966501234567")
    assert (conversation.contact_id, conversation.number_id) == (contact.pk, number.pk)
    body = response.json()
    assert (body["id"], body["conversation_id"], body["contact_id"]) == (message.pk, conversation.pk, contact.pk)
    assert (body["type"], body["status"], body["direction"], body["sent_by"]) == (
        "template",
        "queued",
        "outbound",
        agent_membership.user_id,
    )
    [sent] = fake_meta.sends()
    assert (sent["to"], sent["type"], sent["template"]["name"]) == ("+966501234567", "template", "order_update")
    message.refresh_from_db()
    assert message.status == "sent"


def test_a_customer_inside_the_window_gets_text_in_their_existing_conversation(org, agent_client, fake_meta):
    conversation = open_conversation(org, number=cloud_number(org))
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=conversation.number.phone_number_id)

    response = _send(
        agent_client,
        {"to": conversation.contact.wa_id, "number_id": conversation.number_id, "type": "text", "text": "On its way"},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["conversation_id"] == conversation.pk
    assert (Contact.objects.count(), Conversation.objects.count()) == (1, 1)
    assert [sent["text"]["body"] for sent in fake_meta.sends()] == ["On its way"]


def test_the_window_is_per_number_a_customer_who_wrote_elsewhere_still_needs_a_template(org, agent_client, fake_meta):
    wrote_here = open_conversation(org, number=cloud_number(org))
    other_number = cloud_number(org)

    response = _send(
        agent_client,
        {"to": wrote_here.contact.phone, "number_id": other_number.pk, "type": "text", "text": "Hello"},
    )

    assert (response.status_code, response.json()["code"]) == (409, "window_closed")
    assert Conversation.objects.count() == 1


def test_a_whatsapp_web_number_starts_a_chat_with_a_new_phone(org, agent_client, fake_waha):
    fake_waha.add_session("default")
    number = waha_number(org)

    response = _send(agent_client, {"to": "+966501234567", "number_id": number.pk, "type": "text", "text": "Salam"})

    assert response.status_code == 201, response.json()
    assert fake_waha.sends("sendText") == [
        {"session": "default", "chatId": "966501234567@c.us", "text": "Salam", "linkPreview": False}
    ]
    message = Message.objects.get()
    assert (message.status, message.conversation.contact.phone) == ("sent", "+966501234567")


def test_a_whatsapp_web_number_sends_a_file_to_a_new_phone_from_a_multipart_form(org, agent_client, fake_waha):
    fake_waha.add_session("default")
    number = waha_number(org)
    upload = SimpleUploadedFile("photo.png", PNG, content_type="image/png")

    response = _send(
        agent_client,
        {"to": "+966501234567", "number_id": str(number.pk), "type": "image", "file": upload, "caption": "Receipt"},
        multipart=True,
    )

    assert response.status_code == 201, response.json()
    assert response.json()["media"]["mime_type"] == "image/png"
    [sent] = fake_waha.sends("sendImage")
    assert (sent["chatId"], sent["caption"]) == ("966501234567@c.us", "Receipt")


def test_the_sandbox_keeps_metas_window(org, agent_client):
    number = WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX)

    text = _send(agent_client, {"to": "+16505551234", "number_id": number.pk, "type": "text", "text": "Hi"})
    template = _send(
        agent_client, {"to": "+16505551234", "number_id": number.pk, "type": "template", "template": TEMPLATE}
    )

    assert (text.status_code, text.json()["code"]) == (409, "window_closed")
    assert template.status_code == 201
    assert Message.objects.get().status == "read"  # the sandbox played Meta's statuses back


def test_no_template_to_a_contact_who_opted_out(org, agent_client, fake_meta):
    contact = ContactFactory(organization=org, opted_out=True)
    number = cloud_number(org)

    response = _send(
        agent_client, {"to": contact.phone, "number_id": number.pk, "type": "template", "template": TEMPLATE}
    )

    assert (response.status_code, response.json()["code"]) == (409, "opted_out")
    assert (Conversation.objects.count(), Message.objects.count()) == (0, 0)
    assert fake_meta.requests == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"to": "12", "type": "template", "template": TEMPLATE}, ["to"]),
        ({"type": "template", "template": TEMPLATE}, ["to"]),
        ({"to": "+966501234567", "number_id": "1", "type": "text", "text": "Hi"}, ["number_id"]),
        ({"to": 966501234567, "type": "text", "text": "Hi"}, ["to"]),
        ({"to": "+966501234567", "type": "text"}, ["text"]),
        ({"to": "+966501234567", "type": "text", "text": "Hi", "phone_number_id": "1"}, ["phone_number_id"]),
        ({"to": "+966501234567", "type": "fax"}, ["type"]),
    ],
)
def test_invalid_input_is_a_400_naming_the_field_before_anything_is_stored(org, agent_client, body, errors):
    number = cloud_number(org)
    body = {"number_id": number.pk, **body}

    response = _send(agent_client, body)

    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == errors
    assert (Contact.objects.count(), Conversation.objects.count()) == (0, 0)


def test_a_list_body_is_a_400(agent_client):
    response = _send(agent_client, [{"to": "+966501234567"}])

    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


def test_another_organizations_number_is_a_400_on_number_id(other_org, agent_client, fake_meta):
    foreign = cloud_number(other_org)

    response = _send(
        agent_client, {"to": "+966501234567", "number_id": foreign.pk, "type": "template", "template": TEMPLATE}
    )

    assert (response.status_code, response.json()["errors"]) == (
        400,
        {"number_id": ["No such WhatsApp number in this organization."]},
    )
    assert Contact.objects.count() == 0
    assert fake_meta.requests == []


def test_marketing_cannot_send_and_an_agent_api_key_sends_as_nobody(org, marketing_client, fake_meta):
    number = cloud_number(org)
    body = {"to": "+966501234567", "number_id": number.pk, "type": "template", "template": TEMPLATE}

    refused = _send(marketing_client, body)
    sent = _send(api_key_client(org), body)

    assert refused.status_code == 403
    assert (sent.status_code, sent.json()["sent_by"]) == (201, None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="races need PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sends_to_one_phone_share_one_contact_and_conversation(fake_meta):
    org = OrganizationFactory()
    number = cloud_number(org)

    def other_request():
        contact = ContactFactory(organization=org, wa_id="966501234567", phone="+966501234567", name="")
        ConversationFactory(organization=org, number=number, contact=contact)

    with committed_meanwhile(other_request):
        message = services.message_send_to_phone(
            organization=org,
            number_id=number.pk,
            to="+966501234567",
            content={"type": "template", "template": TEMPLATE},
            sent_by=None,
        )

    assert Contact.objects.filter(organization=org).count() == 1
    conversation = Conversation.objects.get(organization=org)
    assert message.conversation_id == conversation.pk
    assert message.created_at - conversation.created_at < timedelta(minutes=1)


def test_an_upload_over_the_largest_limit_is_refused_before_reading_it(agent_client):
    response = agent_client.generic(
        "POST", URL, b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(200 * 1024 * 1024)
    )

    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert Contact.objects.count() == 0
