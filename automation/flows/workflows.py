"""Workflows (seed 000's `workflows/`: `{name, trigger_type, steps}`) are linear flows: the trigger, then each step in
order, one edge from each to the next. They run on the same engine; this module translates both ways.

A step is a node without its position: `{id?, type, data}` (ids default to `step1`, `step2`, ...). Every node type
but `trigger` and `condition` (which branches) may be a step; an ask's timeout or invalid answer, and an HTTP
step's error, end a workflow's run (it has no branch to take).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from automation.flows import schema
from whatsapp_hub.errors import ServiceError

TRIGGER_ID = "trigger"
STEP_TYPES = tuple(t for t in schema.NODE_TYPES if t not in ("trigger", "condition"))
SPACING = 280
MAX_STEPS = schema.MAX_NODES - 1


def _step_id(step: dict, index: int) -> str:
    given = step.get("id")
    return given if isinstance(given, str) else f"step{index + 1}"


def to_graph(*, trigger_type: str, keywords: list[str], match: str, steps: Any) -> tuple[list[dict], list[dict]]:
    """The nodes and edges of a workflow; a 400 naming `steps.<index>` for a step that cannot be one."""
    if not isinstance(steps, list) or len(steps) > MAX_STEPS:
        message = _("steps must be a list of at most %(count)d steps.") % {"count": MAX_STEPS}
        raise ServiceError(message, errors={"steps": [message]})
    problems: dict[str, list[str]] = {}
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("type") not in STEP_TYPES:
            problems[str(index)] = [
                _("A step is {type, data}; type is one of: %(types)s.") % {"types": ", ".join(STEP_TYPES)}
            ]
        elif set(step) - {"id", "type", "data"}:
            problems[str(index)] = [_("A step has only id, type and data.")]
        elif "id" in step and (not isinstance(step["id"], str) or step["id"] == TRIGGER_ID):
            problems[str(index)] = [_("A step's id is a text other than %(id)s.") % {"id": TRIGGER_ID}]
    if problems:
        raise ServiceError(next(iter(problems.values()))[0], errors={"steps": problems})
    trigger_data: dict[str, Any] = {"on": trigger_type, "match": match}
    if keywords:
        trigger_data["keywords"] = keywords
    nodes = [{"id": TRIGGER_ID, "type": "trigger", "data": trigger_data, "position": {"x": 0, "y": 0}}]
    edges = []
    previous = TRIGGER_ID
    for index, step in enumerate(steps):
        node_id = _step_id(step, index)
        nodes.append(
            {
                "id": node_id,
                "type": step["type"],
                "data": step.get("data", {}),
                "position": {"x": SPACING * (index + 1), "y": 0},
            }
        )
        edges.append({"id": f"e{index + 1}", "source": previous, "target": node_id})
        previous = node_id
    return nodes, edges


def step_errors(exc: ServiceError, nodes: list[dict]) -> ServiceError:
    """A graph's refusal (errors by node id) in a workflow's words (errors by step index)."""
    errors = exc.errors or {}
    index_of = {node.get("id"): str(index - 1) for index, node in enumerate(nodes) if isinstance(node, dict)}
    steps = {index_of.get(node_id, node_id): messages for node_id, messages in (errors.get("nodes") or {}).items()}
    trigger = steps.pop("-1", None)
    translated: dict[str, Any] = {}
    if trigger:
        translated["trigger_type"] = trigger
    if steps:
        translated["steps"] = steps
    for key in ("graph", "edges"):
        if key in errors:
            translated["steps" if "steps" not in translated else key] = errors[key]
    first = next(iter(trigger or next(iter(steps.values()), None) or [exc.detail]))
    return ServiceError(first, errors=translated or errors)


def from_graph(nodes: list[dict], edges: list[dict]) -> dict | None:
    """`{trigger_type, keywords, match, steps}` of a linear graph (the trigger, then one node after another by their
    one way on), else None."""
    trigger = schema.trigger_of(nodes)
    if trigger is None:
        return None
    if any(schema.handle_of(edge) is not None for edge in edges):
        return None
    following = {}
    for edge in edges:
        if edge["source"] in following:
            return None
        following[edge["source"]] = edge["target"]
    by_id = {node["id"]: node for node in nodes}
    steps, seen, current = [], {trigger["id"]}, following.get(trigger["id"])
    while current is not None:
        node = by_id.get(current)
        if node is None or current in seen or node["type"] not in STEP_TYPES:
            return None
        seen.add(current)
        steps.append({"id": node["id"], "type": node["type"], "data": node.get("data", {})})
        current = following.get(current)
    if len(seen) != len(nodes):
        return None
    data = trigger.get("data") or {}
    return {
        "trigger_type": data.get("on", "any"),
        "keywords": list(data.get("keywords") or []),
        "match": data.get("match", "exact"),
        "steps": steps,
    }
