"""The scenario run against the topology, through nginx only, and what it proves.

Load: customers write to the inbox number (signed webhooks that the fake Graph API posts to nginx, from several
threads, retrying every answer but 200 with backoff as Meta does); two live-inbox websocket clients (an agent with a
JWT, an integration with an API key) follow the inbox; a campaign is sent to `recipients` contacts at the number's
throughput, and its sent/delivered/read statuses come back as webhooks; an agent replies over the API and over the
socket; customers write the keyword a workflow answers.

Faults, each at a point of the load (a condition, never a clock), each process started again on its port and
waited for: SIGKILL of one Celery worker while the inbound webhooks are being ingested, of one gunicorn while the
campaign's status webhooks and the customers' messages pour in, and of the daphne holding the most sockets.

Then, once everything has settled (conditions with a timeout), from the fake's records, PostgreSQL and nginx's access
log: every webhook acknowledged (200) was ingested exactly once and none was left unacknowledged; every campaign
recipient was sent exactly once, within the throughput in any second; the replies reached the fake Graph API once
each; every websocket client knows every inbound message (pushed, or loaded over REST after it reconnected); no 5xx
but those of requests in flight in a killed gunicorn, which Meta retried.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from deploy.topology.clients import Api, InboxClient
from deploy.topology.processes import Process, Topology, until
from tests.fakes.meta import DEFAULT_WABA_ID, FakeMetaServer
from tests.fakes.server import Webhook
from whatsapp_hub.ops import metrics

APP_SECRET = "topology-app-secret"
INBOX_PHONE_NUMBER_ID = "106540352242922"
CAMPAIGN_PHONE_NUMBER_ID = "106540352242923"
TEMPLATE = {
    "name": "topology_offer",
    "language": "en_US",
    "components": [{"type": "BODY", "text": "Hello {{1}}, your order from {{2}} is ready."}],
}
MAPPING = {
    "1": {"type": "contact_field", "value": "name", "fallback": "friend"},
    "2": {"type": "static", "value": "Acme"},
}
KEYWORD = {"text": "hours", "answer": "We answer every day from 9:00 to 21:00."}


@dataclass
class Plan:
    """The load. The defaults run in about a minute and a half on two shared cores."""

    inbound: int = 300  # customers' messages (one webhook each), at least
    customers: int = 25
    rate: float = 10.0  # customers' webhooks per second
    # Customers keep writing this long after the Celery worker's kill, as they would: the ingest drain the worker
    # held keeps its "queued" flag for up to 10 s (messaging.services.ingest.processor.SCHEDULED_TTL), after which
    # the next webhook queues a new one; with no webhook after that, only the sweeper (beat, every minute, for
    # events pending over a minute) would take them up: up to two minutes.
    after_worker_kill: float = 20.0
    offline_messages: int = 10  # stored while a dropped websocket client stays away (it catches up over REST)
    recipients: int = 200  # the campaign's
    throughput: int = 80  # the campaign number's messages per second
    replies: int = 5  # agent replies over the API (one more over the websocket)
    keywords: int = 5  # customers writing the workflow's keyword
    senders: int = 3  # the fake's concurrent webhook deliveries
    settle_timeout: float = 200  # for everything to be ingested, sent and caught up after the load


class TopologyMeta(FakeMetaServer):
    """The fake Graph API, keeping every webhook it queued with the digest of its body (the hub's dedupe key)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.queued: list[tuple[Webhook, str]] = []

    def queue_webhook(self, payload: dict, **kwargs) -> Webhook:
        webhook = super().queue_webhook(payload, **kwargs)
        digest = hashlib.sha256(self.signed(payload)[0]).hexdigest()
        with self.lock:
            self.queued.append((webhook, digest))
        return webhook

    def acked(self) -> set[str]:
        """Digests of the bodies the hub answered 200."""
        with self.lock:
            deliveries = list(self.deliveries)
        return {hashlib.sha256(d.body).hexdigest() for d in deliveries if d.status_code == 200}

    def settled(self) -> bool:
        """Every webhook queued was acknowledged, or given up after its last attempt."""
        acked = self.acked()
        with self.lock:
            queued = list(self.queued)
        return all(digest in acked or webhook.attempts >= self.max_webhook_attempts for webhook, digest in queued)

    def texts_to(self, wa_id: str) -> list[str]:
        with self.lock:
            sent = list(self.sent.values())
        return [s.body["text"]["body"] for s in sent if s.type == "text" and s.wa_id == wa_id]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.static: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value and value.startswith("/static/"):
                self.static.append(value.partition("#")[0])


@dataclass
class Outcome:
    figures: dict[str, object] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def check(self, condition: bool, failure: str) -> None:
        if not condition:
            self.failures.append(failure)


class Scenario:
    def __init__(
        self, topology: Topology, fake: TopologyMeta, plan: Plan, *, outcome: Outcome | None = None, say=print
    ) -> None:
        self.topology = topology
        self.fake = fake
        self.plan = plan
        self.say = say
        self.outcome = outcome or Outcome()
        self.kills: list[dict] = []
        self.inbound_wamids: list[str] = []
        self.customers = [f"9665100{index:05d}" for index in range(plan.customers)]
        self.recipients = [f"9665200{index:05d}" for index in range(plan.recipients)]
        self.clients: list[InboxClient] = []
        self.peak_connections = 0
        self._generator: threading.Thread | None = None
        self._generator_error: BaseException | None = None
        self._enough = threading.Event()  # the customers may stop writing (once `inbound` are written)

    # --- set-up ------------------------------------------------------------------------------------------------

    def seed_plan(self) -> dict:
        return {
            "agent_email": "agent@topology.test",
            "agent_password": "topology-agent-pass-91",
            "waba_id": DEFAULT_WABA_ID,
            "access_token": "topology-access-token",
            "app_secret": APP_SECRET,
            "numbers": {
                "inbox": {"phone_number": "+966500000001", "phone_number_id": INBOX_PHONE_NUMBER_ID, "throughput": 80},
                "campaign": {
                    "phone_number": "+966500000002",
                    "phone_number_id": CAMPAIGN_PHONE_NUMBER_ID,
                    "throughput": self.plan.throughput,
                },
            },
            "template": TEMPLATE,
            "campaign_recipients": self.recipients,
            "keyword": KEYWORD,
        }

    def run(self) -> Outcome:
        plan = self.plan
        began = time.monotonic()
        seed_plan = self.seed_plan()
        self.seed = self._seed(seed_plan)
        self.fake.add_template(TEMPLATE["name"], language=TEMPLATE["language"], components=TEMPLATE["components"])
        self.fake.webhook_url = f"{self.topology.url}/webhooks/meta/{self.seed['organization_id']}/"
        for _ in range(plan.senders):
            self.fake.start_auto_delivery(interval=0.05)
        base = self.topology.url
        self.integration = Api(base, headers={"X-API-Key": self.seed["api_key"]})
        login = Api(base).ok(
            "POST",
            "/api/v1/auth/login",
            json_body={"email": seed_plan["agent_email"], "password": seed_plan["agent_password"]},
        )
        self.agent = Api(base, headers={"Authorization": f"Bearer {login['access_token']}"})
        self._pages_and_api()
        self.since = datetime.now(UTC).isoformat()
        ws_url = f"ws://127.0.0.1:{self.topology.nginx_port}/ws/inbox/"
        self.clients = [
            InboxClient("agent", Api(base, headers=dict(self.agent.session.headers)), ws_url, since=self.since),
            InboxClient(
                "integration", Api(base, headers={"X-API-Key": self.seed["api_key"]}), ws_url, since=self.since
            ),
        ]
        for client in self.clients:
            client.start()
        for client in self.clients:
            until(client.connected.is_set, timeout=30, what=f"the {client.label} websocket to connect")
        self.outcome.figures["sockets per daphne at start"] = {
            d.name: self.topology.connections_to(d) for d in self.topology.of_kind("daphne")
        }
        self.outcome.figures["set-up (seed, sign-in, static, API, sockets)"] = f"{time.monotonic() - began:.1f} s"

        load_began = time.monotonic()
        self._generator = threading.Thread(target=self._customers_write, name="customers", daemon=True)
        self._generator.start()
        self._kill_a_worker()
        campaign_id = self._campaign()
        self._kill_a_gunicorn()
        self._replies()
        self._keywords()
        self._kill_a_daphne()
        # The load goes on (the customers write) until `after_worker_kill` has passed since the worker's kill.
        time.sleep(max(0.0, self.worker_killed_at + plan.after_worker_kill - time.monotonic()))
        self._enough.set()
        self._generator.join(timeout=plan.inbound / plan.rate + 60)
        self.outcome.check(self._generator_error is None, f"the customers' thread failed: {self._generator_error!r}")
        load_seconds = time.monotonic() - load_began

        settle_began = time.monotonic()
        self._settle(campaign_id)
        settle_seconds = time.monotonic() - settle_began
        self._verify(campaign_id)
        self._operations()
        self.outcome.figures["load (webhooks, campaign, replies, kills)"] = f"{load_seconds:.1f} s"
        self.outcome.figures["settling after the load"] = f"{settle_seconds:.1f} s"
        return self.outcome

    def _seed(self, seed_plan: dict) -> dict:
        output = self.topology.manage(module="deploy.topology.seed", stdin=json.dumps(seed_plan))
        return json.loads(output.strip().splitlines()[-1])

    def _pages_and_api(self) -> None:
        """The sign-in page and the static files it names, from nginx's disk (hashed names kept a year); the API
        with the integration's key and the agent's token."""
        browser = Api(self.topology.url)
        page = browser.call("GET", "/sign-in/")
        self.outcome.check(page.status_code == 200, f"GET /sign-in/ answered {page.status_code}")
        self.outcome.check("text/html" in page.headers.get("Content-Type", ""), "the sign-in page is not HTML")
        links = _Links()
        links.feed(page.text)
        hashed = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
        statics = sorted(set(links.static))
        self.outcome.check(bool(statics), "the sign-in page names no static file")
        for path in statics:
            response = browser.call("GET", path)
            cache = response.headers.get("Cache-Control", "")
            self.outcome.check(response.status_code == 200, f"GET {path} answered {response.status_code}")
            self.outcome.check(bool(hashed.search(path)), f"{path} has no hashed name")
            self.outcome.check("max-age=31536000" in cache, f"{path} is cached {cache!r}, not a year")
        self.outcome.figures["static files of the sign-in page"] = f"{len(statics)}, hashed, cached a year"
        numbers = self.integration.ok("GET", "/api/v1/numbers/")
        self.outcome.check(numbers["count"] == 2, f"the API key sees {numbers['count']} numbers, not 2")
        me = self.agent.ok("GET", "/api/v1/auth/me")
        email = me.get("user", {}).get("email")
        self.outcome.check(email == "agent@topology.test", f"auth/me with the JWT is {email!r}")

    # --- the load ------------------------------------------------------------------------------------------------

    def _customers_write(self) -> None:
        """Messages from the customers in turn, `rate` per second (queued to the fake, which posts them), until the
        faults are over and at least `inbound` are written."""
        try:
            started = time.monotonic()
            index = 0
            while index < self.plan.inbound or not self._enough.is_set():
                time.sleep(max(0.0, started + index / self.plan.rate - time.monotonic()))
                wa_id = self.customers[index % len(self.customers)]
                message = self.fake.send_inbound(
                    wa_id,
                    text=f"Topology message {index}",
                    phone_number_id=INBOX_PHONE_NUMBER_ID,
                    name=f"Customer {index % len(self.customers)}",
                )
                self.inbound_wamids.append(message["id"])
                index += 1
        except BaseException as error:
            self._generator_error = error

    def _inbound_acked(self) -> int:
        return len(self.fake.acked())

    def _record_kill(self, process: Process, at: float, ready_after: float, **details) -> None:
        self.kills.append({"process": process.name, "at": at, "ready_after": ready_after, **details})
        self.say(f"  killed {process.name} (SIGKILL), serving again {ready_after:.1f} s later")

    def _kill_a_worker(self) -> None:
        """A Celery worker, once a fifth of the customers' webhooks are acknowledged (ingest under way)."""
        until(
            lambda: self._inbound_acked() >= self.plan.inbound // 5,
            timeout=60,
            what="a fifth of the inbound webhooks to be acknowledged",
        )
        worker = self.topology.processes["worker-1"]
        at = self.topology.kill(worker)
        self.worker_killed_at = time.monotonic()
        self._record_kill(worker, at, self.topology.restart(worker))

    def _campaign(self) -> int:
        answer = self.integration.ok(
            "POST",
            "/api/v1/campaigns/send",
            json_body={
                "name": "Topology",
                "template_name": TEMPLATE["name"],
                "language": TEMPLATE["language"],
                "number_id": self.seed["numbers"]["campaign"],
                "contact_ids": self.seed["contact_ids"],
                "variable_mapping": MAPPING,
            },
        )
        self.campaign_started = time.monotonic()
        return answer["campaign_id"]

    def _template_sends(self) -> list:
        with self.fake.lock:
            return [sent for sent in self.fake.sent.values() if sent.type == "template"]

    def _kill_a_gunicorn(self) -> None:
        """A gunicorn (its master and workers), once a quarter of the campaign is sent: its statuses and the
        customers' messages are posted to nginx meanwhile."""
        until(
            lambda: len(self._template_sends()) >= self.plan.recipients // 4,
            timeout=60,
            what="a quarter of the campaign to be sent",
        )
        gunicorn = self.topology.processes["gunicorn-1"]
        at = self.topology.kill(gunicorn)
        self._record_kill(gunicorn, at, self.topology.restart(gunicorn))

    def _conversations(self) -> dict[str, int]:
        """The inbox number's conversations by customer (wa_id), as the agent's API lists them."""
        items = self.agent.pages("/api/v1/conversations/", number=self.seed["numbers"]["inbox"], page_size=100)
        return {item["contact"]["wa_id"]: item["id"] for item in items}

    def _replies(self) -> None:
        """The agent replies to `replies` customers over the API, and to one more over the websocket."""
        wanted = self.customers[: self.plan.replies + 1]

        def found() -> dict[str, int] | None:
            conversations = self._conversations()
            return conversations if all(wa_id in conversations for wa_id in wanted) else None

        conversations = until(found, timeout=120, what="the first customers' conversations", interval=0.5)
        self.replies: dict[str, str] = {}
        for index, wa_id in enumerate(wanted[:-1]):
            text = f"Agent reply {index}"
            self.agent.ok(
                "POST",
                f"/api/v1/conversations/{conversations[wa_id]}/messages",
                json_body={"type": "text", "text": text},
                expect=(202,),  # stored queued, delivered by a worker
            )
            self.replies[wa_id] = text
        agent_socket = self.clients[0]
        text = "Agent reply over the websocket"
        agent_socket.send_text(conversations[wanted[-1]], text, "topology-1")
        until(lambda: "topology-1" in agent_socket.sent_answers, timeout=30, what="message.sent on the socket")
        self.replies[wanted[-1]] = text

    def _keywords(self) -> None:
        """Customers who wrote no reply yet write the workflow's keyword; the workflow answers each once."""
        self.keyword_customers = self.customers[-self.plan.keywords :]
        for wa_id in self.keyword_customers:
            message = self.fake.send_inbound(wa_id, text=KEYWORD["text"], phone_number_id=INBOX_PHONE_NUMBER_ID)
            self.inbound_wamids.append(message["id"])

    def _inbound_stored(self) -> int:
        with self._db() as db:
            return db.execute(
                "SELECT count(*) FROM messaging_message WHERE organization_id = %s AND direction = 'inbound'",
                [self.seed["organization_id"]],
            ).fetchone()[0]

    def _kill_a_daphne(self) -> None:
        """The daphne holding the most sockets. Its clients stay away until `offline_messages` more inbound messages
        are stored (a phone's reconnection backoff), then reconnect through nginx and catch up over REST."""
        daphnes = self.topology.of_kind("daphne")
        held = {daphne.name: self.topology.connections_to(daphne) for daphne in daphnes}
        victim = max(daphnes, key=lambda daphne: held[daphne.name])
        self.outcome.check(held[victim.name] > 0, f"no daphne holds a socket: {held}")
        drops = {client.label: client.drops for client in self.clients}
        for client in self.clients:
            client.may_reconnect.clear()
        stored = self._inbound_stored()
        at = self.topology.kill(victim)
        ready_after = self.topology.restart(victim)
        until(
            lambda: self._inbound_stored() >= stored + self.plan.offline_messages,
            timeout=90,
            what=f"{self.plan.offline_messages} inbound messages stored while the sockets are away",
            interval=0.2,
        )
        for client in self.clients:
            client.may_reconnect.set()
        until(
            lambda: all(client.connected.is_set() for client in self.clients),
            timeout=30,
            what="the websocket clients to reconnect",
        )
        dropped = [client.label for client in self.clients if client.drops > drops[client.label]]
        self._record_kill(victim, at, ready_after, sockets=held[victim.name], dropped=dropped)
        self.outcome.check(
            len(dropped) == held[victim.name],
            f"{held[victim.name]} sockets on {victim.name}, but {len(dropped)} clients dropped ({dropped})",
        )

    # --- settling ---------------------------------------------------------------------------------------------------

    def _db(self) -> psycopg.Connection:
        return psycopg.connect(self.topology.database_url, autocommit=True)

    def _pending_conditions(self, campaign_id: int) -> list[str]:
        """What has not settled yet (empty: everything has)."""
        org = self.seed["organization_id"]
        pending = []
        if not self.fake.settled():
            pending.append("webhooks not acknowledged yet")
        with self._db() as db:
            self.peak_connections = max(self.peak_connections, self.topology.database_connections())
            unprocessed = db.execute(
                "SELECT count(*) FROM messaging_webhookevent WHERE organization_id = %s AND status <> 'processed'",
                [org],
            ).fetchone()[0]
            if unprocessed:
                pending.append(f"{unprocessed} webhook events not processed")
            inbound = db.execute(
                "SELECT count(DISTINCT provider_message_id) FROM messaging_message"
                " WHERE organization_id = %s AND direction = 'inbound'",
                [org],
            ).fetchone()[0]
            if inbound < len(self.inbound_wamids):
                pending.append(f"{inbound} of {len(self.inbound_wamids)} inbound messages stored")
            status, read = db.execute(
                "SELECT status, read FROM campaigns_campaign WHERE id = %s", [campaign_id]
            ).fetchone()
            if status != "completed" or read < self.plan.recipients:
                pending.append(f"campaign {status}, {read} read")
            unread = db.execute(
                "SELECT count(*) FROM messaging_message WHERE organization_id = %s AND direction = 'outbound'"
                " AND status <> 'read'",
                [org],
            ).fetchone()[0]
            if unread:
                pending.append(f"{unread} outbound messages not read yet")
            inbound_ids = {
                row[0]
                for row in db.execute(
                    "SELECT id FROM messaging_message WHERE organization_id = %s AND direction = 'inbound'", [org]
                )
            }
        answered = sum(1 for wa_id in self.keyword_customers if KEYWORD["answer"] in self.fake.texts_to(wa_id))
        if answered < len(self.keyword_customers):
            pending.append(f"{answered} of {len(self.keyword_customers)} keyword answers")
        unpushed = self._unpushed(inbound_ids)
        for client in self.clients:
            missing = len(inbound_ids - client.known() - unpushed)
            if missing:
                pending.append(f"{client.label} socket misses {missing} messages pushed to another")
        return pending

    def _unpushed(self, inbound_ids: set[int]) -> set[int]:
        """Inbound messages pushed to no socket at all. The push follows the ingest's commit and takes its sequence
        numbers then: a worker killed between the two leaves messages stored and never pushed, with no gap in `seq`
        that would tell a client (a client that is connected throughout sees them on its next REST load only)."""
        pushed: set[int] = set()
        for client in self.clients:
            pushed |= client.pushed
        return inbound_ids - pushed

    def _settle(self, campaign_id: int) -> None:
        last: list[str] = []
        said = [time.monotonic()]

        def settled() -> bool:
            nonlocal last
            last = self._pending_conditions(campaign_id)
            if last and time.monotonic() - said[0] >= 10:
                said[0] = time.monotonic()
                self.say(f"  waiting for: {'; '.join(last)}")
            return not last

        try:
            until(settled, timeout=self.plan.settle_timeout, what="the topology to settle", interval=0.5)
        except TimeoutError:
            self.outcome.failures.append(f"not settled after {self.plan.settle_timeout:g} s: {'; '.join(last)}")

    # --- verification ---------------------------------------------------------------------------------------------

    def _verify(self, campaign_id: int) -> None:
        figures, check = self.outcome.figures, self.outcome.check
        org = self.seed["organization_id"]
        with self._db() as db:
            events = dict(
                db.execute("SELECT dedupe_key, status FROM messaging_webhookevent WHERE organization_id = %s", [org])
            )
            inbound_rows = Counter(
                dict(
                    db.execute(
                        "SELECT provider_message_id, count(*) FROM messaging_message"
                        " WHERE organization_id = %s AND direction = 'inbound' GROUP BY provider_message_id",
                        [org],
                    ).fetchall()
                )
            )
            campaign = db.execute(
                "SELECT status, total, sent, delivered, read, failed, skipped FROM campaigns_campaign WHERE id = %s",
                [campaign_id],
            ).fetchone()
            recipients = dict(
                db.execute(
                    "SELECT status, count(*) FROM campaigns_campaignrecipient WHERE campaign_id = %s GROUP BY status",
                    [campaign_id],
                ).fetchall()
            )
            outbound = dict(
                db.execute(
                    "SELECT status, count(*) FROM messaging_message"
                    " WHERE organization_id = %s AND direction = 'outbound' GROUP BY status",
                    [org],
                ).fetchall()
            )
            inbound_ids = {
                row[0]
                for row in db.execute(
                    "SELECT id FROM messaging_message WHERE organization_id = %s AND direction = 'inbound'", [org]
                )
            }
            lag = db.execute(
                "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY s), max(s) FROM"
                " (SELECT extract(epoch FROM processed_at - received_at) AS s FROM messaging_webhookevent"
                " WHERE organization_id = %s AND processed_at IS NOT NULL) AS lags",
                [org],
            ).fetchone()

        # Webhooks: Meta's side (the fake) against the hub's inbox of raw events.
        with self.fake.lock:
            deliveries = list(self.fake.deliveries)
            queued = list(self.fake.queued)
        acked = self.fake.acked()
        answers = Counter(d.status_code if d.status_code is not None else "no answer" for d in deliveries)
        given_up = [digest for webhook, digest in queued if digest not in acked]
        processed = {key for key, status in events.items() if status == "processed"}
        lost = acked - processed
        strangers = set(events) - {digest for _, digest in queued}
        figures["webhooks queued by Meta (fake)"] = len(queued)
        figures["webhook POSTs to nginx"] = f"{len(deliveries)} ({dict(sorted(answers.items(), key=str))})"
        figures["webhooks acknowledged (200)"] = len(acked)
        figures["webhooks ingested (events processed)"] = len(acked & processed)
        figures["webhooks never acknowledged"] = len(given_up)
        figures["acknowledged but not ingested"] = len(lost)
        if lag[1] is not None:
            figures["ingest lag (stored -> processed)"] = (
                f"p50 {lag[0][0]:.2f} s, p99 {lag[0][1]:.2f} s, max {lag[1]:.1f} s"
            )
        check(not given_up, f"{len(given_up)} webhooks never acknowledged (Meta gave up)")
        check(not lost, f"{len(lost)} acknowledged webhooks not ingested")
        check(not strangers, f"{len(strangers)} webhook events the fake never sent")
        expected = Counter(self.inbound_wamids)
        duplicates = sum(count - 1 for count in inbound_rows.values() if count > 1)
        missing = [wamid for wamid in expected if inbound_rows.get(wamid, 0) == 0]
        figures["inbound messages (sent / stored)"] = f"{len(expected)} / {sum(inbound_rows.values())}"
        figures["inbound duplicates / losses"] = f"{duplicates} / {len(missing)}"
        check(duplicates == 0, f"{duplicates} inbound messages stored twice")
        check(not missing, f"{len(missing)} inbound messages lost")

        # The campaign: what the fake Graph API received is the truth.
        sends = self._template_sends()
        per_recipient = Counter(sent.wa_id for sent in sends)
        dupes = sum(count - 1 for count in per_recipient.values() if count > 1)
        losses = len(set(self.recipients) - set(per_recipient))
        times = sorted(sent.at for sent in sends)
        busiest = max((sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times)), default=0)
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        status, total, sent, delivered, read, failed, skipped = campaign
        figures["campaign recipients / sent (fake)"] = f"{self.plan.recipients} / {len(per_recipient)}"
        figures["campaign duplicates / losses"] = f"{dupes} / {losses}"
        figures["campaign send rate"] = (
            f"{len(sends) / span if span else 0:.0f}/s over {span:.1f} s (throughput {self.plan.throughput},"
            f" busiest second {busiest})"
        )
        figures["campaign in the hub"] = (
            f"{status}: total {total}, sent {sent}, delivered {delivered}, read {read}, failed {failed},"
            f" skipped {skipped}; recipients {recipients}"
        )
        check(dupes == 0, f"{dupes} campaign recipients sent more than once")
        check(losses == 0, f"{losses} campaign recipients never sent")
        check(status == "completed", f"the campaign is {status}")
        check((sent, failed, skipped) == (self.plan.recipients, 0, 0), f"campaign counters {campaign}")
        check(busiest <= self.plan.throughput, f"{busiest} sends in one second, above {self.plan.throughput}")

        # Replies: the agent's (API and socket) and the workflow's, each once at the fake.
        replies_ok = sum(self.fake.texts_to(wa_id) == [text] for wa_id, text in self.replies.items())
        answers_ok = sum(self.fake.texts_to(wa_id).count(KEYWORD["answer"]) == 1 for wa_id in self.keyword_customers)
        figures["agent replies at the fake (exactly once)"] = f"{replies_ok} of {len(self.replies)}"
        figures["workflow answers at the fake (exactly once)"] = f"{answers_ok} of {len(self.keyword_customers)}"
        figures["outbound messages by status"] = outbound
        check(replies_ok == len(self.replies), f"agent replies at the fake: {replies_ok} of {len(self.replies)}")
        check(answers_ok == len(self.keyword_customers), f"workflow answers: {answers_ok}")
        check(set(outbound) == {"read"}, f"outbound messages not all read: {outbound}")

        # Websockets: every message pushed to a socket reaches every client, pushed or over REST after a drop or a
        # gap; a message pushed to none (its worker killed between commit and push) only after a drop.
        unpushed = self._unpushed(inbound_ids)
        figures["inbound messages pushed to no socket"] = (
            f"{len(unpushed)} (their worker killed between the ingest's commit and its push: no gap in seq)"
        )
        for client in self.clients:
            missing_ids = inbound_ids - client.known() - unpushed
            only_rest = client.loaded - client.pushed
            figures[f"websocket {client.label}"] = (
                f"{len(client.pushed & inbound_ids)} of {len(inbound_ids)} pushed, {len(only_rest)} only over REST;"
                f" {client.drops} drop(s), {client.gaps} gap(s) in seq, {len(missing_ids)} missing"
                + (f"; back {', '.join(f'{s:.1f} s' for s in client.catch_ups)} after the drop" if client.drops else "")
            )
            check(
                not missing_ids,
                f"the {client.label} socket misses {len(missing_ids)} inbound messages pushed to another socket",
            )
            check(client.error is None, f"the {client.label} socket failed: {client.error!r}")
            if client.drops:
                check(
                    len(only_rest) >= self.plan.offline_messages,
                    f"the {client.label} socket, away for {self.plan.offline_messages} messages, caught up"
                    f" {len(only_rest)} over REST",
                )
        check(any(client.drops for client in self.clients), "no websocket client was dropped by the daphne kill")

        # 5xx: nginx's access log, each explained by a killed process.
        five, explained = self._server_errors()
        figures["5xx answered by nginx"] = f"{len(five)} ({len(explained)} in flight in a killed process)"
        unexplained = [line for line in five if line not in explained]
        check(not unexplained, f"{len(unexplained)} 5xx not explained by a kill: {unexplained[:5]}")
        figures["API answers to the scenario's clients"] = dict(
            sum((api.answers for api in [self.integration, self.agent, *(c.api for c in self.clients)]), Counter())
        )
        figures["kills"] = "; ".join(
            f"{kill['process']} back in {kill['ready_after']:.1f} s"
            + (f" ({kill['sockets']} socket(s) dropped)" if "sockets" in kill else "")
            for kill in self.kills
        )
        figures["PostgreSQL connections (peak, while settling)"] = self.peak_connections

    def _operations(self) -> None:
        """What an operator sees once it settled, through nginx: the readiness probe, the Prometheus figures (what
        every process counted, shared in Redis: a killed process's last second is lost), and a webhook's request id
        followed into the workers' logs."""
        figures, check = self.outcome.figures, self.outcome.check
        ready = Api(self.topology.url).call("GET", "/api/v1/health/ready")
        report = ready.json()
        checks = ", ".join(f"{name} {item['status']}" for name, item in report.get("checks", {}).items())
        figures["readiness (GET /api/v1/health/ready)"] = f"{ready.status_code} {report.get('status')}: {checks}"
        check((ready.status_code, report.get("status")) == (200, "ok"), f"readiness {ready.status_code}: {report}")

        scraper = Api(self.topology.url, headers={"Authorization": f"Bearer {self.topology.metrics_token}"})
        samples: dict[tuple[str, tuple], float] = {}

        def total(name: str, **labels: str) -> int:
            wanted = set(labels.items())
            return int(
                sum(value for (sample, found), value in samples.items() if sample == name and wanted <= set(found))
            )

        # The killed daphne's sockets stay counted until its last count goes stale (SOCKETS_STALE_AFTER): scrape
        # until they have dropped out, or that long and a margin.
        deadline = time.monotonic() + metrics.SOCKETS_STALE_AFTER + 10
        while True:
            scrape = scraper.call("GET", "/metrics")
            samples.clear()
            for family in text_string_to_metric_families(scrape.text if scrape.status_code == 200 else ""):
                for sample in family.samples:
                    samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
            sockets = total("whatsapp_hub_websocket_connections")
            if scrape.status_code != 200 or sockets == len(self.clients) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        check(scrape.status_code == 200, f"GET /metrics answered {scrape.status_code}")
        figures["metrics (GET /metrics)"] = (
            f"webhooks received {total('whatsapp_hub_webhooks_received_total', source='meta')},"
            f" duplicates {total('whatsapp_hub_webhooks_duplicate_total', source='meta')},"
            f" processed {total('whatsapp_hub_webhooks_processed_total')};"
            f" campaign sends sent {total('whatsapp_hub_campaign_sends_total', outcome='sent')};"
            f" statuses read {total('whatsapp_hub_message_statuses_total', status='read')};"
            f" websocket connections {sockets}"
        )
        check(sockets == len(self.clients), f"{sockets} websocket connections in the metrics, not {len(self.clients)}")

        # The last webhook nginx passed on (its $request_id) is named by the worker's log line of its ingest.
        webhooks = re.compile(r'"POST /webhooks/meta/\S* HTTP/1\.1" 200 .* id=(?P<id>[0-9a-f]+) ')
        ids = [m["id"] for line in self._access_log() if (m := webhooks.search(line))]
        workers = self.topology.of_kind("worker")
        named_in = [w.name for w in workers if ids and ids[-1] in w.log.read_text(errors="replace")]
        figures["a webhook's request id, in the logs of"] = ", ".join(named_in) or "none"
        check(bool(named_in), "the last webhook's request id is in no worker's log")

    def _access_log(self) -> list[str]:
        return (self.topology.prefix / "access.log").read_text(errors="replace").splitlines()

    def _server_errors(self) -> tuple[list[str], list[str]]:
        """nginx's 5xx answers, and those explained: answered within two seconds of a SIGKILL by the upstream killed
        (its in-flight requests: nginx never repeats a request already sent)."""
        pattern = re.compile(
            r'^\S+ - \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) .* up=(?P<up>.*?) id='
        )
        killed = {process.address: process.kills for process in self.topology.processes.values() if process.kills}
        five, explained = [], []
        for line in self._access_log():
            match = pattern.match(line)
            if not match or not match["status"].startswith("5"):
                continue
            five.append(line)
            when = datetime.fromisoformat(match["time"]).timestamp()
            upstream = match["up"].replace(" : ", ", ").split(", ")[-1]
            if any(int(at) <= when <= at + 2 for at in killed.get(upstream, ())):
                explained.append(line)
        return five, explained
