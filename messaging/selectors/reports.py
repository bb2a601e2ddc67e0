"""Read paths of the performance reports: per agent, per team and per number, over a range of days of the
organization's time zone.

Definitions (the reports' and their CSV exports'):

- A *reply* is an outbound message a person sent (`sent_by` set: not a bot, a flow nor a broadcast) that did not
  fail. `messages_sent` counts the replies created in the range; `conversations_handled` the conversations with at
  least one of them.
- A conversation's *cycle* runs from the first message after it was last closed (its first message for the first
  cycle) to its next close: the customer's next message reopens a closed conversation.
- *First response time*: in each cycle, from the customer's first message (of the first stretch of their messages
  that got a reply) to the reply that followed; counted in the range of that reply. Attributed to the person who
  replied, and to the conversation's team and number.
- *Resolution time*: from the start of a cycle to its close (messaging.models.ConversationResolution), counted in
  the range of the close; attributed to the assignee and the team the conversation had when it was closed.
- *Within business hours* (`business_hours`, the organization's setting, accounts.org_settings): first response
  times count only the questions asked (the stretch's first customer message) within the opening hours of their
  weekday, in the organization's time zone, and resolution times only the cycles that began within them; the
  times themselves stay wall-clock seconds. Message and conversation counts are the same with or without it.

Median and 90th percentile are continuous (whatsapp_hub.aggregates). Every figure is computed in the database:
counts with GROUP BY, response times with window functions (the messages of a conversation split into stretches
ending at each reply), percentiles with percentile_cont on both databases (whatsapp_hub.aggregates registers it on
SQLite), the local weekday and time of day with the backend's own time zone conversion (AT TIME ZONE on PostgreSQL,
Django's registered functions on SQLite); Python only joins the few grouped rows and names them. Rows are those of
the numbers the reader may see (`number_ids`), and of a number and/or a team when asked.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, When
from django.utils.translation import gettext

from accounts import org_settings
from accounts.models import Organization, Team, User
from accounts.web import organization_time_zone
from messaging.models import ConversationResolution, Message, WhatsAppNumber
from messaging.selectors.access import NumberIds, only_visible_numbers
from messaging.selectors.dashboard import day_bounds
from whatsapp_hub.aggregates import grouped_percentiles_sql, seconds_between_sql
from whatsapp_hub.errors import ServiceError

PERCENTILES = (0.5, 0.9)
# Per grouping: the key of a message (through its conversation for teams and numbers) and of a resolution.
GROUPINGS = {
    "agents": ("sent_by_id", "assigned_to_id"),
    "teams": ("conversation__team_id", "team_id"),
    "numbers": ("conversation__number_id", "number_id"),
}
FIELDS = (
    "conversations_handled",
    "messages_sent",
    "first_responses",
    "first_response_median",
    "first_response_p90",
    "resolved",
    "resolution_median",
    "resolution_p90",
)
REPLY = Q(direction=Message.Direction.OUTBOUND, sent_by__isnull=False) & ~Q(status=Message.Status.FAILED)


@dataclass(frozen=True)
class ReportScope:
    """What a report covers: the organization's days `start` to `end` (inclusive), the numbers the reader sees, and
    optionally one number and one team (already checked to be the organization's and visible); `business_hours`:
    the organization's hours ({isoweekday: (opening minute, closing minute)}) when the times count only what came
    in within them."""

    org: Organization
    start: date
    end: date
    number_ids: NumberIds = None
    number_id: int | None = None
    team_id: int | None = None
    business_hours: dict[int, tuple[int, int]] | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        since, until, _ = day_bounds(org=self.org, start=self.start, end=self.end)
        return since, until


def report_scope_or_error(
    *,
    org: Organization,
    start: date,
    end: date,
    number_ids: NumberIds = None,
    number_id: int | None = None,
    team_id: int | None = None,
    business_hours: bool = False,
) -> ReportScope:
    """The scope of a report; a number the reader may not see, or not of the organization, and a team not of the
    organization, are refused alike (ServiceError 400 naming the parameter), and so are business hours for an
    organization without them."""
    if number_id is not None:
        numbers = only_visible_numbers(WhatsAppNumber.objects.for_org(org), number_ids, field="pk")
        if not numbers.filter(pk=number_id).exists():
            message = gettext("No such WhatsApp number.")
            raise ServiceError(message, errors={"number": [message]})
    if team_id is not None and not Team.objects.for_org(org).filter(pk=team_id).exists():
        message = gettext("No such team in this organization.")
        raise ServiceError(message, errors={"team": [message]})
    hours = org_settings.business_hours(org.settings) if business_hours else None
    if business_hours and not hours:
        message = gettext("The organization has no business hours: an admin sets them in Settings › Organization.")
        raise ServiceError(message, errors={"business_hours": [message]})
    return ReportScope(
        org=org,
        start=start,
        end=end,
        number_ids=number_ids,
        number_id=number_id,
        team_id=team_id,
        business_hours=hours,
    )


def _messages(scope: ReportScope) -> QuerySet[Message]:
    messages = only_visible_numbers(
        Message.objects.for_org(scope.org), scope.number_ids, field="conversation__number_id"
    )
    if scope.number_id is not None:
        messages = messages.filter(conversation__number_id=scope.number_id)
    if scope.team_id is not None:
        messages = messages.filter(conversation__team_id=scope.team_id)
    return messages.order_by()


def _resolutions(scope: ReportScope) -> QuerySet[ConversationResolution]:
    since, until = scope.bounds()
    resolutions = only_visible_numbers(ConversationResolution.objects.for_org(scope.org), scope.number_ids)
    if scope.number_id is not None:
        resolutions = resolutions.filter(number_id=scope.number_id)
    if scope.team_id is not None:
        resolutions = resolutions.filter(team_id=scope.team_id)
    return resolutions.filter(closed_at__gte=since, closed_at__lt=until).order_by()


def _param(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _run(sql: str, params: list) -> dict:
    """{key: (n, p50, p90)} of a grouped_percentiles_sql query. Without PostgreSQL's JIT: its cost estimate of the
    windows over a million messages turns it on, and compiling took 2.2 of the 8 seconds (bench/reports.py)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _within_business_hours(scope: ReportScope, source: str, params: list) -> tuple[str, list]:
    """`source` (rows with the columns key, value and moment, a timestamp) as the grouped queries read it: without
    business hours as it is, with them only its rows whose `moment` falls within the opening interval of its weekday
    in the organization's time zone (opening included, closing excluded). The hours are integers of the validated
    setting, written into the SQL; the zone goes as a parameter of the backend's own conversion."""
    if not scope.business_hours:
        return source, params
    tzname = organization_time_zone(scope.org).key
    extract = connection.ops.datetime_extract_sql
    day, day_params = extract("iso_week_day", "moment", (), tzname)
    hour, hour_params = extract("hour", "moment", (), tzname)
    minute, minute_params = extract("minute", "moment", (), tzname)
    hours = sorted(scope.business_hours.items())
    opens = " ".join(f"WHEN {int(weekday)} THEN {int(opening)}" for weekday, (opening, _) in hours)
    closes = " ".join(f"WHEN {int(weekday)} THEN {int(closing)}" for weekday, (_, closing) in hours)
    # A closed day has no WHEN: its CASE is NULL and no comparison with NULL holds.
    sql = f"""
        SELECT key, value FROM (
            SELECT key, value, {day} AS local_day, ({hour}) * 60 + ({minute}) AS local_minute FROM ({source}) AS timed
        ) AS in_zone
        WHERE local_minute >= CASE local_day {opens} END AND local_minute < CASE local_day {closes} END
    """  # noqa: S608
    return sql, [*day_params, *hour_params, *minute_params, *params]  # in the order of their placeholders


def _first_responses(scope: ReportScope, key: str) -> dict:
    since, until = scope.bounds()
    replies = _messages(scope).filter(REPLY, created_at__gte=since, created_at__lt=until)
    # Every message before the range's end of the conversations with a reply in it: a stretch may start earlier.
    base = (
        _messages(scope)
        .filter(conversation_id__in=replies.values("conversation_id"), created_at__lt=until)
        .values(
            conv=F("conversation_id"),
            ts=F("created_at"),
            mid=F("id"),
            inbound=Case(When(direction=Message.Direction.INBOUND, then=1), default=0, output_field=IntegerField()),
            reply=Case(When(REPLY, then=1), default=0, output_field=IntegerField()),
            agent=F("sent_by_id"),
            num=F("conversation__number_id"),
            team=F("conversation__team_id"),
        )
    )
    base_sql, base_params = base.query.sql_with_params()
    resolutions = ConversationResolution._meta.db_table
    seconds = seconds_between_sql(connection=connection, start="asked", end="answered")
    # stretch: how many replies came before the message in its conversation, so a stretch is the customer's
    # messages after a reply up to (and with) the next reply. A stretch is the first of its cycle when the reply
    # before it (of the previous stretch the customer wrote in) came before the conversation's last close.
    # Composed of the ORM's own SQL (its values as parameters), column names and a table name: no input.
    source = f"""
        WITH m AS ({base_sql}),
        t AS (
            SELECT conv, ts, inbound, reply, agent, num, team,
                COALESCE(SUM(reply) OVER (
                    PARTITION BY conv ORDER BY ts, mid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                ), 0) AS stretch
            FROM m
        ),
        stretches AS (
            SELECT conv, stretch,
                MIN(CASE WHEN inbound = 1 THEN ts END) AS asked,
                MAX(CASE WHEN reply = 1 THEN ts END) AS answered,
                MAX(CASE WHEN reply = 1 THEN agent END) AS agent,
                MAX(num) AS num, MAX(team) AS team
            FROM t GROUP BY conv, stretch
        ),
        asked AS (
            SELECT stretches.*, LAG(answered) OVER (PARTITION BY conv ORDER BY stretch) AS previous
            FROM stretches WHERE asked IS NOT NULL
        )
        SELECT {key} AS key, {seconds} AS value, asked AS moment FROM asked
        WHERE answered IS NOT NULL AND answered >= %s AND answered < %s
            AND (previous IS NULL OR previous <= (
                SELECT MAX(r.closed_at) FROM {resolutions} r WHERE r.conversation_id = asked.conv
                AND r.closed_at <= asked.asked
            ))
    """  # noqa: S608
    source, params = _within_business_hours(scope, source, [*base_params, _param(since), _param(until)])
    return _run(grouped_percentiles_sql(connection=connection, source=source, fractions=PERCENTILES), params)


def _resolution_times(scope: ReportScope, key: str) -> dict:
    base = _resolutions(scope).values(key=F(key), opened=F("opened_at"), closed=F("closed_at"))
    base_sql, base_params = base.query.sql_with_params()
    seconds = seconds_between_sql(connection=connection, start="opened", end="closed")
    source = f"SELECT key, {seconds} AS value, opened AS moment FROM ({base_sql}) AS resolutions"  # noqa: S608
    source, params = _within_business_hours(scope, source, list(base_params))
    return _run(grouped_percentiles_sql(connection=connection, source=source, fractions=PERCENTILES), params)


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 3)


def _names(grouping: str, org: Organization, keys: set) -> dict:
    ids = [key for key in keys if key is not None]
    if grouping == "agents":
        users = User.objects.filter(pk__in=ids, memberships__organization=org).distinct()
        names = {user.pk: user.name or user.email for user in users}
        return {**names, None: gettext("Unassigned")}
    if grouping == "teams":
        names = dict(Team.objects.for_org(org).filter(pk__in=ids).values_list("pk", "name"))
        return {**names, None: gettext("No team")}
    return dict(WhatsAppNumber.objects.for_org(org).filter(pk__in=ids).values_list("pk", "display_name"))


def performance_report(*, scope: ReportScope, grouping: str) -> list[dict]:
    """One row per agent, team or number (`grouping`: agents, teams, numbers) with a figure in the range, by name:
    `{id, name, conversations_handled, messages_sent, first_responses, first_response_median, first_response_p90,
    resolved, resolution_median, resolution_p90}`; times in seconds (None without any). The id is None for the
    resolutions of unassigned conversations (agents) or of conversations without a team (teams). Four queries."""
    message_key, resolution_key = GROUPINGS[grouping]
    since, until = scope.bounds()
    counts = {
        row["key"]: row
        for row in _messages(scope)
        .filter(REPLY, created_at__gte=since, created_at__lt=until)
        .values(key=F(message_key))
        .annotate(messages_sent=Count("id"), conversations_handled=Count("conversation_id", distinct=True))
    }
    responses = _first_responses(scope, {"agents": "agent", "teams": "team", "numbers": "num"}[grouping])
    resolutions = _resolution_times(scope, resolution_key)  # both limited to business hours when the scope has them
    keys = counts.keys() | responses.keys() | resolutions.keys()
    names = _names(grouping, scope.org, set(keys))
    rows = []
    for key in keys:
        count = counts.get(key, {})
        response = responses.get(key, (0, None, None))
        resolution = resolutions.get(key, (0, None, None))
        rows.append(
            {
                "id": key,
                "name": names.get(key, ""),
                "conversations_handled": count.get("conversations_handled", 0),
                "messages_sent": count.get("messages_sent", 0),
                "first_responses": response[0],
                "first_response_median": _seconds(response[1]),
                "first_response_p90": _seconds(response[2]),
                "resolved": resolution[0],
                "resolution_median": _seconds(resolution[1]),
                "resolution_p90": _seconds(resolution[2]),
            }
        )
    return sorted(rows, key=lambda row: (row["id"] is None, row["name"].casefold(), row["id"] or 0))
