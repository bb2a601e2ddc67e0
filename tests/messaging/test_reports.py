"""Analytics metrics and the performance reports against hand-computed figures, in America/New_York around the
daylight-saving change of 2026-03-08 (that day has 23 hours: 05:00Z to 04:00Z the next day); CSV exports, parameter
validation, number visibility, the SQL percentile fallback (SQLite)."""

import csv
import io
import sqlite3
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from accounts.models import Role, Team
from messaging.models import Conversation, ConversationResolution, Message
from messaging.services import numbers as number_services
from messaging.services.conversations import conversation_update
from tests.conftest import client_for, signed_in
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory, WhatsAppNumberFactory
from whatsapp_hub.aggregates import grouped_percentiles_sql, sqlite_register

IN, OUT = Message.Direction.INBOUND, Message.Direction.OUTBOUND
DAY = {"start_date": "2026-03-08", "end_date": "2026-03-08"}  # New York, 23 hours


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def new_york(org):
    org.settings = {"timezone": "America/New_York"}
    org.save(update_fields=["settings"])
    return org


def _csv(response) -> list[dict]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def floor(new_york, other_org, time_machine):
    """Two agents, a team, two numbers, four conversations (figures in the tests' comments)."""
    org = new_york
    alice = MembershipFactory(organization=org, role=Role.AGENT, user__name="علياء")
    bob = MembershipFactory(organization=org, role=Role.AGENT, user__name="Bob")
    team = Team.objects.create(organization=org, name="=Support")  # a formula-looking name, for the CSV
    first, second = (
        WhatsAppNumberFactory(organization=org, display_name="Sales"),
        WhatsAppNumberFactory(organization=org, display_name="Care"),
    )
    c1 = ConversationFactory(organization=org, number=first, team=team, assigned_to=alice.user)
    c2 = ConversationFactory(organization=org, number=second, assigned_to=bob.user)
    c3 = ConversationFactory(organization=org, number=first, team=team)
    c4 = ConversationFactory(organization=org, number=second)

    def message(conversation, at, direction=OUT, by=None, status=None):
        status = status or (Message.Status.RECEIVED if direction == IN else Message.Status.SENT)
        user = by.user if by else None
        return MessageFactory(
            organization=org, conversation=conversation, direction=direction, created_at=at, sent_by=user, status=status
        )

    def close(conversation, at, by):
        time_machine.move_to(at, tick=False)
        conversation_update(conversation=conversation, actor=by.user, role=Role.ADMIN, status="closed")

    # c1: a 600 s first response (from the first of two messages), a later reply (not a first response), closed
    # 9,000 s after its cycle began (05:30Z to 08:00Z, across the 07:00Z switch); reopened, Bob answers in 1,200 s.
    message(c1, utc(8, 5, 30), IN)
    message(c1, utc(8, 5, 31), IN)
    message(c1, utc(8, 5, 40), by=alice)
    message(c1, utc(8, 6, 0), IN)
    message(c1, utc(8, 6, 5), by=alice)
    close(c1, utc(8, 8, 0), alice)
    Conversation.objects.filter(pk=c1.pk).update(status=Conversation.Status.OPEN)  # as ingest reopens it
    message(c1, utc(9, 3, 30), IN)  # 23:30 EDT on the 8th
    message(c1, utc(9, 3, 50), by=bob)
    # c2: Bob writes first (no response), the customer answers, Bob replies 1,800 s later; a failed message and a
    # bot's count nowhere; closed 4,200 s after its first message.
    message(c2, utc(8, 12, 0), by=bob)
    message(c2, utc(8, 12, 10), IN)
    message(c2, utc(8, 12, 40), by=bob)
    message(c2, utc(8, 12, 45), by=bob, status=Message.Status.FAILED)
    message(c2, utc(8, 12, 50))
    close(c2, utc(8, 13, 10), bob)
    # c3: asked before the day began (23:59 EST on the 7th), answered in it: 660 s.
    message(c3, utc(8, 4, 59), IN)
    message(c3, utc(8, 5, 10), by=alice)
    # c4: answered at 04:00Z on the 9th, midnight in New York: the next day.
    message(c4, utc(9, 3, 0), IN)
    message(c4, utc(9, 4, 0), by=alice)
    # Another organization's rows never count.
    MessageFactory(organization=other_org, direction=OUT, created_at=utc(8, 12), sent_by=alice.user)
    return SimpleNamespace(org=org, alice=alice, bob=bob, team=team, first=first, second=second, c1=c1, c2=c2)


def _row(rid, name, handled, sent, responses, median, p90, resolved, res_median, res_p90):
    return {
        "id": rid,
        "name": name,
        "conversations_handled": handled,
        "messages_sent": sent,
        "first_responses": responses,
        "first_response_median": median,
        "first_response_p90": p90,
        "resolved": resolved,
        "resolution_median": res_median,
        "resolution_p90": res_p90,
    }


def test_resolutions_record_the_cycle_and_who_held_it(floor):
    c1 = ConversationResolution.objects.get(conversation=floor.c1)
    assert (c1.opened_at, c1.closed_at) == (utc(8, 5, 30), utc(8, 8, 0))
    assert (c1.assigned_to_id, c1.team_id, c1.number_id) == (floor.alice.user_id, floor.team.pk, floor.first.pk)
    assert c1.closed_by_id == floor.alice.user_id


def test_agents_report(floor, admin_client):
    response = admin_client.get("/api/v1/reports/agents", DAY)

    assert response.status_code == 200, response.json()
    # Bob: c1 (03:50Z on the 9th is 23:50 EDT on the 8th) and c2; first responses 1,200 and 1,800 s.
    # Alice: c1 twice, c3; first responses 600 and 660 s (p90: 600 + 0.9 × 60); c1 resolved in 9,000 s.
    assert response.json() == [
        _row(floor.bob.user_id, "Bob", 2, 3, 2, 1500.0, 1740.0, 1, 4200.0, 4200.0),
        _row(floor.alice.user_id, "علياء", 2, 3, 2, 630.0, 654.0, 1, 9000.0, 9000.0),
    ]


def test_teams_and_numbers_reports(floor, admin_client):
    teams = admin_client.get("/api/v1/reports/teams", DAY).json()
    numbers = admin_client.get("/api/v1/reports/numbers", DAY).json()

    # =Support: c1 and c3, 4 replies, first responses 600, 660, 1,200 (p90 at rank 2.8: 660 + 0.8 × 540).
    support = _row(floor.team.pk, "=Support", 2, 4, 3, 660.0, 1092.0, 1, 9000.0, 9000.0)
    no_team = _row(None, "No team", 1, 2, 1, 1800.0, 1800.0, 1, 4200.0, 4200.0)
    assert teams == [support, no_team]
    assert numbers == [
        {**no_team, "id": floor.second.pk, "name": "Care"},
        {**support, "id": floor.first.pk, "name": "Sales"},
    ]


def test_reports_filter_by_number_and_team(floor, admin_client):
    by_number = admin_client.get("/api/v1/reports/agents", {**DAY, "number": floor.second.pk}).json()
    by_team = admin_client.get("/api/v1/reports/agents", {**DAY, "team": floor.team.pk}).json()

    assert by_number == [_row(floor.bob.user_id, "Bob", 1, 2, 1, 1800.0, 1800.0, 1, 4200.0, 4200.0)]
    assert by_team == [
        _row(floor.bob.user_id, "Bob", 1, 1, 1, 1200.0, 1200.0, 0, None, None),
        _row(floor.alice.user_id, "علياء", 2, 3, 2, 630.0, 654.0, 1, 9000.0, 9000.0),
    ]


def test_the_next_day_holds_what_came_after_midnight_in_new_york(floor, admin_client):
    rows = admin_client.get("/api/v1/reports/agents", {"start_date": "2026-03-09", "end_date": "2026-03-09"}).json()

    # c4's reply at 04:00Z on the 9th, 3,600 s after the question (Bob's reply at 03:50Z belonged to the 8th).
    assert rows == [_row(floor.alice.user_id, "علياء", 1, 1, 1, 3600.0, 3600.0, 0, None, None)]


def test_report_csv_export(floor, admin_client):
    response = admin_client.get("/api/v1/reports/teams/export", DAY)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv(response)
    assert list(rows[0]) == [
        "id",
        "name",
        "conversations_handled",
        "messages_sent",
        "first_responses",
        "first_response_median",
        "first_response_p90",
        "resolved",
        "resolution_median",
        "resolution_p90",
    ]
    assert rows[0]["name"] == "'=Support"  # formula-safe
    assert [row["first_response_p90"] for row in rows] == ["1092.0", "1800.0"]
    assert rows[1]["id"] == ""
    agents = _csv(admin_client.get("/api/v1/reports/agents/export", DAY))
    assert [row["name"] for row in agents] == ["Bob", "علياء"]


def test_analytics_days_are_new_york_days_across_both_changes(new_york, admin_client):
    conversation = ConversationFactory(organization=new_york)
    for at in (
        utc(8, 4, 59),  # 23:59 EST on the 7th
        utc(8, 5, 0),  # midnight on the 8th
        utc(9, 3, 59),  # 23:59 EDT on the 8th (a 23-hour day)
        utc(9, 4, 0),  # midnight on the 9th
        utc(1, 4, 0, month=11),  # midnight EDT on Nov 1st
        utc(2, 4, 30, month=11),  # 23:30 EST on Nov 1st (a 25-hour day)
        utc(2, 5, 0, month=11),  # midnight on the 2nd
    ):
        MessageFactory(organization=new_york, conversation=conversation, direction=IN, created_at=at)

    march = admin_client.get("/api/v1/analytics", {"start_date": "2026-03-07", "end_date": "2026-03-09"}).json()
    november = admin_client.get("/api/v1/analytics", {"start_date": "2026-11-01", "end_date": "2026-11-02"}).json()

    assert [(day["date"], day["received"]) for day in march] == [
        ("2026-03-07", 1),
        ("2026-03-08", 2),
        ("2026-03-09", 1),
    ]
    assert [(day["date"], day["received"]) for day in november] == [("2026-11-01", 2), ("2026-11-02", 1)]


def test_analytics_contacts_and_broadcasts_metrics(new_york, admin_client):
    ContactFactory(organization=new_york, created_at=utc(8, 4, 59))
    ContactFactory(organization=new_york, created_at=utc(8, 5, 0), opted_out=True, opted_out_at=utc(9, 3, 59))
    query = {"start_date": "2026-03-07", "end_date": "2026-03-08"}

    contacts = admin_client.get("/api/v1/analytics", {**query, "metrics": "contacts"}).json()
    broadcasts = admin_client.get("/api/v1/analytics", {**query, "metrics": "broadcasts"}).json()
    messages = admin_client.get("/api/v1/analytics", {**query, "metrics": "messages"}).json()

    assert contacts == [
        {"date": "2026-03-07", "created": 1, "opted_out": 0},
        {"date": "2026-03-08", "created": 1, "opted_out": 1},
    ]
    assert broadcasts[1] == {"date": "2026-03-08", "started": 0, "sent": 0, "delivered": 0, "read": 0}
    assert messages == admin_client.get("/api/v1/analytics", query).json()  # messages is the default
    exported = _csv(admin_client.get("/api/v1/analytics/export", {**query, "metrics": "contacts"}))
    assert exported == [
        {"date": "2026-03-07", "created": "1", "opted_out": "0"},
        {"date": "2026-03-08", "created": "1", "opted_out": "1"},
    ]


@pytest.mark.parametrize(
    ("url", "query", "detail"),
    [
        ("/api/v1/analytics", {"metrics": "calls"}, 'metrics: "calls" is not a valid choice.'),
        ("/api/v1/reports/agents", {"start_date": "2026-03-09", "end_date": "2026-03-08"}, None),
        ("/api/v1/reports/agents", {"start_date": "2025-01-01", "end_date": "2026-03-08"}, None),
        ("/api/v1/reports/teams", {"team": "x"}, "team: A valid integer is required."),
        ("/api/v1/reports/numbers/export", {"limit": "3"}, None),
    ],
)
def test_bad_parameters_are_a_400_with_a_message(admin_client, url, query, detail):
    response = admin_client.get(url, query)

    assert response.status_code == 400
    assert response.json()["detail"]
    if detail:
        assert response.json()["detail"] == detail


def test_another_organizations_number_or_team_is_refused(floor, other_org, admin_client):
    number = WhatsAppNumberFactory(organization=other_org)
    team = Team.objects.create(organization=other_org, name="Theirs")

    by_number = admin_client.get("/api/v1/reports/agents", {"number": number.pk})
    by_team = admin_client.get("/api/v1/reports/agents/export", {"team": team.pk})

    assert (by_number.status_code, by_number.json()) == (
        400,
        {"detail": "No such WhatsApp number.", "code": "invalid", "errors": {"number": ["No such WhatsApp number."]}},
    )
    assert (by_team.status_code, by_team.json()["errors"]) == (400, {"team": ["No such team in this organization."]})


def test_an_agent_sees_only_the_numbers_they_may(floor):
    number_services.number_assign(number=floor.second, actor=None, user_id=floor.bob.user_id, team_id=None)
    client = client_for(floor.alice)

    rows = client.get("/api/v1/reports/numbers", DAY).json()
    hidden = client.get("/api/v1/reports/agents", {**DAY, "number": floor.second.pk})

    assert [row["name"] for row in rows] == ["Sales"]
    assert (hidden.status_code, hidden.json()["detail"]) == (400, "No such WhatsApp number.")
    assert client_for(floor.bob).get("/api/v1/reports/numbers", DAY).json()[0]["name"] == "Care"


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [([600, 660, 1200], 660.0, 1092.0), ([10], 10.0, 10.0), ([4, 1, 3, 2], 2.5, 3.7), ([5, 5], 5.0, 5.0)],
)
def test_the_percentile_fallback_interpolates_as_percentile_cont(values, median, p90):
    """The SQL for SQLite (the percentile_cont aggregate the hub registers on its connections), run on SQLite."""
    database = sqlite3.connect(":memory:")
    sqlite_register(database)
    database.execute("CREATE TABLE t (key INTEGER, value REAL)")
    database.executemany("INSERT INTO t VALUES (?, ?)", [(1, v) for v in values] + [(None, 7.0)])
    sql = grouped_percentiles_sql(
        connection=SimpleNamespace(vendor="sqlite"), source="SELECT * FROM t", fractions=(0.5, 0.9)
    )

    rows = {key: rest for key, *rest in database.execute(sql)}

    assert rows[1][0] == len(values)
    assert rows[1][1:] == pytest.approx([median, p90])
    assert rows[None] == [1, 7.0, 7.0]


def test_reports_default_to_the_30_days_ending_today_in_new_york(floor, admin_membership, time_machine):
    time_machine.move_to(utc(9, 3, 55), tick=False)  # 23:55 on the 8th in New York: c4's reply is tomorrow's

    rows = client_for(admin_membership).get("/api/v1/reports/agents").json()

    assert [(row["name"], row["messages_sent"]) for row in rows] == [("Bob", 3), ("علياء", 3)]


# --- within business hours ----------------------------------------------------------------------------------------

HOURS = {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sun": ["10:00", "14:00"]}
WEEKEND = {"start_date": "2026-03-06", "end_date": "2026-03-08"}  # Friday and Saturday EST (UTC-5), Sunday the switch


@pytest.fixture
def week(new_york, time_machine):
    """Seven questions, each in its own conversation assigned to Alice, who answers each; five of them closed. Hours
    Monday to Friday 09:00-17:00, Sunday 10:00-14:00, Saturday closed, all New York time."""
    org = new_york
    org.settings = {**org.settings, "business_hours": HOURS}
    org.save(update_fields=["settings"])
    alice = MembershipFactory(organization=org, role=Role.AGENT, user__name="Alice")
    number = WhatsAppNumberFactory(organization=org, display_name="Sales")

    def asked(at, answered, closed=None):
        conversation = ConversationFactory(organization=org, number=number, assigned_to=alice.user)
        MessageFactory(organization=org, conversation=conversation, direction=IN, created_at=at)
        MessageFactory(
            organization=org,
            conversation=conversation,
            direction=OUT,
            status=Message.Status.SENT,
            created_at=answered,
            sent_by=alice.user,
        )
        if closed:
            time_machine.move_to(closed, tick=False)
            conversation_update(conversation=conversation, actor=alice.user, role=Role.ADMIN, status="closed")

    # (asked, answered, closed): first response, resolution; whether it is within the hours.
    asked(utc(6, 13, 59), utc(6, 14, 9))  # 08:59 EST Friday, a minute before opening (inside in UTC): 600 s, out
    asked(utc(6, 14, 0), utc(6, 14, 2), utc(6, 14, 40))  # 09:00 EST, at opening: 120 s, resolved 2,400 s; in
    asked(utc(6, 21, 59), utc(6, 22, 29))  # 16:59 EST, the last minute: 1,800 s; in
    asked(utc(6, 22, 1), utc(6, 22, 16), utc(6, 23, 1))  # 17:01 EST, just after closing: 900 s, 3,600 s; out
    asked(utc(7, 15, 0), utc(7, 15, 5), utc(7, 16, 20))  # 10:00 EST Saturday, closed all day: 300 s, 4,800 s; out
    # Sunday the 8th, EDT (UTC-4) from 07:00Z: in EST these two would swap sides.
    asked(utc(8, 14, 30), utc(8, 14, 50), utc(8, 16, 30))  # 10:30 EDT (09:30 EST): 1,200 s, 7,200 s; in
    asked(utc(8, 18, 30), utc(8, 18, 40), utc(8, 19, 30))  # 14:30 EDT (13:30 EST): 600 s, 3,600 s; out
    return SimpleNamespace(org=org, alice=alice, number=number)


def test_within_business_hours_only_questions_asked_and_cycles_opened_in_them_count(week, admin_client):
    everything = admin_client.get("/api/v1/reports/agents", WEEKEND).json()
    within = admin_client.get("/api/v1/reports/agents", {**WEEKEND, "business_hours": "true"}).json()

    # All: responses 120, 300, 600, 600, 900, 1,200, 1,800 (median 600; p90 at rank 6.4: 1,200 + 0.4 × 600);
    # resolutions 2,400, 3,600, 3,600, 4,800, 7,200 (median 3,600; p90 at rank 4.6: 4,800 + 0.6 × 2,400).
    assert everything == [_row(week.alice.user_id, "Alice", 7, 7, 7, 600.0, 1440.0, 5, 3600.0, 6240.0)]
    # Within: responses 120, 1,800 and 1,200 (p90 at rank 2.8: 1,200 + 0.8 × 600); resolutions 2,400 and 7,200
    # (p90 at rank 1.9: 2,400 + 0.9 × 4,800). Conversations and messages are all of them still.
    assert within == [_row(week.alice.user_id, "Alice", 7, 7, 3, 1200.0, 1680.0, 2, 4800.0, 6720.0)]


def test_within_business_hours_on_the_teams_and_numbers_reports_and_exports(week, admin_client):
    query = {**WEEKEND, "business_hours": "true"}
    within = _row(None, "No team", 7, 7, 3, 1200.0, 1680.0, 2, 4800.0, 6720.0)

    assert admin_client.get("/api/v1/reports/teams", query).json() == [within]
    assert admin_client.get("/api/v1/reports/numbers", query).json() == [
        {**within, "id": week.number.pk, "name": "Sales"}
    ]
    for grouping in ("agents", "teams", "numbers"):
        rows = _csv(admin_client.get(f"/api/v1/reports/{grouping}/export", query))
        assert [(row["first_responses"], row["first_response_p90"], row["resolved"]) for row in rows] == [
            ("3", "1680.0", "2")
        ]


def test_only_the_sunday_of_the_switch(week, admin_client):
    sunday = {"start_date": "2026-03-08", "end_date": "2026-03-08", "business_hours": "1"}

    rows = admin_client.get("/api/v1/reports/agents", sunday).json()

    # 10:30 EDT is within 10:00-14:00, 14:30 EDT is not (read as EST they would be the other way round).
    assert rows == [_row(week.alice.user_id, "Alice", 2, 2, 1, 1200.0, 1200.0, 1, 7200.0, 7200.0)]


def test_false_is_the_default(week, admin_client):
    assert admin_client.get("/api/v1/reports/agents", {**WEEKEND, "business_hours": "false"}).json() == (
        admin_client.get("/api/v1/reports/agents", WEEKEND).json()
    )


@pytest.mark.parametrize("url", ["/api/v1/reports/agents", "/api/v1/reports/teams", "/api/v1/reports/numbers/export"])
@pytest.mark.parametrize("saved", [{}, {"business_hours": {"mon": ["17:00", "09:00"]}}])
def test_business_hours_without_any_set_is_a_400_with_a_message(org, admin_client, url, saved):
    org.settings = saved  # a row of the wrong shape reads as none set
    org.save(update_fields=["settings"])

    response = admin_client.get(url, {"business_hours": "true"})

    message = "The organization has no business hours: an admin sets them in Settings › Organization."
    assert (response.status_code, response.json()["detail"]) == (400, message)
    assert response.json()["errors"] == {"business_hours": [message]}
    assert admin_client.get(url).status_code == 200


def test_the_page_offers_business_hours_only_when_set(week, org, admin_membership):
    browser = signed_in(admin_membership)

    page = browser.get("/reports/", {**WEEKEND, "business_hours": "true"}).content.decode()

    assert 'name="business_hours" value="true" checked' in page
    assert "business_hours=true" in page  # the exports keep it
    assert "/api/v1/analytics/export?start_date=2026-03-06&amp;end_date=2026-03-08&amp;metrics=messages" in page
    org.settings = {"timezone": "America/New_York"}
    org.save(update_fields=["settings"])
    refused = browser.get("/reports/", {**WEEKEND, "business_hours": "true"}).content.decode()
    assert 'name="business_hours"' not in refused
    assert "The organization has no business hours" in refused
