"""What the flows tests share: a sandbox number linked to a flow, the customer writing to it through the sandbox's
real ingest path (webhook stored, ingested after the commit, the inbound dispatcher's task: all inline), and small
graph builders."""

import itertools

from django.test import TestCase

from automation.models import Flow, FlowRun, NumberAutomation
from automation.services import flows as flow_services
from messaging.models import Message, Provider
from messaging.services.sandbox import sandbox_inbound_simulate
from tests.messaging.factories import WhatsAppNumberFactory

CUSTOMER = "+16505551234"
CUSTOMER_WA_ID = "16505551234"


def committed(call, *args, **kwargs):
    """Run `call` and every after-commit callback it sets off (ingest, the dispatcher, deliveries), inline."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return call(*args, **kwargs)


def sandbox_number(org, **fields):
    defaults = {
        "provider": Provider.SANDBOX,
        "phone_number": "+16505550100",
        "phone_number_id": "",
        "waba_id": "",
        "access_token": "",
        "app_secret": "",
        "verify_token": "",
        "is_primary": True,
    }
    return WhatsAppNumberFactory(organization=org, **{**defaults, **fields})


def node(node_id: str, node_type: str, data: dict | None = None, x: float = 0, y: float = 0) -> dict:
    return {"id": node_id, "type": node_type, "data": data or {}, "position": {"x": x, "y": y}}


def edge(source: str, target: str, handle: str | None = None, edge_id: str | None = None) -> dict:
    row = {"id": edge_id or f"{source}-{target}-{handle or 'on'}", "source": source, "target": target}
    if handle is not None:
        row["source_handle"] = handle
    return row


def keyword_trigger(*keywords: str, match: str = "exact") -> dict:
    return node("start", "trigger", {"on": "keyword", "keywords": list(keywords), "match": match})


def text(node_id: str, body: str) -> dict:
    return node(node_id, "send_message", {"type": "text", "text": body})


def chain(*nodes: dict) -> list[dict]:
    """Edges from each node to the next (their one way on)."""
    return [edge(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]


def linked_flow(org, number, nodes: list[dict], edges: list[dict] | None = None, *, name: str = "Flow") -> Flow:
    """An active flow set on `number` (the link row written directly: numbers' API is the bots area's)."""
    flow = flow_services.flow_create(
        organization=org,
        actor=None,
        name=name,
        nodes=nodes,
        edges=chain(*nodes) if edges is None else edges,
        is_active=True,
    )
    NumberAutomation.objects.update_or_create(organization=org, number=number, defaults={"flow": flow})
    return flow


def writes(org, number, body: str = "", *, phone: str = CUSTOMER, part: dict | None = None) -> Message:
    """The customer writes to the sandbox number: the inbound message, once everything after it ran."""
    part = part or {"type": "text", "text": {"body": body}}
    _, wamid = committed(
        sandbox_inbound_simulate, organization=org, number_id=number.pk, phone=phone, part=part, profile_name="Alex"
    )
    return Message.objects.for_org(org).get(provider_message_id=wamid)


def button_reply(button_id: str, title: str) -> dict:
    return {
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
    }


def sent_texts(org) -> list[str]:
    """What the hub sent (the text of each outbound message, oldest first)."""
    outbound = Message.objects.for_org(org).filter(direction=Message.Direction.OUTBOUND).order_by("pk")
    return [message.text for message in outbound]


def the_run(org) -> FlowRun:
    return FlowRun.objects.for_org(org).get()


def simple_flow(org, *, kind: str = "flow") -> Flow:
    """A saved flow (a keyword trigger and a text), inactive; `kind="workflow"` for one of workflows/."""
    nodes = [keyword_trigger("hello"), text("hi", "Hi")]
    flow = flow_services.flow_create(
        organization=org, actor=None, name=f"Flow {Flow.objects.count()}", nodes=nodes, edges=chain(*nodes)
    )
    if kind != flow.kind:
        flow.kind = kind
        flow.save(update_fields=["kind"])
    return flow


def flow_run_of(org) -> FlowRun:
    """A finished run of a saved flow (its contact and number made for it)."""
    from automation.flows import engine
    from tests.messaging.factories import ContactFactory

    flow = simple_flow(org)
    number = WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX)
    return FlowRun.objects.create(
        organization=org,
        flow=flow,
        flow_version=engine.current_version(flow),
        number=number,
        contact=ContactFactory(organization=org),
        status=FlowRun.Status.COMPLETED,
    )


def custom_function(org, **fields):
    """A saved custom function (a public URL, never called by the tests that use this)."""
    from automation.models import CustomFunction

    defaults = {"name": f"Function {CustomFunction.objects.count()}", "url": "https://public.example/x"}
    return CustomFunction.objects.create(organization=org, **{**defaults, **fields})
