"""Retention of raw webhook events (beat, hourly): processed events go after WEBHOOK_EVENT_RETENTION_DAYS, in
batches; dead letters and events not processed yet stay."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import WebhookEvent
from messaging.services.retention import webhook_events_prune
from messaging.tasks.retention import prune_webhook_events

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
Status = WebhookEvent.Status


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(NOW, tick=False)


def event(org, *, status: str, received_days_ago: float, processed_days_ago: float | None = None) -> WebhookEvent:
    processed = None if processed_days_ago is None else NOW - timedelta(days=processed_days_ago)
    return WebhookEvent.objects.create(
        organization=org,
        source=WebhookEvent.Source.META,
        body={"object": "whatsapp_business_account", "entry": []},
        dedupe_key=f"{status}-{received_days_ago}-{processed_days_ago}-{WebhookEvent.objects.count()}",
        status=status,
        received_at=NOW - timedelta(days=received_days_ago),
        processed_at=processed,
    )


def test_processed_events_past_the_retention_are_pruned_and_the_rest_kept(org, other_org):
    expired = [
        event(org, status=Status.PROCESSED, received_days_ago=31, processed_days_ago=31),
        event(other_org, status=Status.PROCESSED, received_days_ago=400, processed_days_ago=400),
    ]
    kept = [
        event(org, status=Status.PROCESSED, received_days_ago=29, processed_days_ago=29),
        event(org, status=Status.PROCESSED, received_days_ago=30, processed_days_ago=29.9),  # just inside
        event(org, status=Status.PROCESSED, received_days_ago=40, processed_days_ago=1),  # a dead letter replayed
        event(org, status=Status.DEAD, received_days_ago=90),
        event(org, status=Status.FAILED, received_days_ago=40),
        event(org, status=Status.PENDING, received_days_ago=40),
        event(org, status=Status.PROCESSING, received_days_ago=40),
    ]

    assert prune_webhook_events.delay().get() == 2

    assert not WebhookEvent.objects.filter(pk__in=[e.pk for e in expired]).exists()
    assert sorted(WebhookEvent.objects.values_list("pk", flat=True)) == sorted(e.pk for e in kept)


def test_the_retention_is_configurable(org, settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 7
    week_old = event(org, status=Status.PROCESSED, received_days_ago=8, processed_days_ago=8)
    recent = event(org, status=Status.PROCESSED, received_days_ago=6, processed_days_ago=6)

    assert webhook_events_prune() == 1

    assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not WebhookEvent.objects.filter(pk=week_old.pk).exists()


def test_pruning_deletes_in_batches_and_a_run_stops_after_its_last_batch(org):
    for _ in range(5):
        event(org, status=Status.PROCESSED, received_days_ago=60, processed_days_ago=60)

    with CaptureQueriesContext(connection) as queries:
        assert webhook_events_prune(batch_size=2, max_batches=2) == 4
    assert WebhookEvent.objects.count() == 1
    assert sum(query["sql"].startswith("DELETE") for query in queries) == 2  # one per batch

    assert webhook_events_prune(batch_size=2) == 1
    assert webhook_events_prune(batch_size=2) == 0
    assert not WebhookEvent.objects.exists()
