"""POST sandbox/inbound: a person plays the customer of a sandbox number. The simulator stores the webhook Meta would
post and the real ingest path does the rest (contact, conversation, unread count, opt-out words, live inbox)."""

import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Role
from messaging.models import Contact, Conversation, Message, Provider, WebhookEvent, WhatsAppNumber
from messaging.providers.sandbox import inbound_webhook_for
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import api_key_client, cloud_number, committed, listen_to_inbox, waha_number
from tests.messaging.ingest_support import FIXTURES

URL = "/api/v1/sandbox/inbound"
CUSTOMER = "+16505551234"
CUSTOMER_WA_ID = "16505551234"
NO_NUMBER = "No such WhatsApp number in this organization."


def sandbox_number(org, **fields):
    defaults = {
        "provider": Provider.SANDBOX,
        "phone_number": "+16505550100",
        "phone_number_id": "",
        "waba_id": "",
        "access_token": "",
        "app_secret": "",
        "verify_token": "",
    }
    return WhatsAppNumberFactory(organization=org, **{**defaults, **fields})


@pytest.fixture
def number(org):
    return sandbox_number(org, is_primary=True)


def simulate(client, body: dict):
    """POST as the customer, with the ingest that follows the commit (inline, as in the embedded default)."""
    return committed(client.post, URL, body, format="json")


def inbound(org, wamid: str) -> Message:
    return Message.objects.for_org(org).select_related("conversation__contact").get(provider_message_id=wamid)


def assert_refused(response, errors: dict | None = None, detail: str | None = None) -> dict:
    """A 400 that stored no webhook (so nothing reaches the inbox)."""
    assert response.status_code == 400, response.content
    body = response.json()
    if errors is not None:
        assert body["errors"] == errors
    if detail is not None:
        assert body["detail"] == detail
    assert not WebhookEvent.objects.exists()
    return body


# --- the webhook the sandbox makes up --------------------------------------------------------------------


def test_the_inbound_webhook_is_exactly_what_meta_posts():
    theirs = json.loads((FIXTURES / "meta" / "text_reply.json").read_text())
    message = theirs["entry"][0]["changes"][0]["value"]["messages"][0]

    ours = inbound_webhook_for(
        "106540352242922",
        message["id"],
        wa_id="+16505551234",
        part={"type": "text", "text": {"body": "Yes, the blue one please"}},
        profile_name="Sheena Nelson",
        context=message["context"],
        display_phone_number="15550783881",
        waba_id="102290129340398",
        timestamp=1749416501,
    )

    assert ours == theirs


def test_without_a_quote_there_is_no_context():
    ours = inbound_webhook_for("1", "wamid.x", wa_id="1", part={"type": "text", "text": {"body": "Hi"}})

    assert "context" not in ours["entry"][0]["changes"][0]["value"]["messages"][0]


# --- text into the inbox, through the real ingest path -----------------------------------------------------


def test_a_text_arrives_in_a_new_conversation_with_the_customers_name(org, number, agent_client):
    r = simulate(agent_client, {"from": CUSTOMER, "name": "Sheena Nelson", "text": "Does it come in blue?"})

    assert r.status_code == 202, r.content
    wamid = r.json()["provider_message_id"]
    assert r.json() == {"provider_message_id": wamid, "number_id": number.pk}
    assert wamid.startswith("wamid.sandbox")
    event = WebhookEvent.objects.get()
    assert (event.organization_id, event.source, event.number_id, event.status) == (
        org.pk,
        "sandbox",
        number.pk,
        "processed",
    )
    message = inbound(org, wamid)
    assert (message.direction, message.type, message.text, message.status) == (
        "inbound",
        "text",
        "Does it come in blue?",
        "received",
    )
    contact = message.conversation.contact
    assert (contact.wa_id, contact.phone, contact.profile_name) == (CUSTOMER_WA_ID, CUSTOMER, "Sheena Nelson")
    conversation = Conversation.objects.get()
    assert (conversation.number_id, conversation.contact_id, conversation.unread_count) == (number.pk, contact.pk, 1)

    listed = agent_client.get("/api/v1/conversations").json()["results"]
    assert [(row["id"], row["contact"]["name"], row["unread_count"]) for row in listed] == [
        (conversation.pk, "Sheena Nelson", 1)
    ]
    assert listed[0]["last_message"] == {"text": "Does it come in blue?", "direction": "inbound", "type": "text"}


def test_a_second_message_joins_the_conversation_and_counts_as_unread(org, number, agent_client):
    first = simulate(agent_client, {"from": CUSTOMER, "name": "Sheena", "text": "Hello?"}).json()
    second = simulate(agent_client, {"from": "16505551234", "text": "Anyone there?"}).json()

    conversation = Conversation.objects.get()
    assert conversation.unread_count == 2
    assert Contact.objects.get().profile_name == "Sheena"  # a message without a name keeps the known one
    messages = agent_client.get(f"/api/v1/conversations/{conversation.pk}/messages").json()["results"]
    assert [(m["provider_message_id"], m["direction"], m["text"]) for m in messages] == [
        (second["provider_message_id"], "inbound", "Anyone there?"),
        (first["provider_message_id"], "inbound", "Hello?"),
    ]


def test_a_reply_quotes_a_message_of_the_conversation(org, number, agent_client):
    contact = ContactFactory(organization=org, wa_id=CUSTOMER_WA_ID, phone=CUSTOMER)
    conversation = ConversationFactory(organization=org, number=number, contact=contact)
    ours = MessageFactory(organization=org, conversation=conversation, direction="outbound", status="read")

    r = simulate(agent_client, {"from": CUSTOMER, "text": "Yes please", "reply_to": ours.pk})

    message = inbound(org, r.json()["provider_message_id"])
    assert message.reply_to_provider_id == ours.provider_message_id
    assert message.payload["context"] == {"from": "16505550100", "id": ours.provider_message_id}
    shown = agent_client.get(f"/api/v1/conversations/{conversation.pk}/messages").json()["results"][0]
    assert shown["reply_to"] == {"id": ours.pk, "provider_message_id": ours.provider_message_id}


def test_the_customer_may_quote_their_own_message(org, number, agent_client):
    first = simulate(agent_client, {"from": CUSTOMER, "text": "Order 42"}).json()
    own = inbound(org, first["provider_message_id"])

    r = simulate(agent_client, {"from": CUSTOMER, "text": "Any news?", "reply_to": own.pk})

    assert inbound(org, r.json()["provider_message_id"]).payload["context"] == {
        "from": CUSTOMER_WA_ID,
        "id": own.provider_message_id,
    }


def test_a_reaction_and_a_location(org, number, agent_client):
    contact = ContactFactory(organization=org, wa_id=CUSTOMER_WA_ID, phone=CUSTOMER)
    conversation = ConversationFactory(organization=org, number=number, contact=contact)
    ours = MessageFactory(organization=org, conversation=conversation, direction="outbound", status="read")
    place = {"latitude": 37.44, "longitude": -122.16, "name": "Philz Coffee", "address": "101 Forest Ave"}

    reaction = simulate(
        agent_client, {"from": CUSTOMER, "type": "reaction", "reaction": {"message_id": ours.pk, "emoji": "👍"}}
    )
    location = simulate(agent_client, {"from": CUSTOMER, "type": "location", "location": place})

    reacted = inbound(org, reaction.json()["provider_message_id"])
    assert (reacted.type, reacted.text, reacted.reply_to_provider_id) == ("reaction", "👍", ours.provider_message_id)
    assert reacted.payload["reaction"] == {"message_id": ours.provider_message_id, "emoji": "👍"}
    located = inbound(org, location.json()["provider_message_id"])
    assert (located.type, located.text, located.payload["location"]) == (
        "location",
        "Philz Coffee, 101 Forest Ave",
        place,
    )


def test_stop_through_the_simulator_opts_the_customer_out(org, number, agent_client):
    simulate(agent_client, {"from": CUSTOMER, "text": "Hi"})
    assert Contact.objects.get().opted_out is False

    simulate(agent_client, {"from": CUSTOMER, "text": " stop "})

    contact = Contact.objects.get()
    assert contact.opted_out is True
    assert contact.opted_out_at is not None


def test_the_live_inbox_hears_of_it(org, number, agent_client):
    live = listen_to_inbox(org.pk)

    r = simulate(agent_client, {"from": CUSTOMER, "name": "Sheena", "text": "Live?"})

    created, updated = live(2)
    assert created["event"] == "message.created"
    assert [(m["provider_message_id"], m["text"]) for m in created["data"]["messages"]] == [
        (r.json()["provider_message_id"], "Live?")
    ]
    assert updated["event"] == "conversation.updated"
    assert [(c["contact"]["name"], c["unread_count"]) for c in updated["data"]["conversations"]] == [("Sheena", 1)]


# --- which number ----------------------------------------------------------------------------------------


def test_it_defaults_to_the_primary_sandbox_number_else_the_only_one(org, agent_client):
    cloud_number(org, is_primary=True)
    only = sandbox_number(org)

    assert simulate(agent_client, {"from": CUSTOMER, "text": "Hi"}).json()["number_id"] == only.pk

    WhatsAppNumber.objects.for_org(org).update(is_primary=False)
    primary = sandbox_number(org, is_primary=True)
    r = simulate(agent_client, {"from": CUSTOMER, "text": "Hi again"})

    assert r.json()["number_id"] == primary.pk
    assert inbound(org, r.json()["provider_message_id"]).conversation.number_id == primary.pk


def test_a_chosen_sandbox_number_gets_the_message(org, number, agent_client):
    second = sandbox_number(org)

    r = simulate(agent_client, {"number_id": second.pk, "from": CUSTOMER, "text": "Hi"})

    assert r.json()["number_id"] == second.pk
    assert inbound(org, r.json()["provider_message_id"]).conversation.number_id == second.pk


def test_several_sandbox_numbers_and_none_primary_need_a_choice(org, agent_client):
    sandbox_number(org)
    sandbox_number(org)

    r = simulate(agent_client, {"from": CUSTOMER, "text": "Hi"})

    message = "This organization has several sandbox numbers: choose one with number_id."
    assert_refused(r, errors={"number_id": [message]}, detail=message)


def test_without_a_sandbox_number_the_answer_says_how_to_add_one(org, agent_client):
    cloud_number(org, is_primary=True)

    r = simulate(agent_client, {"from": CUSTOMER, "text": "Hi"})

    body = assert_refused(r)
    assert body["code"] == "no_sandbox_number"
    assert body["detail"].startswith("This organization has no sandbox number to simulate inbound messages on")
    assert '"provider": "sandbox"' in body["detail"]


@pytest.mark.parametrize("make", [cloud_number, waha_number], ids=["cloud", "waha"])
def test_a_cloud_or_waha_number_is_refused(make, org, number, agent_client):
    real = make(org)

    r = simulate(agent_client, {"number_id": real.pk, "from": CUSTOMER, "text": "Hi"})

    detail = assert_refused(r)["errors"]["number_id"][0]
    assert detail.startswith("Inbound messages can only be simulated on sandbox numbers; this is a ")


def test_another_organizations_number_is_refused_like_a_missing_one(org, other_org, number, agent_client):
    theirs = sandbox_number(other_org, is_primary=True)

    foreign = simulate(agent_client, {"number_id": theirs.pk, "from": CUSTOMER, "text": "Hi"})
    missing = simulate(agent_client, {"number_id": theirs.pk + 1000, "from": CUSTOMER, "text": "Hi"})

    assert (
        assert_refused(foreign)
        == assert_refused(missing)
        == {
            "detail": NO_NUMBER,
            "code": "invalid",
            "errors": {"number_id": [NO_NUMBER]},
        }
    )


def test_a_deleted_sandbox_number_is_refused(org, number, agent_client):
    number.deleted_at = number.created_at
    number.save()

    r = simulate(agent_client, {"number_id": number.pk, "from": CUSTOMER, "text": "Hi"})

    assert_refused(r, errors={"number_id": [NO_NUMBER]})


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"from": "12345", "text": "Hi"},
            {"from": ["'12345' is not a possible phone number (too short for its country)."]},
        ),
        ({"from": "", "text": "Hi"}, {"from": ["This field may not be blank."]}),
        ({"text": "Hi"}, {"from": ["This field is required."]}),
        ({"from": CUSTOMER}, {"text": ["This field is required."]}),
        ({"from": CUSTOMER, "text": "  \n "}, {"text": ["The text is empty."]}),
        ({"from": CUSTOMER, "text": "x" * 4097}, {"text": ["Ensure this field has no more than 4096 characters."]}),
        ({"from": CUSTOMER, "text": "Hi", "bogus": 1}, {"bogus": ["Unknown field."]}),
        ({"from": CUSTOMER, "text": "Hi", "type": "image"}, {"type": ['"image" is not a valid choice.']}),
        (
            {"from": CUSTOMER, "text": "Hi", "reaction": {"message_id": 1, "emoji": "👍"}},
            {"reaction": ["Not used by text messages."]},
        ),
        (
            {"from": CUSTOMER, "type": "reaction", "reaction": {"message_id": 1}},
            {"reaction": {"emoji": ["This field is required."]}},
        ),
        (
            {"from": CUSTOMER, "type": "reaction", "reaction": {"message_id": 1, "emoji": "👍"}, "reply_to": 1},
            {"reply_to": ["Not used by reaction messages."]},
        ),
        (
            {"from": CUSTOMER, "text": "Hi", "number_id": 0},
            {"number_id": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
    ids=[
        "bad-phone",
        "blank-phone",
        "no-phone",
        "no-text",
        "empty-text",
        "long-text",
        "unknown-field",
        "unsupported-type",
        "other-types-field",
        "reaction-without-emoji",
        "reaction-reply",
        "number-id-zero",
    ],
)
def test_bad_input_is_400_by_field_and_stores_nothing(body, errors, org, number, agent_client):
    assert_refused(simulate(agent_client, body), errors=errors)


def test_only_messages_of_the_customers_conversation_on_the_number_can_be_quoted(org, other_org, number, agent_client):
    contact = ContactFactory(organization=org, wa_id=CUSTOMER_WA_ID, phone=CUSTOMER)
    other_number = sandbox_number(org)
    elsewhere = [
        MessageFactory(organization=org),  # another customer's conversation
        MessageFactory(
            organization=org, conversation=ConversationFactory(organization=org, number=other_number, contact=contact)
        ),
        MessageFactory(organization=other_org),
    ]
    unsent = MessageFactory(
        organization=org,
        conversation=ConversationFactory(organization=org, number=number, contact=contact),
        direction="outbound",
        status="queued",
        provider_message_id=None,
    )
    not_here = "No such message in this conversation."

    for message in elsewhere:
        r = simulate(agent_client, {"from": CUSTOMER, "text": "Hi", "reply_to": message.pk})
        assert_refused(r, errors={"reply_to": [not_here]})
        reaction = {"message_id": message.pk, "emoji": "👍"}
        r = simulate(agent_client, {"from": CUSTOMER, "type": "reaction", "reaction": reaction})
        assert_refused(r, errors={"reaction": [not_here]})
    r = simulate(agent_client, {"from": CUSTOMER, "text": "Hi", "reply_to": unsent.pk})
    assert_refused(r, errors={"reply_to": ["That message has not reached WhatsApp yet (it has no WhatsApp id)."]})


# --- who may ---------------------------------------------------------------------------------------------


def test_admins_agents_and_their_api_keys_may_play_the_customer(org, number, admin_client, agent_client):
    for client in (admin_client, agent_client, api_key_client(org, role=Role.AGENT)):
        assert simulate(client, {"from": CUSTOMER, "text": "Hi"}).status_code == 202

    assert Conversation.objects.get().unread_count == 3


def test_marketing_and_strangers_may_not(org, number, marketing_client):
    denied = [
        (marketing_client, 403, "Agent or admin role required."),
        (api_key_client(org, role=Role.MARKETING), 403, "Agent or admin role required."),
        (APIClient(), 401, "Authentication credentials were not provided."),
    ]
    for client, status, detail in denied:
        r = simulate(client, {"from": CUSTOMER, "text": "Hi"})

        assert (r.status_code, r.json()) == (status, {"detail": detail})
    assert not WebhookEvent.objects.exists()
    assert not Message.objects.exists()


# --- the README's walk-through, on the demo ---------------------------------------------------------------


def test_the_demo_admin_plays_a_customer_of_the_demo_number(db, embedded_default):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client = APIClient()
    login = client.post("/api/v1/auth/login", {"email": "admin@demo.local", "password": "demo-admin-pass"})
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access_token']}")

    r = simulate(client, {"from": "+14155550123", "name": "Alex", "text": "Hi, is my order ready?"})

    assert r.status_code == 202, r.content
    demo_number = Conversation.objects.get(contact__wa_id="14155550123").number
    assert (r.json()["number_id"], demo_number.phone_number_id) == (demo_number.pk, "sandbox-demo")
    [row] = client.get("/api/v1/conversations", {"search": "Alex"}).json()["results"]
    messages = client.get(f"/api/v1/conversations/{row['id']}/messages").json()["results"]
    assert [(m["direction"], m["text"]) for m in messages] == [("inbound", "Hi, is my order ready?")]
