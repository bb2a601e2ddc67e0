"""A run never sends twice for one step: Meta redelivers a webhook (the same bytes, or the same message in another
envelope) through the real ingest path on a Cloud number answering to the fake Graph API, and the inbound
dispatcher's task may run twice for one message (acks_late)."""

import copy

import pytest
from django.test import TestCase

from automation import tasks
from automation.models import FlowRun, FlowRunStep
from messaging.models import Message
from tests.automation.flows_support import committed, edge, keyword_trigger, linked_flow, node, text
from tests.fakes import django_client_target
from tests.messaging.ingest_support import APP_SECRET, PHONE_NUMBER_ID, cloud_numbers

CUSTOMER = "16505551234"


@pytest.fixture
def number(org):
    return cloud_numbers(org)[0]


@pytest.fixture
def meta(client, org, fake_meta):
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = APP_SECRET
    return fake_meta


def deliver(meta) -> set[int]:
    """POST what the fake queued (the customer's message, the statuses of our sends) and run what follows."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return {response.status_code for response in meta.deliver_webhooks()}


def sent_bodies(meta) -> list[str]:
    return [send["text"]["body"] for send in meta.sends(to=CUSTOMER)]


def test_the_same_webhook_delivered_twice_answers_once(org, number, meta):
    linked_flow(org, number, [keyword_trigger("hello"), text("a", "Hi!")])
    meta.send_inbound(CUSTOMER, text="hello", phone_number_id=PHONE_NUMBER_ID)
    payload = copy.deepcopy(meta.pending_payloads[0])

    assert deliver(meta) == {200}
    meta.queue_webhook(payload)  # Meta did not see our 200 and sends it again
    assert deliver(meta) == {200}

    assert sent_bodies(meta) == ["Hi!"]
    assert (FlowRun.objects.count(), FlowRunStep.objects.count()) == (1, 2)


def test_the_same_message_in_another_envelope_answers_once(org, number, meta):
    linked_flow(org, number, [keyword_trigger("hello"), text("a", "Hi!")])
    message = meta.send_inbound(CUSTOMER, text="hello", phone_number_id=PHONE_NUMBER_ID)
    assert deliver(meta) == {200}
    payload = meta.messages_payload(
        PHONE_NUMBER_ID, contacts=[{"profile": {"name": "Test User"}, "wa_id": CUSTOMER}], messages=[message, message]
    )
    meta.queue_webhook(payload)  # other bytes (the message twice), the same wamid

    assert deliver(meta) == {200}

    assert sent_bodies(meta) == ["Hi!"]
    assert Message.objects.filter(direction="inbound").count() == 1


def test_an_answer_delivered_twice_advances_the_run_once(org, number, meta):
    ask = node("q", "ask", {"question": {"type": "text", "text": "How many?"}, "validate": "number", "variable": "n"})
    graph = [keyword_trigger("order"), ask, text("a", "{{vars.n}} it is.")]
    linked_flow(org, number, graph, [edge("start", "q"), edge("q", "a")])
    meta.send_inbound(CUSTOMER, text="order", phone_number_id=PHONE_NUMBER_ID)
    deliver(meta)
    meta.send_inbound(CUSTOMER, text="3", phone_number_id=PHONE_NUMBER_ID)
    payload = copy.deepcopy(meta.pending_payloads[0])

    deliver(meta)
    meta.queue_webhook(payload)
    deliver(meta)

    assert sent_bodies(meta) == ["How many?", "3 it is."]
    assert FlowRun.objects.get().status == FlowRun.Status.COMPLETED


def test_the_dispatcher_task_run_twice_for_one_message_sends_once(org, number, meta):
    name = node("name", "ask", {"question": {"type": "text", "text": "Name?"}, "variable": "name"})
    city = node("city", "ask", {"question": {"type": "text", "text": "City?"}, "variable": "city"})
    linked_flow(org, number, [keyword_trigger("hello"), name, city, text("a", "Hi {{vars.name}} of {{vars.city}}")])
    meta.send_inbound(CUSTOMER, text="hello", phone_number_id=PHONE_NUMBER_ID)
    deliver(meta)
    meta.send_inbound(CUSTOMER, text="Maya", phone_number_id=PHONE_NUMBER_ID)
    deliver(meta)
    first, answer = Message.objects.filter(direction="inbound").order_by("pk")

    committed(tasks.handle_inbound, org.pk, first.pk)  # a worker lost its ack: both tasks run again
    committed(tasks.handle_inbound, org.pk, answer.pk)

    run = FlowRun.objects.get()
    assert sent_bodies(meta) == ["Name?", "City?"]
    assert (run.status, run.current_node, run.variables, run.step_count) == ("waiting", "city", {"name": "Maya"}, 4)
