"""Benchmark: the reports and analytics at a million messages, against a plain COUNT(*) over the same rows.

Seeds a fresh PostgreSQL database (on the server of DATABASE_URL, default 127.0.0.1; the database is this
benchmark's own, dropped and created again) with one organization in America/New_York: 4 numbers, 3 teams, 20
agents, 20,000 conversations of 50 messages each (1,000,000 messages over 90 days: customers' stretches of 1-3
messages, each answered by an agent, sometimes a bot's message or a failed send) and 2 closes per conversation,
written with COPY (psycopg 3). Then times each report over the 90 days (median of --runs runs, after one warm-up),
and, as the baseline of the same run, `SELECT COUNT(*)` of the organization's messages in the same range (the ORM's
.count() of the very queryset the reports start from).

    .venv/bin/python bench/reports.py [--conversations 20000] [--per-conversation 50] [--runs 3]

Not a test: nothing is asserted; it prints figures and ratios to the baseline of the same run.
"""

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

DB_NAME = "whatsapp_hub_bench_reports"
START = datetime(2026, 1, 1, 5, tzinfo=UTC)  # midnight in New York
DAYS = 90


def server() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return url.rsplit("/", 1)[0]


def setup() -> None:
    """A fresh database, migrated; Django set up on it."""
    with psycopg.connect(f"{server()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    env = {**os.environ, "DATABASE_URL": f"{server()}/{DB_NAME}", "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsapp_hub.settings")
    import django

    django.setup()


def seed(*, conversations: int, per_conversation: int) -> tuple[int, float]:
    """The organization and its rows; returns its id and the seconds the COPY of the messages took."""
    from accounts.models import Membership, Organization, Role, Team, TeamMember, User
    from messaging.models import Contact, Conversation, WhatsAppNumber

    rng = random.Random(7)
    org = Organization.objects.create(name="Bench", slug="bench", settings={"timezone": "America/New_York"})
    numbers = [
        WhatsAppNumber.objects.create(organization=org, display_name=f"Line {i}", provider="sandbox") for i in range(4)
    ]
    teams = [Team.objects.create(organization=org, name=f"Team {i}") for i in range(3)]
    agents = []
    for i in range(20):
        user = User.objects.create(email=f"agent{i}@bench.example", name=f"Agent {i}")
        Membership.objects.create(organization=org, user=user, role=Role.AGENT)
        TeamMember.objects.create(organization=org, team=teams[i % 3], user=user)
        agents.append(user.pk)
    Contact.objects.bulk_create(
        Contact(organization=org, wa_id=str(10**11 + i), phone=f"+{10**11 + i}") for i in range(conversations)
    )
    contact_ids = list(Contact.objects.for_org(org).order_by("pk").values_list("pk", flat=True))
    Conversation.objects.bulk_create(
        Conversation(
            organization=org,
            number=numbers[i % 4],
            contact_id=contact_id,
            team=teams[i % 3] if i % 5 else None,
            assigned_to_id=agents[i % 20],
            created_at=START,
        )
        for i, contact_id in enumerate(contact_ids)
    )
    conversation_rows = list(
        Conversation.objects.for_org(org).order_by("pk").values_list("pk", "assigned_to_id", "team_id", "number_id")
    )
    span = DAYS * 86400 - per_conversation * 900

    def messages():
        for pk, agent, _team, _number in conversation_rows:
            at = START + timedelta(seconds=rng.randrange(span))
            written = 0
            while written < per_conversation:
                for _ in range(min(rng.randint(1, 3), per_conversation - written)):
                    at += timedelta(seconds=rng.randint(5, 120))
                    yield (org.pk, pk, "inbound", "received", None, at)
                    written += 1
                if written >= per_conversation:
                    break
                at += timedelta(seconds=rng.randint(30, 1800))
                roll = rng.random()
                if roll < 0.05:
                    yield (org.pk, pk, "outbound", "sent", None, at)  # a bot's
                else:
                    yield (org.pk, pk, "outbound", "failed" if roll < 0.07 else "read", agent, at)
                written += 1

    began = time.perf_counter()
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        columns = (
            "organization_id, conversation_id, direction, status, sent_by_id, created_at, type, text, payload, "
            "reply_to_provider_id, error_title, sender_label, attempts"
        )
        with cursor.copy(f"COPY messaging_message ({columns}) FROM STDIN") as copy:
            for row in messages():
                copy.write_row((*row, "text", "hello", "{}", "", "", "", 0))
        with cursor.copy(
            "COPY messaging_conversationresolution (organization_id, conversation_id, number_id, assigned_to_id, "
            "team_id, opened_at, closed_at) FROM STDIN"
        ) as copy:
            for pk, agent, team, number in conversation_rows:
                opened = START + timedelta(seconds=rng.randrange(span))
                for _ in range(2):
                    closed = opened + timedelta(seconds=rng.randint(600, 86400))
                    copy.write_row((org.pk, pk, number, agent, team, opened, closed))
                    opened = closed + timedelta(seconds=rng.randint(3600, 7 * 86400))
        conn.commit()
        conn.autocommit = True
        cursor.execute("ANALYZE")
    return org.pk, time.perf_counter() - began


def timed(call, runs: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--per-conversation", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="time the database a previous run seeded")
    args = parser.parse_args()
    if args.reuse:
        os.environ["DATABASE_URL"] = f"{server()}/{DB_NAME}"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsapp_hub.settings")
        import django

        django.setup()
        from accounts.models import Organization

        org_id, copy_seconds = Organization.objects.get(slug="bench").pk, float("nan")
    else:
        setup()
        org_id, copy_seconds = seed(conversations=args.conversations, per_conversation=args.per_conversation)

    from accounts.models import Organization
    from messaging.models import Message, WhatsAppNumber
    from messaging.selectors import dashboard, reports

    org = Organization.objects.get(pk=org_id)
    total = Message.objects.for_org(org).count()
    if args.reuse:
        print(f"{total:,} messages, seeded by an earlier run")
    else:
        print(f"seeded {total:,} messages with COPY in {copy_seconds:.1f} s ({total / copy_seconds:,.0f} rows/s)")
    start, end = date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=DAYS - 1)
    since, until, _ = dashboard.day_bounds(org=org, start=start, end=end)
    scope = reports.ReportScope(org=org, start=start, end=end)
    number = WhatsAppNumber.objects.for_org(org).order_by("pk").first()
    line = reports.ReportScope(org=org, start=start, end=end, number_id=number.pk)
    weekdays = {weekday: (9 * 60, 17 * 60) for weekday in range(1, 6)}  # Monday to Friday, 09:00-17:00 New York
    open_hours = reports.ReportScope(org=org, start=start, end=end, business_hours=weekdays)
    baseline = timed(
        lambda: Message.objects.for_org(org).filter(created_at__gte=since, created_at__lt=until).count(), args.runs
    )
    cases = {
        "analytics messages (90 days)": lambda: dashboard.analytics(org=org, metric="messages", start=start, end=end),
        "analytics contacts": lambda: dashboard.analytics(org=org, metric="contacts", start=start, end=end),
        "analytics broadcasts": lambda: dashboard.analytics(org=org, metric="broadcasts", start=start, end=end),
        "report agents": lambda: reports.performance_report(scope=scope, grouping="agents"),
        "report teams": lambda: reports.performance_report(scope=scope, grouping="teams"),
        "report numbers": lambda: reports.performance_report(scope=scope, grouping="numbers"),
        "report agents, one number": lambda: reports.performance_report(scope=line, grouping="agents"),
        "report agents, business hours": lambda: reports.performance_report(scope=open_hours, grouping="agents"),
    }
    print(f"{'baseline: COUNT(*) of the range':34} {baseline * 1000:9.1f} ms   1.0x")
    for name, call in cases.items():
        seconds = timed(call, args.runs)
        print(f"{name:34} {seconds * 1000:9.1f} ms {seconds / baseline:6.1f}x")


if __name__ == "__main__":
    main()
