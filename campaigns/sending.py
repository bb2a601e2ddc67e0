"""The sending of a running campaign (the `send_campaign` task's work): batches of recipients claimed in the
database, their messages stored in bulk, sent concurrently under the number's shared pacing, the outcomes recorded
in bulk. No task per message: a task sends batch after batch for BUDGET seconds, then queues itself again.

Exactly once. A batch is claimed with `FOR UPDATE SKIP LOCKED` and a token (two workers never hold one recipient),
and its messages are stored in the claim's transaction, claimed for their first attempt (messaging's delivery
claim: attempts 1): a message row exists only for a send that is being made or was made. Its outcome decides:
- accepted (a wamid): the message is sent and the recipient follows it (services.recipients_follow_messages);
- refused for good (a permanent error): the message fails with Meta's code and title, and so does the recipient; a
  template refused as a whole (132001, 132015, 132016) stops the campaign (failed, with the reason);
- 130429 (throughput): the number's limiter slows down and the same message is sent again in the batch;
- a send whose thread starts more than JITTER after its slot is not made: it takes a new slot, and the pacing is
  pushed back as far (a stalled process must not send a bunch at once);
- refused for now (131056 pair limit, Meta's retryable errors): the message, which never reached WhatsApp, is
  deleted and the recipient goes back to pending, not before `retry_at` (backoff 4^attempts seconds, jittered), and
  fails after MAX_ATTEMPTS;
- unknown (a timeout, a dropped connection, a proxy's answer): it may have reached Meta. The recipient stays
  claimed with its message queued; Meta's status, which carries the callback data, links it (ingest) and the
  recipient follows; the sweeper resolves the rest (services.campaigns_sweep), never by sending blindly.
A pacer that stops (Redis gone) hands its queued sends back: the task records what was sent and runs again later.
Between sends the task looks at the campaign's status every STATUS_CHECK seconds: paused or cancelled, it stops,
lets the sends on their way finish, and puts back (or, cancelled, skips) the recipients it had not sent to. A
worker that dies leaves its batch claimed: the sweeper takes it up after services.CLAIM_TIMEOUT (renewed every
HEARTBEAT seconds while the batch runs).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from queue import Empty, SimpleQueue

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from accounts import plans
from campaigns import pacing
from campaigns.models import Campaign, CampaignRecipient
from campaigns.services import (
    campaign_complete_if_done,
    campaign_fail,
    campaign_values,
    campaigns_progress_on_commit,
    counters_add,
    recipients_cancel,
    recipients_follow_messages,
)
from messaging import message_parts
from messaging.models import Contact, Message, Provider
from messaging.providers import ProviderError, provider_for
from messaging.services.conversations import (
    message_provider_send,
    messages_discard_unsent,
    messages_mark_failed,
    messages_mark_sent,
    messages_store_batch,
    provider_error_title,
    sandbox_play_back,
)
from messaging.services.ingest import rows
from messaging.services.retries import MAX_ATTEMPTS, backoff_countdown
from templates import rendering
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.ops import metrics

logger = logging.getLogger(__name__)

# A batch holds about BATCH_SECONDS of sending at the number's rate (at most BATCH_SIZE): its claim and its record
# cost about twenty statements whatever its size, so at 1,000/s a batch is 500 (bench/campaign_send.py).
BATCH_SIZE = 500
BATCH_SECONDS = 0.5
STATUS_CHECK = 0.25  # seconds between two looks at the campaign's status (pause and cancel within a second)
HEARTBEAT = 10  # seconds between two renewals of a batch's claim
BUDGET = 30  # seconds of sending per task run, then it queues itself again (other tasks get the worker)
# Seconds between two senders of a campaign stopping at the end of their budget: more than a restart takes (its
# sends finished and recorded, the task queued again and picked up by the worker, its first batch claimed: about 1.5 s
# in bench/campaign_send.py).
RESTART_SPACING = 5
# The pacing leaves room for this much lateness of a send after its slot (threads, the network, a busy machine):
# a send whose slot passed longer ago waits for a new slot (it would bunch up with the next ones), so no one-second
# window holds more than the throughput.
JITTER = 0.05
# A pacing that fell behind (the pacer was late to ask: a claim holding the process, a busy machine) catches up this
# much (pacing's catch_up): half the lateness allowance, the other half left for the sends themselves to start.
CATCH_UP = JITTER / 2
SLOT_SECONDS = 0.02  # a worker takes sends from the pacing about this much at a time (sends_per_take)
PACER_FAILED_RETRY = 5.0  # seconds before a task whose pacer stopped (Redis gone) runs again
THROTTLED = 130429
# Meta refuses the template itself: every other recipient would fail the same way.
TEMPLATE_REFUSED = frozenset({132001, 132015, 132016})
RENDER_REFUSED = "The template's values for this contact were refused: %(detail)s"

Status = Campaign.Status
RStatus = CampaignRecipient.Status


@dataclass
class Item:
    token: uuid.UUID  # its batch's claim
    recipient_id: int
    contact: Contact
    message: Message
    attempts: int


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | throttled | retry | failed | unknown | late (not sent: its slot had passed)
    wamid: str | None = None
    code: int | None = None
    title: str = ""


_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def send_pool() -> ThreadPoolExecutor:
    """The worker process's threads for concurrent sends (over messaging's one pooled HTTP session)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool_pid != os.getpid():
                _pool = ThreadPoolExecutor(settings.CAMPAIGN_SEND_THREADS, thread_name_prefix="campaign-send")
                _pool_pid = os.getpid()
    return _pool


def campaign_send_batches(*, organization_id: int, campaign_id: int, budget: float | None = BUDGET) -> float | None:
    """Send the campaign's pending recipients batch after batch, for `budget` seconds (None: until none is left).

    Returns None when this task has nothing more to do (the campaign is not running, completed, or its other
    recipients are claimed by other tasks), else after how many seconds it should run again (0: its budget ran
    out; more: the next recipient to retry is due then). Safe to run twice and concurrently: claims are exclusive.

    The task's thread claims and records batches in the database while a Pacer thread hands the claimed sends to
    the pacing and the send pool: the sending never stops for the database (two workers in step would otherwise
    stop together, a fifth of the time at 1,000/s).
    """
    campaign = (
        Campaign.objects.select_related("organization", "number", "template")
        .filter(organization_id=organization_id, pk=campaign_id)
        .first()
    )
    if campaign is None or campaign.status != Status.RUNNING:
        return None
    if campaign.template is None:
        campaign_fail(campaign_id=campaign.pk, warning=gettext("The campaign's template was deleted."))
        return None
    deadline = None if budget is None else time.monotonic() + budget
    pacer = Pacer(campaign)
    pacer.start()
    try:
        exhausted, stopped_as = _send_while_running(campaign, pacer, deadline)
    finally:
        pacer.stop()
    if stopped_as is not None:
        return None
    if pacer.failed:
        return PACER_FAILED_RETRY
    if not exhausted:
        return 0
    if campaign_complete_if_done(campaign_id=campaign.pk):
        campaigns_progress_on_commit(organization_id=organization_id, campaign_ids=[campaign.pk], now=True)
        return None
    return _next_retry_in(campaign)


def _next_retry_in(campaign: Campaign) -> float | None:
    """Seconds until the first recipient waiting to be retried is due (None: none waits)."""
    first = (
        CampaignRecipient.objects.filter(
            campaign=campaign, status=RStatus.PENDING, claim_token__isnull=True, retry_at__isnull=False
        )
        .order_by("retry_at")
        .values_list("retry_at", flat=True)
        .first()
    )
    return None if first is None else max(0.0, (first - timezone.now()).total_seconds())


def sends_per_take(throughput: int) -> int:
    """How many sends a worker takes from the pacing at once (and sends together): SLOT_SECONDS' worth (20 at
    1,000/s, 1 at 80/s), so that the round trips to Redis cost no rate."""
    return max(1, int(throughput * SLOT_SECONDS))


def paced_rate(throughput: int) -> float:
    """The rate the pacing aims at for a number's throughput: n sends taken together put at most n - 1 more in a
    second, and sends JITTER late add JITTER of the rate; what is left is never above the throughput in any
    one-second window (933/s at 1,000/s, 75/s at 80/s, 8.6/s at 10/s)."""
    return (throughput - sends_per_take(throughput)) / (1 + JITTER) if throughput > 1 else throughput / (1 + JITTER)


def batch_size(rate: float) -> int:
    return max(1, min(BATCH_SIZE, int(rate * BATCH_SECONDS)))


# --- claim -----------------------------------------------------------------------------------------------------


def _claim(campaign: Campaign) -> tuple[uuid.UUID, list[Item]] | None:
    """Claim a batch of due pending recipients and store their messages (rendered for each contact), in one
    transaction; a contact whose values the template refuses fails here. None when nothing is due."""
    number = campaign.number
    with transaction.atomic():
        # The campaign's row first, as cancel and pause take it before the recipients: without it a claim holding
        # recipients and waiting for the campaign's row (its counters) and a cancel holding the campaign's row and
        # waiting for those recipients would deadlock. Claims of several workers take turns here.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("pk").first()
        now = timezone.now()
        recipients = list(
            CampaignRecipient.objects.filter(campaign=campaign, status=RStatus.PENDING, claim_token__isnull=True)
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            .select_related("contact")
            .order_by("id")
            .select_for_update(skip_locked=True, of=("self",))[: batch_size(paced_rate(number.throughput))]
        )
        if not recipients:
            return None
        parts, refused = _parts(campaign, recipients)
        ready = [recipient for recipient in recipients if recipient.pk in parts]
        # The plan's monthly messages: the batch sends what is left of them; the others fail with the reason.
        allowed = plans.usage_messages_reserve(organization=campaign.organization, count=len(ready), partial=True)
        if allowed < len(ready):
            over = str(plans.limit_error(organization=campaign.organization, resource="messages").detail)
            refused.setdefault(over, []).extend(recipient.pk for recipient in ready[allowed:])
            ready = ready[:allowed]
        messages = messages_store_batch(number=number, parts=[(r.contact, parts[r.pk]) for r in ready])
        token = uuid.uuid4()
        if ready:
            rows.update(
                CampaignRecipient,
                ["id", "message_id", "claim_token", "claimed_at", "attempts"],
                [(r.pk, m.pk, token.hex, now, r.attempts + 1) for r, m in zip(ready, messages, strict=True)],
            )
        for title, recipient_ids in refused.items():
            CampaignRecipient.objects.filter(pk__in=recipient_ids).update(
                status=RStatus.FAILED, error_title=title[:500], retry_at=None
            )
        counters_add(campaign.pk, {"failed": sum(map(len, refused.values()))}, activity_at=now)
        if refused:
            campaigns_progress_on_commit(organization_id=campaign.organization_id, campaign_ids=[campaign.pk])
    items = [Item(token, r.pk, r.contact, message, r.attempts + 1) for r, message in zip(ready, messages, strict=True)]
    return token, items


def _parts(campaign: Campaign, recipients: list[CampaignRecipient]) -> tuple[dict[int, dict], dict[str, list[int]]]:
    """The Meta-shaped template part of each recipient, and the recipients whose values are refused, by reason.
    rendering.render checks each recipient's values; the send's shape, the same for all, is checked once per batch
    by messaging.message_parts as any send is (parse), the others built alike (template_part). Recipients with the
    same values share one part."""
    parts: dict[int, dict] = {}
    refused: dict[str, list[int]] = {}
    rendered: dict[str, dict | str] = {}
    checked = False
    for recipient in recipients:
        values = campaign_values(campaign=campaign, contact=recipient.contact)
        key = json.dumps(values, sort_keys=True, default=str)
        if key not in rendered:
            try:
                content = rendering.render(campaign.template, values).template
                if not checked:
                    message_parts.parse({"type": "template", "template": content})
                    checked = True
                rendered[key] = message_parts.template_part(content)
            except ServiceError as exc:
                rendered[key] = gettext(RENDER_REFUSED) % {"detail": exc.detail}
        part = rendered[key]
        if isinstance(part, dict):
            parts[recipient.pk] = part
        else:
            refused.setdefault(part, []).append(recipient.pk)
    return parts, refused


# --- send ------------------------------------------------------------------------------------------------------


def _send_one(pacer: Pacer, item: Item, slot: float) -> Outcome:
    late = time.monotonic() - slot
    if late > JITTER:
        # The pacing leaves room for JITTER of lateness only: sent now, this one would bunch up with the sends of the
        # next slots (a stalled process, a busy machine). It takes a new slot instead, and the pacing is pushed back.
        pacer.report_late(late - JITTER)
        return Outcome("late")
    try:
        result = message_provider_send(message=item.message, provider=pacer.provider, contact=item.contact)
    except ProviderError as exc:
        title = provider_error_title(exc)
        if exc.code == THROTTLED:
            pacer.throttled.set()
            return Outcome("throttled", code=exc.code, title=title)
        if exc.code is None and exc.retryable:
            return Outcome("unknown", title=title)  # no answer of Meta's: it may have been sent
        return Outcome("retry" if exc.retryable else "failed", code=exc.code, title=title)
    except Exception:
        logger.exception("campaign send of message %s failed unexpectedly", item.message.pk)
        return Outcome("unknown", title="Unexpected error")
    return Outcome("sent", wamid=result.provider_message_id)


def _status(campaign: Campaign) -> str | None:
    return Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()


@dataclass
class Batch:
    """A claimed batch on its way: its sends' outcomes, and those taken back unsent (the campaign stopped)."""

    token: uuid.UUID
    items: list[Item]
    outcomes: dict[int, tuple[Item, Outcome]] = field(default_factory=dict)
    unsent: list[Item] = field(default_factory=list)

    def settled(self) -> bool:
        return len(self.outcomes) + len(self.unsent) == len(self.items)


class Pacer(threading.Thread):
    """Takes the queued sends from the number's pacing, sends_per_take at a time, and hands them to the send pool;
    their outcomes land in `done`. Never touches the database (the task's thread does)."""

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(name=f"campaign-pacer-{campaign.pk}", daemon=True)
        number = campaign.number
        self.key, self.rate = pacing.number_key(number), paced_rate(number.throughput)
        self.per_take = sends_per_take(number.throughput)
        self.provider = provider_for(number)
        self.pool = send_pool()
        self.done: SimpleQueue[tuple[Item, Outcome]] = SimpleQueue()
        self.throttled = threading.Event()
        self._queue: deque[Item] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._late = 0.0
        self.failed = False

    def report_late(self, seconds: float) -> None:
        """A send left `seconds` after its slot (from a send thread): the pacing is pushed back as much."""
        with self._lock:
            self._late = max(self._late, seconds)

    def add(self, items: list[Item]) -> None:
        with self._lock:
            self._queue.extend(items)
        self._wake.set()

    def backlog(self) -> int:
        return len(self._queue)

    def take_back(self) -> list[Item]:
        """The queued sends not handed to the pool yet, which it will not send now."""
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
        return items

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.join()

    def run(self) -> None:
        try:
            self._pace()
        except Exception:  # Redis gone, say: the task takes its sends back and runs again later
            logger.exception("the pacer of campaign sends stopped")
            self.failed = True

    def _pace(self) -> None:
        while not self._stopping.is_set():
            if self.throttled.is_set():
                self.throttled.clear()
                pacing.limiter().throttle(self.key)
            if self._late:
                with self._lock:
                    late, self._late = self._late, 0.0
                pacing.limiter().postpone(self.key, late)
            count = min(self.per_take, len(self._queue))
            if not count:
                self._wake.wait(STATUS_CHECK)
                self._wake.clear()
                continue
            slot = pacing.wait_for(self.key, count, self.rate, max_wait=STATUS_CHECK, catch_up=CATCH_UP)
            if slot is None:
                continue
            with self._lock:
                items = [self._queue.popleft() for _ in range(min(count, len(self._queue)))]
            for item in items:
                future = self.pool.submit(_send_one, self, item, slot)
                future.add_done_callback(lambda future, item=item: self.done.put((item, future.result())))


def _send_while_running(campaign: Campaign, pacer: Pacer, deadline: float | None) -> tuple[bool, str | None]:
    """Claim batches while the pacer's queue runs low, record each once all its sends have an outcome, and look at
    the campaign's status every STATUS_CHECK seconds. Returns (nothing was left to claim, the status it stopped at:
    paused, cancelled, failed; None while running)."""
    batches: dict[uuid.UUID, Batch] = {}
    exhausted = False
    stopped_as: str | None = None
    checked = beat = time.monotonic()
    restarting = False
    while True:
        now = time.monotonic()
        if now - checked >= STATUS_CHECK:
            checked = now
            status = _status(campaign)
            if status != Status.RUNNING:
                stopped_as = status or Status.CANCELLED
                for item in pacer.take_back():
                    batches[item.token].unsent.append(item)
        if batches and now - beat >= HEARTBEAT:
            beat = now
            CampaignRecipient.objects.filter(claim_token__in=list(batches)).update(claimed_at=timezone.now())
        if pacer.failed:
            for item in pacer.take_back():
                batches[item.token].unsent.append(item)
        if deadline is not None and now >= deadline and not restarting:
            # One sender of a campaign stops (and starts again) at a time: while one does, the others keep the
            # number's slots in use; two at once would leave them unused.
            if cache.add(f"campaigns:restarting:{campaign.pk}", 1, RESTART_SPACING):
                restarting = True
            else:
                deadline = now + RESTART_SPACING / 2
        claiming = stopped_as is None and not exhausted and not restarting and not pacer.failed
        # Half a second of sends queued at the full rate (the other senders stopped, say) while the next batch is
        # claimed: a claim takes a few hundred milliseconds on a busy machine, and an empty queue loses its time.
        if claiming and pacer.backlog() <= pacer.per_take + batch_size(pacer.rate):
            claim = _claim(campaign)
            if claim is None:
                exhausted = True
            else:
                batches[claim[0]] = Batch(*claim)
                pacer.add(claim[1])
                continue
        for token in [token for token, batch in batches.items() if batch.settled()]:
            batch = batches.pop(token)
            _record(campaign, token, batch.outcomes, unsent=batch.unsent, stopped_as=stopped_as)
        if not batches:
            return exhausted, stopped_as
        arrived = _outcomes(pacer.done, timeout=STATUS_CHECK / 5)
        if made := [outcome.kind for _, outcome in arrived if outcome.kind != "late"]:
            metrics.campaign_sends(campaign.pk, made)
        for item, outcome in arrived:
            if outcome.kind in ("throttled", "late") and stopped_as is None:
                pacer.add([item])  # never sent (refused by Meta, or its slot passed): the same message again, later
            elif outcome.kind in ("throttled", "late"):
                batches[item.token].unsent.append(item)
            else:
                batches[item.token].outcomes[item.message.pk] = (item, outcome)


def _outcomes(done: SimpleQueue, *, timeout: float) -> list[tuple[Item, Outcome]]:
    """The outcomes that arrived, waiting up to `timeout` for the first."""
    try:
        arrived = [done.get(timeout=timeout)]
    except Empty:
        return []
    while True:
        try:
            arrived.append(done.get_nowait())
        except Empty:
            return arrived


# --- record ----------------------------------------------------------------------------------------------------


def _record(
    campaign: Campaign,
    token: uuid.UUID,
    outcomes: dict[int, tuple[Item, Outcome]],
    *,
    unsent: list[Item],
    stopped_as: str | None,
) -> None:
    """Record a batch's outcomes in one transaction (see the module's docstring), then complete the campaign when
    nothing is left."""
    organization_id = campaign.organization_id
    sent = {pk: outcome.wamid for pk, (_, outcome) in outcomes.items() if outcome.kind == "sent"}
    failed = {pk: (o.code, o.title) for pk, (_, o) in outcomes.items() if o.kind == "failed"}
    later = [(item, o) for item, o in outcomes.values() if o.kind in ("retry", "throttled")]
    for item, outcome in later:
        if item.attempts >= MAX_ATTEMPTS:
            failed[item.message.pk] = (outcome.code, outcome.title)
    later = [(item, outcome) for item, outcome in later if item.message.pk not in failed]
    refused_template = next((code for code, _ in failed.values() if code in TEMPLATE_REFUSED), None)
    with transaction.atomic():
        changes = messages_mark_sent(organization_id=organization_id, sent=sent) if sent else []
        changes += messages_mark_failed(organization_id=organization_id, failed=failed) if failed else []
        recipients_follow_messages(organization_id=organization_id, changes=changes)
        now = timezone.now()
        if later:
            retry_at = {
                item.recipient_id: now + timedelta(seconds=backoff_countdown(item.attempts)) for item, _ in later
            }
            CampaignRecipient.objects.filter(pk__in=list(retry_at), claim_token=token).update(
                claim_token=None,
                claimed_at=None,
                message=None,
                retry_at=Case(*[When(pk=pk, then=Value(at)) for pk, at in retry_at.items()]),
            )
        if unsent:
            back = CampaignRecipient.objects.filter(pk__in=[item.recipient_id for item in unsent], claim_token=token)
            back.update(message=None)
            if stopped_as == Status.CANCELLED:
                recipients_cancel(campaign=campaign, claimed=True, claim_token=token)
            else:
                back.update(claim_token=None, claimed_at=None)
        discarded = [item.message.pk for item, _ in later] + [item.message.pk for item in unsent]
        if discarded:
            messages_discard_unsent(organization_id=organization_id, message_ids=discarded)
        if refused_template is not None:
            campaign_fail(
                campaign_id=campaign.pk,
                warning=gettext("WhatsApp refused the template (error %(code)s): the campaign stopped.")
                % {"code": refused_template},
            )
        counters_add(campaign.pk, Counter(), activity_at=now)
        campaigns_progress_on_commit(organization_id=organization_id, campaign_ids=[campaign.pk])
    if number_is_sandbox(campaign):
        items = {pk: item for pk, (item, _) in outcomes.items()}
        for pk, wamid in sent.items():
            if wamid:
                sandbox_play_back(
                    message=items[pk].message,
                    number=campaign.number,
                    contact=items[pk].contact,
                    provider_message_id=wamid,
                )
    unknown = sum(1 for _, outcome in outcomes.values() if outcome.kind == "unknown")
    if unknown:
        logger.warning("campaign %s: %d sends without an answer, left to Meta's statuses", campaign.pk, unknown)


def number_is_sandbox(campaign: Campaign) -> bool:
    return campaign.number.provider == Provider.SANDBOX
