"""Benchmark: a campaign of 100,000 contacts sent by real Celery workers (processes) on PostgreSQL and Redis to the
fake Graph API, paced to the number's throughput.

Prints, for the number at 1,000 messages/s and then at 80 (a smaller audience, `--slow-contacts`, so that it takes
about half a minute): the time to freeze the audience (the recipient rows written at the start), the achieved send
rate and its ratio to the configured rate, the largest count of sends Meta's side received in any one-second window
(sliding, from the fake's receive timestamps; and in any calendar second, as Meta counts), how many sends the fake
refused with 130429, the pauses longer than 0.1 s between two sends, and duplicates and losses (both must be 0).
As a baseline from the same run: how fast one process sends unpaced to the same fake with the same pooled session
(what the machine allows).

The fake is the project's FakeMetaServer (tests/fakes/meta.py), run in this process in its lean setting: no status
webhooks queued for the sends (`auto_statuses = ()`), the pair limit off (each contact gets one message), 130429
enforced above the configured rate per calendar second, as Meta does, and Python's collector off during a run (see
`run`). It takes about 0.3 ms of CPU per send here, so one process keeps up with 1,000/s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python bench/campaign_send.py [--contacts 100000] [--slow-contacts 2400] [--workers 2]

The database is flushed and migrated first: give it one of its own. Not a test: nothing is asserted.
"""

import argparse
import gc
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")  # made-up keys, shared with the workers below
# As deployed: DEBUG off (with it on, Django keeps and logs every query's SQL, a cost production does not pay).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from campaigns import pacing, services  # noqa: E402
from campaigns.models import Campaign, CampaignRecipient  # noqa: E402
from messaging.models import Contact, WhatsAppNumber  # noqa: E402
from messaging.providers.base import http_session  # noqa: E402
from tests.factories import OrganizationFactory  # noqa: E402
from tests.fakes.meta import DEFAULT_WABA_ID, FakeMetaServer  # noqa: E402

PHONE_NUMBER_ID = "106540352242922"


def log(text: str) -> None:
    print(text, flush=True)


def setup_data(contacts: int):
    from tests.campaigns.support import approved_template

    call_command("flush", interactive=False, verbosity=0)
    org = OrganizationFactory(name="Bench")
    number = WhatsAppNumber.objects.create(
        organization=org,
        display_name="Bench",
        provider="cloud",
        phone_number="+15550783881",
        phone_number_id=PHONE_NUMBER_ID,
        waba_id=DEFAULT_WABA_ID,
        access_token="EAAG-bench",
        app_secret="bench",
        verify_token="bench",
        is_primary=True,
        messaging_limit_tier="TIER_UNLIMITED",
    )
    template = approved_template(org, None)
    made = 0
    while made < contacts:
        chunk = min(10_000, contacts - made)
        Contact.objects.bulk_create(
            [
                Contact(organization=org, wa_id=f"9665{n:08d}", phone=f"+9665{n:08d}", name=f"Customer {n}")
                for n in range(made, made + chunk)
            ]
        )
        made += chunk
    return org, number, template


def start_workers(count: int, graph_url: str) -> list[subprocess.Popen]:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "WHATSAPP_GRAPH_URL": graph_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_PREFETCH_MULTIPLIER": "1",
        "CAMPAIGN_SENDERS": str(count),
    }
    workers = []
    for index in range(count):
        command = [sys.executable, "-m", "celery", "-A", "whatsapp_hub", "worker", "--concurrency=1"]
        command += [f"--hostname=bench{index}@%h", "--without-gossip", "--without-mingle", "--loglevel=WARNING"]
        workers.append(subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True))
    from whatsapp_hub.celery import app

    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=1) or []) < count:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
    return workers


def baseline(fake: FakeMetaServer, sends: int = 3000, threads: int = 32) -> float:
    """Unpaced sends per second from this one process, with the pooled session and a thread pool."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"{fake.base_url}/{PHONE_NUMBER_ID}/messages"
    body = {
        "messaging_product": "whatsapp",
        "to": "+15551230000",
        "type": "template",
        "template": {"name": "other", "language": {"code": "en_US"}},
    }
    session = http_session()

    def one(_):
        session.post(url, json=body, headers={"Authorization": "Bearer x"}, timeout=(3, 20)).json()

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(sends)))
    return sends / (time.monotonic() - started)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of these processes and their descendants (the workers' forked pool processes)."""
    ticks, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def windows(times: list[float]) -> tuple[int, int]:
    """The largest count in any one-second window (sliding), and in any calendar second."""
    busiest, end = 0, 0
    for start_index, start in enumerate(times):
        while end < len(times) and times[end] < start + 1.0:
            end += 1
        busiest = max(busiest, end - start_index)
    calendar = max(Counter(int(t) for t in times).values(), default=0)
    return busiest, calendar


def run(
    org, number, fake: FakeMetaServer, workers, *, throughput: int, contacts: list[int], latency: float = 0.0
) -> None:
    fake.reset()
    fake.auto_statuses = ()
    fake.enforce_pair_limit = False
    fake.throughput_mps = throughput
    if latency:  # Meta over the internet: each send answered only after this long
        fake.delay_next(latency, times=len(contacts) * 2, path_contains="/messages")
    fake.add_template("promo", components=[{"type": "BODY", "text": "Hello {{1}}, your code at {{2}} is ready."}])
    number.throughput = throughput
    number.save()
    pacing.limiter().reset(pacing.number_key(number))
    mapping = {"1": {"type": "contact_field", "value": "name"}, "2": {"type": "static", "value": "Acme"}}
    campaign = services.campaign_create(
        organization=org,
        actor=None,
        name=f"Bench {throughput}/s",
        template_name="promo",
        language="en_US",
        variable_mapping=mapping,
        contact_ids=contacts,
    )
    # The fake keeps every request it received (hundreds of thousands of objects by the end): with the collector on,
    # its full collections grow with that record and hold the process for a quarter of a second near the end of a
    # run, while the sends pile up in its sockets (then counted in a burst). Meta's servers have no such pause.
    gc.collect()
    gc.disable()
    workers_cpu = cpu_seconds([worker.pid for worker in workers])
    own_cpu = time.process_time()
    started = time.monotonic()
    campaign = services.campaign_start(campaign=campaign, actor=None)  # freezes, then queues the senders
    frozen_in = time.monotonic() - started
    while Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk) == "running":
        time.sleep(0.5)
    finished = time.monotonic()
    workers_cpu = cpu_seconds([worker.pid for worker in workers]) - workers_cpu
    own_cpu = time.process_time() - own_cpu
    sends = fake.find_requests(method="POST", path_endswith="/messages")
    refused = len(sends) - len(fake.sent)
    accepted = sorted(sent.at for sent in fake.sent.values())
    received = Counter(sent.wa_id for sent in fake.sent.values())
    wanted = set(Contact.objects.filter(pk__in=contacts).values_list("wa_id", flat=True))
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    losses = len(wanted - set(received))
    unfinished = CampaignRecipient.objects.filter(campaign=campaign).exclude(status="sent").count()
    rate = (len(accepted) - 1) / (accepted[-1] - accepted[0]) if len(accepted) > 1 else 0.0
    sliding, calendar = windows(accepted)
    pauses = [(earlier, later - earlier) for earlier, later in itertools.pairwise(accepted) if later - earlier > 0.1]
    log(
        f"\n--- throughput {throughput}/s, {len(contacts):,} contacts, {os.environ.get('BENCH_WORKERS')} workers"
        f" with {settings.CAMPAIGN_SEND_THREADS} send threads each, the fake answering after {latency * 1000:.0f} ms"
    )
    log(f"audience frozen in           {frozen_in:.2f} s ({len(contacts) / frozen_in:,.0f} recipients/s)")
    log(f"start to completed           {finished - started:.1f} s")
    log(f"achieved send rate           {rate:,.1f}/s = {rate / throughput:.3f} of the configured {throughput}/s")
    log(f"largest 1-second window      {sliding} sliding, {calendar} in a calendar second (limit {throughput})")
    log(f"refused with 130429          {refused}")
    where = ", ".join(f"{length:.2f} s at {at - accepted[0]:.1f} s" for at, length in pauses[:12])
    log(f"pauses over 0.1 s            {len(pauses)}, {sum(length for _, length in pauses):.2f} s in all: {where}")
    log(
        f"CPU per send                 workers {workers_cpu / len(accepted) * 1000:.2f} ms, this process (the fake) "
        f"{own_cpu / len(accepted) * 1000:.2f} ms; machine busy {os.getloadavg()[0]:.1f} (1-min load)"
    )
    log(f"duplicates, losses           {duplicates}, {losses}  (recipients not sent: {unfinished})")
    gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--slow-contacts", type=int, default=2_400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the fake takes to answer a send")
    args = parser.parse_args()
    os.environ["BENCH_WORKERS"] = str(args.workers)
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql") or not settings.REDIS_URL:
        raise SystemExit("Give DATABASE_URL (PostgreSQL, a database of its own) and REDIS_URL.")
    call_command("migrate", interactive=False, verbosity=0)
    log(f"setting up {args.contacts:,} contacts ...")
    org, number, _template = setup_data(args.contacts)
    fake = FakeMetaServer().start()
    fake.auto_statuses = ()
    fake.enforce_pair_limit = False
    workers = start_workers(args.workers, fake.base_url)
    try:
        log(f"baseline: one process sends unpaced at {baseline(fake):,.0f}/s to the same fake (32 threads)")
        ids = list(Contact.objects.for_org(org).order_by("pk").values_list("pk", flat=True))
        run(org, number, fake, workers, throughput=1000, contacts=ids, latency=args.latency)
        run(org, number, fake, workers, throughput=80, contacts=ids[: args.slow_contacts], latency=args.latency)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)  # a warm shutdown: the main process stops its pool
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        fake.stop()


if __name__ == "__main__":
    main()
