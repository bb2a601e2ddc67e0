"""Sending: pause, resume and cancel; 130429 slows the number down and the message goes again; 131056 retries the
recipient later; permanent errors fail the recipient; a template Meta refuses stops the campaign; a batch whose
worker died is resolved by Meta's statuses, not sent again blindly; the messaging limit; the schedule."""

import threading
import time
from datetime import timedelta

import pytest
import redis
from django.db import close_old_connections
from django.utils import timezone

from campaigns import pacing, sending, services
from campaigns.models import Campaign, CampaignRecipient
from campaigns.tasks import send_campaign, start_due_campaigns, sweep_campaigns
from messaging.models import Conversation, Message
from messaging.providers import provider_for
from messaging.services.conversations import message_provider_send
from tests.campaigns.support import MAPPING, counters, deliver, sent_to, statuses, webhooks_through_the_endpoint
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory
from tests.messaging.inbox_support import committed


def _campaign(org, contacts, **fields) -> Campaign:
    return services.campaign_create(
        organization=org,
        actor=None,
        name="Test",
        template_name="promo",
        language="en_US",
        variable_mapping=MAPPING,
        contact_ids=[contact.pk for contact in contacts],
        **fields,
    )


def _start(campaign: Campaign, **kwargs) -> Campaign:
    """Start it, its sending run (eagerly) after the commit."""
    return committed(services.campaign_start, campaign=campaign, actor=None, **kwargs)


def _contacts(org, count: int) -> list:
    return [ContactFactory(organization=org) for _ in range(count)]


def _requests_to(fake_meta, phone: str) -> int:
    return len(fake_meta.sends(to=phone))


# --- pause, resume, cancel ---------------------------------------------------------------------------------------


def _sending_in_a_thread(campaign: Campaign) -> threading.Thread:
    def run():
        try:
            sending.campaign_send_batches(
                organization_id=campaign.organization_id, campaign_id=campaign.pk, budget=None
            )
        finally:
            close_old_connections()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_for_sends(fake_meta, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(fake_meta.sent) < count:
        assert time.monotonic() < deadline, "the campaign never sent"
        time.sleep(0.01)


def _started_slowly(org, number, count: int) -> Campaign:
    number.throughput = 4  # four a second: the campaign is still sending when the test steps in
    number.save()
    campaign = _campaign(org, _contacts(org, count))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_senders_on_commit", lambda campaign: None)  # the test runs the sending itself
        return services.campaign_start(campaign=campaign, actor=None)


@pytest.mark.django_db(transaction=True)
def test_pause_stops_the_sending_and_resume_sends_each_remaining_recipient_once(org, number, fake_meta, template):
    campaign = _started_slowly(org, number, 12)
    thread = _sending_in_a_thread(campaign)
    _wait_for_sends(fake_meta, 2)

    services.campaign_pause(campaign=campaign, actor=None)
    thread.join(timeout=10)

    assert not thread.is_alive()
    sent = len(fake_meta.sent)
    assert sent < 12
    assert sorted(set(statuses(campaign).values())) == ["pending", "sent"]
    pending = CampaignRecipient.objects.filter(campaign=campaign, status="pending")
    assert pending.count() == 12 - sent
    assert list(pending.values_list("claim_token", "message")) == [(None, None)] * (12 - sent)
    assert Message.objects.filter(direction="outbound").count() == sent  # no message left for the unsent
    campaign.refresh_from_db()
    assert campaign.status == "paused"

    committed(services.campaign_resume, campaign=campaign, actor=None)

    assert sorted(sent_to(fake_meta)) == sorted(CampaignRecipient.objects.values_list("contact__wa_id", flat=True))
    assert counters(campaign)["sent"] == 12
    campaign.refresh_from_db()
    assert campaign.status == "completed"


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_the_sending_and_skips_the_recipients_not_sent_to(org, number, fake_meta, template):
    campaign = _started_slowly(org, number, 12)
    thread = _sending_in_a_thread(campaign)
    _wait_for_sends(fake_meta, 2)

    services.campaign_cancel(campaign=campaign, actor=None)
    thread.join(timeout=10)

    assert not thread.is_alive()
    sent = len(fake_meta.sent)
    assert CampaignRecipient.objects.filter(campaign=campaign, status="sent").count() == sent
    skipped = CampaignRecipient.objects.filter(campaign=campaign, status="skipped")
    assert skipped.count() == 12 - sent
    assert set(skipped.values_list("error_title", flat=True)) == {services.SKIP_CANCELLED}
    assert counters(campaign) == {
        "total": 12,
        "sent": sent,
        "delivered": 0,
        "read": 0,
        "replied": 0,
        "failed": 0,
        "skipped": 12 - sent,
    }
    campaign.refresh_from_db()
    assert campaign.status == "cancelled"
    send_campaign.delay(org.pk, campaign.pk)  # a sending task still queued does nothing
    assert len(fake_meta.sent) == sent


def test_a_running_campaign_cannot_be_deleted_or_started_again(org, number, fake_meta, template, marketing_client):
    campaign = _campaign(org, _contacts(org, 1))
    Campaign.objects.filter(pk=campaign.pk).update(status="running")

    assert marketing_client.delete(f"/api/v1/campaigns/{campaign.pk}").status_code == 409
    assert marketing_client.post(f"/api/v1/campaigns/{campaign.pk}/start", {}, format="json").status_code == 409
    assert Campaign.objects.filter(pk=campaign.pk).exists()


# --- Meta's refusals ----------------------------------------------------------------------------------------------


def test_130429_slows_the_number_down_and_the_same_message_goes_again(org, number, fake_meta, template):
    number.throughput = 10
    number.save()
    fake_meta.throughput_mps = 3  # Meta takes fewer than the number says
    contacts = _contacts(org, 8)

    campaign = _start(_campaign(org, contacts))

    throttled = [r for r in fake_meta.find_requests(path_endswith="/messages") if r.json.get("to")]
    assert len(throttled) > 8  # some were answered 130429 ...
    assert sorted(sent_to(fake_meta)) == sorted(contact.wa_id for contact in contacts)  # ... and each sent once
    assert Message.objects.filter(direction="outbound").count() == 8  # the refused ones were sent again, not copied
    assert set(statuses(campaign).values()) == {"sent"}
    assert set(CampaignRecipient.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_a_send_whose_slot_passed_takes_a_new_one_and_pushes_the_pacing_back(
    org, number, fake_meta, template, monkeypatch
):
    """A stalled process (its send threads start long after the slots the pacing gave them) must not send a bunch at
    once: those sends are not made, they wait for new slots, the pacing is pushed back as far, and each recipient
    still gets one message."""
    contacts = _contacts(org, 5)  # at 80/s, one send per slot
    given_wait_for, stalls, postponed, slots = pacing.wait_for, [3], [], []

    def stalled_wait_for(key, tokens, rate, **options):
        slot = given_wait_for(key, tokens, rate, **options)
        if slot is not None:
            slots.append(tokens)
        if slot is not None and stalls[0]:
            stalls[0] -= 1
            return slot - 1.0  # the thread starts the send a second after its slot
        return slot

    limiter = type(pacing.limiter())
    given_postpone = limiter.postpone

    def recorded_postpone(self, key, seconds):
        postponed.append(seconds)
        given_postpone(self, key, seconds)

    monkeypatch.setattr(pacing, "wait_for", stalled_wait_for)
    monkeypatch.setattr(limiter, "postpone", recorded_postpone)

    campaign = _start(_campaign(org, contacts))

    assert slots == [1] * 8  # three passed slots, then five sends on time
    assert len(fake_meta.find_requests(path_endswith="/messages")) == 5  # the late ones were never made
    assert sorted(sent_to(fake_meta)) == sorted(contact.wa_id for contact in contacts)
    assert set(statuses(campaign).values()) == {"sent"}
    assert set(CampaignRecipient.objects.values_list("attempts", flat=True)) == {1}
    assert len(postponed) >= 1 and all(1.0 - sending.JITTER <= seconds < 2 for seconds in postponed)


def test_a_sender_whose_budget_ran_out_keeps_sending_while_another_restarts(
    org, number, fake_meta, template, monkeypatch
):
    """Two senders of a campaign never stop and start again together (the number's slots would go unused): at the
    end of its budget, a sender waits its turn, sending meanwhile."""
    monkeypatch.setattr(sending, "RESTART_SPACING", 2)
    campaign = _started_slowly(org, number, 40)  # four a second: ten seconds of sending
    run = {"organization_id": campaign.organization_id, "campaign_id": campaign.pk, "budget": 0}

    assert sending.campaign_send_batches(**run) == 0  # its turn: it stops at once, nothing claimed
    assert len(fake_meta.sent) == 0

    started = time.monotonic()
    assert sending.campaign_send_batches(**run) == 0  # another sender restarts: this one sends until its turn
    assert sending.RESTART_SPACING - 0.5 <= time.monotonic() - started < sending.RESTART_SPACING + 3
    assert 1 <= len(fake_meta.sent) < 40
    assert CampaignRecipient.objects.filter(campaign=campaign, claim_token__isnull=False).count() == 0


def test_a_pacer_that_stops_hands_its_sends_back_and_the_next_run_sends_each_recipient_once(
    org, number, fake_meta, template, monkeypatch
):
    """Redis gone under the pacer: the task does not hang, what was sent stays sent, the rest goes back to pending
    (no message left for it) and the next run sends it, once."""
    campaign = _started_slowly(org, number, 6)
    given_wait_for, slots = pacing.wait_for, []

    def failing_wait_for(key, tokens, rate, **options):
        if len(slots) == 2:
            raise redis.exceptions.ConnectionError("Connection refused.")
        slot = given_wait_for(key, tokens, rate, **options)
        if slot is not None:
            slots.append(slot)
        return slot

    monkeypatch.setattr(pacing, "wait_for", failing_wait_for)
    run = {"organization_id": campaign.organization_id, "campaign_id": campaign.pk, "budget": None}

    assert sending.campaign_send_batches(**run) == sending.PACER_FAILED_RETRY

    assert len(fake_meta.sent) == 2
    pending = CampaignRecipient.objects.filter(campaign=campaign, status="pending")
    assert list(pending.values_list("claim_token", "message")) == [(None, None)] * 4
    assert Message.objects.filter(direction="outbound").count() == 2

    monkeypatch.setattr(pacing, "wait_for", given_wait_for)
    assert sending.campaign_send_batches(**run) is None

    assert sorted(sent_to(fake_meta)) == sorted(CampaignRecipient.objects.values_list("contact__wa_id", flat=True))
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent) == ("completed", 6)


def test_131056_retries_that_recipient_later_with_backoff(org, number, fake_meta, template, frozen):
    contacts = _contacts(org, 3)
    fake_meta.fail_next(131056, to=contacts[1].phone)

    campaign = _start(_campaign(org, contacts))

    waiting = CampaignRecipient.objects.get(campaign=campaign, contact=contacts[1])
    assert (waiting.status, waiting.attempts, waiting.message_id, waiting.claim_token) == ("pending", 1, None, None)
    assert timezone.now() + timedelta(seconds=2) <= waiting.retry_at <= timezone.now() + timedelta(seconds=4)
    assert sorted(sent_to(fake_meta)) == sorted([contacts[0].wa_id, contacts[2].wa_id])
    send_campaign.delay(org.pk, campaign.pk)  # not due yet: nothing sent
    assert _requests_to(fake_meta, contacts[1].phone) == 1

    frozen.shift(timedelta(seconds=5))
    send_campaign.delay(org.pk, campaign.pk)

    assert _requests_to(fake_meta, contacts[1].phone) == 2
    assert sent_to(fake_meta).count(contacts[1].wa_id) == 1
    assert statuses(campaign)[contacts[1].phone] == "sent"
    assert CampaignRecipient.objects.get(pk=waiting.pk).attempts == 2
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_a_permanent_error_fails_the_recipient_with_metas_code_and_title(org, number, fake_meta, template):
    contacts = _contacts(org, 2)
    fake_meta.fail_next(131009, to=contacts[0].phone)

    campaign = _start(_campaign(org, contacts))

    failed = CampaignRecipient.objects.get(campaign=campaign, contact=contacts[0])
    assert (failed.status, failed.error_code, failed.error_title) == ("failed", 131009, "Parameter value is not valid")
    assert (failed.message.status, failed.message.error_code) == ("failed", 131009)
    assert counters(campaign) == {
        "total": 2,
        "sent": 1,
        "delivered": 0,
        "read": 0,
        "replied": 0,
        "failed": 1,
        "skipped": 0,
    }
    assert _requests_to(fake_meta, contacts[0].phone) == 1


def test_a_template_meta_refuses_stops_the_campaign(org, number, fake_meta, template):
    number.throughput = 1  # one recipient per batch
    number.save()
    contacts = _contacts(org, 3)
    fake_meta.fail_next(132015)  # "Template is Paused"

    campaign = _start(_campaign(org, contacts))

    campaign.refresh_from_db()
    assert campaign.status == "failed"
    assert campaign.warning == "WhatsApp refused the template (error 132015): the campaign stopped."
    assert len(fake_meta.sends()) == 1
    assert sorted(statuses(campaign).values()) == ["failed", "pending", "pending"]


# --- a worker that died mid-batch ---------------------------------------------------------------------------------


def test_a_batch_whose_worker_died_is_resolved_by_metas_statuses_and_the_rest_sent_once(
    org, number, fake_meta, template, client, frozen
):
    webhooks_through_the_endpoint(fake_meta, client, org)
    contacts = _contacts(org, 4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_senders_on_commit", lambda campaign: None)
        campaign = services.campaign_start(campaign=_campaign(org, contacts), actor=None)
    # The worker claims the batch, stores its messages, sends two of them, and dies before recording anything.
    campaign = Campaign.objects.select_related("number").get(pk=campaign.pk)
    token, items = sending._claim(campaign)
    provider = provider_for(campaign.number)
    for item in items[:2]:
        message_provider_send(message=item.message, provider=provider, contact=item.contact)
    assert len(fake_meta.sent) == 2
    assert Message.objects.filter(provider_message_id__isnull=True).count() == 4

    frozen.shift(services.CLAIM_TIMEOUT + timedelta(minutes=1))
    assert services.campaigns_sweep() == 4  # too early to say for the two Meta never saw: they wait
    assert CampaignRecipient.objects.filter(claim_token=token).count() == 4
    deliver(fake_meta)  # Meta's statuses name the messages (callback data): the two that went out are sent

    assert [statuses(campaign)[item.contact.phone] for item in items] == ["read", "read", "pending", "pending"]
    assert CampaignRecipient.objects.filter(claim_token=token).count() == 2
    frozen.shift(services.STATUS_WEBHOOK_MARGIN)
    assert services.campaigns_sweep() == 2  # no status for these: Meta never accepted them
    assert CampaignRecipient.objects.filter(claim_token__isnull=False).count() == 0
    send_campaign.delay(org.pk, campaign.pk)

    assert sorted(sent_to(fake_meta)) == sorted(contact.wa_id for contact in contacts)  # each exactly once
    interrupted = Message.objects.filter(status="failed").values_list("error_title", flat=True)
    assert list(interrupted) == [services.INTERRUPTED_TITLE] * 2
    assert counters(campaign)["sent"] == 4


# --- the messaging limit ----------------------------------------------------------------------------------------


def _reached_today(org, number, count: int) -> None:
    """`count` customers got a template from the number in the last 24 hours."""
    conversations = [ConversationFactory(organization=org, number=number) for _ in range(count)]
    for conversation in conversations:
        MessageFactory(
            organization=org, conversation=conversation, direction="outbound", type="template", status="delivered"
        )


def test_a_campaign_beyond_the_messaging_limit_is_refused_or_started_with_a_warning(
    org, number, fake_meta, template, marketing_client
):
    _reached_today(org, number, 248)  # TIER_250: two customers left
    newcomers = _contacts(org, 3)
    in_window = ContactFactory(organization=org)
    Conversation.objects.create(
        organization=org, number=number, contact=in_window, last_inbound_at=timezone.now() - timedelta(hours=1)
    )
    body = {
        "name": "Big",
        "template_name": "promo",
        "language": "en_US",
        "contact_ids": [contact.pk for contact in [*newcomers, in_window]],
        "variable_mapping": MAPPING,
    }

    refused = committed(marketing_client.post, "/api/v1/campaigns/send", body, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "messaging_limit"
    assert refused.json()["detail"].startswith(
        "This campaign would reach 3 customers outside their 24-hour window, but the number's messaging limit "
        "(250 customers per rolling 24 hours) leaves 2 now"
    )
    assert Campaign.objects.count() == 0 and CampaignRecipient.objects.count() == 0
    assert fake_meta.sends() == []

    started = committed(marketing_client.post, "/api/v1/campaigns/send", {**body, "allow_partial": True}, format="json")

    assert started.status_code == 200
    campaign = Campaign.objects.get()
    assert campaign.warning == refused.json()["detail"]
    assert len(fake_meta.sends()) == 4


# --- the schedule ----------------------------------------------------------------------------------------------------


def test_beat_starts_a_scheduled_campaign_once_its_time_has_come(org, number, fake_meta, template, frozen):
    contacts = _contacts(org, 2)
    campaign = _campaign(org, contacts, scheduled_at=timezone.now() + timedelta(minutes=30))
    assert campaign.status == "scheduled"

    assert start_due_campaigns.delay().get() == 0
    frozen.shift(timedelta(minutes=30, seconds=1))
    assert committed(start_due_campaigns.delay).get() == 1

    campaign.refresh_from_db()
    assert campaign.status == "completed"
    assert sorted(sent_to(fake_meta)) == sorted(contact.wa_id for contact in contacts)
    assert sweep_campaigns.delay().get() == 0
