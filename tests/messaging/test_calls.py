"""Calls: Meta's `calls` webhooks (connect, terminate) and WAHA's call.received / call.accepted / call.rejected become
one Call row per call, exactly once (redeliveries, replays, events out of order); the contact and conversation are
found or created as for messages; the live inbox gets call.created / call.updated; GET calls/ lists them with filters
on the numbers the caller may see."""

import copy
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from messaging import realtime
from messaging.models import Call, Contact, Conversation, Message, WebhookEvent
from messaging.services import ingest
from messaging.services import numbers as number_services
from messaging.services.ingest import receive
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, ConversationFactory
from tests.messaging.inbox_support import waha_number
from tests.messaging.ingest_support import meta_payload, post_meta, post_waha, text_message, waha_payload

CALL = "wacid.HBgLMTY1MDU1NTEyMzQVAgASGCBBQ0Q4OTc5RDc3MjgyNkFFNkU0QTYzNTc0MTM0ODhFRRwYCzE1NTUwNzgzODgxFQIAFQoA"
MISSED = "wacid.HBgLMTY1MDU1NTEyMzQVAgASGCA3RjE0QjQ5ODBCRkYxNzdBQzU0NUE1QjlCRTYwNDQ2MRwYCzE1NTUwNzgzODgxFQIAFQoA"
OUTBOUND = "wacid.HBgLMTY1MDU1NTEyMzQVAgARGCAyODRQIAFRoAMTc1MDAzMzAwMBUCABUKAA=="
CUSTOMER = "16505551234"


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.fixture
def published(monkeypatch):
    """Every realtime push: (event, data)."""
    pushes: list[tuple[str, dict]] = []
    monkeypatch.setattr(realtime, "publish", lambda org_id, events: pushes.extend((e, data) for e, data, _ in events))
    return pushes


def _meta(client, org, name: str | dict):
    response = post_meta(client, org.pk, meta_payload(name) if isinstance(name, str) else name)
    assert response.status_code == 200
    return WebhookEvent.objects.for_org(org).latest("id")


def _waha(client, org, name: str):
    response = post_waha(client, org.pk, waha_payload(name))
    assert response.status_code == 200
    return WebhookEvent.objects.for_org(org).latest("id")


def _replay(event: WebhookEvent) -> None:
    """The processed event ingested once more (as the sweeper or an admin replay would)."""
    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.PENDING)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert ingest.webhook_events_process_batch() == 1


def _fields(call: Call) -> tuple:
    return (call.direction, call.status, call.started_at, call.ended_at, call.duration, call.error_code)


# --- Meta ----------------------------------------------------------------------------------------------------------


def test_a_connect_then_terminate_is_one_completed_call_in_the_customers_conversation(client, org, numbers):
    first, _ = numbers
    _meta(client, org, "call_connect")
    call = Call.objects.for_org(org).get()
    assert (call.status, call.direction, call.started_at, call.ended_at) == ("ringing", "inbound", at(1750030200), None)

    _meta(client, org, "call_terminate")

    call = Call.objects.for_org(org).get()
    contact = Contact.objects.for_org(org).get()
    assert (contact.wa_id, contact.phone, contact.profile_name) == (CUSTOMER, "+16505551234", "Kerry Fisher")
    conversation = Conversation.objects.for_org(org).get()
    assert (conversation.number_id, conversation.contact_id) == (first.pk, contact.pk)
    assert (call.number_id, call.contact_id, call.conversation_id) == (first.pk, contact.pk, conversation.pk)
    assert call.provider_call_id == CALL
    assert _fields(call) == ("inbound", "completed", at(1750030200), at(1750030404), 192, None)
    assert call.payload["event"] == "terminate"
    assert Message.objects.for_org(org).count() == 0
    assert conversation.unread_count == 0


def test_a_call_lands_in_the_existing_conversation_of_its_contact(client, org, numbers):
    first, _ = numbers
    conversation = ConversationFactory(organization=org, number=first, contact__wa_id=CUSTOMER, contact__name="Kerry")
    _meta(client, org, "call_connect")
    call = Call.objects.for_org(org).get()
    assert (call.conversation_id, call.contact_id) == (conversation.pk, conversation.contact_id)
    assert Conversation.objects.for_org(org).count() == 1
    assert Contact.objects.for_org(org).get().name == "Kerry"


def test_a_terminate_arriving_before_its_connect_ends_the_same_call(client, org, numbers):
    _meta(client, org, "call_terminate")
    _meta(client, org, "call_connect")
    assert _fields(Call.objects.for_org(org).get()) == (
        "inbound",
        "completed",
        at(1750030200),
        at(1750030404),
        192,
        None,
    )


def test_connect_and_terminate_in_one_delivery_are_one_row(client, org, numbers):
    payload = copy.deepcopy(meta_payload("call_connect"))
    calls = payload["entry"][0]["changes"][0]["value"]["calls"]
    calls.append(meta_payload("call_terminate")["entry"][0]["changes"][0]["value"]["calls"][0])
    _meta(client, org, payload)
    assert _fields(Call.objects.for_org(org).get())[1:] == ("completed", at(1750030200), at(1750030404), 192, None)


def test_an_unanswered_call_is_missed(client, org, numbers):
    _meta(client, org, "call_connect_missed")
    _meta(client, org, "call_terminate_missed")
    call = Call.objects.for_org(org).get(provider_call_id=MISSED)
    assert _fields(call) == ("inbound", "missed", at(1750031000), at(1750031045), 0, None)


def test_a_failed_call_keeps_metas_error(client, org, numbers):
    event = _meta(client, org, "call_terminate_failed")
    call = Call.objects.for_org(org).get()
    assert _fields(call) == ("inbound", "failed", at(1750032007), at(1750032027), 20, 138021)
    assert call.error_title.startswith("WhatsApp client terminated the call")
    event.refresh_from_db()
    assert event.status == "processed"
    assert "Meta reported error" not in event.last_error  # a call's errors are the call's


def test_a_business_initiated_call_is_outbound_to_the_callee(client, org, numbers):
    _meta(client, org, "call_connect_business_initiated")
    call = Call.objects.for_org(org).get()
    assert (call.direction, call.status, call.contact.wa_id) == ("outbound", "ringing", CUSTOMER)


def test_redeliveries_and_replays_change_nothing_and_push_nothing(client, org, numbers, published):
    _meta(client, org, "call_connect")
    terminate = _meta(client, org, "call_terminate")
    call = Call.objects.for_org(org).get()
    before = (_fields(call), call.updated_at, call.payload)
    pushes = len(published)

    _meta(client, org, "call_terminate")  # the same bytes: one event
    _meta(client, org, "call_connect")
    _replay(terminate)
    changed = copy.deepcopy(meta_payload("call_connect"))  # redelivered with other bytes: a new event, same call
    changed["entry"][0]["changes"][0]["value"]["calls"][0]["session"]["sdp"] = "v=0\r\n"
    _meta(client, org, changed)

    call = Call.objects.for_org(org).get()
    assert (_fields(call), call.updated_at, call.payload) == before
    assert len(published) == pushes
    assert Conversation.objects.for_org(org).count() == 1


def test_the_pushes_are_call_created_then_call_updated_in_the_apis_shape(client, org, numbers, published, admin_client):
    _meta(client, org, "call_connect")
    created = [data for event, data in published if event == "call.created"]
    conversation = Conversation.objects.for_org(org).get()
    assert [event for event, _ in published] == ["call.created", "conversation.updated"]
    _meta(client, org, "call_terminate")
    updated = [data for event, data in published if event == "call.updated"]
    call = Call.objects.for_org(org).get()
    shown = admin_client.get(f"/api/v1/calls/{call.pk}").json()
    assert updated == [{"calls": [shown]}]
    assert created[0]["calls"][0]["status"] == "ringing"
    assert created[0]["calls"][0]["conversation_id"] == conversation.pk
    assert shown["contact"] == {
        "id": call.contact_id,
        "name": "Kerry Fisher",
        "phone": "+16505551234",
        "wa_id": CUSTOMER,
    }
    assert (shown["status"], shown["duration"], shown["direction"]) == ("completed", 192, "inbound")


def test_calls_for_an_unknown_number_and_malformed_calls_are_noted_not_stored(client, org, numbers):
    payload = copy.deepcopy(meta_payload("call_connect"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = "999999999"
    event = _meta(client, org, payload)
    assert "calls for unknown phone_number_id '999999999' skipped" in event.last_error

    payload = copy.deepcopy(meta_payload("call_connect"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["calls"] = [{"id": "", "event": "connect"}, {"id": "wacid.X", "event": "hold", "from": CUSTOMER}, "junk"]
    value["calls"].append({"id": "wacid.Y", "event": "terminate", "from": CUSTOMER, "duration": "many", "status": 7})
    event = _meta(client, org, payload)
    assert event.status == "processed"
    assert event.last_error.count("skipped") == 3
    call = Call.objects.for_org(org).get()  # the well-formed enough one: ended, nothing talked
    assert (call.provider_call_id, call.status, call.duration) == ("wacid.Y", "missed", None)


def test_a_batch_of_many_calls_costs_a_fixed_number_of_queries(client, org, numbers):
    def payload(count: int, offset: int) -> dict:
        body = copy.deepcopy(meta_payload("call_connect"))
        value = body["entry"][0]["changes"][0]["value"]
        template = value["calls"][0]
        value["calls"] = [
            {**template, "id": f"wacid.BATCH{offset + i}", "from": f"9665{offset + i:08d}"} for i in range(count)
        ]
        return body

    _meta(client, org, payload(1, 0))  # the numbers read once, the schema's caches warm
    with CaptureQueriesContext(connection) as few:
        _meta(client, org, payload(2, 100))
    with CaptureQueriesContext(connection) as many:
        _meta(client, org, payload(40, 200))
    assert Call.objects.for_org(org).count() == 43
    assert len(many) == len(few)


def test_calls_of_another_organization_are_untouched(client, org, other_org, numbers):
    contact = ContactFactory(organization=other_org, wa_id=CUSTOMER)
    _meta(client, org, "call_connect")
    assert Call.objects.for_org(other_org).count() == 0
    assert Call.objects.for_org(org).get().contact_id != contact.pk


# --- WAHA ----------------------------------------------------------------------------------------------------------


def test_waha_received_then_accepted_is_one_answered_call(client, org):
    number = waha_number(org)
    _waha(client, org, "call_received")
    call = Call.objects.for_org(org).get()
    assert (call.number_id, call.direction, call.status, call.started_at) == (
        number.pk,
        "inbound",
        "ringing",
        at(1741250000),
    )
    assert call.contact.wa_id == "11111111111"
    _waha(client, org, "call_accepted")
    _waha(client, org, "call_received")  # WAHA retries: a new request id, the same call
    call = Call.objects.for_org(org).get()
    assert (call.status, call.ended_at, call.duration) == ("answered", None, None)


def test_waha_rejected_video_call(client, org):
    waha_number(org)
    event = _waha(client, org, "call_rejected")
    call = Call.objects.for_org(org).get()
    assert (call.status, call.is_video, call.started_at, call.ended_at) == (
        "rejected",
        True,
        at(1741250095),
        datetime.fromtimestamp(1741250100.944, tz=UTC),
    )
    before = _fields(call)
    _replay(event)
    assert _fields(Call.objects.for_org(org).get()) == before


def test_a_waha_group_call_is_noted_not_stored(client, org):
    waha_number(org)
    payload = waha_payload("call_received")
    payload["payload"]["isGroup"] = True
    response = post_waha(client, org.pk, payload)
    assert response.status_code == 200
    event = WebhookEvent.objects.for_org(org).get()
    assert "skipped (a group call" in event.last_error
    assert Call.objects.for_org(org).count() == 0


def test_a_call_and_a_message_of_a_new_customer_in_one_batch_share_contact_and_conversation(client, org, numbers):
    """Two webhooks claimed in one batch: one contact, one conversation."""
    with TestCase.captureOnCommitCallbacks(execute=False):  # stored, not processed yet: both are claimed together
        receive.webhook_event_store(
            organization_id=org.pk, source="meta", body=meta_payload("call_connect"), dedupe_key="a"
        )
        receive.webhook_event_store(
            organization_id=org.pk, source="meta", body=text_message("wamid.CALLMSG1", "I just called"), dedupe_key="b"
        )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert ingest.webhook_events_process_batch() == 2
    assert Contact.objects.for_org(org).count() == 1
    conversation = Conversation.objects.for_org(org).get()
    assert Call.objects.for_org(org).get().conversation_id == conversation.pk
    assert conversation.unread_count == 1


# --- the API -------------------------------------------------------------------------------------------------------


@pytest.fixture
def calls(client, org, numbers):
    for name in ("call_connect", "call_terminate", "call_connect_missed", "call_terminate_missed"):
        _meta(client, org, name)
    _meta(client, org, "call_connect_business_initiated")
    return {call.provider_call_id: call for call in Call.objects.for_org(org)}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_the_list_is_newest_first_and_paginated(agent_client, calls):
    newest_first = sorted(calls.values(), key=lambda call: call.started_at, reverse=True)
    response = agent_client.get("/api/v1/calls/", {"page_size": 2})
    assert _ids(response) == [call.pk for call in newest_first[:2]]
    assert response.json()["count"] == 3
    assert _ids(agent_client.get("/api/v1/calls/", {"page_size": 2, "page": 2})) == [newest_first[2].pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "missed"}, [MISSED]),
        ({"direction": "outbound"}, [OUTBOUND]),
        # 23:30 and 23:43 on June 15 (UTC), the outbound call at 00:16 on June 16: days are whole and included
        ({"start_date": "2025-06-15", "end_date": "2025-06-15"}, [CALL, MISSED]),
        ({"start_date": "2025-06-16"}, [OUTBOUND]),
        ({"start_date": "2025-06-15", "end_date": "2025-06-16"}, None),
        ({"end_date": "2025-06-14"}, []),
    ],
)
def test_the_list_filters(agent_client, calls, query, expected):
    found = {call.pk for call in calls.values()} if expected is None else {calls[key].pk for key in expected}
    assert set(_ids(agent_client.get("/api/v1/calls/", query))) == found


def test_the_list_filters_by_number_contact_and_conversation(agent_client, org, calls, numbers):
    call = calls[CALL]
    for query in ({"number": call.number_id}, {"contact": call.contact_id}, {"conversation": call.conversation_id}):
        assert len(_ids(agent_client.get("/api/v1/calls/", query))) == 3
    assert _ids(agent_client.get("/api/v1/calls/", {"number": numbers[1].pk})) == []


@pytest.mark.parametrize(
    "query",
    [
        {"status": "busy"},
        {"direction": "sideways"},
        {"start_date": "yesterday"},
        {"number": "99999999999999999999999"},
        {"start_date": "2025-06-16", "end_date": "2025-06-15"},
        {"limit": "5"},
    ],
)
def test_bad_filters_are_a_400(agent_client, calls, query):
    response = agent_client.get("/api/v1/calls/", query)
    assert response.status_code == 400
    assert "detail" in response.json()


def test_marketing_may_not_read_calls(marketing_client, calls):
    assert marketing_client.get("/api/v1/calls/").status_code == 403


def test_a_call_of_a_number_hidden_from_an_agent_is_a_404_and_not_listed(org, calls, numbers):
    agent = MembershipFactory(organization=org, role=Role.AGENT)
    colleague = MembershipFactory(organization=org, role=Role.AGENT)
    number_services.number_assign(number=numbers[0], actor=None, user_id=colleague.user_id, team_id=None)
    client = client_for(agent)
    assert _ids(client.get("/api/v1/calls/")) == []
    assert client.get(f"/api/v1/calls/{calls[CALL].pk}").status_code == 404
    assert client_for(colleague).get(f"/api/v1/calls/{calls[CALL].pk}").status_code == 200


def test_the_list_costs_a_fixed_number_of_queries(agent_client, calls, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = agent_client.get("/api/v1/calls/")
    assert len(response.json()["results"]) == 3
