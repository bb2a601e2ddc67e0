"""What each node does when a run reaches it. Each `run_<type>(step)` works inside the step's transaction (engine.py
holds the run's row locked), through the other apps' services (messaging's send path and contact and assignment
services, the templates app's send service), and returns an Outcome: the branch it leaves by, or a wait, or the
end. A refusal of those services (a closed window, an opted-out contact, a member no longer there) is a
ServiceError: the engine records it and the run ends `failed`.

The HTTP nodes (http_request, function) are not here: they wait on the network, which no transaction may do; the
engine calls automation/flows/http.py between two transactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.org_settings import fold_keyword
from accounts.web import organization_time_zone
from automation.flows import schema, templating, triggers
from automation.models import FlowRun
from messaging.models import Contact, Conversation, Message, Tag
from whatsapp_hub.errors import ServiceError

DEFAULT_MAX_ATTEMPTS = 3


@dataclass
class Step:
    """What a node works with: the run (locked), its node, the contact and conversation, and the placeholders'
    context (the run's variables, which a node may change)."""

    run: FlowRun
    node: dict
    contact: Contact
    conversation: Conversation | None
    variables: dict[str, Any]

    @property
    def data(self) -> dict:
        return self.node.get("data") or {}

    @property
    def organization(self):
        return self.run.organization

    def context(self) -> templating.Context:
        return templating.Context.of(contact=self.contact, variables=self.variables, message_text=self.run.last_reply)

    def conversation_or_error(self) -> Conversation:
        if self.conversation is None:
            raise ServiceError(_("This run has no conversation to write in."))
        return self.conversation


@dataclass
class Outcome:
    """How a node ends: on by `handle` (None: its one way on), or waiting (`wait`: reply or delay, until `wake_at`),
    or the end of the run (`end`). `message` is what it sent; `details` go to the step's record."""

    handle: str | None = None
    wait: str = ""
    wake_at: datetime | None = None
    end: bool = False
    message: Message | None = None
    details: dict = field(default_factory=dict)


# --- sending -----------------------------------------------------------------------------------------------------


def send(step: Step, content: dict) -> Message:
    """Send `content` (send_message's data: the messages API's shape, or a template by id with its values) into the
    run's conversation, its placeholders filled in: through messaging's send path, or the templates app's."""
    from messaging.services.conversations import message_send
    from templates.models import MessageTemplate
    from templates.services import template_send

    conversation = step.conversation_or_error()
    rendered = templating.render_json(content, step.context())
    if rendered.get("type") == Message.Type.TEMPLATE and "template_id" in rendered:
        template = MessageTemplate.objects.for_org(step.organization).live().filter(pk=rendered["template_id"]).first()
        if template is None:
            raise ServiceError(_("The template of this step was deleted."))
        parameters = {key: templating.text_of(value) for key, value in (rendered.get("parameters") or {}).items()}
        return template_send(
            template=template, conversation=conversation, parameters=parameters, sent_by=None, role=Role.ADMIN
        )
    return message_send(conversation=conversation, sent_by=None, content=rendered)


def run_send_message(step: Step) -> Outcome:
    return Outcome(message=send(step, step.data))


def run_send_flow(step: Step) -> Outcome:
    """A WhatsApp Flow (Meta's form) into the conversation; the customer's answers come back as a FlowResponse."""
    return Outcome(message=send(step, schema.send_flow_content(step.data)))


# --- ask -----------------------------------------------------------------------------------------------------------


def run_ask(step: Step) -> Outcome:
    """Send the question and wait for the reply (until the timeout, when there is one)."""
    message = send(step, step.data["question"])
    minutes = step.data.get("timeout_minutes")
    wake_at = timezone.now() + timedelta(minutes=minutes) if minutes else None
    return Outcome(wait=FlowRun.Wait.REPLY, wake_at=wake_at, message=message)


class _Invalid(Exception):
    pass


def _answer(data: dict, message: Message) -> tuple[Any, str | None]:
    """(the value to store, the handle to leave by) of a reply; _Invalid when it does not answer the question."""
    validate = data.get("validate", "text")
    text = (message.text or "").strip()
    if validate == "choice":
        choices = schema.question_choices(data)
        chosen = triggers.reply_id(message)
        ids = [choice_id for choice_id, _title in choices]
        if chosen is None:
            folded = fold_keyword(text)
            chosen = next(
                (
                    choice_id
                    for choice_id, title in choices
                    if folded and folded in (fold_keyword(choice_id), fold_keyword(title))
                ),
                None,
            )
        if chosen not in ids:
            raise _Invalid
        return chosen, chosen
    if not text:
        raise _Invalid
    if validate == "number":
        number = schema._number(text)
        if number is None:
            raise _Invalid
        return (int(number) if number.is_integer() and abs(number) < 2**53 else number), None
    if validate == "email":
        try:
            validate_email(text)
        except ValidationError:
            raise _Invalid from None
        return text.lower(), None
    return text, None


def store(step: Step, *, attribute: str | None, variable: str | None, value: Any) -> None:
    """Keep a value in a contact attribute (messaging's contact service) or a run variable."""
    from messaging.services.contacts import contact_update

    if variable:
        step.variables[variable] = value
    if attribute:
        contact = Contact.objects.for_org(step.organization).select_for_update().get(pk=step.contact.pk)
        contact_update(contact=contact, attributes={**(contact.attributes or {}), attribute: value})
        step.contact = contact


def reply_to_ask(step: Step, message: Message) -> Outcome:
    """The customer answered the question `step.node` asks: stored and on (by the choice's id for a choice), or,
    when it does not answer it, the question is asked again with `invalid_message` until `max_attempts` are spent
    (then the `invalid` branch)."""
    data = step.data
    try:
        value, handle = _answer(data, message)
    except _Invalid:
        step.run.attempts += 1
        if step.run.attempts >= data.get("max_attempts", DEFAULT_MAX_ATTEMPTS):
            return Outcome(handle="invalid", details={"invalid": True, "attempts": step.run.attempts})
        text = data.get("invalid_message") or _("Sorry, that is not a valid answer. Please try again.")
        sent = send(step, {"type": "text", "text": text})
        minutes = data.get("timeout_minutes")
        wake_at = timezone.now() + timedelta(minutes=minutes) if minutes else None
        return Outcome(wait=FlowRun.Wait.REPLY, wake_at=wake_at, message=sent, details={"attempts": step.run.attempts})
    store(step, attribute=data.get("attribute"), variable=data.get("variable"), value=value)
    step.run.attempts = 0
    return Outcome(handle=handle, details={"answer": value})


# --- condition -----------------------------------------------------------------------------------------------------


def _compare(operator: str, subject: Any, value: Any) -> bool:
    if operator == "exists":
        return subject not in (None, "", [], {})
    if operator == "not_exists":
        return subject in (None, "", [], {})
    if operator in ("gt", "gte", "lt", "lte"):
        left, right = schema._number(subject), schema._number(value)
        if left is None or right is None:
            return False
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[operator]
    left_number, right_number = schema._number(subject), schema._number(value)
    if operator in ("equals", "not_equals") and left_number is not None and right_number is not None:
        equal = left_number == right_number
        return equal if operator == "equals" else not equal
    left, right = fold_keyword(templating.text_of(subject)), fold_keyword(templating.text_of(value))
    if operator == "equals":
        return left == right
    if operator == "not_equals":
        return left != right
    if operator == "contains":
        return bool(right) and right in left
    if operator == "starts_with":
        return bool(right) and left.startswith(right)
    return False


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def in_window(now_local: datetime, start: str, end: str) -> bool:
    """`now_local` is within [start, end) (HH:MM); a window whose end comes before its start spans midnight."""
    current, low, high = now_local.hour * 60 + now_local.minute, _minutes(start), _minutes(end)
    if low <= high:
        return low <= current < high
    return current >= low or current < high


def condition_holds(step: Step) -> bool:
    data = step.data
    check = data["check"]
    if check in ("reply", "attribute", "variable"):
        if check == "reply":
            subject = step.run.last_reply
        elif check == "attribute":
            subject = (step.contact.attributes or {}).get(data["attribute"])
        else:
            subject = step.variables.get(data["variable"])
        value = data.get("value")
        if isinstance(value, str):
            value = templating.render_text(value, step.context())
        return _compare(data.get("operator", "equals"), subject, value)
    if check == "tag":
        tags = Tag.objects.for_org(step.organization).filter(contacts=step.contact, name__iexact=data["tag"].strip())
        return tags.exists()
    now_local = timezone.now().astimezone(organization_time_zone(step.organization))
    if check == "business_hours":
        days = data.get("days", list(schema.DAYS[:5]))
        if schema.DAYS[now_local.weekday()] not in days:
            return False
    return in_window(now_local, data["from"], data["to"])


def run_condition(step: Step) -> Outcome:
    holds = condition_holds(step)
    return Outcome(handle="yes" if holds else "no", details={"result": holds})


# --- contacts, conversations, bots ---------------------------------------------------------------------------------


def run_set_tag(step: Step) -> Outcome:
    from messaging.services.contacts import contact_update

    contact = Contact.objects.for_org(step.organization).select_for_update().get(pk=step.contact.pk)
    current = list(contact.tags.order_by("name").values_list("name", flat=True))
    names = [" ".join(tag.split()) for tag in step.data["tags"]]
    if step.data.get("action", "add") == "remove":
        removed = {name.casefold() for name in names}
        wanted = [name for name in current if name.casefold() not in removed]
    else:
        wanted = current + [name for name in names if name not in current]
    contact_update(contact=contact, tags=wanted)
    step.contact = contact
    return Outcome(details={"tags": wanted})


def run_set_attribute(step: Step) -> Outcome:
    value = templating.render_text(step.data["value"], step.context())
    store(step, attribute=step.data.get("attribute"), variable=step.data.get("variable"), value=value)
    return Outcome(details={"value": value})


def run_assign(step: Step) -> Outcome:
    from messaging.services.conversations import UNCHANGED, conversation_update

    data = step.data
    conversation = conversation_update(
        conversation=step.conversation_or_error(),
        actor=None,
        role=Role.ADMIN,
        assigned_to_id=data.get("user_id", UNCHANGED),
        team_id=data.get("team_id", UNCHANGED),
    )
    step.conversation = conversation
    return Outcome(details={"user_id": conversation.assigned_to_id, "team_id": conversation.team_id})


def run_bot(step: Step) -> Outcome:
    """Hand the conversation to a bot (automation.services.bots, the bots' area); the run ends there."""
    from automation.models import Bot
    from automation.services.bots import bot_take_over

    bot = Bot.objects.for_org(step.organization).filter(pk=step.data["bot_id"]).first()
    if bot is None:
        raise ServiceError(_("The bot of this step was deleted."))
    bot_take_over(conversation=step.conversation_or_error(), bot=bot)
    return Outcome(end=True, details={"bot_id": bot.pk})


def run_delay(step: Step) -> Outcome:
    return Outcome(wait=FlowRun.Wait.DELAY, wake_at=timezone.now() + timedelta(seconds=schema.delay_seconds(step.data)))


def run_end(step: Step) -> Outcome:
    return Outcome(end=True)


def run_trigger(step: Step) -> Outcome:
    return Outcome()


RUNNERS = {
    "trigger": run_trigger,
    "send_message": run_send_message,
    "send_flow": run_send_flow,
    "ask": run_ask,
    "condition": run_condition,
    "set_tag": run_set_tag,
    "set_attribute": run_set_attribute,
    "assign": run_assign,
    "bot": run_bot,
    "delay": run_delay,
    "end": run_end,
}
# The nodes that wait on the network: run by the engine between two transactions.
NETWORK_TYPES = frozenset({"http_request", "function"})
