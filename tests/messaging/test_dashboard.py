"""Dashboard figures and analytics: exact counts on a small dataset in frozen time, date validation, roles, tenancy."""

from datetime import UTC, date, datetime, timedelta

import pytest

from messaging.models import Conversation, Message
from messaging.selectors.dashboard import dashboard_stats, message_analytics
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory, WhatsAppNumberFactory

STATS_URL = "/api/v1/dashboard/stats"
ANALYTICS_URL = "/api/v1/analytics"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
OUT = Message.Direction.OUTBOUND


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def traffic(org, other_org, frozen):
    """Acme's messages over the last days (and some of Globex's, which must never count)."""
    conversation = ConversationFactory(organization=org)
    ConversationFactory(organization=org, status=Conversation.Status.CLOSED)
    WhatsAppNumberFactory(organization=org, status="disconnected")
    WhatsAppNumberFactory(organization=org, deleted_at=NOW)

    def message(at: datetime, direction=Message.Direction.INBOUND, status=Message.Status.RECEIVED):
        MessageFactory(organization=org, conversation=conversation, direction=direction, status=status, created_at=at)

    message(NOW - timedelta(hours=1))  # today, inbound
    message(NOW - timedelta(hours=2), OUT, Message.Status.READ)  # today
    message(NOW - timedelta(hours=3), OUT, Message.Status.QUEUED)  # today, not sent yet
    message(NOW - timedelta(hours=23), OUT, Message.Status.DELIVERED)  # 2026-03-09
    message(datetime(2026, 3, 9, 0, 0, tzinfo=UTC), OUT, Message.Status.FAILED)  # 2026-03-09, 36 h ago
    message(datetime(2026, 3, 8, 23, 59, 59, tzinfo=UTC), OUT, Message.Status.SENT)  # 2026-03-08
    message(datetime(2026, 3, 4, 0, 0, tzinfo=UTC))  # the first of the last 7 days
    message(datetime(2026, 3, 3, 23, 59, tzinfo=UTC))  # 8 days ago: outside the stats' 7 days
    for _ in range(3):
        MessageFactory(organization=other_org, created_at=NOW - timedelta(hours=1))
    ContactFactory(organization=other_org)
    return conversation


def test_stats_count_the_organizations_data_exactly(org, traffic, agent_client):
    response = agent_client.get(STATS_URL)

    assert response.status_code == 200
    assert response.json() == {
        "total_messages": 8,
        "messages_in_24h": 4,
        "total_contacts": 2,
        "active_numbers": 2,
        "conversations_open": 1,
        "broadcasts_sent": 0,
        "analytics": [
            {"date": "2026-03-04", "sent": 0, "received": 1},
            {"date": "2026-03-05", "sent": 0, "received": 0},
            {"date": "2026-03-06", "sent": 0, "received": 0},
            {"date": "2026-03-07", "sent": 0, "received": 0},
            {"date": "2026-03-08", "sent": 1, "received": 0},
            {"date": "2026-03-09", "sent": 1, "received": 0},
            {"date": "2026-03-10", "sent": 1, "received": 1},
        ],
    }


def test_analytics_count_each_day_with_zero_days_included(traffic, marketing_client):
    response = marketing_client.get(ANALYTICS_URL, {"start_date": "2026-03-07", "end_date": "2026-03-10"})

    assert response.status_code == 200
    assert response.json() == [
        {"date": "2026-03-07", "sent": 0, "received": 0, "delivered": 0, "read": 0, "failed": 0},
        {"date": "2026-03-08", "sent": 1, "received": 0, "delivered": 0, "read": 0, "failed": 0},
        {"date": "2026-03-09", "sent": 1, "received": 0, "delivered": 1, "read": 0, "failed": 1},
        {"date": "2026-03-10", "sent": 1, "received": 1, "delivered": 1, "read": 1, "failed": 0},
    ]


def test_analytics_default_to_the_last_30_days(traffic, agent_client):
    days = agent_client.get(ANALYTICS_URL).json()

    assert (len(days), days[0]["date"], days[-1]["date"]) == (30, "2026-02-09", "2026-03-10")
    assert sum(day["received"] for day in days) == 3


def test_analytics_take_a_range_of_366_days(frozen, agent_client):
    response = agent_client.get(ANALYTICS_URL, {"start_date": "2025-03-10", "end_date": "2026-03-10"})

    assert response.status_code == 200
    assert len(response.json()) == 366


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"start_date": "2026-03-11", "end_date": "2026-03-10"}, {"start_date": ["start_date is after end_date."]}),
        ({"start_date": "2025-03-09", "end_date": "2026-03-10"}, {"end_date": ["The range spans more than 366 days."]}),
        (
            {"start_date": "10/03/2026"},
            {"start_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        (
            {"end_date": "2026-02-30"},
            {"end_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        ({"from": "2026-03-01"}, {"from": ["Unknown query parameter; known here: end_date, metrics, start_date."]}),
    ],
)
def test_analytics_refuse_bad_dates(frozen, agent_client, query, errors):
    response = agent_client.get(ANALYTICS_URL, query)

    assert response.status_code == 400
    assert response.json()["errors"] == errors


def test_figures_are_aggregate_queries_whatever_the_volume(org, traffic, django_assert_num_queries):
    with django_assert_num_queries(1):
        message_analytics(org=org, start=date(2025, 3, 11), end=date(2026, 3, 10))
    with django_assert_num_queries(5):
        dashboard_stats(org=org)


def test_an_organization_without_data_sees_zeros(frozen, outsider_client):
    stats = outsider_client.get(STATS_URL).json()

    assert {key: value for key, value in stats.items() if key != "analytics"} == {
        "total_messages": 0,
        "messages_in_24h": 0,
        "total_contacts": 0,
        "active_numbers": 0,
        "conversations_open": 0,
        "broadcasts_sent": 0,
    }
    assert [day["sent"] + day["received"] for day in stats["analytics"]] == [0] * 7


def test_anonymous_callers_get_a_401(anon_client):
    assert (anon_client.get(STATS_URL).status_code, anon_client.get(ANALYTICS_URL).status_code) == (401, 401)
