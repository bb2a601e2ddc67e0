"""The system log (accounts.SystemLog): the writer the services call at their failure points (after the commit, never
raising, bounded), GET/POST logs (filters, validation, admins only, throttled), retention (beat) and the live push
to the admins' sockets. The writers of each failure point are tested with their app (tests/*/test_system_log_*.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.models import SystemLog
from accounts.tasks import prune_system_logs
from tests.conftest import client_for
from tests.messaging.inbox_support import api_key_client
from tests.messaging.socket_support import db, frames, open_inbox, run, session_cookie

LOGS = "/api/v1/logs"


def write(**fields):
    entry = {"organization_id": fields.pop("org").pk, "level": "error", "category": "delivery", "message": "Failed."}
    services.system_log_write(**{**entry, **fields})


# --- the writer --------------------------------------------------------------------------------------------------


def test_inside_a_transaction_the_entry_is_written_after_the_commit_and_dropped_on_rollback(org):
    details = {"message_id": 7, "reason": "x"}
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        write(org=org, message="Message %(message_id)s failed: %(reason)s", details=details)
        assert not SystemLog.objects.exists()  # not before the commit
    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        write(org=org, message="Rolled back")
        raise RuntimeError

    [log] = SystemLog.objects.all()
    assert (log.organization_id, log.level, log.category) == (org.pk, "error", "delivery")
    assert log.message == "Message 7 failed: x"
    assert log.template == "Message %(message_id)s failed: %(reason)s"
    assert log.details == {"message_id": 7, "reason": "x"}


def test_a_batch_is_written_in_one_statement(org, other_org):
    entries = [
        services.SystemLogEntry(org.pk, "warning", "webhook", "One", related=("webhook_event", 3)),
        services.SystemLogEntry(other_org.pk, "info", "integration", "Two"),
    ]
    with CaptureQueriesContext(connection) as queries, TestCase.captureOnCommitCallbacks(execute=True):
        services.system_logs_write(entries=entries)

    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert sorted(SystemLog.objects.values_list("organization_id", "message", "related_type", "related_id")) == sorted(
        [(org.pk, "One", "webhook_event", "3"), (other_org.pk, "Two", "", "")]
    )


@pytest.mark.after_commit_failures
def test_a_bad_entry_never_raises_into_the_caller(org):
    with TestCase.captureOnCommitCallbacks(execute=True):
        write(org=org, level="fatal")  # no such level: logged, dropped
        write(org=org, message="Needs %(missing)s")  # a placeholder without its detail: the template as is

    assert list(SystemLog.objects.values_list("message", flat=True)) == ["Needs %(missing)s"]


def test_message_and_details_are_bounded(org):
    with TestCase.captureOnCommitCallbacks(execute=True):
        write(org=org, message="Meta said: %(reason)s", details={"reason": "x" * 5000})
        write(org=org, message="Many", details={"ids": list(range(3000))})

    bounded, cut = SystemLog.objects.order_by("id")
    assert bounded.message == "Meta said: " + "x" * services.SYSTEM_LOG_VALUE_MAX
    assert bounded.details == {"reason": "x" * services.SYSTEM_LOG_VALUE_MAX}
    assert cut.details["truncated"] is True
    assert len(cut.details["excerpt"]) == SystemLog.DETAILS_MAX - 100


# --- the API ----------------------------------------------------------------------------------------------------


def _entries(org):
    now = timezone.now()
    rows = [
        ("error", "delivery", "A", now - timedelta(days=3)),
        ("warning", "webhook", "B", now - timedelta(days=2)),
        ("info", "integration", "C", now - timedelta(days=1)),
        ("error", "workflow", "D", now),
    ]
    return [
        SystemLog.objects.create(organization=org, level=lv, category=c, message=m, created_at=at)
        for lv, c, m, at in rows
    ]


def _messages(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["message"] for row in response.json()["results"]]


def test_get_logs_lists_the_organizations_entries_newest_first_in_the_apis_shape(admin_client, org, other_org):
    _entries(org)
    SystemLog.objects.create(organization=other_org, level="error", category="delivery", message="Theirs")

    body = admin_client.get(LOGS).json()

    assert body["count"] == 4
    assert [row["message"] for row in body["results"]] == ["D", "C", "B", "A"]
    assert set(body["results"][0]) == {
        "id",
        "created_at",
        "level",
        "category",
        "message",
        "details",
        "related_type",
        "related_id",
    }


def test_get_logs_filters_by_level_category_and_since(admin_client, org):
    _entries(org)
    since = (timezone.now() - timedelta(days=2, hours=1)).isoformat()

    assert _messages(admin_client.get(LOGS, {"level": "error"})) == ["D", "A"]
    assert _messages(admin_client.get(LOGS, {"category": "webhook"})) == ["B"]
    assert _messages(admin_client.get(LOGS, {"since": since})) == ["D", "C", "B"]
    assert _messages(admin_client.get(LOGS, {"level": "error", "since": since})) == ["D"]
    assert _messages(admin_client.get(LOGS, {"page_size": 1, "page": 2})) == ["C"]


@pytest.mark.parametrize(
    "query, field",
    [({"level": "fatal"}, "level"), ({"category": "mail"}, "category"), ({"since": "yesterday"}, "since")],
)
def test_get_logs_refuses_bad_filters_with_a_400(admin_client, org, query, field):
    response = admin_client.get(LOGS, query)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_log_is_for_admins(agent_client, marketing_client, anon_client, org):
    assert agent_client.get(LOGS).status_code == 403
    assert marketing_client.post(LOGS, {"message": "x"}).status_code == 403
    assert anon_client.get(LOGS).status_code == 401
    assert not SystemLog.objects.exists()


def test_an_api_client_adds_an_entry_of_category_api(org):
    client = api_key_client(org, role="admin")

    response = client.post(
        LOGS, {"level": "warning", "message": "  Nightly CRM sync skipped 3 rows  ", "details": {"rows": [4, 9, 12]}}
    )

    assert response.status_code == 201, response.json()
    log = SystemLog.objects.get()
    assert response.json() == {
        "id": log.pk,
        "created_at": log.created_at.isoformat().replace("+00:00", "Z"),
        "level": "warning",
        "category": "api",
        "message": "Nightly CRM sync skipped 3 rows",
        "details": {"rows": [4, 9, 12]},
        "related_type": "",
        "related_id": "",
    }
    assert (log.organization_id, log.template) == (org.pk, "")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"message": "x", "level": "fatal"}, "level"),
        ({"message": "x" * 501}, "message"),
        ({"message": ""}, "message"),
        ({"message": "   "}, "message"),
        ({}, "message"),
        ({"message": "x", "category": "webhook"}, "category"),  # the category is always api: not an input
        ({"message": "x", "details": ["a"]}, "details"),
        ({"message": "x", "details": {"blob": "y" * 5000}}, "details"),
    ],
)
def test_post_logs_refuses_bad_entries_with_a_400(admin_client, org, body, field):
    response = admin_client.post(LOGS, body, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not SystemLog.objects.exists()


def test_post_logs_is_throttled_per_organization(settings, admin_membership, org, time_machine):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "system_log": "2/min"},
    }
    time_machine.move_to(timezone.now(), tick=False)
    key_client = api_key_client(org, role="admin")
    person = client_for(admin_membership)

    assert key_client.post(LOGS, {"message": "one"}).status_code == 201
    assert person.post(LOGS, {"message": "two"}).status_code == 201
    refused = key_client.post(LOGS, {"message": "three"})
    assert refused.status_code == 429
    assert person.get(LOGS).status_code == 200  # reading is not throttled with it
    assert SystemLog.objects.count() == 2


# --- retention --------------------------------------------------------------------------------------------------

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_entries_past_the_retention_are_pruned_in_batches(org, other_org, settings, time_machine):
    time_machine.move_to(NOW, tick=False)
    settings.SYSTEM_LOG_RETENTION_DAYS = 30

    def entry(organization, days_ago):
        return SystemLog.objects.create(
            organization=organization,
            level="info",
            category="api",
            message=f"{days_ago} days",
            created_at=NOW - timedelta(days=days_ago),
        )

    old = [entry(org, 31), entry(org, 45), entry(other_org, 400)]
    kept = [entry(org, 29.9), entry(other_org, 1)]

    assert services.system_logs_prune(batch_size=2) == 3  # two batches
    assert sorted(SystemLog.objects.values_list("pk", flat=True)) == sorted(e.pk for e in kept)
    assert not SystemLog.objects.filter(pk__in=[e.pk for e in old]).exists()

    settings.SYSTEM_LOG_RETENTION_DAYS = 7
    entry(org, 8)
    assert prune_system_logs.delay().get() == 2  # the 8 days old one, and the 29.9 days old one now
    assert list(SystemLog.objects.values_list("pk", flat=True)) == [kept[1].pk]


def test_the_retention_task_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["accounts-system-log-retention"]
    assert entry["task"] == "accounts.tasks.prune_system_logs"


# --- live ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_new_entries_are_pushed_to_the_admins_sockets_only(admin_membership, agent_membership, org):
    admin, agent = session_cookie(admin_membership.user), session_cookie(agent_membership.user)

    def dead_letter():
        with transaction.atomic():
            write(org=org, category="webhook", message="Event %(event_id)s failed", details={"event_id": 5})

    async def scenario():
        (admin_socket, _), (agent_socket, _) = await open_inbox(cookie=admin), await open_inbox(cookie=agent)
        await db(dead_letter)()
        [frame] = await frames(admin_socket, 1)
        assert await agent_socket.receive_nothing(timeout=0.3)
        return frame

    frame = run(scenario)
    log = SystemLog.objects.get()
    assert frame == {
        "type": "system_log.created",
        "seq": 1,
        "first_seq": 1,
        "data": {
            "logs": [
                {
                    "id": log.pk,
                    "created_at": log.created_at.isoformat().replace("+00:00", "Z"),
                    "level": "error",
                    "category": "webhook",
                    "message": "Event 5 failed",
                    "details": {"event_id": 5},
                    "related_type": "",
                    "related_id": "",
                }
            ]
        },
    }
