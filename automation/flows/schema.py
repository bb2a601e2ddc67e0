"""What a flow's graph may be: the node types, the `data` each takes, the branches (edge handles) each leaves by,
and the checks of a whole graph on save. `validate_graph` refuses a graph with a 400 whose `errors` name what is at
fault: `errors.nodes.<node id>`, `errors.edges.<edge id>`, or `errors.graph` for the graph as a whole.

Node types and their `data` (placeholders such as `{{contact.name}}` allowed in texts, see templating.py):

- `trigger`: `{on: keyword|first_message|button_reply|opt_in|any, keywords: [...], match: exact|contains}`.
  `keywords` are required for `keyword`; for `button_reply` they are the button or list-row ids (none: any reply).
- `send_message`: a message in the shape of `POST conversations/{id}/messages` (`{type: "text", text}`,
  `{type: "interactive", interactive: {...}}`, `{type: "image", media_id, caption}`, `{type: "template", template:
  {name, language, components}}`, location, contacts), or an approved template of the organization by id with its
  values: `{type: "template", template_id, parameters: {key: value}}`.
- `send_flow`: a published WhatsApp Flow (Meta's form, messaging's whatsapp-flows/): `{flow_id, body, cta, header?,
  footer?, screen?, data?, flow_action?}`, sent as a `flow` message; the answers come back as a FlowResponse.
- `ask`: `{question: <a text or interactive message, as send_message>, validate: text|number|email|choice,
  choices?: [...], attribute?: name | variable?: name, timeout_minutes?, invalid_message?, max_attempts?}`. Waits for
  the reply. With `choice`, the choices are the question's buttons or list rows (their ids), or `choices` for a text
  question; an edge per choice id may branch. Leaves by `timeout` (no reply in time) and `invalid` (out of attempts).
- `condition`: `{check: reply|attribute|variable|tag|time_of_day|business_hours, ...}` -> `yes` / `no`.
  reply/attribute/variable: `{operator: equals|not_equals|contains|starts_with|exists|not_exists|gt|gte|lt|lte,
  value}` (+ `attribute` or `variable`); tag: `{tag}`; time_of_day: `{from: "HH:MM", to: "HH:MM"}`;
  business_hours: `{days: [mon..sun], from, to}`. Times are in the organization's time zone.
- `set_tag`: `{tags: [...], action: add|remove}`.
- `set_attribute`: `{attribute: name, value}` (a contact attribute) or `{variable: name, value}` (a run variable).
- `assign`: `{user_id?, team_id?}` (at least one): hands the conversation to a person or a team.
- `bot`: `{bot_id}`: hands the conversation to a bot; the run ends.
- `http_request`: `{method, url, headers?: {name: value}, body?: <JSON template>, response_map?: {variable: path},
  save_to?: variable, timeout_seconds?}` -> on, or `error`.
- `function`: `{function_id, save_to?: variable}`: a custom function of the organization -> on, or `error`.
- `delay`: `{amount, unit: seconds|minutes|hours|days}` (at most 30 days).
- `end`: `{}`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from accounts import org_settings
from automation.flows import templating
from messaging import message_parts
from messaging.models import Message
from whatsapp_hub import egress
from whatsapp_hub.errors import ServiceError

MAX_NODES = 200
MAX_EDGES = 400
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HANDLE_MAX_LENGTH = 256
POSITION_LIMIT = 1_000_000
KEYWORDS_MAX = 50
KEYWORD_MAX_LENGTH = 256
TAGS_MAX = 20
VALUE_MAX_LENGTH = 1024
TIME = org_settings.TIME
DAYS = org_settings.WEEKDAYS
ASK_TIMEOUT_MAX_MINUTES = 7 * 24 * 60
DELAY_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
DELAY_MAX_SECONDS = 30 * 86400
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HTTP_TIMEOUT_MAX = 30
HEADERS_MAX = 20
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
HEADER_VALUE_MAX = 4096
RESPONSE_MAP_MAX = 20
# Headers the hub sets itself: a tenant may not forge them.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

TRIGGER_ON = ("keyword", "first_message", "button_reply", "opt_in", "any")
MATCHES = ("exact", "contains")
VALIDATIONS = ("text", "number", "email", "choice")
CHECKS = ("reply", "attribute", "variable", "tag", "time_of_day", "business_hours")
OPERATORS = ("equals", "not_equals", "contains", "starts_with", "exists", "not_exists", "gt", "gte", "lt", "lte")
UNARY_OPERATORS = ("exists", "not_exists")
QUESTION_TYPES = (Message.Type.TEXT, Message.Type.INTERACTIVE)
# send_message: what a flow may send (a reaction or a quote needs a message of the conversation; files are uploaded
# first and named by media_id).
# A WhatsApp Flow has its own node (send_flow), whose check knows the organization's flows.
SEND_TYPES = tuple(t for t in message_parts.SEND_TYPES if t not in (Message.Type.REACTION, message_parts.FLOW_TYPE))
WAIT_TYPES = frozenset({"ask", "delay"})

DEFAULT = None  # the handle of a node's one way on


class _Refused(Exception):
    """What is wrong with a node's data (the messages, shown under errors.nodes.<id>)."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


@dataclass
class Check:
    """What a node's check may look up: the organization's rows a node names (templates, media, bots, people,
    teams, functions)."""

    organization: Any


# --- small checks ------------------------------------------------------------------------------------------------


def _object(data: Any) -> dict:
    if not isinstance(data, dict):
        raise _Refused(_("data must be an object."))
    return data


def _keys(data: dict, allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _Refused(_("Unknown fields in data: %(fields)s.") % {"fields": ", ".join(unknown)})


def _choice(data: dict, key: str, choices: Iterable[str], *, default: str | None = None) -> str:
    choices = tuple(choices)
    value = data.get(key, default)
    if value not in choices:
        raise _Refused(_("%(key)s must be one of: %(choices)s.") % {"key": key, "choices": ", ".join(choices)})
    return value


def _text(data: dict, key: str, *, required: bool = True, max_length: int = VALUE_MAX_LENGTH) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _Refused(_("%(key)s must be a non-empty text.") % {"key": key})
    if len(value) > max_length:
        raise _Refused(_("%(key)s is longer than %(count)d characters.") % {"key": key, "count": max_length})
    _placeholders_known(value, key)
    return value


def _int(data: dict, key: str, *, minimum: int, maximum: int, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _Refused(
            _("%(key)s must be a whole number from %(min)d to %(max)d.") % {"key": key, "min": minimum, "max": maximum}
        )
    return value


def _row_id(data: dict, key: str, *, required: bool = True) -> int | None:
    return _int(data, key, minimum=1, maximum=2**63 - 1, required=required)


def _name(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not templating.NAME.fullmatch(value):
        raise _Refused(
            _("%(key)s must be a name of letters, digits and _ (at most 64, not starting with a digit).") % {"key": key}
        )
    return value


def _placeholders_known(value: Any, key: str) -> None:
    unknown = templating.unknown_placeholder(value)
    if unknown is not None:
        raise _Refused(
            _("%(key)s: {{%(name)s}} is not a placeholder the hub knows (contact.*, vars.* or message.text).")
            % {"key": key, "name": unknown}
        )


def _messages(errors: Any, prefix: str = "") -> list[str]:
    """A DRF-style error structure flattened into "field: message" lines."""
    if isinstance(errors, dict):
        return [line for key, value in errors.items() for line in _messages(value, f"{prefix}{key}: ")]
    if isinstance(errors, list):
        if all(isinstance(item, str) for item in errors):
            return [f"{prefix}{item}" for item in errors]
        return [line for index, item in enumerate(errors) for line in _messages(item, f"{prefix}{index}: ")]
    return [f"{prefix}{errors}"]


def _message_part(content: dict, check: Check, *, allowed_types: Iterable[str], field: str = "") -> None:
    """A message in the send API's shape (messaging.message_parts), as a flow may send it; the organization's media
    it names must exist."""
    from messaging.models import Media

    allowed_types = tuple(allowed_types)
    prefix = f"{field}: " if field else ""
    if content.get("type") not in allowed_types:
        raise _Refused(prefix + _("type must be one of: %(types)s.") % {"types": ", ".join(allowed_types)})
    for key in ("file", "reply_to"):
        if key in content:
            raise _Refused(prefix + _("%(key)s cannot be used in a flow.") % {"key": key})
    try:
        message_parts.parse(content)
    except ServiceError as exc:
        raise _Refused(*(prefix + line for line in _messages(exc.errors or exc.detail))) from None
    _placeholders_known(content, field or "data")
    media_id = content.get("media_id")
    if media_id is not None:
        ready = Media.objects.for_org(check.organization).filter(pk=media_id, status=Media.Status.READY)
        if not ready.exclude(file="").exists():
            raise _Refused(prefix + _("media_id: no such uploaded media in this organization."))


# --- the node types ------------------------------------------------------------------------------------------------


def _trigger(data: dict, check: Check) -> None:
    _keys(data, ("on", "keywords", "match"))
    on = _choice(data, "on", TRIGGER_ON)
    _choice(data, "match", MATCHES, default="exact")
    keywords = data.get("keywords", [])
    if not isinstance(keywords, list) or len(keywords) > KEYWORDS_MAX:
        raise _Refused(_("keywords must be a list of at most %(count)d words.") % {"count": KEYWORDS_MAX})
    for keyword in keywords:
        if not isinstance(keyword, str) or not keyword.strip() or len(keyword) > KEYWORD_MAX_LENGTH:
            raise _Refused(
                _("Each keyword is a non-empty text of at most %(count)d characters.") % {"count": KEYWORD_MAX_LENGTH}
            )
    if on == "keyword" and not keywords:
        raise _Refused(_("A keyword trigger needs at least one keyword."))


def _send_message(data: dict, check: Check) -> None:
    from templates.models import MessageTemplate

    if data.get("type") == Message.Type.TEMPLATE and "template_id" in data:
        _keys(data, ("type", "template_id", "parameters"))
        template_id = _row_id(data, "template_id")
        if not MessageTemplate.objects.for_org(check.organization).live().filter(pk=template_id).exists():
            raise _Refused(_("template_id: no such template in this organization."))
        parameters = data.get("parameters", {})
        if not isinstance(parameters, dict) or not all(
            isinstance(value, str) and len(value) <= VALUE_MAX_LENGTH for value in parameters.values()
        ):
            raise _Refused(_("parameters must be an object of texts, by placeholder."))
        _placeholders_known(parameters, "parameters")
        return
    _message_part(data, check, allowed_types=SEND_TYPES)


SEND_FLOW_KEYS = ("flow_id", "body", "cta", "header", "footer", "screen", "data", "flow_action")


def _send_flow(data: dict, check: Check) -> None:
    """A published WhatsApp Flow of the organization, with the message around its button (checked like a `flow`
    message of the send API: messaging.message_parts)."""
    from messaging.models import WhatsAppFlow

    _keys(data, SEND_FLOW_KEYS)
    flow_id = _row_id(data, "flow_id")
    flow = WhatsAppFlow.objects.for_org(check.organization).filter(pk=flow_id).first()
    if flow is None:
        raise _Refused(_("flow_id: no such WhatsApp Flow in this organization."))
    if flow.status != WhatsAppFlow.Status.PUBLISHED:
        raise _Refused(_("flow_id: only a published WhatsApp Flow can be sent."))
    _message_part(send_flow_content(data), check, allowed_types=(message_parts.FLOW_TYPE,))


def send_flow_content(data: dict) -> dict:
    """A send_flow node's message, in the send API's shape (`{type: "flow", flow: {...}}`)."""
    return {"type": message_parts.FLOW_TYPE, "flow": {key: data[key] for key in SEND_FLOW_KEYS if key in data}}


def question_choices(data: dict) -> list[tuple[str, str]]:
    """(id, title) of an ask's choices: its interactive question's buttons or list rows, else its `choices`."""
    question = data.get("question") if isinstance(data.get("question"), dict) else {}
    interactive = question.get("interactive") if isinstance(question.get("interactive"), dict) else {}
    action = interactive.get("action") if isinstance(interactive.get("action"), dict) else {}
    found: list[tuple[str, str]] = []
    for button in action.get("buttons") or ():
        reply = button.get("reply") if isinstance(button, dict) else None
        if isinstance(reply, dict):
            found.append((str(reply.get("id", "")), str(reply.get("title", ""))))
    for section in action.get("sections") or ():
        for row in (section.get("rows") if isinstance(section, dict) else None) or ():
            if isinstance(row, dict):
                found.append((str(row.get("id", "")), str(row.get("title", ""))))
    if found:
        return found
    choices = data.get("choices")
    if isinstance(choices, list):
        return [(str(choice), str(choice)) for choice in choices if isinstance(choice, str)]
    return []


def _ask(data: dict, check: Check) -> None:
    _keys(
        data,
        (
            "question",
            "validate",
            "choices",
            "attribute",
            "variable",
            "timeout_minutes",
            "invalid_message",
            "max_attempts",
        ),
    )
    question = data.get("question")
    if not isinstance(question, dict):
        raise _Refused(_("question must be a message: {type: text, text} or an interactive message."))
    _message_part(question, check, allowed_types=QUESTION_TYPES, field="question")
    validate = _choice(data, "validate", VALIDATIONS, default="text")
    choices = data.get("choices")
    if choices is not None and (
        not isinstance(choices, list)
        or not 1 <= len(choices) <= 20
        or not all(isinstance(c, str) and c.strip() and len(c) <= 100 for c in choices)
    ):
        raise _Refused(_("choices must be a list of 1 to 20 texts (at most 100 characters each)."))
    if validate == "choice" and not question_choices(data):
        raise _Refused(_("A choice question needs buttons or list rows, or choices."))
    if "attribute" in data and "variable" in data:
        raise _Refused(_("Store the answer in an attribute or in a variable, not both."))
    for key in ("attribute", "variable"):
        if key in data:
            _name(data, key)
    _int(data, "timeout_minutes", minimum=1, maximum=ASK_TIMEOUT_MAX_MINUTES, required=False)
    _int(data, "max_attempts", minimum=1, maximum=10, required=False)
    _text(data, "invalid_message", required=False)


def _condition(data: dict, check: Check) -> None:
    check_kind = _choice(data, "check", CHECKS)
    if check_kind in ("reply", "attribute", "variable"):
        subject = {"reply": (), "attribute": ("attribute",), "variable": ("variable",)}[check_kind]
        _keys(data, ("check", "operator", "value", *subject))
        for key in subject:
            _name(data, key)
        operator = _choice(data, "operator", OPERATORS, default="equals")
        if operator not in UNARY_OPERATORS:
            value = data.get("value")
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise _Refused(_("value must be a text or a number."))
            if len(str(value)) > VALUE_MAX_LENGTH:
                raise _Refused(_("value is longer than %(count)d characters.") % {"count": VALUE_MAX_LENGTH})
            if operator in ("gt", "gte", "lt", "lte") and _number(value) is None:
                raise _Refused(_("value must be a number to compare with %(operator)s.") % {"operator": operator})
            _placeholders_known(value, "value")
        elif "value" in data:
            raise _Refused(_("%(operator)s takes no value.") % {"operator": operator})
    elif check_kind == "tag":
        _keys(data, ("check", "tag"))
        _text(data, "tag", max_length=64)
    else:
        allowed = ("check", "from", "to") + (("days",) if check_kind == "business_hours" else ())
        _keys(data, allowed)
        for key in ("from", "to"):
            if not isinstance(data.get(key), str) or not TIME.fullmatch(data[key]):
                raise _Refused(_("%(key)s must be a time as HH:MM (24 hours).") % {"key": key})
        if check_kind == "business_hours":
            days = data.get("days", list(DAYS[:5]))
            if not isinstance(days, list) or not days or not all(day in DAYS for day in days):
                raise _Refused(_("days must be a list of: %(days)s.") % {"days": ", ".join(DAYS)})


def _number(value: Any) -> float | None:
    """A number from a number or a text that reads as one (`"1,5"` too), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _set_tag(data: dict, check: Check) -> None:
    _keys(data, ("tags", "action"))
    _choice(data, "action", ("add", "remove"), default="add")
    tags = data.get("tags")
    if not isinstance(tags, list) or not 1 <= len(tags) <= TAGS_MAX:
        raise _Refused(_("tags must be a list of 1 to %(count)d tag names.") % {"count": TAGS_MAX})
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 64 or re.search(r"[,;|]", tag):
            raise _Refused(_("Each tag is a name of at most 64 characters, without ',', ';' or '|'."))


def _set_attribute(data: dict, check: Check) -> None:
    target = [key for key in ("attribute", "variable") if key in data]
    if len(target) != 1:
        raise _Refused(_("Name one attribute or one variable to set."))
    _keys(data, (target[0], "value"))
    _name(data, target[0])
    value = data.get("value")
    if not isinstance(value, str) or len(value) > VALUE_MAX_LENGTH:
        raise _Refused(_("value must be a text of at most %(count)d characters.") % {"count": VALUE_MAX_LENGTH})
    _placeholders_known(value, "value")


def _assign(data: dict, check: Check) -> None:
    from accounts.models import Membership, Role, Team

    _keys(data, ("user_id", "team_id"))
    user_id = _row_id(data, "user_id", required=False)
    team_id = _row_id(data, "team_id", required=False)
    if user_id is None and team_id is None:
        raise _Refused(_("Assign to a user (user_id), a team (team_id), or both."))
    if user_id is not None and not (
        Membership.objects.for_org(check.organization)
        .filter(user_id=user_id, is_active=True, role__in=(Role.ADMIN, Role.AGENT))
        .exists()
    ):
        raise _Refused(_("user_id: not an active admin or agent of this organization."))
    if team_id is not None and not Team.objects.for_org(check.organization).filter(pk=team_id).exists():
        raise _Refused(_("team_id: no such team in this organization."))


def _bot(data: dict, check: Check) -> None:
    from automation.models import Bot

    _keys(data, ("bot_id",))
    bot_id = _row_id(data, "bot_id")
    if not Bot.objects.for_org(check.organization).filter(pk=bot_id).exists():
        raise _Refused(_("bot_id: no such bot in this organization."))


def check_url_template(url: Any, key: str = "url") -> str:
    """A URL a step calls: http(s), its scheme and host written out (placeholders only after the host), allowed by
    the egress policy as far as it can tell now (it checks again when connecting)."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise _Refused(_("%(key)s must be a URL of at most 2000 characters.") % {"key": key})
    _placeholders_known(url, key)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _Refused(_("%(key)s: enter a valid URL.") % {"key": key}) from None
    if "{{" in f"{parts.scheme}://{parts.netloc}":
        raise _Refused(_("%(key)s: placeholders may only come after the host.") % {"key": key})
    try:
        egress.check_url(templating.PLACEHOLDER.sub("x", url))
    except egress.EgressError as exc:
        raise _Refused(f"{key}: {exc}") from None
    return url


def check_headers(headers: Any, *, allow_keep: bool = False) -> dict:
    """Request headers: {name: value}, names as HTTP writes them, none the hub sets itself. With `allow_keep`, a
    null value means "keep the stored one" (custom functions)."""
    if not isinstance(headers, dict) or len(headers) > HEADERS_MAX:
        raise _Refused(_("headers must be an object of at most %(count)d headers.") % {"count": HEADERS_MAX})
    for name, value in headers.items():
        if not HEADER_NAME.fullmatch(name) or name.lower() in RESERVED_HEADERS:
            raise _Refused(_("headers: %(name)s is not a header a request may set.") % {"name": name[:100]})
        if value is None and allow_keep:
            continue
        if not isinstance(value, str) or len(value) > HEADER_VALUE_MAX or any(c in value for c in "\r\n\0"):
            raise _Refused(
                _("headers: the value of %(name)s must be one line of at most %(count)d characters.")
                % {"name": name, "count": HEADER_VALUE_MAX}
            )
        _placeholders_known(value, "headers")
    return headers


def check_response_map(response_map: Any) -> dict:
    if not isinstance(response_map, dict) or len(response_map) > RESPONSE_MAP_MAX:
        raise _Refused(
            _("response_map must be an object of at most %(count)d {variable: JSON path}.")
            % {"count": RESPONSE_MAP_MAX}
        )
    for name, path in response_map.items():
        if not templating.NAME.fullmatch(name):
            raise _Refused(_("response_map: %(name)s is not a variable name.") % {"name": name[:64]})
        if not isinstance(path, str) or templating.parse_path(path) is None:
            raise _Refused(_("response_map: the path of %(name)s must be like data.items.0.name.") % {"name": name})
    return response_map


def check_body(body: Any) -> None:
    _placeholders_known(body, "body")


def _http_request(data: dict, check: Check) -> None:
    _keys(data, ("method", "url", "headers", "body", "response_map", "save_to", "timeout_seconds"))
    _choice(data, "method", HTTP_METHODS, default="GET")
    check_url_template(data.get("url"))
    check_headers(data.get("headers", {}))
    check_body(data.get("body"))
    check_response_map(data.get("response_map", {}))
    if "save_to" in data:
        _name(data, "save_to")
    _int(data, "timeout_seconds", minimum=1, maximum=HTTP_TIMEOUT_MAX, required=False)


def _function(data: dict, check: Check) -> None:
    from automation.models import CustomFunction

    _keys(data, ("function_id", "save_to"))
    function_id = _row_id(data, "function_id")
    if not CustomFunction.objects.for_org(check.organization).filter(pk=function_id).exists():
        raise _Refused(_("function_id: no such function in this organization."))
    if "save_to" in data:
        _name(data, "save_to")


def delay_seconds(data: dict) -> int:
    return int(data.get("amount", 0)) * DELAY_UNITS.get(data.get("unit", "minutes"), 60)


def _delay(data: dict, check: Check) -> None:
    _keys(data, ("amount", "unit"))
    _choice(data, "unit", tuple(DELAY_UNITS), default="minutes")
    _int(data, "amount", minimum=1, maximum=DELAY_MAX_SECONDS)
    if delay_seconds(data) > DELAY_MAX_SECONDS:
        raise _Refused(_("A delay is at most 30 days."))


def _end(data: dict, check: Check) -> None:
    _keys(data, ())


@dataclass(frozen=True)
class NodeType:
    check: Callable[[dict, Check], None]
    # The handles an edge from such a node may carry (DEFAULT: its one way on); choice ids of an ask come on top.
    handles: frozenset


NODE_TYPES: dict[str, NodeType] = {
    "trigger": NodeType(_trigger, frozenset({DEFAULT})),
    "send_message": NodeType(_send_message, frozenset({DEFAULT})),
    "ask": NodeType(_ask, frozenset({DEFAULT, "timeout", "invalid"})),
    "condition": NodeType(_condition, frozenset({"yes", "no"})),
    "set_tag": NodeType(_set_tag, frozenset({DEFAULT})),
    "set_attribute": NodeType(_set_attribute, frozenset({DEFAULT})),
    "assign": NodeType(_assign, frozenset({DEFAULT})),
    "bot": NodeType(_bot, frozenset()),
    "http_request": NodeType(_http_request, frozenset({DEFAULT, "error"})),
    "function": NodeType(_function, frozenset({DEFAULT, "error"})),
    "delay": NodeType(_delay, frozenset({DEFAULT})),
    "send_flow": NodeType(_send_flow, frozenset({DEFAULT})),
    "end": NodeType(_end, frozenset()),
}


def handles_of(node: dict) -> frozenset:
    """The handles edges from `node` may carry."""
    handles = NODE_TYPES[node["type"]].handles
    if node["type"] == "ask" and node["data"].get("validate") == "choice":
        handles = handles | {choice_id for choice_id, _title in question_choices(node["data"])}
    return handles


def handle_of(edge: dict) -> str | None:
    """An edge's handle: None (or "") is the node's one way on."""
    return edge.get("source_handle") or DEFAULT


# --- the graph ---------------------------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.nodes: dict[str, list[str]] = {}
        self.edges: dict[str, list[str]] = {}
        self.graph: list[str] = []

    def node(self, node_id: str, *messages: str) -> None:
        self.nodes.setdefault(node_id, []).extend(messages)

    def edge(self, edge_id: str, *messages: str) -> None:
        self.edges.setdefault(edge_id, []).extend(messages)

    def raise_if_any(self) -> None:
        errors: dict[str, Any] = {}
        if self.graph:
            errors["graph"] = self.graph
        if self.nodes:
            errors["nodes"] = self.nodes
        if self.edges:
            errors["edges"] = self.edges
        if errors:
            first = (self.graph or [None])[0]
            if first is None:
                kind, (key, messages) = (
                    ("node", next(iter(self.nodes.items()))) if self.nodes else ("edge", next(iter(self.edges.items())))
                )
                first = _("The flow has errors: %(kind)s %(id)s: %(message)s") % {
                    "kind": _("node") if kind == "node" else _("edge"),
                    "id": key,
                    "message": messages[0],
                }
            raise ServiceError(first, errors=errors)


def _position_ok(position: Any) -> bool:
    return (
        isinstance(position, dict)
        and set(position) == {"x", "y"}
        and all(
            isinstance(position[axis], int | float)
            and not isinstance(position[axis], bool)
            and math.isfinite(position[axis])
            and abs(position[axis]) <= POSITION_LIMIT
            for axis in ("x", "y")
        )
    )


def _shape_errors(nodes: Any, edges: Any, errors: _Errors) -> tuple[list[dict], list[dict]]:
    """The nodes and edges well-formed enough to check further; what is not, in `errors`."""
    if not isinstance(nodes, list):
        errors.graph.append(_("nodes must be a list."))
        nodes = []
    if not isinstance(edges, list):
        errors.graph.append(_("edges must be a list."))
        edges = []
    if len(nodes) > MAX_NODES:
        errors.graph.append(_("A flow has at most %(count)d nodes.") % {"count": MAX_NODES})
    if len(edges) > MAX_EDGES:
        errors.graph.append(_("A flow has at most %(count)d edges.") % {"count": MAX_EDGES})
    if errors.graph:
        return [], []
    good_nodes: list[dict] = []
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        node_id = node.get("id") if isinstance(node, dict) else None
        key = node_id if isinstance(node_id, str) and ID.fullmatch(node_id) else f"#{index}"
        if not isinstance(node, dict):
            errors.node(key, _("A node is an object: {id, type, data, position}."))
            continue
        unknown = sorted(set(node) - {"id", "type", "data", "position"})
        if unknown:
            errors.node(key, _("Unknown fields: %(fields)s.") % {"fields": ", ".join(map(str, unknown))})
        if key.startswith("#"):
            errors.node(key, _("id must be 1 to 64 letters, digits, _ or -."))
            continue
        if key in seen:
            errors.node(key, _("Two nodes have this id."))
            continue
        seen.add(key)
        if not isinstance(node.get("type"), str) or node["type"] not in NODE_TYPES:
            errors.node(key, _("type must be one of: %(types)s.") % {"types": ", ".join(NODE_TYPES)})
        if not isinstance(node.get("data", {}), dict):
            errors.node(key, _("data must be an object."))
        if not _position_ok(node.get("position")):
            errors.node(key, _("position must be {x, y}, two numbers."))
        if key not in errors.nodes:
            good_nodes.append(node)
    good_edges: list[dict] = []
    seen_edges: set[str] = set()
    for index, edge in enumerate(edges):
        edge_id = edge.get("id") if isinstance(edge, dict) else None
        key = edge_id if isinstance(edge_id, str) and ID.fullmatch(edge_id) else f"#{index}"
        if not isinstance(edge, dict):
            errors.edge(key, _("An edge is an object: {id, source, target, source_handle?}."))
            continue
        unknown = sorted(set(edge) - {"id", "source", "target", "source_handle"})
        if unknown:
            errors.edge(key, _("Unknown fields: %(fields)s.") % {"fields": ", ".join(map(str, unknown))})
        if key.startswith("#"):
            errors.edge(key, _("id must be 1 to 64 letters, digits, _ or -."))
            continue
        if key in seen_edges:
            errors.edge(key, _("Two edges have this id."))
            continue
        seen_edges.add(key)
        if not all(isinstance(edge.get(end), str) and edge.get(end) for end in ("source", "target")):
            errors.edge(key, _("source and target must be node ids."))
        handle = edge.get("source_handle")
        if handle is not None and (not isinstance(handle, str) or len(handle) > HANDLE_MAX_LENGTH):
            errors.edge(key, _("source_handle must be a text (a branch's name) or null."))
        if key not in errors.edges:
            good_edges.append(edge)
    return good_nodes, good_edges


def _cycle_without_wait(nodes: dict[str, dict], edges: list[dict]) -> list[str]:
    """The nodes of a cycle that passes through no wait (ask or delay), if there is one (else [])."""
    successors: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for edge in edges:
        if nodes[edge["source"]]["type"] not in WAIT_TYPES:
            successors[edge["source"]].append(edge["target"])
    state: dict[str, int] = {}  # 1: on the path, 2: done
    for start in nodes:
        if start in state:
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node_id, index = stack.pop()
            if index == 0:
                state[node_id] = 1
                path.append(node_id)
            following = successors[node_id]
            if index < len(following):
                stack.append((node_id, index + 1))
                target = following[index]
                if state.get(target) == 1:
                    return path[path.index(target) :]
                if target not in state:
                    stack.append((target, 0))
            else:
                state[node_id] = 2
                path.pop()
    return []


def validate_graph(*, nodes: Any, edges: Any, organization) -> None:
    """Check a flow's graph (see the module docstring); ServiceError 400 naming what is at fault. An empty graph (no
    nodes, no edges) is a draft and passes; activating a flow needs a trigger (`require_trigger`)."""
    errors = _Errors()
    nodes, edges = _shape_errors(nodes, edges, errors)
    errors.raise_if_any()
    if not nodes and not edges:
        return
    by_id = {node["id"]: node for node in nodes}
    check = Check(organization=organization)
    for node in nodes:
        try:
            NODE_TYPES[node["type"]].check(_object(node.get("data", {})), check)
        except _Refused as exc:
            errors.node(node["id"], *exc.messages)
    triggers = [node["id"] for node in nodes if node["type"] == "trigger"]
    if not triggers:
        errors.graph.append(_("A flow needs one trigger node."))
    for extra in triggers[1:]:
        errors.node(extra, _("A flow has one trigger: this is a second one."))
    linked: list[dict] = []
    taken: dict[tuple[str, str | None], str] = {}
    for edge in edges:
        source, target = by_id.get(edge["source"]), by_id.get(edge["target"])
        if source is None or target is None:
            errors.edge(edge["id"], _("This edge leads from or to a node that does not exist."))
            continue
        handle = handle_of(edge)
        if source["id"] not in errors.nodes and handle not in handles_of(source):
            if not handles_of(source):
                message = _("A %(type)s node ends the flow: no edge leaves it.") % {"type": source["type"]}
                errors.edge(edge["id"], message)
            else:
                names = sorted(h or '""' for h in handles_of(source))
                errors.edge(
                    edge["id"],
                    _("source_handle must be one of %(handles)s for a %(type)s node.")
                    % {"handles": ", ".join(names), "type": source["type"]},
                )
            continue
        if target["type"] == "trigger":
            errors.edge(edge["id"], _("No edge may lead into the trigger."))
            continue
        if (source["id"], handle) in taken:
            errors.node(
                source["id"],
                _("Two edges leave this node by the same branch (%(handle)s): %(first)s and %(second)s.")
                % {
                    "handle": handle or _("its one way on"),
                    "first": taken[(source["id"], handle)],
                    "second": edge["id"],
                },
            )
            continue
        taken[(source["id"], handle)] = edge["id"]
        linked.append(edge)
    if len(triggers) == 1:
        reached = {triggers[0]}
        frontier = [triggers[0]]
        while frontier:
            current = frontier.pop()
            for edge in linked:
                if edge["source"] == current and edge["target"] not in reached:
                    reached.add(edge["target"])
                    frontier.append(edge["target"])
        for node in nodes:
            if node["id"] not in reached:
                errors.node(node["id"], _("This node cannot be reached from the trigger."))
    for node_id in _cycle_without_wait(by_id, linked):
        errors.node(node_id, _("This node is on a loop with no wait (an ask or a delay): it would never stop."))
    errors.raise_if_any()


def trigger_of(nodes: list[dict]) -> dict | None:
    return next((node for node in nodes if isinstance(node, dict) and node.get("type") == "trigger"), None)


def require_trigger(nodes: list[dict]) -> None:
    """An active flow needs a graph: a trigger at least."""
    if trigger_of(nodes) is None:
        message = _("A flow needs one trigger node.")
        raise ServiceError(message, errors={"graph": [message]})
