"""Runs of flows through the real inbound path: the customer writes to a sandbox number (webhook stored, ingested,
the inbound dispatcher's task, all inline), the flow's trigger starts a run, and its steps act through the other
apps' services (messaging's send path, contacts, assignment; the templates app's send service). Every node type,
the triggers, waits and what wakes them (beat's task), versions, one run per contact and number, a restart mid-run.
"""

import sys
import types
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Role, Team
from automation.flows import engine, nodes
from automation.flows.tasks import wake_flow_runs
from automation.models import Bot, Flow, FlowRun, FlowRunStep, FlowVersion, NumberAutomation
from automation.services import flows as flow_services
from messaging.models import Contact, Conversation, Message
from tests.automation.flows_support import (
    CUSTOMER,
    button_reply,
    chain,
    committed,
    edge,
    keyword_trigger,
    linked_flow,
    node,
    sandbox_number,
    sent_texts,
    text,
    the_run,
    writes,
)
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, MediaFactory
from tests.templates.factories import MessageTemplateFactory

Status = FlowRun.Status


@pytest.fixture
def number(org):
    return sandbox_number(org)


def outbound(org) -> list[Message]:
    return list(Message.objects.for_org(org).filter(direction=Message.Direction.OUTBOUND).order_by("pk"))


def steps(run: FlowRun) -> list[tuple[str, str | None]]:
    """(node id, branch left by) of each step the run executed, in order."""
    return [
        (step.node_id, step.outcome.get("handle")) for step in FlowRunStep.objects.filter(run=run).order_by("step_no")
    ]


def wake():
    """Beat's task, with what it sets off after the commit (deliveries)."""
    return committed(wake_flow_runs)


def contact(org) -> Contact:
    return Contact.objects.for_org(org).get(wa_id=CUSTOMER.lstrip("+"))


# --- triggers ---------------------------------------------------------------------------------------------------------


def test_a_keyword_flow_answers_the_keyword(org, number):
    linked_flow(org, number, [keyword_trigger("hello"), text("hi", "Hi {{contact.first_name}}!")])

    writes(org, number, " HELLO ")

    assert sent_texts(org) == ["Hi Alex!"]
    run = the_run(org)
    assert (run.status, run.step_count, run.finished_at is not None) == (Status.COMPLETED, 2, True)
    assert steps(run) == [("start", None), ("hi", None)]


def test_an_exact_keyword_trigger_ignores_a_message_that_only_contains_it(org, number):
    linked_flow(org, number, [keyword_trigger("price"), text("a", "Prices: ...")])

    writes(org, number, "what is the price?")

    assert (sent_texts(org), FlowRun.objects.count()) == ([], 0)


def test_a_contains_keyword_trigger_answers_a_message_containing_it(org, number):
    linked_flow(org, number, [keyword_trigger("price", match="contains"), text("a", "Prices: ...")])

    writes(org, number, "What is the PRICE?")

    assert sent_texts(org) == ["Prices: ..."]


def test_a_first_message_trigger_answers_a_new_contact_once(org, number):
    trigger = node("start", "trigger", {"on": "first_message"})
    linked_flow(org, number, [trigger, text("welcome", "Welcome!")])

    writes(org, number, "hi")
    writes(org, number, "hi again")

    assert sent_texts(org) == ["Welcome!"]


def test_a_button_reply_trigger_answers_the_buttons_it_names(org, number):
    trigger = node("start", "trigger", {"on": "button_reply", "keywords": ["track_order"]})
    linked_flow(org, number, [trigger, text("track", "Your order is on its way.")])

    writes(org, number, part=button_reply("other", "Other"))
    writes(org, number, "track_order")  # a text is no button reply
    writes(org, number, part=button_reply("track_order", "Track my order"))

    assert sent_texts(org) == ["Your order is on its way."]


def test_an_opt_in_trigger_answers_the_opt_in_word(org, number):
    trigger = node("start", "trigger", {"on": "opt_in"})
    linked_flow(org, number, [trigger, text("back", "Welcome back!")])

    writes(org, number, "hello")
    writes(org, number, "START")

    assert sent_texts(org) == ["Welcome back!"]


def test_an_any_message_trigger_answers_every_message_once_the_run_ended(org, number):
    linked_flow(org, number, [node("start", "trigger", {"on": "any"}), text("a", "Got it")])

    writes(org, number, "one")
    writes(org, number, "two")

    assert sent_texts(org) == ["Got it", "Got it"]
    assert list(FlowRun.objects.values_list("status", flat=True)) == [Status.COMPLETED, Status.COMPLETED]


def test_an_inactive_flow_or_a_number_without_a_flow_answers_nothing(org, number):
    flow = linked_flow(org, number, [keyword_trigger("hello"), text("hi", "Hi")])
    flow_services.flow_set_active(flow=flow, actor=None, active=False)
    other = sandbox_number(org, is_primary=False, phone_number="+16505550101")

    writes(org, number, "hello")
    writes(org, other, "hello")

    assert (sent_texts(org), FlowRun.objects.count()) == ([], 0)


def test_an_opt_out_word_starts_nothing_and_cancels_the_contacts_run(org, number):
    ask = node("q", "ask", {"question": {"type": "text", "text": "Your name?"}, "variable": "name"})
    linked_flow(org, number, [node("start", "trigger", {"on": "any"}), ask])
    writes(org, number, "hi")

    writes(org, number, "STOP")

    run = the_run(org)
    assert (run.status, sent_texts(org)) == (Status.CANCELLED, ["Your name?"])
    assert contact(org).opted_out is True


# --- sending ----------------------------------------------------------------------------------------------------------


def test_send_message_sends_buttons_a_list_media_and_a_location(org, number):
    media = MediaFactory(organization=org)
    buttons = {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Hi {{contact.name}}, pick one"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
        },
    }
    listed = {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Our menu"},
            "action": {"button": "Menu", "sections": [{"rows": [{"id": "tea", "title": "Tea"}]}]},
        },
    }
    picture = {"type": "image", "media_id": media.pk, "caption": "Our shop"}
    where = {"type": "location", "location": {"latitude": 24.7, "longitude": 46.7, "name": "Shop"}}
    graph = [
        keyword_trigger("menu"),
        node("b", "send_message", buttons),
        node("l", "send_message", listed),
        node("p", "send_message", picture),
        node("w", "send_message", where),
    ]
    linked_flow(org, number, graph)

    writes(org, number, "menu")

    sent = outbound(org)
    assert [(m.type, m.text) for m in sent] == [
        ("interactive", "Hi Alex, pick one"),
        ("interactive", "Our menu"),
        ("image", "Our shop"),
        ("location", "Shop"),
    ]
    assert sent[0].payload["interactive"]["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "a", "title": "A"}}
    ]
    assert sent[2].media.file.read() == media.file.open().read()
    assert [m.status for m in sent] == ["read"] * 4  # delivered by the sandbox, read back
    assert [m.sent_by_id for m in sent] == [None] * 4


def test_send_message_sends_an_approved_template_by_id_with_its_values(org, number):
    template = MessageTemplateFactory(organization=org, waba_id="sandbox", name="order_update")
    send = {"type": "template", "template_id": template.pk, "parameters": {"1": "{{contact.first_name}}"}}
    linked_flow(org, number, [keyword_trigger("order"), node("t", "send_message", send)])

    writes(org, number, "order")

    [message] = outbound(org)
    assert message.type == "template"
    assert message.payload["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Alex"}]}],
    }


def test_send_message_sends_a_template_in_the_messages_api_shape(org, number):
    template = {"name": "hello_world", "language": "en_US"}
    linked_flow(
        org, number, [keyword_trigger("hi"), node("t", "send_message", {"type": "template", "template": template})]
    )

    writes(org, number, "hi")

    [message] = outbound(org)
    assert message.payload["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


def test_a_refused_send_ends_the_run_failed_with_the_reason(org, number):
    template = MessageTemplateFactory(organization=org, waba_id="sandbox")
    send = {"type": "template", "template_id": template.pk, "parameters": {"1": "x"}}
    linked_flow(org, number, [keyword_trigger("hi"), node("t", "send_message", send), text("after", "never")])
    template.status = "PAUSED"
    template.save()

    writes(org, number, "hi")

    run = the_run(org)
    assert (run.status, run.last_error, outbound(org)) == (
        Status.FAILED,
        "Only approved templates can be sent; this one is paused.",
        [],
    )
    assert steps(run) == [("start", None), ("t", None)]
    assert FlowRunStep.objects.get(run=run, node_id="t").outcome == {"error": run.last_error}


# --- ask --------------------------------------------------------------------------------------------------------------


def ask_flow(org, number, data: dict, *, more_nodes=(), more_edges=()):
    graph = [keyword_trigger("go"), node("q", "ask", data), text("thanks", "Thanks {{vars.answer}}"), *more_nodes]
    edges = [edge("start", "q"), edge("q", "thanks"), *more_edges]
    return linked_flow(org, number, graph, edges)


def test_ask_waits_for_the_reply_and_stores_a_number_in_a_variable(org, number):
    ask_flow(
        org, number, {"question": {"type": "text", "text": "How many?"}, "validate": "number", "variable": "answer"}
    )

    writes(org, number, "go")
    run = the_run(org)
    assert (run.status, run.waiting_for, run.current_node, run.wake_at) == (Status.WAITING, "reply", "q", None)
    assert run.expires_at == run.waiting_since + engine.REPLY_EXPIRY
    writes(org, number, " 12 ")

    run.refresh_from_db()
    assert (run.status, run.variables) == (Status.COMPLETED, {"answer": 12})
    assert sent_texts(org) == ["How many?", "Thanks 12"]


def test_ask_stores_an_email_in_a_contact_attribute(org, number):
    data = {"question": {"type": "text", "text": "Your e-mail?"}, "validate": "email", "attribute": "email"}
    ask_flow(org, number, data)
    writes(org, number, "go")

    writes(org, number, "Maya@Example.COM")

    assert contact(org).attributes == {"email": "maya@example.com"}
    assert the_run(org).status == Status.COMPLETED


def test_ask_asks_again_after_an_invalid_answer_then_takes_the_invalid_branch(org, number):
    data = {
        "question": {"type": "text", "text": "Your e-mail?"},
        "validate": "email",
        "variable": "answer",
        "max_attempts": 2,
        "invalid_message": "That is no e-mail address.",
    }
    ask_flow(org, number, data, more_nodes=[text("bad", "Let us try later.")], more_edges=[edge("q", "bad", "invalid")])
    writes(org, number, "go")

    writes(org, number, "not an address")
    assert (the_run(org).status, the_run(org).attempts) == (Status.WAITING, 1)
    writes(org, number, "still not")

    run = the_run(org)
    assert (run.status, run.attempts) == (Status.COMPLETED, 2)
    assert sent_texts(org) == ["Your e-mail?", "That is no e-mail address.", "Let us try later."]
    assert [handle for _, handle in steps(run)] == [None, None, None, "invalid", None]


def test_ask_with_buttons_branches_by_the_button_chosen(org, number):
    question = {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Sales or support?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "sales", "title": "Sales"}},
                    {"type": "reply", "reply": {"id": "support", "title": "Support"}},
                ]
            },
        },
    }
    data = {"question": question, "validate": "choice", "variable": "answer"}
    ask_flow(
        org,
        number,
        data,
        more_nodes=[text("s", "Support here: {{vars.answer}}")],
        more_edges=[edge("q", "s", "support")],
    )
    writes(org, number, "go")

    writes(org, number, part=button_reply("support", "Support"))

    assert sent_texts(org) == ["Sales or support?", "Support here: support"]


def test_ask_takes_a_typed_choice_title_and_a_choice_without_its_own_edge_goes_the_default_way(org, number):
    data = {
        "question": {"type": "text", "text": "Yes or no?"},
        "validate": "choice",
        "choices": ["Yes", "No"],
        "variable": "answer",
    }
    ask_flow(org, number, data, more_nodes=[text("n", "Too bad")], more_edges=[edge("q", "n", "No")])
    writes(org, number, "go")

    writes(org, number, "yes")

    assert sent_texts(org) == ["Yes or no?", "Thanks Yes"]


def test_an_ask_timeout_takes_the_timeout_branch_when_beat_wakes_the_run(org, number, frozen):
    data = {"question": {"type": "text", "text": "Still there?"}, "variable": "answer", "timeout_minutes": 5}
    ask_flow(
        org, number, data, more_nodes=[text("late", "We will be here.")], more_edges=[edge("q", "late", "timeout")]
    )
    writes(org, number, "go")
    run = the_run(org)
    assert run.wake_at == timezone.now() + timedelta(minutes=5)

    frozen.shift(timedelta(minutes=4))
    assert wake() == 0
    frozen.shift(timedelta(minutes=1))
    assert wake() == 1

    run.refresh_from_db()
    assert (run.status, sent_texts(org)) == (Status.COMPLETED, ["Still there?", "We will be here."])
    assert steps(run)[-2:] == [("q", "timeout"), ("late", None)]
    assert wake() == 0


def test_a_reply_in_time_is_not_followed_by_the_timeout(org, number, frozen):
    data = {"question": {"type": "text", "text": "Still there?"}, "variable": "answer", "timeout_minutes": 5}
    ask_flow(
        org, number, data, more_nodes=[text("late", "We will be here.")], more_edges=[edge("q", "late", "timeout")]
    )
    writes(org, number, "go")

    writes(org, number, "yes")
    frozen.shift(timedelta(minutes=10))

    assert wake() == 0
    assert sent_texts(org) == ["Still there?", "Thanks yes"]


def test_a_run_waiting_for_a_reply_with_no_timeout_expires(org, number, frozen):
    ask_flow(org, number, {"question": {"type": "text", "text": "Name?"}, "variable": "answer"})
    writes(org, number, "go")

    frozen.shift(engine.REPLY_EXPIRY + timedelta(seconds=1))
    assert wake() == 1

    run = the_run(org)
    assert (run.status, run.finished_at) == (Status.EXPIRED, timezone.now())
    writes(org, number, "Maya")  # no longer an answer: a new message for the triggers
    assert sent_texts(org) == ["Name?"]


# --- conditions -------------------------------------------------------------------------------------------------------


def condition_flow(org, number, data: dict):
    graph = [
        keyword_trigger("go", "yes please", "vip"),
        node("c", "condition", data),
        text("y", "yes"),
        text("n", "no"),
    ]
    edges = [edge("start", "c"), edge("c", "y", "yes"), edge("c", "n", "no")]
    return linked_flow(org, number, graph, edges)


@pytest.mark.parametrize(
    ("data", "message", "expected"),
    [
        ({"check": "reply", "operator": "equals", "value": "Yes please"}, "yes please", "yes"),
        ({"check": "reply", "operator": "contains", "value": "please"}, "go", "no"),
        ({"check": "reply", "operator": "starts_with", "value": "yes"}, "yes please", "yes"),
        ({"check": "attribute", "attribute": "city", "operator": "equals", "value": "Riyadh"}, "go", "yes"),
        ({"check": "attribute", "attribute": "orders", "operator": "gte", "value": 3}, "go", "yes"),
        ({"check": "attribute", "attribute": "orders", "operator": "lt", "value": "3"}, "go", "no"),
        ({"check": "attribute", "attribute": "email", "operator": "exists"}, "go", "no"),
        ({"check": "attribute", "attribute": "city", "operator": "not_exists"}, "go", "no"),
        ({"check": "variable", "variable": "missing", "operator": "not_exists"}, "go", "yes"),
        ({"check": "tag", "tag": "VIP"}, "go", "yes"),
        ({"check": "tag", "tag": "wholesale"}, "go", "no"),
    ],
)
def test_a_condition_checks_the_reply_an_attribute_a_variable_or_a_tag(org, number, data, message, expected):
    ContactFactory(
        organization=org,
        wa_id=CUSTOMER.lstrip("+"),
        phone=CUSTOMER,
        attributes={"city": "riyadh", "orders": 3},
        tags=["vip"],
    )
    condition_flow(org, number, data)

    writes(org, number, message)

    assert sent_texts(org) == [expected]
    assert FlowRunStep.objects.get(node_id="c").outcome == {"handle": expected, "result": expected == "yes"}


@pytest.mark.parametrize(
    ("local_time", "data", "expected"),
    [
        ("2025-06-02 10:00", {"check": "time_of_day", "from": "09:00", "to": "17:00"}, "yes"),  # a Monday
        ("2025-06-02 17:00", {"check": "time_of_day", "from": "09:00", "to": "17:00"}, "no"),
        ("2025-06-02 23:30", {"check": "time_of_day", "from": "22:00", "to": "06:00"}, "yes"),  # over midnight
        ("2025-06-02 10:00", {"check": "business_hours", "from": "09:00", "to": "17:00"}, "yes"),
        ("2025-06-07 10:00", {"check": "business_hours", "from": "09:00", "to": "17:00"}, "no"),  # a Saturday
        (
            "2025-06-07 10:00",
            {"check": "business_hours", "days": ["sat", "sun"], "from": "09:00", "to": "17:00"},
            "yes",
        ),
    ],
)
def test_a_condition_checks_the_time_in_the_organizations_time_zone(
    org, number, time_machine, local_time, data, expected
):
    org.settings = {"timezone": "Asia/Riyadh"}  # UTC+3: in UTC, each of these times is on another hour
    org.save()
    time_machine.move_to(parse_datetime(local_time).replace(tzinfo=ZoneInfo("Asia/Riyadh")), tick=False)
    condition_flow(org, number, data)

    writes(org, number, "go")

    assert sent_texts(org) == [expected]


# --- contacts, conversations, bots ------------------------------------------------------------------------------------


def test_set_tag_adds_and_removes_the_contacts_tags(org, number):
    ContactFactory(organization=org, wa_id=CUSTOMER.lstrip("+"), phone=CUSTOMER, tags=["lead", "cold"])
    graph = [
        keyword_trigger("go"),
        node("add", "set_tag", {"tags": ["customer", "lead"]}),
        node("remove", "set_tag", {"tags": ["COLD"], "action": "remove"}),
    ]
    linked_flow(org, number, graph)

    writes(org, number, "go")

    assert sorted(contact(org).tags.values_list("name", flat=True)) == ["customer", "lead"]


def test_set_attribute_sets_a_contact_attribute_and_a_variable_from_placeholders(org, number):
    ContactFactory(organization=org, wa_id=CUSTOMER.lstrip("+"), phone=CUSTOMER, attributes={"plan": "gold"})
    graph = [
        keyword_trigger("go"),
        node("v", "set_attribute", {"variable": "greeting", "value": "Hello {{contact.name}} ({{contact.plan}})"}),
        node("a", "set_attribute", {"attribute": "last_greeting", "value": "{{vars.greeting}}: {{message.text}}"}),
    ]
    linked_flow(org, number, graph)

    writes(org, number, "go")

    customer = contact(org)
    assert customer.attributes == {"plan": "gold", "last_greeting": f"Hello {customer.name} (gold): go"}
    assert the_run(org).variables == {"greeting": f"Hello {customer.name} (gold)"}


def test_assign_hands_the_conversation_to_an_agent_and_a_team(org, number):
    agent = MembershipFactory(organization=org, role=Role.AGENT)
    team = Team.objects.create(organization=org, name="Support")
    linked_flow(
        org, number, [keyword_trigger("agent"), node("a", "assign", {"user_id": agent.user_id, "team_id": team.pk})]
    )

    writes(org, number, "agent")

    conversation = Conversation.objects.get()
    assert (conversation.assigned_to_id, conversation.team_id) == (agent.user_id, team.pk)
    assert the_run(org).status == Status.COMPLETED


def test_assign_to_someone_who_left_ends_the_run_failed(org, number):
    agent = MembershipFactory(organization=org, role=Role.AGENT)
    linked_flow(org, number, [keyword_trigger("agent"), node("a", "assign", {"user_id": agent.user_id})])
    agent.is_active = False
    agent.save()

    writes(org, number, "agent")

    run = the_run(org)
    assert (run.status, run.last_error) == (
        Status.FAILED,
        "Assign the conversation to an active admin or agent of this organization.",
    )
    assert Conversation.objects.get().assigned_to_id is None


def test_the_bot_node_hands_the_conversation_to_the_bot_and_ends_the_run(org, number):
    from automation.models.bots import BotConversation

    bot = Bot.objects.create(organization=org, name="Helper")
    linked_flow(org, number, [keyword_trigger("bot"), node("b", "bot", {"bot_id": bot.pk})])

    writes(org, number, "bot")

    run = the_run(org)
    assert (run.status, steps(run)) == (Status.COMPLETED, [("start", None), ("b", None)])
    assert FlowRunStep.objects.get(node_id="b").outcome == {"handle": None, "bot_id": bot.pk}
    assert BotConversation.objects.filter(organization=org, bot=bot, conversation=run.conversation).exists()


def test_end_ends_the_run(org, number):
    linked_flow(org, number, [keyword_trigger("go"), text("a", "one"), node("stop", "end")])

    writes(org, number, "go")

    assert (the_run(org).status, sent_texts(org)) == (Status.COMPLETED, ["one"])


# --- delays -----------------------------------------------------------------------------------------------------------


def test_a_delay_waits_until_beat_wakes_the_run(org, number, frozen):
    graph = [
        keyword_trigger("go"),
        text("a", "one"),
        node("d", "delay", {"amount": 2, "unit": "minutes"}),
        text("b", "two"),
    ]
    linked_flow(org, number, graph)
    writes(org, number, "go")
    run = the_run(org)
    assert (run.status, run.waiting_for, run.wake_at, run.expires_at) == (
        Status.WAITING,
        "delay",
        timezone.now() + timedelta(minutes=2),
        None,
    )

    writes(org, number, "anyone?")  # noted, not an answer: the run waits on
    frozen.shift(timedelta(seconds=119))
    assert wake() == 0
    assert sent_texts(org) == ["one"]
    frozen.shift(timedelta(seconds=1))
    assert wake() == 1

    run.refresh_from_db()
    assert (run.status, run.last_reply, sent_texts(org)) == (Status.COMPLETED, "anyone?", ["one", "two"])


def test_beat_skips_a_due_run_another_worker_holds(org, number, frozen):
    graph = [keyword_trigger("go"), node("d", "delay", {"amount": 1, "unit": "seconds"}), text("b", "two")]
    linked_flow(org, number, graph)
    writes(org, number, "go")
    frozen.shift(timedelta(seconds=5))
    run = the_run(org)

    assert engine._wake(org.pk, run.pk, timezone.now()) is True
    assert engine._wake(org.pk, run.pk, timezone.now()) is False  # a second wake of the same due run does nothing


# --- the engine's guarantees ------------------------------------------------------------------------------------------


def test_a_run_keeps_the_version_it_started_with(org, number):
    ask = node("q", "ask", {"question": {"type": "text", "text": "Name?"}, "variable": "name"})
    flow = linked_flow(org, number, [keyword_trigger("go"), ask, text("a", "Old {{vars.name}}")])
    writes(org, number, "go")

    new_graph = [keyword_trigger("go"), ask, text("a", "New {{vars.name}}")]
    flow_services.flow_update(flow=flow, actor=None, nodes=new_graph, edges=chain(*new_graph))
    writes(org, number, "Maya")
    writes(org, number, "go")
    writes(org, number, "Omar")

    assert sent_texts(org) == ["Name?", "Old Maya", "Name?", "New Omar"]
    assert list(FlowRun.objects.order_by("pk").values_list("flow_version__version", flat=True)) == [1, 2]


def test_the_database_allows_one_active_run_per_contact_and_number(org, number):
    ask = node("q", "ask", {"question": {"type": "text", "text": "Name?"}, "variable": "name"})
    flow = linked_flow(org, number, [keyword_trigger("go"), ask])
    writes(org, number, "go")
    run = the_run(org)

    with pytest.raises(IntegrityError), transaction.atomic():
        FlowRun.objects.create(
            organization=org, flow=flow, flow_version=run.flow_version, number=number, contact=run.contact
        )
    run.status = Status.COMPLETED
    run.save()
    FlowRun.objects.create(
        organization=org, flow=flow, flow_version=run.flow_version, number=number, contact=run.contact
    )


def test_a_waiting_run_takes_the_reply_before_any_trigger(org, number):
    ask = node("q", "ask", {"question": {"type": "text", "text": "Name?"}, "variable": "name"})
    linked_flow(org, number, [node("start", "trigger", {"on": "any"}), ask, text("a", "Hi {{vars.name}}")])
    writes(org, number, "hello")

    writes(org, number, "Maya")

    assert FlowRun.objects.count() == 1
    assert sent_texts(org) == ["Name?", "Hi Maya"]


def test_a_run_goes_on_after_its_worker_died_mid_step_without_sending_twice(org, number, frozen, monkeypatch):
    graph = [keyword_trigger("go"), text("a", "one"), node("t", "set_tag", {"tags": ["x"]}), text("b", "two")]
    linked_flow(org, number, graph)

    def dies(step):
        raise RuntimeError("the worker was killed")

    monkeypatch.setitem(nodes.RUNNERS, "set_tag", dies)
    writes(org, number, "go")
    run = the_run(org)
    assert (run.status, run.current_node, run.step_count, sent_texts(org)) == (Status.RUNNING, "t", 2, ["one"])

    monkeypatch.undo()  # a new process: only the database remembers the run
    frozen.shift(engine.STALL_GRACE - timedelta(seconds=1))
    assert wake() == 0
    frozen.shift(timedelta(seconds=2))
    assert wake() == 1

    run = FlowRun.objects.get(pk=run.pk)
    assert (run.status, sent_texts(org)) == (Status.COMPLETED, ["one", "two"])
    assert steps(run) == [("start", None), ("a", None), ("t", None), ("b", None)]


def test_a_runaway_graph_stops_after_the_step_limit(org, number):
    # A loop with no wait, written past the checks (as by hand in the database).
    loop = [node("start", "trigger", {"on": "any"}), node("a", "set_attribute", {"variable": "x", "value": "1"})]
    edges = [edge("start", "a"), edge("a", "a")]
    flow = Flow.objects.create(organization=org, name="Loop", nodes=loop, edges=edges, is_active=True)
    FlowVersion.objects.create(organization=org, flow=flow, version=1, nodes=loop, edges=edges)
    NumberAutomation.objects.create(organization=org, number=number, flow=flow)

    writes(org, number, "hi")

    run = the_run(org)
    assert (run.status, run.last_error, run.step_count) == (
        Status.FAILED,
        f"Stopped after {engine.MAX_STEPS} steps in a row.",
        engine.MAX_STEPS + 1,
    )


def test_flow_completed_is_announced_with_the_runs_outcome(org, number, monkeypatch):
    emitted = []
    events = types.ModuleType("automation.events")
    events.emit = lambda **kwargs: emitted.append(kwargs)
    monkeypatch.setitem(sys.modules, "automation.events", events)
    flow = linked_flow(
        org, number, [keyword_trigger("go"), node("v", "set_attribute", {"variable": "seen", "value": "yes"})]
    )

    writes(org, number, "go")

    run = the_run(org)
    assert emitted == [
        {
            "organization_id": org.pk,
            "type": "flow.completed",
            "data": {
                "run_id": run.pk,
                "flow_id": flow.pk,
                "flow_version": 1,
                "number_id": number.pk,
                "contact_id": run.contact_id,
                "conversation_id": run.conversation_id,
                "variables": {"seen": "yes"},
                "test": False,
                "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat(),
            },
        }
    ]
