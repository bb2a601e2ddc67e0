"""Runs: start one from a trigger, continue a waiting one with the customer's reply, wake delays and timeouts, and
step through the graph in between.

Durability. A run's whole state is its FlowRun row (current node, variables, what it waits for and until when),
so it survives restarts and deploys: nothing is kept in memory between steps. Each step is one transaction that
locks the run's row, does the node's work (a message stored queued, a tag set), records a FlowRunStep (unique per
run and step number) and moves the run on; the message is delivered after the commit by messaging's task. So a
step is done once or not at all: a worker that dies mid-step leaves the run where it was, and beat takes it up
again (a run `running` and untouched for STALL_GRACE). HTTP steps wait on the network outside any transaction, and
their result is applied only if the run is still at that step: after a crash in between, an HTTP call may be made
again (sends never are).

Redelivery. A message starts at most one run (FlowRun.trigger_message is unique) and advances a run at most once
(`last_message_id`: a message at or below it was handled); a wake acts only on a run still waiting and due, taken
with SKIP LOCKED. At most MAX_STEPS steps run per inbound message or wake: a run beyond that fails (a runaway
graph), though the graph checks (every cycle passes through a wait) make it unlikely.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import SystemLog
from accounts.services import system_log_write
from automation.flows import http, nodes, schema, templating
from automation.models import CustomFunction, Flow, FlowRun, FlowRunStep, FlowVersion
from messaging.models import Contact, Message, WhatsAppNumber
from whatsapp_hub.aftercommit import run_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

MAX_STEPS = 100
# A run waiting for a reply with no timeout ends `expired` after this (the customer-service window: past it, a free
# text cannot be sent anyway).
REPLY_EXPIRY = timedelta(hours=24)
# A test run waiting for its first message (POST flows/{id}/test) ends `expired` after this.
TEST_START_EXPIRY = timedelta(hours=1)
# A run `running` and untouched this long lost its worker: beat runs it on (longer than any HTTP step's timeout).
STALL_GRACE = timedelta(minutes=2)
WAKE_BATCH = 200
ERROR_MAX = FlowRun._meta.get_field("last_error").max_length

Status = FlowRun.Status
Wait = FlowRun.Wait


class Graph:
    """A version's nodes by id and its edges by (source, handle)."""

    def __init__(self, version: FlowVersion) -> None:
        self.nodes = {node["id"]: node for node in version.nodes}
        self.edges: dict[tuple[str, str | None], str] = {}
        for edge in version.edges:
            self.edges.setdefault((edge["source"], schema.handle_of(edge)), edge["target"])

    def node(self, node_id: str) -> dict | None:
        return self.nodes.get(node_id)

    def next(self, node: dict, handle: str | None) -> str | None:
        """Where a node leaves by `handle`; an ask's choice without an edge of its own goes the default way."""
        target = self.edges.get((node["id"], handle))
        if target is None and handle is not None and node["type"] == "ask" and handle not in ("timeout", "invalid"):
            target = self.edges.get((node["id"], None))
        return target


def current_version(flow: Flow) -> FlowVersion | None:
    return FlowVersion.objects.for_org(flow.organization_id).filter(flow=flow, version=flow.version).first()


def _locked(organization_id: int, run_id: int, **filters: Any) -> FlowRun | None:
    """The organization's run, its row locked until the transaction ends (must be called inside one)."""
    runs = (
        FlowRun.objects.for_org(organization_id)
        .select_for_update(of=("self",))
        .select_related(
            "flow_version", "organization", "contact", "conversation", "conversation__number", "conversation__contact"
        )
    )
    return runs.filter(pk=run_id, **filters).first()


def _record(run: FlowRun, node: dict, outcome: dict, message: Message | None = None) -> None:
    run.step_count += 1
    FlowRunStep.objects.create(
        organization_id=run.organization_id,
        run=run,
        step_no=run.step_count,
        node_id=node["id"],
        node_type=node["type"],
        outcome=outcome,
        message=message,
    )


def _stop_waiting(run: FlowRun) -> None:
    run.waiting_for, run.waiting_since, run.wake_at, run.expires_at = Wait.NONE, None, None, None


def _finish(run: FlowRun, status: str, *, error: str = "") -> None:
    """End the run (not saved); `flow.completed` is announced after the commit when it completed."""
    run.status = status
    run.finished_at = timezone.now()
    run.last_error = error[:ERROR_MAX]
    _stop_waiting(run)
    if status == Status.COMPLETED:
        _announce_completed(run)
    elif status == Status.FAILED:
        _log_failed(run)


RUN_FAILED = gettext_noop("The flow %(flow)s stopped with an error at step %(step)s (%(node)s): %(reason)s")
TEST_RUN_FAILED = gettext_noop(
    "A test run of the flow %(flow)s stopped with an error at step %(step)s (%(node)s): %(reason)s"
)


def _log_failed(run: FlowRun) -> None:
    """The organization's system log says so (after the commit of the step that failed)."""
    flow_name = Flow.objects.for_org(run.organization_id).filter(pk=run.flow_id).values_list("name", flat=True).first()
    system_log_write(
        organization_id=run.organization_id,
        level=SystemLog.Level.WARNING if run.is_test else SystemLog.Level.ERROR,
        category=SystemLog.Category.WORKFLOW,
        message=TEST_RUN_FAILED if run.is_test else RUN_FAILED,
        details={
            "flow": flow_name or run.flow_id,
            "step": run.step_count,
            "node": run.current_node,
            "reason": run.last_error,
            "flow_id": run.flow_id,
            "run_id": run.pk,
        },
        related=("flow", run.flow_id),
    )


def _announce_completed(run: FlowRun) -> None:
    data = {
        "run_id": run.pk,
        "flow_id": run.flow_id,
        "flow_version": run.flow_version.version,
        "number_id": run.number_id,
        "contact_id": run.contact_id,
        "conversation_id": run.conversation_id,
        "variables": run.variables,
        "test": run.is_test,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    organization_id = run.organization_id

    def emit() -> None:
        try:
            from automation.events import emit as emit_event
        except ModuleNotFoundError as exc:  # the outbound webhooks' area is not installed
            if exc.name != "automation.events":
                raise
            return
        emit_event(organization_id=organization_id, type="flow.completed", data=data)

    run_after_commit(emit, what="flow.completed")


def _apply(run: FlowRun, graph: Graph, node: dict, outcome: nodes.Outcome) -> None:
    """Move the run on after `node` (not saved): wait at it, end, or go to the node its branch leads to."""
    now = timezone.now()
    if outcome.wait:
        run.status = Status.WAITING
        run.current_node = node["id"]
        run.waiting_for = outcome.wait
        run.waiting_since = now
        run.wake_at = outcome.wake_at
        run.expires_at = None if outcome.wake_at else now + REPLY_EXPIRY
        return
    _stop_waiting(run)
    if outcome.end:
        _finish(run, Status.COMPLETED)
        return
    target = graph.next(node, outcome.handle)
    if target is None:
        _finish(run, Status.COMPLETED)
        return
    run.status = Status.RUNNING
    run.current_node = target


def _context_of(run: FlowRun, node: dict) -> nodes.Step:
    return nodes.Step(
        run=run, node=node, contact=run.contact, conversation=run.conversation, variables=dict(run.variables)
    )


def _run_node(run: FlowRun, graph: Graph, node: dict, work) -> None:
    """Do a node's `work(step) -> Outcome` in a savepoint (a refusal leaves nothing of it behind), record the step
    and move the run on; a ServiceError ends the run `failed` with its reason. Not saved."""
    step = _context_of(run, node)
    try:
        with transaction.atomic():
            outcome = work(step)
    except ServiceError as exc:
        _record(run, node, {"error": str(exc.detail)})
        _finish(run, Status.FAILED, error=str(exc.detail))
        return
    run.variables = step.variables
    run.conversation = step.conversation
    run.contact = step.contact
    details = {"handle": outcome.handle, **outcome.details} if not outcome.wait else {"wait": outcome.wait}
    _record(run, node, details, message=outcome.message)
    _apply(run, graph, node, outcome)


# --- stepping --------------------------------------------------------------------------------------------------------


def _step(organization_id: int, run_id: int) -> tuple[str, Any]:
    """One step of a running run, in one transaction: ("next", None) to go on, ("stop", None) when it waits or
    ended (or someone else has it), ("network", (node, step_count)) for an HTTP node to call outside."""
    with transaction.atomic():
        run = _locked(organization_id, run_id)
        if run is None or run.status != Status.RUNNING:
            return "stop", None
        graph = Graph(run.flow_version)
        node = graph.node(run.current_node)
        if node is None:
            _finish(run, Status.FAILED, error=_("The run's node is not in its flow."))
            run.save()
            return "stop", None
        if node["type"] in nodes.NETWORK_TYPES:
            return "network", (node, run.step_count)
        _run_node(run, graph, node, nodes.RUNNERS[node["type"]])
        run.save()
        return ("next" if run.status == Status.RUNNING else "stop"), None


def _call(run: FlowRun, node: dict) -> http.CallResult:
    """An HTTP node's call, with the run's placeholders (no transaction open)."""
    data = node.get("data") or {}
    context = templating.Context.of(contact=run.contact, variables=run.variables, message_text=run.last_reply)
    if node["type"] == "function":
        function = CustomFunction.objects.for_org(run.organization_id).filter(pk=data.get("function_id")).first()
        if function is None:
            return http.CallResult(ok=False, error=_("The function of this step was deleted."))
        return http.call_function(function, context=context, save_to=data.get("save_to"))
    return http.call(
        method=data.get("method", "GET"),
        url=data["url"],
        headers=data.get("headers") or {},
        body=data.get("body"),
        response_map=data.get("response_map") or {},
        timeout_seconds=data.get("timeout_seconds", http.DEFAULT_TIMEOUT_SECONDS),
        context=context,
        save_to=data.get("save_to"),
    )


def _network_step(organization_id: int, run_id: int, node: dict, step_count: int) -> None:
    """Make an HTTP node's call, then apply its result if the run is still at that step."""
    run = FlowRun.objects.for_org(organization_id).select_related("contact", "organization").get(pk=run_id)
    result = _call(run, node)
    with transaction.atomic():
        run = _locked(organization_id, run_id)
        if (
            run is None
            or run.status != Status.RUNNING
            or run.current_node != node["id"]
            or run.step_count != step_count
        ):
            return  # another worker applied this step meanwhile
        graph = Graph(run.flow_version)
        details = {"handle": None if result.ok else "error", **result.as_dict()}
        run.variables = {**run.variables, **result.variables}
        if not result.ok and graph.next(node, "error") is None:
            _record(run, node, details)
            _finish(run, Status.FAILED, error=result.error)
        else:
            _record(run, node, details)
            _apply(run, graph, node, nodes.Outcome(handle=None if result.ok else "error"))
        run.save()


def advance(organization_id: int, run_id: int) -> None:
    """Run steps until the run waits or ends, at most MAX_STEPS (beyond: it fails, a runaway graph). Must be called
    outside a transaction (each step is its own; HTTP steps wait on the network between two)."""
    for _attempt in range(MAX_STEPS):
        kind, payload = _step(organization_id, run_id)
        if kind == "stop":
            return
        if kind == "network":
            _network_step(organization_id, run_id, *payload)
    with transaction.atomic():
        run = _locked(organization_id, run_id, status=Status.RUNNING)
        if run is not None:
            _finish(run, Status.FAILED, error=_("Stopped after %(count)d steps in a row.") % {"count": MAX_STEPS})
            run.save()


# --- inbound messages ----------------------------------------------------------------------------------------------


def start(
    *, flow: Flow, version: FlowVersion, number: WhatsAppNumber, contact: Contact, message: Message
) -> FlowRun | None:
    """Start a run of `version` for the contact who sent `message` (its trigger matched) and step it until it waits
    or ends. None when the contact has an active run on this number already (or this message started one)."""
    graph = Graph(version)
    trigger = schema.trigger_of(version.nodes)
    try:
        with transaction.atomic():
            run = FlowRun.objects.create(
                organization_id=flow.organization_id,
                flow=flow,
                flow_version=version,
                number=number,
                contact=contact,
                conversation=message.conversation,
                status=Status.RUNNING,
                current_node=trigger["id"],
                trigger_message=message,
                last_message_id=message.pk,
                last_reply=message.text,
            )
            _record(run, trigger, {"handle": None, "message_id": message.pk})
            _apply(run, graph, trigger, nodes.Outcome())
            run.save()
    except IntegrityError:
        return None
    advance(run.organization_id, run.pk)
    return run


def receive(run_id: int, message: Message) -> bool:
    """Give the customer's `message` to their active run: the answer to its question, or the first message of a test
    run; during a delay it is only noted. False when the run is no longer active (the message is then free for
    triggers and bots); True otherwise, also when this message was handled already."""
    with transaction.atomic():
        run = _locked(message.organization_id, run_id)
        if run is None or not run.is_active:
            return False
        if run.last_message_id is not None and message.pk <= run.last_message_id:
            return True
        run.last_message_id = message.pk
        run.last_reply = message.text
        run.conversation = message.conversation
        if run.status == Status.RUNNING or run.waiting_for == Wait.DELAY:
            run.save()  # busy, or in a delay: the reply is kept for conditions and {{message.text}}
            return True
        graph = Graph(run.flow_version)
        node = graph.node(run.current_node)
        if node is None:
            _finish(run, Status.FAILED, error=_("The run's node is not in its flow."))
        elif run.waiting_for == Wait.START:
            _stop_waiting(run)
            _record(run, node, {"handle": None, "message_id": message.pk})
            _apply(run, graph, node, nodes.Outcome())
        else:
            _run_node(run, graph, node, lambda step: nodes.reply_to_ask(step, message))
        run.save()
    advance(message.organization_id, run_id)
    return True


def active_run(*, number_id: int, contact_id: int, organization_id: int) -> FlowRun | None:
    return (
        FlowRun.objects.filter(
            organization_id=organization_id, number_id=number_id, contact_id=contact_id, status__in=FlowRun.ACTIVE
        )
        .only("pk")
        .first()
    )


def cancel_active(*, organization_id: int, number_id: int, contact_id: int) -> int:
    """End the contact's active run on this number (`cancelled`)."""
    return FlowRun.objects.filter(
        organization_id=organization_id, number_id=number_id, contact_id=contact_id, status__in=FlowRun.ACTIVE
    ).update(
        status=Status.CANCELLED,
        finished_at=timezone.now(),
        waiting_for=Wait.NONE,
        wake_at=None,
        expires_at=None,
        updated_at=timezone.now(),
    )


# --- beat: delays, timeouts, expiry, stalled runs --------------------------------------------------------------------


def _wake(organization_id: int, run_id: int, now: datetime) -> bool:
    """End the wait of a due run (a delay over: on; an ask timed out: by `timeout`), skipping one another worker
    holds. True when this call took it."""
    with transaction.atomic():
        run = (
            FlowRun.objects.for_org(organization_id)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("flow_version", "organization", "contact", "conversation")
            .filter(pk=run_id, status=Status.WAITING, wake_at__lte=now)
            .first()
        )
        if run is None:
            return False
        graph = Graph(run.flow_version)
        node = graph.node(run.current_node)
        if node is None:
            _finish(run, Status.FAILED, error=_("The run's node is not in its flow."))
        else:
            handle = "timeout" if run.waiting_for == Wait.REPLY else None
            _stop_waiting(run)
            _record(run, node, {"handle": handle, "woke": True})
            _apply(run, graph, node, nodes.Outcome(handle=handle))
        run.save()
    return True


def wake_due(*, limit: int = WAKE_BATCH) -> int:
    """Beat's work: continue the runs whose delay or timeout is due, expire the runs that waited too long, and run on
    the runs whose worker died. Returns how many runs it moved."""
    now = timezone.now()
    moved = 0
    due = FlowRun.objects.filter(status=Status.WAITING, wake_at__lte=now).order_by("wake_at")
    for organization_id, run_id in list(due.values_list("organization_id", "pk")[:limit]):
        if _wake(organization_id, run_id, now):
            advance(organization_id, run_id)
            moved += 1
    expired = FlowRun.objects.filter(status=Status.WAITING, expires_at__lte=now)
    moved += expired.filter(pk__in=list(expired.values_list("pk", flat=True)[:limit])).update(
        status=Status.EXPIRED, finished_at=now, waiting_for=Wait.NONE, wake_at=None, expires_at=None, updated_at=now
    )
    stalled = FlowRun.objects.filter(status=Status.RUNNING, updated_at__lt=now - STALL_GRACE).order_by("updated_at")
    for organization_id, run_id in list(stalled.values_list("organization_id", "pk")[:limit]):
        advance(organization_id, run_id)
        moved += 1
    return moved
