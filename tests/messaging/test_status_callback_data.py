"""A status Meta posts before the hub has stored the wamid of its send (the answer is slow, or the worker died
mid-send) finds its message by `biz_opaque_callback_data` ("msg:<id>", set on every send)."""

import threading
import time

import pytest
from django.db import connection, transaction

from messaging.models import Message, WebhookEvent
from messaging.services import conversations as services
from messaging.services import ingest
from tests.messaging.inbox_support import deliver_meta_webhooks, open_conversation, send
from tests.messaging.ingest_support import post_meta, statuses

TEXT = {"type": "text", "text": "Your order ships today"}


def _sent_but_not_recorded(agent_client, conversation, fake_meta) -> tuple[Message, str]:
    """A message Meta accepted whose answer the hub never stored (as when the worker dies mid-send)."""
    response = send(agent_client, conversation, TEXT)
    assert response.status_code == 202, response.json()
    message = Message.objects.get(pk=response.json()["id"])
    [wamid] = fake_meta.sent
    Message.objects.filter(pk=message.pk).update(status="queued", provider_message_id=None)
    return message, wamid


def _post_status(client, number, wamid: str, status: str, callback: str) -> None:
    """Meta's webhook with one status of `wamid` carrying `callback` as its biz_opaque_callback_data."""
    payload = statuses((wamid, status, 1750000000), phone_number_id=number.phone_number_id)
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = callback
    response = post_meta(client, number.organization_id, payload, secret=number.app_secret)
    assert response.status_code == 200


def test_metas_statuses_give_the_message_its_wamid_and_move_it_forward(
    client, org, agent_client, number, conversation, fake_meta
):
    message, wamid = _sent_but_not_recorded(agent_client, conversation, fake_meta)

    deliver_meta_webhooks(client, fake_meta, org, number)

    message.refresh_from_db()
    assert (message.provider_message_id, message.status) == (wamid, "read")
    # The send's answer, arriving last, keeps what the statuses said.
    services._mark_sent(message=message, provider_message_id=wamid)
    message.refresh_from_db()
    assert (message.provider_message_id, message.status) == (wamid, "read")


def test_a_failed_status_by_callback_keeps_metas_code(client, org, agent_client, number, conversation, fake_meta):
    message, wamid = _sent_but_not_recorded(agent_client, conversation, fake_meta)
    fake_meta.queue_status(wamid, "failed", error_code=131026)

    deliver_meta_webhooks(client, fake_meta, org, number)

    message.refresh_from_db()
    assert (message.provider_message_id, message.status, message.error_code) == (wamid, "failed", 131026)


@pytest.mark.parametrize("callback", ["msg:{other}", "campaign:7", "msg:", "msg:12a", "msg:-1", ""])
def test_a_callback_that_names_no_unsent_message_of_the_org_changes_nothing(
    client, other_org, agent_client, number, conversation, fake_meta, callback
):
    message, _ = _sent_but_not_recorded(agent_client, conversation, fake_meta)
    foreign = open_conversation(other_org)
    other = Message.objects.create(
        organization=other_org, conversation=foreign, direction="outbound", type="text", status="queued"
    )
    callback = callback.format(other=other.pk)

    _post_status(client, number, "wamid.NEW", "delivered", callback)

    for row in (message, other):
        row.refresh_from_db()
        assert (row.provider_message_id, row.status) == (None, "queued")


def test_a_message_that_has_its_wamid_keeps_it(client, agent_client, number, conversation, fake_meta):
    response = send(agent_client, conversation, TEXT)
    message = Message.objects.get(pk=response.json()["id"])
    [wamid] = fake_meta.sent

    _post_status(client, number, "wamid.OTHER", "read", f"msg:{message.pk}")

    message.refresh_from_db()
    assert (message.provider_message_id, message.status) == (wamid, "sent")


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_a_status_whose_send_stores_its_wamid_meanwhile_still_moves_the_message(org, number, conversation):
    """The race deploy/topology met under load: the status's ingest waits for the message's lock, held by the worker
    recording the send's answer; once that commits the message has its wamid (so it is no longer one to link by the
    callback data), and the status finds it by that wamid instead of being ignored as unknown."""
    message = Message.objects.create(
        organization=org, conversation=conversation, direction="outbound", type="text", status="queued"
    )
    payload = statuses(("wamid.RACE", "read", 1750000000), phone_number_id=number.phone_number_id)
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = f"msg:{message.pk}"
    locked, commit, failures = threading.Event(), threading.Event(), []

    def record_the_answer():
        try:
            with transaction.atomic():
                services.messages_mark_sent(organization_id=org.pk, sent={message.pk: "wamid.RACE"})
                locked.set()
                commit.wait(30)
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    def ingest_the_status():
        try:
            ingest.webhook_event_store(
                organization_id=org.pk, source="meta", body=payload, dedupe_key="race", number_id=number.pk
            )
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    sender = threading.Thread(target=record_the_answer)
    sender.start()
    assert locked.wait(30)
    ingester = threading.Thread(target=ingest_the_status)
    ingester.start()
    deadline = time.monotonic() + 30
    while not _waiting_for_a_lock():  # the ingest waits for the message's row
        assert time.monotonic() < deadline, "the ingest never waited for the message's lock"
        time.sleep(0.01)
    commit.set()
    sender.join(30)
    ingester.join(30)

    assert failures == []
    message.refresh_from_db()
    assert (message.provider_message_id, message.status) == ("wamid.RACE", "read")
    assert WebhookEvent.objects.get(dedupe_key="race").status == "processed"
