"""Where outbound webhook events come from: messaging's and campaigns' hooks, through the real paths (a Meta webhook
through the fake Graph API, the API's sends, assignments and contact edits, a campaign), delivered to a local
receiver; and what emitting costs: nothing but a cache read when nobody subscribes, no query per message when
someone does."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automation import events
from automation.models import WebhookDelivery
from campaigns import services as campaign_services
from messaging.models import Contact, Conversation, Message
from tests.automation.webhooks_support import WebhookEndpointFactory, posted_events, receiving_endpoint
from tests.campaigns.support import sandbox_campaign
from tests.messaging.factories import ContactFactory, MessageFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import committed, deliver_meta_webhooks, open_conversation, send

CUSTOMER = "16505551234"


@pytest.fixture
def receiver(settings, webhook_receiver):
    return webhook_receiver


def subscribe(settings, receiver, org, *event_types):
    return receiving_endpoint(settings, receiver, org, events=list(event_types))


def received(receiver) -> list[tuple[str, dict]]:
    return [(event["type"], event["data"]) for event in posted_events(receiver)]


def test_a_customer_message_through_meta_s_webhook_reaches_the_receiver(client, org, settings, receiver, fake_meta):
    subscribe(settings, receiver, org, "message.received", "contact.created", "conversation.created")
    number = WhatsAppNumberFactory(organization=org)
    fake_meta.send_inbound(CUSTOMER, text="Is my order ready?", name="Sheena", phone_number_id=number.phone_number_id)

    deliver_meta_webhooks(client, fake_meta, org, number)

    message = Message.objects.get()
    conversation, contact = message.conversation, message.conversation.contact
    assert received(receiver) == [
        (
            "contact.created",
            {
                "contact_id": contact.pk,
                "phone": "+16505551234",
                "wa_id": CUSTOMER,
                "name": "Sheena",
                "tags": [],
                "opted_out": False,
            },
        ),
        (
            "conversation.created",
            {
                "conversation_id": conversation.pk,
                "contact_id": contact.pk,
                "number_id": number.pk,
                "phone": "+16505551234",
                "contact_name": "Sheena",
                "status": "open",
                "assigned_to": None,
                "team": None,
                "created_at": conversation.created_at.isoformat().replace("+00:00", "Z"),
            },
        ),
        (
            "message.received",
            {
                "message_id": message.pk,
                "conversation_id": conversation.pk,
                "contact_id": contact.pk,
                "number_id": number.pk,
                "phone": "+16505551234",
                "contact_name": "Sheena",
                "type": "text",
                "text": "Is my order ready?",
                "provider_message_id": message.provider_message_id,
                "timestamp": message.provider_timestamp.isoformat().replace("+00:00", "Z"),
            },
        ),
    ]


def test_a_meta_redelivery_announces_nothing_twice(client, org, settings, receiver, fake_meta):
    subscribe(settings, receiver, org, "message.received", "contact.created", "conversation.created")
    number = WhatsAppNumberFactory(organization=org)
    fake_meta.send_inbound(CUSTOMER, text="Hello", phone_number_id=number.phone_number_id)
    fake_meta.webhook_url = None
    payloads = list(fake_meta.pending_payloads)

    deliver_meta_webhooks(client, fake_meta, org, number)
    fake_meta.pending_payloads.extend(payloads)  # Meta posts the same webhook again
    deliver_meta_webhooks(client, fake_meta, org, number)

    assert [kind for kind, _ in received(receiver)] == ["contact.created", "conversation.created", "message.received"]


def test_a_second_message_of_a_known_customer_is_only_a_message(client, org, settings, receiver, fake_meta):
    subscribe(settings, receiver, org, "message.received", "contact.created", "conversation.created")
    number = WhatsAppNumberFactory(organization=org)
    for text in ("One", "Two"):
        fake_meta.send_inbound(CUSTOMER, text=text, phone_number_id=number.phone_number_id)
        deliver_meta_webhooks(client, fake_meta, org, number)

    kinds = [(kind, data.get("text")) for kind, data in received(receiver)]
    assert kinds == [
        ("contact.created", None),
        ("conversation.created", None),
        ("message.received", "One"),
        ("message.received", "Two"),
    ]


def test_a_batch_of_messages_is_one_event_each_with_its_own_id(client, org, settings, receiver, fake_meta):
    subscribe(settings, receiver, org, "message.received")
    number = WhatsAppNumberFactory(organization=org)
    for n in range(5):
        fake_meta.send_inbound(f"1650555{n:04d}", text=f"Hi {n}", phone_number_id=number.phone_number_id)

    deliver_meta_webhooks(client, fake_meta, org, number)

    bodies = posted_events(receiver)
    assert sorted(body["data"]["text"] for body in bodies) == [f"Hi {n}" for n in range(5)]
    assert len({body["id"] for body in bodies}) == 5


def test_statuses_of_a_send_become_message_status_events(client, org, settings, receiver, fake_meta, admin_client):
    subscribe(settings, receiver, org, "message.status")
    conversation = open_conversation(org, number=WhatsAppNumberFactory(organization=org))
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=conversation.number.phone_number_id)

    send(admin_client, conversation, {"type": "text", "text": "On its way"})
    deliver_meta_webhooks(client, fake_meta, org, conversation.number)

    message = Message.objects.get(direction="outbound")
    statuses = [(data["message_id"], data["status"], data["error"]) for _, data in received(receiver)]
    # The send's answer moves it to sent; delivered and read come in one webhook, where the latest status wins.
    assert statuses == [(message.pk, "sent", None), (message.pk, "read", None)]
    assert received(receiver)[0][1]["phone"] == conversation.contact.phone


def test_a_failed_send_carries_its_error(client, org, settings, receiver, fake_meta, admin_client):
    subscribe(settings, receiver, org, "message.status")
    conversation = open_conversation(org, number=WhatsAppNumberFactory(organization=org))
    # The fake's window for this customer is closed: Meta accepts the text, then fails it with 131047.

    send(admin_client, conversation, {"type": "text", "text": "Hello?"})
    deliver_meta_webhooks(client, fake_meta, org, conversation.number)

    message = Message.objects.get()
    assert (message.status, message.error_code) == ("failed", 131047)
    assert [(data["status"], data["error"]) for _, data in received(receiver)] == [
        ("sent", None),
        ("failed", {"code": 131047, "title": message.error_title}),
    ]
    assert message.error_title


def test_assigning_and_closing_a_conversation(org, settings, receiver, admin_client, agent_membership):
    subscribe(settings, receiver, org, "conversation.assigned", "conversation.updated")
    conversation = open_conversation(org)
    url = f"/api/v1/conversations/{conversation.pk}"

    committed(admin_client.patch, url, {"assigned_to": agent_membership.user_id}, format="json")
    committed(admin_client.patch, url, {"status": "closed"}, format="json")

    user = agent_membership.user
    assert [(kind, data.get("changed"), data["status"], data["assigned_to"]) for kind, data in received(receiver)] == [
        ("conversation.updated", ["assigned_to"], "open", {"id": user.pk, "name": user.name, "email": user.email}),
        ("conversation.assigned", None, "open", {"id": user.pk, "name": user.name, "email": user.email}),
        ("conversation.updated", ["status"], "closed", {"id": user.pk, "name": user.name, "email": user.email}),
    ]


def test_a_customer_writing_to_a_closed_conversation_reopens_it(client, org, settings, receiver, fake_meta):
    subscribe(settings, receiver, org, "conversation.updated")
    number = WhatsAppNumberFactory(organization=org)
    contact = ContactFactory(organization=org, wa_id=CUSTOMER, phone=f"+{CUSTOMER}")
    conversation = Conversation.objects.create(
        organization=org,
        number=number,
        contact=contact,
        status="closed",
        last_message_at=timezone.now() - timedelta(days=1),
    )
    fake_meta.send_inbound(CUSTOMER, text="Back again", phone_number_id=number.phone_number_id)

    deliver_meta_webhooks(client, fake_meta, org, number)

    assert [(kind, data["conversation_id"], data["status"], data["changed"]) for kind, data in received(receiver)] == [
        ("conversation.updated", conversation.pk, "open", ["status"])
    ]


def test_a_first_send_to_a_phone_creates_the_contact_and_the_conversation(org, settings, receiver, admin_client):
    subscribe(settings, receiver, org, "contact.created", "conversation.created")
    number = WhatsAppNumberFactory(organization=org, provider="sandbox")
    body = {
        "to": "+966501234567",
        "number_id": number.pk,
        "type": "template",
        "template": {"name": "hi", "language": "en_US"},
    }

    response = committed(admin_client.post, "/api/v1/messages/", body, format="json")

    assert response.status_code == 201, response.json()
    contact = Contact.objects.get(wa_id="966501234567")
    conversation = Conversation.objects.get(contact=contact)
    assert [(kind, data.get("contact_id"), data.get("conversation_id")) for kind, data in received(receiver)] == [
        ("contact.created", contact.pk, None),
        ("conversation.created", contact.pk, conversation.pk),
    ]


def test_contacts_created_and_changed_by_hand(org, settings, receiver, admin_client):
    subscribe(settings, receiver, org, "contact.created", "contact.updated")

    created = committed(
        admin_client.post,
        "/api/v1/contacts/",
        {"phone": "+966501112233", "name": "Huda", "tags": ["vip"]},
        format="json",
    ).json()
    committed(admin_client.patch, f"/api/v1/contacts/{created['id']}", {"name": "Huda A.", "tags": []}, format="json")

    assert received(receiver) == [
        (
            "contact.created",
            {
                "contact_id": created["id"],
                "phone": "+966501112233",
                "wa_id": "966501112233",
                "name": "Huda",
                "tags": ["vip"],
                "opted_out": False,
            },
        ),
        (
            "contact.updated",
            {
                "contact_id": created["id"],
                "phone": "+966501112233",
                "wa_id": "966501112233",
                "name": "Huda A.",
                "tags": [],
                "opted_out": False,
                "changed": ["name", "tags"],
            },
        ),
    ]


def test_an_import_announces_new_and_changed_contacts_in_one_event_each(org, settings, receiver, admin_client):
    subscribe(settings, receiver, org, "contact.created", "contact.updated")
    known = ContactFactory(organization=org, wa_id="966501000001", phone="+966501000001", name="Old name")
    csv = "name,number,tags\nNew name,+966501000001,\nAli,+966501000002,vip\nSara,+966501000003,\n"
    upload = SimpleUploadedFile("contacts.csv", csv.encode(), content_type="text/csv")

    response = committed(admin_client.post, "/api/v1/contacts/import", {"file": upload}, format="multipart")

    assert response.status_code == 200, response.json()
    new_ids = set(Contact.objects.exclude(pk=known.pk).values_list("pk", flat=True))
    kinds = [(kind, data["contact_id"], data.get("changed")) for kind, data in received(receiver)]
    assert sorted(kinds[:2]) == sorted(("contact.created", pk, None) for pk in new_ids)
    assert kinds[2:] == [("contact.updated", known.pk, ["name"])]


def test_opting_out_and_back_in(client, org, settings, receiver, fake_meta):
    subscribe(settings, receiver, org, "contact.opted_out", "contact.opted_in")
    number = WhatsAppNumberFactory(organization=org)
    for text in ("STOP", "START"):
        fake_meta.send_inbound(CUSTOMER, text=text, phone_number_id=number.phone_number_id)
        deliver_meta_webhooks(client, fake_meta, org, number)

    contact = Contact.objects.get()
    assert [(kind, data["contact_id"], data["opted_out"]) for kind, data in received(receiver)] == [
        ("contact.opted_out", contact.pk, True),
        ("contact.opted_in", contact.pk, False),
    ]


def test_a_campaign_that_finishes_sending_is_announced_once(org, settings, receiver):
    subscribe(settings, receiver, org, "campaign.completed")
    campaign = sandbox_campaign(org)

    committed(campaign_services.campaign_start, campaign=campaign, actor=None)
    committed(campaign_services.campaigns_sweep)

    [(kind, data)] = received(receiver)
    campaign.refresh_from_db()
    assert (kind, data["campaign_id"], data["status"], data["total"], data["sent"]) == (
        "campaign.completed",
        campaign.pk,
        "completed",
        1,
        1,
    )
    assert data["finished_at"] == campaign.finished_at.isoformat().replace("+00:00", "Z")


def test_a_campaign_s_first_message_to_a_contact_opens_a_conversation_announced_once(org, settings, receiver):
    subscribe(settings, receiver, org, "conversation.created")
    campaign = sandbox_campaign(org)

    committed(campaign_services.campaign_start, campaign=campaign, actor=None)

    [conversation] = Conversation.objects.filter(organization=org)
    assert [(kind, data["conversation_id"], data["contact_id"]) for kind, data in received(receiver)] == [
        ("conversation.created", conversation.pk, campaign.contact_ids[0])
    ]


def test_a_campaign_with_nobody_to_send_to_completes_at_start_and_is_announced(org, settings, receiver):
    subscribe(settings, receiver, org, "campaign.completed")
    campaign = sandbox_campaign(org)
    Contact.objects.filter(pk__in=campaign.contact_ids).update(opted_out=True)

    committed(campaign_services.campaign_start, campaign=campaign, actor=None)

    assert [(kind, data["status"], data["skipped"]) for kind, data in received(receiver)] == [
        ("campaign.completed", "completed", 1)
    ]


def test_the_flows_helper_s_emit_reaches_subscribers_of_flow_completed(org, settings, receiver):
    subscribe(settings, receiver, org, "flow.completed")

    committed(events.emit, organization_id=org.pk, type="flow.completed", data={"flow_id": 3, "run_id": 41})

    assert received(receiver) == [("flow.completed", {"flow_id": 3, "run_id": 41})]


# --- what emitting costs ---------------------------------------------------------------------------------------


def _queries(call, *args, **kwargs) -> int:
    with CaptureQueriesContext(connection) as context:
        committed(call, *args, **kwargs)
    return len(context.captured_queries)


def test_with_no_endpoint_a_batch_costs_one_query_then_none(org, other_org):
    WebhookEndpointFactory(organization=org, events=["contact.created"])  # another type
    WebhookEndpointFactory(organization=other_org, events=["message.received"])  # another organization
    message_ids = [MessageFactory(organization=org).pk for _ in range(50)]

    cold = _queries(events.on_message_received, organization_id=org.pk, message_ids=message_ids)
    warm = _queries(events.on_message_received, organization_id=org.pk, message_ids=message_ids)
    statuses = _queries(
        events.on_message_status_changed, organization_id=org.pk, changes=[(pk, "read", None) for pk in message_ids]
    )

    assert (cold, warm, statuses) == (1, 0, 0)
    assert WebhookDelivery.objects.count() == 0


def test_with_a_subscriber_the_queries_do_not_grow_with_the_batch(org, settings, receiver):
    subscribe(settings, receiver, org, "message.received")
    one = [MessageFactory(organization=org).pk]
    twenty = [MessageFactory(organization=org).pk for _ in range(20)]
    _queries(events.on_message_received, organization_id=org.pk, message_ids=one)  # warms the cache

    single = _queries(events.on_message_received, organization_id=org.pk, message_ids=one)
    batch = _queries(events.on_message_received, organization_id=org.pk, message_ids=twenty)

    assert single == batch  # read, insert, then one delivery task for up to 20 (claim, endpoints, record)
    assert len(receiver.requests) == 1 + 1 + 20


def test_ingest_with_no_webhook_adds_no_query(client, org, fake_meta):
    """The same inbound batch with automation's subscribers disconnected and connected: the same queries, but for
    one cache read."""
    from messaging import hooks

    number = WhatsAppNumberFactory(organization=org)

    def ingest_queries(prefix: str) -> int:
        for n in range(10):
            fake_meta.send_inbound(f"1650{prefix}{n:05d}", text=f"Hi {n}", phone_number_id=number.phone_number_id)
        with CaptureQueriesContext(connection) as context:
            deliver_meta_webhooks(client, fake_meta, org, number)
        return len(context.captured_queries)

    subscribers = [
        (hooks.message_received, events.on_message_received),
        (hooks.contact_created, events.on_contact_created),
        (hooks.conversation_created, events.on_conversation_created),
    ]
    ingest_queries("11")  # the first batch of the process reads what it caches
    for hook, subscriber in subscribers:
        hook.disconnect(subscriber)
    try:
        without = ingest_queries("22")
    finally:
        for hook, subscriber in subscribers:
            hook.connect(subscriber)
    events.subscriptions_changed(org.pk)
    with_cold_cache = ingest_queries("33")
    with_warm_cache = ingest_queries("44")

    assert with_warm_cache == without
    assert with_cold_cache == without + 1  # the subscriptions read once, then cached
