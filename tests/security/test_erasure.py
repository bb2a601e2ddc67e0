"""Deleting a contact erases them: the raw webhook events holding their data (deleted when only theirs, scrubbed
when other customers' messages share them), their media files after the commit (a file another message still uses
stays), and nothing of anyone else: not another customer's data in a shared event, not another organization's."""

import json

import pytest
from django.test import Client, TestCase
from django.urls import reverse

from accounts.models import AuditLog
from messaging.models import Contact, Conversation, Media, Message, WebhookEvent
from messaging.services import ingest
from tests.fakes import django_client_target
from tests.messaging.factories import ContactFactory, MediaFactory
from tests.messaging.inbox_support import JPEG, cloud_number, open_conversation, send, waha_number
from tests.messaging.ingest_support import PHONE_NUMBER_ID, post_waha, waha_payload

A = "966501110001"  # the customer whose contact is deleted
B = "966502220002"  # another customer of the same number
WAHA_HMAC_KEY = "waha-webhook-key"


@pytest.fixture
def number(org):
    """A Cloud number with the fake Graph API's default phone_number_id (where its customers write)."""
    return cloud_number(org, phone_number_id=PHONE_NUMBER_ID)


@pytest.fixture
def meta(client, fake_meta, org, number):
    """The fake Graph API, posting its webhooks to the organization signed with the number's app secret."""
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = number.app_secret
    return fake_meta


def deliver(meta, *, batch: bool = False, ingest_now: bool = True) -> None:
    """POST the queued webhooks (merged per number with `batch`), ingested at once unless `ingest_now` is False."""
    with TestCase.captureOnCommitCallbacks(execute=ingest_now):
        responses = meta.deliver_webhooks(batch=batch)
    assert [response.status_code for response in responses] == [200] * len(responses)


def delete_contact(client, org, wa_id: str) -> list:
    """DELETE the contact; returns the after-commit callbacks, not run yet."""
    contact = Contact.objects.for_org(org).get(wa_id=wa_id)
    with TestCase.captureOnCommitCallbacks() as callbacks:
        response = client.delete(f"/api/v1/contacts/{contact.pk}")
    assert response.status_code == 204, response.content
    return callbacks


def delete_contact_committed(client, org, wa_id: str) -> None:
    for callback in delete_contact(client, org, wa_id):
        callback()


def event_bodies(org) -> list[dict]:
    return [event.body for event in WebhookEvent.objects.for_org(org).order_by("id")]


def storage_has(name: str) -> bool:
    return Media._meta.get_field("file").storage.exists(name)


# --- raw webhook events --------------------------------------------------------------------------------------


def test_an_event_of_the_contact_alone_is_deleted_and_a_shared_one_scrubbed(org, admin_client, meta):
    meta.send_inbound(A, text="Only mine", name="Alice")
    deliver(meta)
    meta.send_inbound(A, text="Deliver to 12 Palm Street", name="Alice")
    b_message = meta.send_inbound(B, text="Hello from B", name="Bob")
    deliver(meta, batch=True)  # one event, both customers
    shared = WebhookEvent.objects.for_org(org).latest("id")
    WebhookEvent.objects.filter(pk=shared.pk).update(last_error=f"note on {A}\nnote on wamid.x\nanother {A} line")
    assert WebhookEvent.objects.for_org(org).count() == 2

    delete_contact_committed(admin_client, org, A)

    [event] = WebhookEvent.objects.for_org(org)
    assert event.pk == shared.pk
    [value] = [change["value"] for entry in event.body["entry"] for change in entry["changes"]]
    assert value["contacts"] == [{"profile": {"name": "Bob"}, "wa_id": B}]
    assert value["messages"] == [b_message]
    assert A not in json.dumps(event.body)
    assert "Palm Street" not in json.dumps(event.body)
    assert event.last_error == "note on wamid.x"
    assert (event.status, event.dedupe_key) == (shared.status, shared.dedupe_key)
    assert list(Contact.objects.for_org(org).values_list("wa_id", flat=True)) == [B]
    assert list(Message.objects.for_org(org).values_list("text", flat=True)) == ["Hello from B"]
    audit = AuditLog.objects.get(action="contact.delete")
    assert audit.data == {"webhook_events_deleted": 1, "webhook_events_scrubbed": 1, "media_files": 0}


def test_a_scrubbed_event_still_waiting_is_ingested_without_the_contact(org, admin_client, meta):
    meta.send_inbound(A, text="First message", name="Alice")
    deliver(meta)
    meta.send_inbound(A, text="Second message", name="Alice")
    meta.send_inbound(B, text="Hello from B", name="Bob")
    deliver(meta, batch=True, ingest_now=False)
    waiting = WebhookEvent.objects.for_org(org).get(status=WebhookEvent.Status.PENDING)

    delete_contact_committed(admin_client, org, A)
    with TestCase.captureOnCommitCallbacks(execute=True):
        ingest.webhook_events_drain()

    assert list(WebhookEvent.objects.for_org(org).values_list("pk", "status")) == [(waiting.pk, "processed")]
    assert list(Contact.objects.for_org(org).values_list("wa_id", "profile_name")) == [(B, "Bob")]
    assert list(Message.objects.for_org(org).values_list("text", flat=True)) == ["Hello from B"]


def test_the_statuses_of_messages_sent_to_the_contact_go_too(org, admin_client, agent_client, meta):
    meta.send_inbound(A, text="Hi", name="Alice")
    meta.send_inbound(B, text="Hi", name="Bob")
    deliver(meta)  # an event each
    for wa_id in (A, B):
        conversation = Contact.objects.for_org(org).get(wa_id=wa_id).conversations.get()
        assert send(agent_client, conversation, {"type": "text", "text": "Hello!"}).status_code == 202
    deliver(meta, batch=True)  # sent, delivered and read of both replies in one event
    statuses = WebhookEvent.objects.for_org(org).latest("id")
    assert sorted(item["recipient_id"] for item in statuses_of(statuses.body)) == [A, A, A, B, B, B]

    delete_contact_committed(admin_client, org, A)

    events = WebhookEvent.objects.for_org(org).order_by("id")
    assert len(events) == 2  # B's message, and the statuses scrubbed
    assert [message["from"] for message in messages_of(events[0].body)] == [B]
    assert events[1].pk == statuses.pk
    assert [item["recipient_id"] for item in statuses_of(events[1].body)] == [B, B, B]
    assert A not in json.dumps(event_bodies(org))


def test_whatsapp_web_events_of_the_contacts_chat_are_deleted(org, admin_client):
    number = waha_number(org, waha_webhook_hmac_key=WAHA_HMAC_KEY)
    for chat, text in ((A, "From A"), (B, "From B"), (A, "Again from A")):
        payload = waha_payload("message")
        payload["id"] = f"evt_{chat}_{text}"
        payload["payload"].update(
            id=f"false_{chat}@c.us_{text.replace(' ', '')}", body=text, **{"from": f"{chat}@c.us"}
        )
        payload["payload"]["_data"].update(body=text, id={"_serialized": payload["payload"]["id"]})
        assert post_waha(Client(), org.pk, payload, hmac_key=WAHA_HMAC_KEY).status_code == 200  # and ingested
    ack = waha_payload("message_ack")
    ack["payload"].update(id=f"true_{A}@c.us_ABC", to=f"{A}@c.us", **{"from": f"{A}@c.us"})
    assert post_waha(Client(), org.pk, ack, hmac_key=WAHA_HMAC_KEY).status_code == 200
    assert WebhookEvent.objects.for_org(org).filter(number=number).count() == 4

    delete_contact_committed(admin_client, org, A)

    [event] = WebhookEvent.objects.for_org(org)
    assert (event.body["payload"]["from"], event.body["payload"]["body"]) == (f"{B}@c.us", "From B")


def test_other_customers_and_other_organizations_keep_their_events(org, other_org, admin_client, meta, client):
    meta.send_inbound(A, text="Mine", name="Alice")
    meta.send_inbound(B, text=f"My friend {A} wants one too", name="Bob")  # names A's number: not A's data
    deliver(meta)
    elsewhere = cloud_number(other_org)
    meta.webhook_url = django_client_target(client, f"/webhooks/meta/{other_org.pk}/")
    meta.app_secret = elsewhere.app_secret
    meta.send_inbound(A, text="Mine, to another business", name="Alice", phone_number_id=elsewhere.phone_number_id)
    deliver(meta)
    kept = WebhookEvent.objects.for_org(org).latest("id")
    other = WebhookEvent.objects.for_org(other_org).get()

    delete_contact_committed(admin_client, org, A)

    assert [event.pk for event in WebhookEvent.objects.for_org(org)] == [kept.pk]
    assert WebhookEvent.objects.for_org(org).get().body == kept.body
    assert WebhookEvent.objects.for_org(other_org).get().body == other.body
    assert Contact.objects.for_org(other_org).filter(wa_id=A).count() == 1


def test_deleting_a_contact_in_the_django_admin_is_their_erasure(org, meta, staff_browser):
    meta.send_inbound(A, {"type": "image", "image": {"caption": "My receipt"}}, media=JPEG, name="Alice")
    meta.send_inbound(B, text="Hello from B", name="Bob")
    deliver(meta)
    contact = Contact.objects.for_org(org).get(wa_id=A)
    a_file = Media.objects.for_org(org).get().file.name
    assert (storage_has(a_file), WebhookEvent.objects.for_org(org).count()) == (True, 2)

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_browser.post(reverse("admin:messaging_contact_delete", args=[contact.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert list(Contact.objects.for_org(org).values_list("wa_id", flat=True)) == [B]
    assert list(Message.objects.for_org(org).values_list("text", flat=True)) == ["Hello from B"]
    assert [A in json.dumps(body) for body in event_bodies(org)] == [False]  # theirs deleted, Bob's kept
    assert storage_has(a_file) is False
    entry = AuditLog.objects.get(action="contact.delete")
    assert (entry.actor.email, entry.data["webhook_events_deleted"], entry.data["media_files"]) == (
        "root@platform.example",
        1,
        1,
    )


def test_contacts_deleted_together_in_the_django_admin_are_each_erased(org, meta, staff_browser):
    meta.send_inbound(A, text="Only mine", name="Alice")
    meta.send_inbound(B, text="Only mine too", name="Bob")
    deliver(meta)
    ids = list(Contact.objects.for_org(org).values_list("pk", flat=True))

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_browser.post(
            reverse("admin:messaging_contact_changelist"),
            {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
        )

    assert response.status_code == 302
    assert (Contact.objects.for_org(org).count(), WebhookEvent.objects.for_org(org).count()) == (0, 0)
    assert AuditLog.objects.filter(action="contact.delete").count() == 2


@pytest.mark.parametrize("model", ["conversation", "message", "media"])
def test_history_is_not_deleted_piecemeal_in_the_django_admin(model, org, meta, staff_browser):
    meta.send_inbound(A, {"type": "image", "image": {"caption": "My receipt"}}, media=JPEG, name="Alice")
    deliver(meta)
    row = {"conversation": Conversation, "message": Message, "media": Media}[model].objects.for_org(org).get()

    response = staff_browser.post(reverse(f"admin:messaging_{model}_delete", args=[row.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert (Message.objects.for_org(org).count(), storage_has(Media.objects.for_org(org).get().file.name)) == (1, True)


# --- media files ----------------------------------------------------------------------------------------------


def test_the_contacts_media_files_are_removed_after_the_commit(org, admin_client, meta):
    meta.send_inbound(A, {"type": "image", "image": {"caption": "My receipt"}}, media=JPEG, name="Alice")
    meta.send_inbound(B, {"type": "image", "image": {"caption": "Mine"}}, media=JPEG, name="Bob")
    deliver(meta)
    a_file, b_file = (Media.objects.for_org(org).get(message__conversation__contact__wa_id=w).file.name for w in (A, B))
    assert (storage_has(a_file), storage_has(b_file), a_file != b_file) == (True, True, True)

    callbacks = delete_contact(admin_client, org, A)

    assert storage_has(a_file)  # not before the commit: a rollback keeps everything
    for callback in callbacks:
        callback()
    assert (storage_has(a_file), storage_has(b_file)) == (False, True)
    assert AuditLog.objects.get(action="contact.delete").data["media_files"] == 1


def test_a_file_another_message_still_uses_stays(org, admin_client, agent_client, meta, number):
    upload = MediaFactory(organization=org)
    for wa_id in (A, B):
        conversation = open_conversation(org, number=number, contact=ContactFactory(organization=org, wa_id=wa_id))
        meta.open_window(wa_id, phone_number_id=number.phone_number_id)
        assert send(agent_client, conversation, {"type": "image", "media_id": upload.pk}).status_code == 202
    rows = Media.objects.for_org(org).order_by("id")
    assert [(row.message.conversation.contact.wa_id, row.file.name) for row in rows] == [
        (A, upload.file.name),  # the upload itself
        (B, upload.file.name),  # its copy
    ]

    delete_contact_committed(admin_client, org, A)

    assert storage_has(upload.file.name)
    assert Media.objects.for_org(org).get().message.conversation.contact.wa_id == B

    delete_contact_committed(admin_client, org, B)

    assert not storage_has(upload.file.name)
    assert not Media.objects.for_org(org).exists()


def messages_of(body: dict) -> list[dict]:
    return [
        item for entry in body["entry"] for change in entry["changes"] for item in change["value"].get("messages", [])
    ]


def statuses_of(body: dict) -> list[dict]:
    return [
        item for entry in body["entry"] for change in entry["changes"] for item in change["value"].get("statuses", [])
    ]
