"""Campaigns sent by real Celery workers (processes, on the test database and Redis), as in production: two workers
share the number's pacing, and one of them is killed with SIGKILL in the middle of a batch. What the fake Graph API
received is the truth: every recipient exactly once, never more than the number's throughput in any second."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignRecipient
from tests.campaigns.support import MAPPING, deliver, sent_to, webhooks_through_the_endpoint
from tests.messaging.factories import ContactFactory
from tests.xdist import own_redis_db

ROOT = Path(__file__).resolve().parents[2]
# Broker, cache and pacing of the workers: Redis databases of their own (the suite's REDIS_URL is another).
WORKER_REDIS = own_redis_db(os.environ.get("CAMPAIGN_WORKER_REDIS_URL", "redis://127.0.0.1:6379/5"))
pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="real workers need the shared PostgreSQL database and Redis",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def broker():
    """Celery's client side for the workers' broker, emptied before and after."""
    client = redis.Redis.from_url(WORKER_REDIS)
    client.flushdb()
    # Not the current app: the project's tasks (shared_task) must keep running eagerly in this process and the tests
    # after this one, not go to the workers' broker.
    app = Celery(broker=WORKER_REDIS, set_as_current=False)
    yield app
    app.close()
    client.flushdb()
    client.close()


@pytest.fixture
def workers(fake_meta, broker):
    """Start `count` more Celery worker processes (campaign0, campaign1, ... in order; one pool process each) pointed
    at the test database, the workers' Redis and the fake Graph API; they are killed at the end whatever happened."""
    started: list[subprocess.Popen] = []
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "whatsapp_hub.settings",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_POOL": "0",
        "REDIS_URL": WORKER_REDIS,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_PREFETCH_MULTIPLIER": "1",
        "WHATSAPP_GRAPH_URL": fake_meta.base_url,
    }

    def start(count: int) -> list[subprocess.Popen]:
        for index in range(len(started), len(started) + count):
            command = [sys.executable, "-m", "celery", "-A", "whatsapp_hub", "worker", "--concurrency=1"]
            command += [f"--hostname=campaign{index}@%h", "--without-gossip", "--without-mingle", "--loglevel=WARNING"]
            started.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=environment,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group: the worker and its pool process die together
                )
            )
        return list(started)

    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def _until(condition, *, timeout: float = 45, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _running_campaign(org, number, count: int) -> Campaign:
    """A campaign to `count` contacts, started (frozen) without queuing its sending: the test queues it."""
    contacts = [ContactFactory(organization=org) for _ in range(count)]
    campaign = services.campaign_create(
        organization=org,
        actor=None,
        name="Workers",
        template_name="promo",
        language="en_US",
        variable_mapping=MAPPING,
        contact_ids=[contact.pk for contact in contacts],
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_senders_on_commit", lambda campaign: None)
        return services.campaign_start(campaign=campaign, actor=None)


def _queue_senders(broker: Celery, campaign: Campaign, count: int = 2) -> None:
    for _ in range(count):
        broker.send_task("campaigns.tasks.send_campaign", args=[campaign.organization_id, campaign.pk])


def _idle(broker: Celery, worker: str) -> bool:
    """Whether the worker (its name before the @) runs no task now."""
    name = f"{worker}@{socket.gethostname()}"
    return (broker.control.inspect(destination=[name], timeout=1).active() or {}).get(name) == []


def _status(campaign: Campaign) -> str:
    return Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)


def test_two_workers_one_killed_mid_batch_send_every_recipient_exactly_once(
    org, number, template, fake_meta, client, broker, workers
):
    number.throughput = 20
    number.save()
    webhooks_through_the_endpoint(fake_meta, client, org)
    campaign = _running_campaign(org, number, 150)
    claims = CampaignRecipient.objects.filter(campaign=campaign, claim_token__isnull=False)

    def tokens() -> set:
        return set(claims.values_list("claim_token", flat=True))

    # The victim starts sending first; once the survivor runs its sending task too, the victim is killed
    # mid-campaign: a batch claimed (and the next one, claimed ahead), some of its sends on their way, nothing
    # recorded.
    [victim] = workers(1)
    _queue_senders(broker, campaign, count=1)
    _until(lambda: len(fake_meta.sent) >= 3, what="the victim to send")
    [_, survivor] = workers(1)
    _queue_senders(broker, campaign, count=1)
    _until(lambda: not _idle(broker, "campaign1"), what="the survivor to start")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    held = tokens()

    # The survivor sends everything else and stops; the victim's batches stay claimed.
    claimable = CampaignRecipient.objects.filter(campaign=campaign, status="pending", claim_token__isnull=True)
    _until(lambda: not claimable.exists() and _idle(broker, "campaign1"), what="the survivor")
    assert tokens() and tokens() <= held
    assert claims.exists()
    deliver(fake_meta)  # Meta's statuses, by callback data, settle the victim's sends that reached it

    # Later, the sweeper resolves what is left of the victim's batch: no status came, so Meta never had them.
    later = timezone.now() + services.CLAIM_TIMEOUT + services.STATUS_WEBHOOK_MARGIN + timedelta(minutes=1)
    services._sweep_claims(later)
    assert not claims.exists()
    _queue_senders(broker, campaign, count=1)
    _until(lambda: _status(campaign) == "completed", what="the campaign to complete")

    received = Counter(sent_to(fake_meta))
    assert len(received) == 150
    assert set(received.values()) == {1}  # every recipient exactly once
    assert set(CampaignRecipient.objects.filter(campaign=campaign).values_list("status", flat=True)) <= {
        "sent",
        "delivered",
        "read",
    }
    campaign.refresh_from_db()
    assert (campaign.sent, campaign.failed, campaign.skipped) == (150, 0, 0)
    assert survivor.poll() is None  # still working


def test_two_workers_never_send_above_the_numbers_throughput_in_any_second(
    org, number, template, fake_meta, broker, workers
):
    number.throughput = 10
    number.save()
    campaign = _running_campaign(org, number, 45)
    workers(2)
    _queue_senders(broker, campaign)

    _until(lambda: _status(campaign) == "completed", what="the campaign to complete")

    times = sorted(r.at for r in fake_meta.find_requests(method="POST", path_endswith="/messages"))
    assert len(times) == 45
    busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    assert busiest <= 10
    assert len(Counter(sent_to(fake_meta))) == 45
