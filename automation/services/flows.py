"""Flows and workflows: create, change (each save a new version), activate, try on a sandbox number, delete; and
the inbound handler that runs them (automation.dispatch: first of the handlers), and beat's work.

Runs are automation/flows/engine.py's business; what the graph may be is automation/flows/schema.py's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from accounts.services import audit_log_write
from automation.flows import engine, schema, triggers, workflows
from automation.models import Flow, FlowRun, FlowVersion, NumberAutomation
from messaging.models import Conversation, Message
from messaging.services.contacts import contact_get_or_create, opt_keyword
from messaging.services.sandbox import sandbox_inbound_simulate
from whatsapp_hub.errors import ServiceError

NAME_MAX_LENGTH = Flow._meta.get_field("name").max_length
DESCRIPTION_MAX_LENGTH = Flow._meta.get_field("description").max_length
TEST_PHONE = "+15550100001"
TEST_TEXT_MAX_LENGTH = 4096


def _user(actor: Any):
    from accounts.models import User

    return actor if isinstance(actor, User) else None


def _name_or_error(*, organization: Organization, name: str, exclude: Flow | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        message = _("Give the flow a name.")
        raise ServiceError(message, errors={"name": [message]})
    if len(name) > NAME_MAX_LENGTH:
        message = _("A name is at most %(count)d characters.") % {"count": NAME_MAX_LENGTH}
        raise ServiceError(message, errors={"name": [message]})
    taken = Flow.objects.for_org(organization).filter(name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        message = _("A flow or workflow named %(name)s exists already.") % {"name": name}
        raise ServiceError(message, code="duplicate", errors={"name": [message]})
    return name


def _description_or_error(description: str) -> str:
    if len(description) > DESCRIPTION_MAX_LENGTH:
        message = _("A description is at most %(count)d characters.") % {"count": DESCRIPTION_MAX_LENGTH}
        raise ServiceError(message, errors={"description": [message]})
    return description.strip()


def _normalized(nodes: Iterable[dict]) -> list[dict]:
    """Nodes as stored: every node with its data (an empty object when not given)."""
    return [{"id": n["id"], "type": n["type"], "data": n.get("data", {}), "position": n["position"]} for n in nodes]


def _edges(edges: Iterable[dict]) -> list[dict]:
    """Edges as stored: the handle only when there is one."""
    stored = []
    for edge in edges:
        row = {"id": edge["id"], "source": edge["source"], "target": edge["target"]}
        if edge.get("source_handle"):
            row["source_handle"] = edge["source_handle"]
        stored.append(row)
    return stored


def _checked_graph(*, organization: Organization, nodes: Any, edges: Any, active: bool) -> tuple[list, list]:
    schema.validate_graph(nodes=nodes, edges=edges, organization=organization)
    nodes, edges = _normalized(nodes), _edges(edges)
    if active:
        schema.require_trigger(nodes)
    return nodes, edges


def _save_version(flow: Flow) -> FlowVersion:
    return FlowVersion.objects.create(
        organization_id=flow.organization_id, flow=flow, version=flow.version, nodes=flow.nodes, edges=flow.edges
    )


def _create(*, organization: Organization, actor: Any, fields: dict) -> Flow:
    try:
        with transaction.atomic():
            flow = Flow.objects.create(organization=organization, created_by=_user(actor), **fields)
    except IntegrityError:  # a concurrent create of the same name
        message = _("A flow or workflow named %(name)s exists already.") % {"name": fields["name"]}
        raise ServiceError(message, code="duplicate", errors={"name": [message]}) from None
    _save_version(flow)
    audit_log_write(organization=organization, actor=actor, action="flow.create", target=flow)
    return flow


@transaction.atomic
def flow_create(
    *,
    organization: Organization,
    actor: Any,
    name: str,
    description: str = "",
    nodes: Any = (),
    edges: Any = (),
    is_active: bool = False,
) -> Flow:
    """A new flow (version 1). Its graph is checked (automation/flows/schema.py: a 400 naming the node or edge at
    fault); an empty graph is a draft, which cannot be active."""
    nodes, edges = _checked_graph(organization=organization, nodes=list(nodes), edges=list(edges), active=is_active)
    fields = {
        "name": _name_or_error(organization=organization, name=name),
        "description": _description_or_error(description),
        "nodes": nodes,
        "edges": edges,
        "is_active": is_active,
        "kind": Flow.Kind.FLOW,
    }
    return _create(organization=organization, actor=actor, fields=fields)


def _bump(flow: Flow, changed: list[str]) -> None:
    flow.version += 1
    try:
        with transaction.atomic():
            flow.save(update_fields=[*changed, "version", "updated_at"])
    except IntegrityError:
        message = _("A flow or workflow named %(name)s exists already.") % {"name": flow.name}
        raise ServiceError(message, code="duplicate", errors={"name": [message]}) from None
    _save_version(flow)


def _locked(flow: Flow) -> Flow:
    return Flow.objects.for_org(flow.organization_id).select_for_update().get(pk=flow.pk)


@transaction.atomic
def flow_update(
    *,
    flow: Flow,
    actor: Any,
    name: str | None = None,
    description: str | None = None,
    nodes: Any = None,
    edges: Any = None,
    is_active: bool | None = None,
) -> Flow:
    """Change what is given (None leaves a field as it is). Every save makes a new version: runs under way keep the
    version they started with. A workflow whose graph stops being linear becomes a flow (it leaves workflows/)."""
    flow = _locked(flow)
    organization = flow.organization
    changed: list[str] = []
    if name is not None:
        flow.name = _name_or_error(organization=organization, name=name, exclude=flow)
        changed.append("name")
    if description is not None:
        flow.description = _description_or_error(description)
        changed.append("description")
    if nodes is not None or edges is not None:
        flow.nodes, flow.edges = _checked_graph(
            organization=organization,
            nodes=flow.nodes if nodes is None else nodes,
            edges=flow.edges if edges is None else edges,
            active=False,
        )
        changed += ["nodes", "edges"]
        if flow.kind == Flow.Kind.WORKFLOW and workflows.from_graph(flow.nodes, flow.edges) is None:
            flow.kind = Flow.Kind.FLOW
            changed.append("kind")
    if is_active is not None:
        flow.is_active = is_active
        changed.append("is_active")
    if flow.is_active:
        schema.require_trigger(flow.nodes)
    _bump(flow, changed)
    audit_log_write(organization=organization, actor=actor, action="flow.update", target=flow, data={"fields": changed})
    return flow


@transaction.atomic
def flow_set_active(*, flow: Flow, actor: Any, active: bool) -> Flow:
    """Activate (its graph checked again: the rows it names must still exist; it needs a trigger) or deactivate a
    flow. Runs under way finish either way."""
    flow = _locked(flow)
    if active:
        schema.validate_graph(nodes=flow.nodes, edges=flow.edges, organization=flow.organization)
        schema.require_trigger(flow.nodes)
    if flow.is_active != active:
        flow.is_active = active
        flow.save(update_fields=["is_active", "updated_at"])
        action = "flow.activate" if active else "flow.deactivate"
        audit_log_write(organization=flow.organization, actor=actor, action=action, target=flow)
    return flow


@transaction.atomic
def flow_delete(*, flow: Flow, actor: Any) -> None:
    """Delete the flow, its versions and its runs (a waiting run ends with it); numbers using it have no flow."""
    audit_log_write(
        organization=flow.organization, actor=actor, action="flow.delete", target=flow, data={"name": flow.name}
    )
    flow.delete()


# --- workflows ---------------------------------------------------------------------------------------------------


def _workflow_graph(*, organization: Organization, trigger_type: str, keywords, match: str, steps, active: bool):
    nodes, edges = workflows.to_graph(trigger_type=trigger_type, keywords=keywords, match=match, steps=steps)
    try:
        return _checked_graph(organization=organization, nodes=nodes, edges=edges, active=active)
    except ServiceError as exc:
        raise workflows.step_errors(exc, nodes) from None


@transaction.atomic
def workflow_create(
    *,
    organization: Organization,
    actor: Any,
    name: str,
    trigger_type: str,
    steps: list,
    keywords: list[str] = (),
    match: str = "exact",
    description: str = "",
    is_active: bool = False,
) -> Flow:
    """A workflow: a flow of the trigger then each step (automation/flows/workflows.py)."""
    nodes, edges = _workflow_graph(
        organization=organization,
        trigger_type=trigger_type,
        keywords=list(keywords),
        match=match,
        steps=steps,
        active=is_active,
    )
    fields = {
        "name": _name_or_error(organization=organization, name=name),
        "description": _description_or_error(description),
        "nodes": nodes,
        "edges": edges,
        "is_active": is_active,
        "kind": Flow.Kind.WORKFLOW,
    }
    return _create(organization=organization, actor=actor, fields=fields)


@transaction.atomic
def workflow_update(
    *,
    flow: Flow,
    actor: Any,
    name: str | None = None,
    description: str | None = None,
    trigger_type: str | None = None,
    keywords: list[str] | None = None,
    match: str | None = None,
    steps: list | None = None,
    is_active: bool | None = None,
) -> Flow:
    """Change a workflow; the fields of its trigger and steps not given stay as they are."""
    current = workflows.from_graph(flow.nodes, flow.edges) or {
        "trigger_type": "any",
        "keywords": [],
        "match": "exact",
        "steps": [],
    }
    nodes = edges = None
    if any(value is not None for value in (trigger_type, keywords, match, steps)):
        nodes, edges = _workflow_graph(
            organization=flow.organization,
            trigger_type=current["trigger_type"] if trigger_type is None else trigger_type,
            keywords=current["keywords"] if keywords is None else list(keywords),
            match=current["match"] if match is None else match,
            steps=current["steps"] if steps is None else steps,
            active=False,
        )
    return flow_update(
        flow=flow, actor=actor, name=name, description=description, nodes=nodes, edges=edges, is_active=is_active
    )


# --- trying a flow on a sandbox number ----------------------------------------------------------------------------


@transaction.atomic
def flow_test_start(
    *, flow: Flow, actor: Any, number_id: int | None, phone: str = TEST_PHONE, text: str = "", name: str = ""
) -> tuple[FlowRun, str]:
    """Try the flow (active or not, as saved now) on a sandbox number: the customer `phone` writes `text` (default:
    the trigger's first keyword, else "Hi") to the number, through the sandbox's real ingest path, and this flow
    answers it from its first step, whatever its trigger and whichever flow the number has. Their next messages
    (POST sandbox/inbound, the inbox's "Play the customer") go on with the run. A run the customer had on that number
    is cancelled. Returns the test run (waiting for that first message) and the message's wamid.

    400 for a flow with no trigger, a number that is not one of the organization's sandbox numbers (or none to
    default to), a bad phone."""
    version = engine.current_version(flow)
    schema.require_trigger(flow.nodes)
    trigger = schema.trigger_of(version.nodes) if version else None
    if trigger is None:
        raise ServiceError(_("Save the flow with a trigger first."))
    if not text:
        keywords = (trigger.get("data") or {}).get("keywords") or []
        text = keywords[0] if keywords else "Hi"
    if len(text) > TEST_TEXT_MAX_LENGTH or not text.strip():
        message = _("The test message must be a text of 1 to %(count)d characters.") % {"count": TEST_TEXT_MAX_LENGTH}
        raise ServiceError(message, errors={"text": [message]})
    organization = flow.organization
    number, provider_message_id = sandbox_inbound_simulate(
        organization=organization,
        number_id=number_id,
        phone=phone,
        part={"type": "text", "text": {"body": text}},
        profile_name=name,
    )
    contact = contact_get_or_create(organization=organization, phone=phone, name=name)
    engine.cancel_active(organization_id=organization.pk, number_id=number.pk, contact_id=contact.pk)
    now = timezone.now()
    run = FlowRun.objects.create(
        organization=organization,
        flow=flow,
        flow_version=version,
        number=number,
        contact=contact,
        status=FlowRun.Status.WAITING,
        waiting_for=FlowRun.Wait.START,
        waiting_since=now,
        expires_at=now + engine.TEST_START_EXPIRY,
        current_node=trigger["id"],
        is_test=True,
    )
    audit_log_write(organization=organization, actor=actor, action="flow.test", target=flow, data={"run": run.pk})
    return run, provider_message_id


# --- the inbound handler and beat ---------------------------------------------------------------------------------


def flow_handle_inbound(message: Message) -> bool:
    """automation.dispatch's first handler: True when flows took the inbound `message`.

    A run of this contact on this number takes it first (the answer to its question; noted during a delay); else
    the number's active flow starts a run when its trigger matches. An opt-out word (STOP) cancels the contact's run
    and is left to the others. Idempotent: a message handled already (a task run twice) is taken again without
    doing anything."""
    if message.direction != Message.Direction.INBOUND:
        return False
    conversation = Conversation.objects.select_related("number", "contact", "organization").get(
        pk=message.conversation_id
    )
    organization, number, contact = conversation.organization, conversation.number, conversation.contact
    keys = {"organization_id": organization.pk, "number_id": number.pk, "contact_id": contact.pk}
    if opt_keyword(organization=organization, text=message.text) is True:
        engine.cancel_active(**keys)
        return False
    run = engine.active_run(**keys)
    if run is not None and engine.receive(run.pk, message):
        return True
    if FlowRun.objects.filter(organization=organization, trigger_message=message).exists():
        return True
    if number.deleted_at is not None:
        return False
    link = NumberAutomation.objects.for_org(organization).filter(number=number).select_related("flow").first()
    flow = link.flow if link is not None else None
    if flow is None or not flow.is_active:
        return False
    version = engine.current_version(flow)
    trigger = schema.trigger_of(version.nodes) if version is not None else None
    if trigger is None or not triggers.matches(trigger, message):
        return False
    if engine.start(flow=flow, version=version, number=number, contact=contact, message=message) is None:
        # Another message of the contact started a run meanwhile: this one goes to it.
        run = engine.active_run(**keys)
        return run is not None and engine.receive(run.pk, message)
    return True


def flow_runs_wake_due() -> int:
    """Beat: delays and timeouts that are due, runs that waited too long, runs whose worker died."""
    return engine.wake_due()
