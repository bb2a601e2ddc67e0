"""Phone numbers possible for their country are taken everywhere, Meta's test numbers (+1 555 ...) included;
impossible ones are a 400 naming the field (numbers, contacts, CSV import, conversations/start, sends, sandbox)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import Contact, Conversation, Message, WhatsAppNumber
from messaging.phones import InvalidPhoneNumber, e164_from_wa_id, normalize_phone
from tests.messaging.factories import ContactFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import cloud_number, committed, open_conversation, send

# +1 555 is no area code in service (is_valid_number says no), but it is a possible US number: Meta gives these
# to every developer as test numbers.
META_TEST_NUMBER = "+1 555 555 0100"
META_TEST_E164 = "+15555550100"
TOO_SHORT = "+1 555 0100"  # seven digits: a local number without its area code
TOO_SHORT_MESSAGE = (
    "'+1 555 0100' is not a possible phone number (a local number: give it with its country and area code)."
)
TEMPLATE = {"name": "hello_world", "language": "en_US"}


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        (META_TEST_NUMBER, META_TEST_E164),
        ("15551234567", "+15551234567"),  # a wa_id of a Meta test number
        ("+44 7700 900123", "+447700900123"),  # Ofcom's range for fiction
        ("+966 50 123 4567", "+966501234567"),
        ("00966501234567", "+966501234567"),
    ],
)
def test_a_possible_number_is_normalised_to_e164(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (TOO_SHORT, TOO_SHORT_MESSAGE),
        ("+1555", "'+1555' is not a possible phone number (too short for its country)."),
        ("+96650123456789012", "'+96650123456789012' is not a possible phone number (too long for its country)."),
        ("call me", "'call me' is not a phone number."),
        ("", "A phone number is required."),
    ],
)
def test_an_impossible_number_is_refused_with_the_reason(raw, message):
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalize_phone(raw)

    assert str(refused.value) == message


def test_a_wa_id_of_a_test_number_has_a_phone():
    assert (e164_from_wa_id("15555550100"), e164_from_wa_id("1555")) == (META_TEST_E164, "")


# --- through the API ----------------------------------------------------------------------------------------


def test_the_numbers_api_connects_a_meta_test_number(org, admin_client):
    body = {"display_name": "Test line", "provider": "sandbox", "phone_number": META_TEST_NUMBER}

    created = admin_client.post("/api/v1/numbers", body, format="json")
    refused = admin_client.post("/api/v1/numbers", {**body, "phone_number": TOO_SHORT}, format="json")

    assert (created.status_code, created.json()["phone_number"]) == (201, META_TEST_E164)
    assert (refused.status_code, refused.json()["errors"]) == (400, {"phone_number": [TOO_SHORT_MESSAGE]})
    assert list(WhatsAppNumber.objects.for_org(org).values_list("phone_number", flat=True)) == [META_TEST_E164]


def test_the_contacts_api_takes_a_meta_test_number(org, admin_client):
    created = admin_client.post("/api/v1/contacts", {"name": "Tester", "phone": META_TEST_NUMBER}, format="json")
    refused = admin_client.post("/api/v1/contacts", {"name": "Short", "phone": TOO_SHORT}, format="json")
    changed = admin_client.patch(
        f"/api/v1/contacts/{created.json()['id']}", {"phone": "+1 555 555 0199"}, format="json"
    )

    assert (created.status_code, created.json()["phone"], created.json()["wa_id"]) == (
        201,
        META_TEST_E164,
        "15555550100",
    )
    assert (refused.status_code, refused.json()["errors"]) == (400, {"phone": [TOO_SHORT_MESSAGE]})
    assert (changed.status_code, changed.json()["phone"]) == (200, "+15555550199")
    assert list(Contact.objects.for_org(org).values_list("name", "phone")) == [("Tester", "+15555550199")]


def test_a_csv_import_takes_meta_test_numbers_and_skips_impossible_ones(org, admin_client):
    csv_text = f"name,number\nTester,{META_TEST_NUMBER}\nWa id,15555550101\nShort,{TOO_SHORT}\n"
    upload = SimpleUploadedFile("contacts.csv", csv_text.encode(), content_type="text/csv")

    response = admin_client.post("/api/v1/contacts/import", {"file": upload}, format="multipart")

    assert response.status_code == 200
    assert response.json() == {
        "total_rows": 3,
        "imported": 2,
        "updated": 0,
        "skipped": 1,
        "errors": [f"Row 4: invalid number {TOO_SHORT!r}."],
    }
    assert sorted(Contact.objects.for_org(org).values_list("name", "phone")) == [
        ("Tester", META_TEST_E164),
        ("Wa id", "+15555550101"),
    ]


def test_a_conversation_starts_with_a_meta_test_number(org, agent_client, fake_meta):
    number = cloud_number(org)

    started = committed(
        agent_client.post,
        "/api/v1/conversations/start",
        {"phone": META_TEST_NUMBER, "number_id": number.pk, "template": TEMPLATE},
        format="json",
    )
    refused = committed(
        agent_client.post,
        "/api/v1/conversations/start",
        {"phone": TOO_SHORT, "number_id": number.pk, "template": TEMPLATE},
        format="json",
    )

    assert started.status_code == 201, started.content
    assert started.json()["conversation"]["contact"]["phone"] == META_TEST_E164
    assert [body["to"] for body in fake_meta.sends()] == [META_TEST_E164]
    assert (refused.status_code, refused.json()["errors"]) == (400, {"phone": [TOO_SHORT_MESSAGE]})
    assert (Contact.objects.count(), Conversation.objects.count(), Message.objects.count()) == (1, 1, 1)


def test_a_message_goes_to_a_contact_with_a_meta_test_number(org, agent_client, fake_meta):
    number = cloud_number(org)
    contact = ContactFactory(organization=org, wa_id="15555550100", phone=META_TEST_E164)
    conversation = open_conversation(org, number=number, contact=contact)
    fake_meta.open_window(contact.wa_id, phone_number_id=number.phone_number_id)

    response = send(agent_client, conversation, {"type": "text", "text": "Hello tester"})

    assert response.status_code == 202
    assert Message.objects.get().status == "sent"
    assert [(body["to"], body["text"]) for body in fake_meta.sends()] == [(META_TEST_E164, {"body": "Hello tester"})]


def test_the_sandbox_takes_a_customer_with_a_meta_test_number(org, agent_client):
    number = WhatsAppNumberFactory(organization=org, provider="sandbox", phone_number_id="", is_primary=True)

    accepted = committed(
        agent_client.post, "/api/v1/sandbox/inbound", {"from": META_TEST_NUMBER, "text": "Hi"}, format="json"
    )
    refused = agent_client.post("/api/v1/sandbox/inbound", {"from": TOO_SHORT, "text": "Hi"}, format="json")

    assert accepted.status_code == 202, accepted.content
    assert accepted.json()["number_id"] == number.pk
    assert list(Contact.objects.for_org(org).values_list("wa_id", "phone")) == [("15555550100", META_TEST_E164)]
    assert (refused.status_code, refused.json()["errors"]) == (400, {"from": [TOO_SHORT_MESSAGE]})


def test_a_whatsapp_web_session_links_a_meta_test_number(org, admin_client, fake_waha):
    number = WhatsAppNumberFactory(
        organization=org,
        provider="waha",
        phone_number="",
        phone_number_id="",
        access_token="",
        app_secret="",
        verify_token="",
        waha_session=f"org{org.pk}-web",
        waha_api_key=fake_waha.api_key,
    )
    fake_waha.add_session(number.waha_session, status="SCAN_QR_CODE")
    url = f"/api/v1/numbers/{number.pk}"

    code = admin_client.post(f"{url}/pairing-code", {"phone_number": META_TEST_NUMBER}, format="json")
    refused = admin_client.post(f"{url}/pairing-code", {"phone_number": TOO_SHORT}, format="json")
    fake_waha.enter_pairing_code(number.waha_session, phone="15555550100", push_name="Tester")
    linked = admin_client.get(f"{url}/session")

    assert (code.status_code, fake_waha.session(number.waha_session).pairing_phone) == (200, "15555550100")
    assert (refused.status_code, refused.json()["errors"]) == (400, {"phone_number": [TOO_SHORT_MESSAGE]})
    assert linked.json()["status"] == "WORKING"
    number.refresh_from_db()
    assert number.phone_number == META_TEST_E164
