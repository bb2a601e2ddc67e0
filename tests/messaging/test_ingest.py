"""Ingest of inbound Meta messages: every type stored (nothing dropped), contacts and conversations upserted,
exact unread counts under redeliveries, opt-out words, value errors, template events, and the after-commit
pushes and hooks. A batch costs a fixed number of queries, whatever the number of messages."""

import copy
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditLog
from messaging import hooks, realtime
from messaging.models import Contact, Conversation, Media, Message, WebhookEvent
from messaging.services import ingest
from messaging.services import media as media_services
from tests.fakes import django_client_target
from tests.messaging.factories import ConversationFactory
from tests.messaging.ingest_support import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    meta_bytes,
    meta_payload,
    post_meta,
    sha256_hex,
    text_message,
)

SHEENA = "16505551234"


pytestmark = pytest.mark.usefixtures("media_fetches_go_to_the_fake")


@pytest.fixture
def published(monkeypatch):
    """Every realtime push: (organization id, event, data)."""
    pushes: list[tuple[int, str, dict]] = []
    monkeypatch.setattr(
        realtime, "publish", lambda org_id, events: pushes.extend((org_id, e, data) for e, data, _ in events)
    )
    return pushes


@pytest.fixture
def announced():
    """Every call of the messaging hooks: (hook name, kwargs)."""
    calls: list[tuple[str, dict]] = []
    subscribers = {}
    for hook in (hooks.message_received, hooks.message_status_changed, hooks.template_status_changed):
        subscribers[hook] = lambda hook=hook, **kwargs: calls.append((hook.name, kwargs))
        hook.connect(subscribers[hook])
    yield calls
    for hook, subscriber in subscribers.items():
        hook.disconnect(subscriber)


def _post(client, org, name_or_payload, **kwargs):
    payload = meta_payload(name_or_payload) if isinstance(name_or_payload, str) else name_or_payload
    response = post_meta(client, org.pk, payload, **kwargs)
    assert response.status_code == 200
    return response


# --- every message type ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "type", "text"),
    [
        ("text", "text", "Does it come in another color?"),
        ("text_forwarded", "text", "Look at this offer"),
        ("text_frequently_forwarded", "text", "Forward this to 10 friends"),
        ("image", "image", "Taj Mahal"),
        ("document", "document", "caption"),
        ("audio", "audio", ""),
        ("voice", "audio", ""),
        ("video", "video", "caption"),
        ("sticker", "sticker", ""),
        ("location", "location", "Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301"),
        ("location_current", "location", ""),
        ("contacts", "contacts", "Barbara J. Johnson"),
        ("interactive_button_reply", "interactive", "Cancel"),
        ("interactive_list_reply", "interactive", "Priority Mail Express"),
        ("button_template_quick_reply", "button", "Unsubscribe"),
        ("reaction", "reaction", "👍"),
        ("reaction_removed", "reaction", ""),
        ("unsupported", "unsupported", ""),
        ("system_user_changed_number", "unsupported", "User A changed from 972987654321 to 972912345678"),
        ("ingest_order", "unsupported", "Please deliver before noon"),
    ],
)
def test_each_message_type_is_stored_with_its_text_and_whole_payload(client, org, numbers, name, type, text):
    payload = meta_payload(name)
    original = payload["entry"][0]["changes"][0]["value"]["messages"][0]

    _post(client, org, payload)

    message = Message.objects.get()
    assert (message.organization, message.direction, message.type, message.text) == (org, "inbound", type, text)
    assert (message.status, message.provider_message_id) == ("received", original["id"])
    assert message.payload == original
    assert message.provider_timestamp == datetime.fromtimestamp(int(original["timestamp"]), tz=UTC)


@pytest.mark.parametrize(
    ("name", "media_id", "mime_type", "sha256", "filename"),
    [
        ("image", "1003383421387256", "image/jpeg", "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=", ""),
        (
            "document",
            "1234567890987654321",
            "application/pdf",
            "grwfwe/ZPx0wAbdfbdeFUNItPZ0RylL8gGUvdt3YFqc18SY=",
            "filename.pdf",
        ),
        ("voice", "1234567890987654321", "audio/ogg; codecs=opus", "m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=", ""),
        ("video", "765756756", "video/mp4", "Jh+2ij6PzUv/J2y+grrtegr/ZMzRxkEPwc24Oyib4s03w9Jc=", ""),
        ("sticker", "1122334455667788", "image/webp", "3Jc8GnRHJPZ5nX7eYfUc/8ZbJ4W1c6mN6yK2q8rJtH0=", ""),
    ],
)
def test_a_media_message_gets_a_media_row_and_its_fetch_is_queued(
    client, org, numbers, fake_meta, name, media_id, mime_type, sha256, filename
):
    _post(client, org, name)

    media = Media.objects.get()
    assert media.message == Message.objects.get()
    assert (media.organization, media.provider_media_id, media.mime_type, media.sha256, media.filename) == (
        org,
        media_id,
        mime_type,
        sha256,
        filename,
    )
    # Fetched after commit (the fake does not know these ids, so the media ends failed, not stuck pending).
    assert [r.path for r in fake_meta.find_requests(method="GET", path_endswith=f"/{media_id}")] == [
        f"/v23.0/{media_id}"
    ]
    assert media.status == Media.Status.FAILED


def test_an_inbound_image_is_downloaded_from_the_graph_api(client, org, numbers, fake_meta):
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = APP_SECRET
    fake_meta.send_inbound(
        SHEENA, {"type": "image", "image": {"caption": "Taj Mahal"}}, phone_number_id=PHONE_NUMBER_ID, media=jpeg
    )

    with TestCase.captureOnCommitCallbacks(execute=True):
        [response] = fake_meta.deliver_webhooks()

    assert response.status_code == 200
    media = Media.objects.get()
    assert (media.status, media.size, media.mime_type, media.file.read()) == (
        Media.Status.READY,
        len(jpeg),
        "image/jpeg",
        jpeg,
    )
    assert media.message.text == "Taj Mahal"


def test_reply_context_and_ad_referral_are_kept(client, org, numbers):
    _post(client, org, "text_reply")
    _post(client, org, "text_referral_ctwa")

    reply = Message.objects.get(text="Yes, the blue one please")
    assert reply.reply_to_provider_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
    assert reply.referral is None
    ad = Message.objects.get(text="Hi! I saw your ad")
    [sent] = meta_payload("text_referral_ctwa")["entry"][0]["changes"][0]["value"]["messages"]
    assert ad.referral == sent["referral"]
    assert ad.referral["ctwa_clid"].startswith("ARAkLkA8rmlFeiCk")


def test_a_reaction_points_at_its_message_and_its_removal_replaces_it(client, org, numbers, published):
    _post(client, org, "reaction")
    _post(client, org, "reaction_removed")

    reaction = Message.objects.get()
    assert reaction.reply_to_provider_id == "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    assert (reaction.type, reaction.text) == ("reaction", "")
    assert reaction.provider_timestamp == datetime.fromtimestamp(1749419602, tz=UTC)
    assert reaction.conversation.unread_count == 1
    updates = [data for _, event, data in published if event == "message.updated"]
    assert [item["id"] for data in updates for item in data["messages"]] == [reaction.pk]


# --- contacts -----------------------------------------------------------------------------------------------


def test_the_sender_becomes_a_contact_with_its_profile_name_and_e164_phone(client, org, numbers):
    _post(client, org, "text")

    contact = Contact.objects.get()
    assert (contact.organization, contact.wa_id, contact.phone, contact.profile_name, contact.name) == (
        org,
        SHEENA,
        "+16505551234",
        "Sheena Nelson",
        "",
    )
    assert contact.last_inbound_at == datetime.fromtimestamp(1749416383, tz=UTC)


def test_a_known_contact_keeps_its_name_and_gets_the_new_profile_name(client, org, numbers):
    contact = Contact.objects.create(organization=org, wa_id=SHEENA, phone="+16505551234", name="Sheena (VIP)")
    payload = meta_payload("text")
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "Sheena N."

    _post(client, org, payload)

    contact.refresh_from_db()
    assert (contact.name, contact.profile_name) == ("Sheena (VIP)", "Sheena N.")
    assert Contact.objects.count() == 1


def test_the_business_scoped_user_id_is_kept(client, org, numbers):
    _post(client, org, "text_bsuid")

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.phone) == (SHEENA, "US.13491208655302741918", "+16505551234")


def test_a_sender_without_a_phone_is_a_contact_keyed_on_its_user_id(client, org, numbers):
    _post(client, org, "text_username_only")

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.phone, contact.profile_name) == (
        None,
        "US.13491208655302741918",
        "",
        "Sheena Nelson",
    )
    message = Message.objects.get()
    assert (message.text, message.conversation.contact) == ("Hello from my username", contact)


def test_the_phone_of_a_user_id_only_contact_is_filled_when_it_appears(client, org, numbers):
    _post(client, org, "text_username_only")
    _post(client, org, "text_bsuid")

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.phone) == (SHEENA, "US.13491208655302741918", "+16505551234")
    assert Conversation.objects.get().unread_count == 2


def test_a_user_id_only_message_of_a_known_contact_lands_in_its_conversation(client, org, numbers):
    _post(client, org, "text_bsuid")
    _post(client, org, "text_username_only")

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id) == (SHEENA, "US.13491208655302741918")
    assert Conversation.objects.get().unread_count == 2


def test_contacts_of_another_organization_are_untouched(client, org, other_org, numbers):
    theirs = Contact.objects.create(organization=other_org, wa_id=SHEENA, phone="+16505551234", profile_name="Theirs")

    _post(client, org, "text")

    theirs.refresh_from_db()
    assert theirs.profile_name == "Theirs"
    assert Contact.objects.filter(organization=org).count() == 1
    assert not Conversation.objects.filter(organization=other_org).exists()


# --- conversations ---------------------------------------------------------------------------------------------


def test_unread_counts_are_exact_per_conversation(client, org, numbers):
    _post(client, org, "batch")
    _post(client, org, text_message("wamid.LATER", "One more thing", timestamp=1750030200))

    sheena = Conversation.objects.get(contact__wa_id=SHEENA)
    pablo = Conversation.objects.get(contact__wa_id="16505559876")
    assert (sheena.unread_count, pablo.unread_count) == (3, 1)
    assert (sheena.last_message_preview, sheena.last_message_direction, sheena.last_message_type) == (
        "One more thing",
        "inbound",
        "text",
    )
    assert sheena.last_message_at == sheena.last_inbound_at == datetime.fromtimestamp(1750030200, tz=UTC)
    assert pablo.last_message_preview == "Bonjour, ça va ?"


def test_the_same_batch_posted_twice_adds_nothing(client, org, numbers, announced):
    raw = meta_bytes(meta_payload("batch"))
    reserialised = meta_bytes(meta_payload("batch")).replace(b'"entry":', b'"entry" :')

    _post(client, org, raw)
    _post(client, org, raw)
    _post(client, org, reserialised)

    assert list(WebhookEvent.objects.order_by("id").values_list("dedupe_key", flat=True)) == [
        sha256_hex(raw),
        sha256_hex(reserialised),
    ]
    assert (Contact.objects.count(), Conversation.objects.count(), Message.objects.count()) == (2, 2, 3)
    assert sorted(Conversation.objects.values_list("unread_count", flat=True)) == [1, 2]
    received = [kwargs["message_ids"] for name, kwargs in announced if name == "message_received"]
    assert received == [list(Message.objects.order_by("provider_timestamp").values_list("pk", flat=True))]


def test_a_message_repeated_inside_one_delivery_is_stored_once(client, org, numbers):
    payload = meta_payload("text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append(copy.deepcopy(value["messages"][0]))
    payload["entry"].append(copy.deepcopy(payload["entry"][0]))

    _post(client, org, payload)

    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_an_inbound_message_reopens_a_closed_conversation(client, org, numbers):
    _post(client, org, "text")
    conversation = Conversation.objects.get()
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.CLOSED, unread_count=0)

    _post(client, org, "text_reply")

    conversation.refresh_from_db()
    assert (conversation.status, conversation.unread_count) == ("open", 1)


def test_a_pending_conversation_stays_pending(client, org, numbers):
    contact = Contact.objects.create(organization=org, wa_id=SHEENA, phone="+16505551234")
    conversation = ConversationFactory(
        organization=org, number=numbers[0], contact=contact, status=Conversation.Status.PENDING
    )

    _post(client, org, "text")

    conversation.refresh_from_db()
    assert (conversation.status, conversation.unread_count) == ("pending", 1)


def test_an_older_message_arriving_late_does_not_move_the_last_message_back(client, org, numbers):
    _post(client, org, text_message("wamid.NEW", "newer", timestamp=1750000200))
    _post(client, org, text_message("wamid.OLD", "older", timestamp=1750000100))

    conversation = Conversation.objects.get()
    assert (conversation.last_message_preview, conversation.unread_count) == ("newer", 2)
    assert conversation.last_message_at == conversation.last_inbound_at == datetime.fromtimestamp(1750000200, tz=UTC)


def test_a_media_message_without_caption_previews_as_its_type(client, org, numbers):
    _post(client, org, "voice")

    assert Conversation.objects.get().last_message_preview == "Audio"


def test_each_number_has_its_own_conversation_with_a_contact(client, org, numbers):
    _post(client, org, "text")  # to the first number
    payload = text_message("wamid.SECOND", "via the other line")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = numbers[1].phone_number_id
    _post(client, org, payload)

    assert sorted(Conversation.objects.values_list("number_id", "unread_count")) == sorted(
        [(numbers[0].pk, 1), (numbers[1].pk, 1)]
    )
    assert Contact.objects.count() == 1


def test_messages_for_a_number_the_organization_does_not_have_are_noted_not_stored(client, org, numbers):
    payload = text_message("wamid.ELSEWHERE", "hello")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999"

    _post(client, org, payload)

    event = WebhookEvent.objects.get()
    assert (event.status, event.last_error) == ("processed", "messages for unknown phone_number_id '999999999' skipped")
    assert Message.objects.count() == 0


# --- opt-out words --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", " stop ", "إيقاف", "UNSUBSCRIBE"])
def test_an_opt_out_word_opts_the_contact_out(client, org, numbers, word):
    _post(client, org, text_message("wamid.STOP", word))

    contact = Contact.objects.get()
    assert contact.opted_out is True
    assert contact.opted_out_at is not None
    log = AuditLog.objects.get(action="contact.opt_out")
    assert (log.organization, log.data) == (org, {"source": "inbound"})


def test_start_opts_the_contact_back_in(client, org, numbers):
    _post(client, org, text_message("wamid.STOP", "STOP", timestamp=1750000000))
    _post(client, org, text_message("wamid.START", "START", timestamp=1750000100))

    contact = Contact.objects.get()
    assert (contact.opted_out, contact.opted_out_at) == (False, None)
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "contact.opt_out",
        "contact.opt_in",
    ]


def test_the_last_opt_word_of_a_batch_wins(client, org, numbers):
    payload = text_message("wamid.STOP", "stop", timestamp=1750000000)
    [start] = text_message("wamid.START", "start", timestamp=1750000100)["entry"][0]["changes"][0]["value"]["messages"]
    payload["entry"][0]["changes"][0]["value"]["messages"].insert(0, start)  # listed first, sent last

    _post(client, org, payload)

    assert Contact.objects.get().opted_out is False


def test_a_sentence_with_stop_in_it_opts_nobody_out(client, org, numbers):
    _post(client, org, text_message("wamid.NOTSTOP", "please don't stop sending offers"))
    _post(client, org, "button_template_quick_reply")  # a button labelled "Unsubscribe" is not a typed word

    assert Contact.objects.get().opted_out is False


def test_a_redelivered_stop_after_start_changes_nothing(client, org, numbers):
    stop = text_message("wamid.STOP", "STOP", timestamp=1750000000)
    _post(client, org, stop)
    _post(client, org, text_message("wamid.START", "START", timestamp=1750000100))

    _post(client, org, meta_bytes(stop).replace(b'"object":', b'"object" :'))  # redelivered, other bytes

    assert Contact.objects.get().opted_out is False


# --- value errors and template events --------------------------------------------------------------------------


def test_value_level_errors_are_kept_on_the_processed_event(client, org, numbers):
    _post(client, org, "value_errors")

    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)
    assert event.last_error == "Meta reported error 130429: Rate limit hit"


@pytest.mark.parametrize(
    "name",
    ["template_status_approved", "template_status_rejected", "template_category_update", "template_quality_update"],
)
def test_template_events_go_to_the_template_hook_after_commit(client, org, numbers, announced, name):
    payload = meta_payload(name)

    _post(client, org, payload)

    entry = payload["entry"][0]
    assert announced == [
        (
            "template_status_changed",
            {"organization_id": org.pk, "waba_id": entry["id"], "event": entry["changes"][0]["value"]},
        )
    ]
    assert WebhookEvent.objects.get().status == "processed"


# --- after commit: pushes and hooks ---------------------------------------------------------------------------


def test_a_batch_makes_one_push_per_event_type_and_one_hook_call(
    client, admin_client, org, numbers, published, announced
):
    _post(client, org, "batch")

    messages = list(Message.objects.order_by("provider_timestamp"))
    assert [(org_id, event) for org_id, event, _ in published] == [
        (org.pk, "message.created"),
        (org.pk, "conversation.updated"),
    ]
    created = published[0][2]["messages"]
    assert [item["id"] for item in created] == [m.pk for m in messages]
    # The same shapes as the REST API's (what an inbox reload shows).
    shown = admin_client.get(f"/api/v1/conversations/{messages[1].conversation_id}/messages").json()["results"]
    assert created[1] == next(item for item in shown if item["id"] == messages[1].pk)
    assert (created[1]["text"], created[1]["status"]) == ("Bonjour, ça va ?", "received")
    conversations = published[1][2]["conversations"]
    listed = admin_client.get("/api/v1/conversations").json()["results"]
    assert sorted(conversations, key=lambda c: c["id"]) == sorted(listed, key=lambda c: c["id"])
    assert sorted((c["unread_count"], c["last_message"]["text"]) for c in conversations) == [
        (1, "Bonjour, ça va ?"),
        (2, "Are you open today?"),
    ]
    assert announced == [("message_received", {"organization_id": org.pk, "message_ids": [m.pk for m in messages]})]


def test_pushes_show_what_the_api_shows_for_a_named_contact_a_media_message_and_a_reply(
    client, admin_client, org, numbers, published, monkeypatch
):
    monkeypatch.setattr(media_services, "enqueue_inbound_media", lambda **kwargs: None)  # media stay pending
    _post(client, org, "text")
    Contact.objects.filter(wa_id=SHEENA).update(name="Sheena (VIP)")
    published.clear()

    image = meta_payload("image")
    image["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.IMAGE"
    _post(client, org, image)
    _post(client, org, "text_reply")

    pushed_messages = [item for _, event, data in published if event == "message.created" for item in data["messages"]]
    conversation_id = pushed_messages[0]["conversation_id"]
    shown = admin_client.get(f"/api/v1/conversations/{conversation_id}/messages").json()["results"]
    assert sorted(pushed_messages, key=lambda m: m["id"]) == sorted(
        [item for item in shown if item["id"] in {m["id"] for m in pushed_messages}], key=lambda m: m["id"]
    )
    assert pushed_messages[0]["media"]["status"] == "pending"
    assert pushed_messages[1]["reply_to"]["provider_message_id"]
    conversations = [data["conversations"] for _, event, data in published if event == "conversation.updated"]
    listed = admin_client.get("/api/v1/conversations").json()["results"]
    assert conversations[-1] == [item for item in listed if item["id"] == conversation_id]
    assert conversations[-1][0]["contact"]["name"] == "Sheena (VIP)"


def test_nothing_is_pushed_or_announced_for_a_duplicate(client, org, numbers, published, announced):
    raw = meta_bytes(meta_payload("text"))
    _post(client, org, raw)
    published.clear()
    announced.clear()

    _post(client, org, raw.replace(b'"object":', b'"object" :'))

    assert (published, announced) == ([], [])


# --- batch shape -----------------------------------------------------------------------------------------------


def _pending_event(org, payload: dict) -> WebhookEvent:
    raw = meta_bytes(payload)
    return WebhookEvent.objects.create(organization=org, source="meta", body=payload, dedupe_key=sha256_hex(raw))


def _many_senders(first: int, count: int, per_event: int) -> list[dict]:
    payloads = []
    for start in range(first, first + count, per_event):
        payload = meta_payload("batch")
        value = payload["entry"][0]["changes"][0]["value"]
        del payload["entry"][0]["changes"][1]
        wa_ids = [f"1650555{n:04d}" for n in range(start, start + per_event)]
        value["contacts"] = [{"profile": {"name": f"Customer {w}"}, "wa_id": w} for w in wa_ids]
        value["messages"] = [
            {"from": w, "id": f"wamid.MANY{w}", "timestamp": "1750030100", "type": "text", "text": {"body": "Hi"}}
            for w in wa_ids
        ]
        payloads.append(payload)
    return payloads


def test_a_batch_costs_the_same_queries_for_one_message_or_fifty(org, numbers):
    def queries_to_process(payloads: list[dict]) -> int:
        for payload in payloads:
            _pending_event(org, payload)
        with CaptureQueriesContext(connection) as captured:
            assert ingest.webhook_events_process_batch() == len(payloads)
        return len(captured.captured_queries)

    one = queries_to_process(_many_senders(1000, 1, 1))
    # Fifty new senders in five events (SQLite splits larger inserts for its 999-parameter limit).
    fifty = queries_to_process(_many_senders(2000, 50, 10))

    assert fifty == one
    assert Message.objects.count() == 51
    assert set(Conversation.objects.values_list("unread_count", flat=True)) == {1}
    assert WebhookEvent.objects.exclude(status="processed").count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and SKIP LOCKED: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_the_same_messages_store_each_once(org, numbers):
    [twenty] = _many_senders(3000, 20, 20)
    for delivery in range(8):  # eight deliveries of the same twenty messages, other bytes each time
        payload = copy.deepcopy(twenty)
        payload["entry"][0]["id"] += f"-{delivery}"
        _pending_event(org, payload)
    start = threading.Barrier(2)
    claimed: list[int] = []

    def worker():
        try:
            start.wait()
            claimed.append(ingest.webhook_events_process_batch(limit=4))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claimed) == [4, 4]
    assert WebhookEvent.objects.filter(status="processed").count() == 8
    assert Message.objects.count() == 20
    assert set(Conversation.objects.values_list("unread_count", flat=True)) == {1}


def _busy_chats(*, customers: int, messages: int, per_event: int) -> list[dict]:
    """Webhooks of `messages` texts from `customers` senders in turn (`per_event` a webhook), each webhook delivered
    twice (other bytes the second time, as a redelivery Meta builds anew)."""
    payloads = []
    for start in range(0, messages, per_event):
        payload = meta_payload("batch")
        value = payload["entry"][0]["changes"][0]["value"]
        del payload["entry"][0]["changes"][1]
        senders = [(n, f"1650666{n % customers:04d}") for n in range(start, start + per_event)]
        value["contacts"] = [
            {"profile": {"name": f"Customer {w}"}, "wa_id": w} for w in sorted({w for _, w in senders})
        ]
        value["messages"] = [
            {"from": w, "id": f"wamid.BUSY{n}", "timestamp": str(1750030100 + n), "type": "text", "text": {"body": "?"}}
            for n, w in senders
        ]
        redelivery = copy.deepcopy(payload)
        redelivery["entry"][0]["id"] += "-again"
        payloads += [payload, redelivery]
    return payloads


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and SKIP LOCKED: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_drains_running_at_once_ingest_everything_once_with_exact_unread_counts(org, numbers):
    for payload in _busy_chats(customers=7, messages=120, per_event=5):
        _pending_event(org, payload)
    start = threading.Barrier(2)
    claimed: dict[int, int] = {}

    def drain(slot: int):
        try:
            start.wait()
            claimed[slot] = ingest.webhook_events_drain(slot=slot, batch_size=3)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(claimed.values()) == 48
    assert min(claimed.values()) > 0  # both drained: they ran side by side
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Message.objects.count() == 120
    assert Message.objects.values("provider_message_id").distinct().count() == 120
    assert sorted(Conversation.objects.values_list("contact__wa_id", "unread_count")) == [
        (f"1650666{n:04d}", 18 if n < 1 else 17) for n in range(7)
    ]
