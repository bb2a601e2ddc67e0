"""Scenarios answer inbound messages through the real path (signed webhook, ingest, dispatch, send to the fake Graph
API), in order, before the bot's knowledge; each trigger kind; their API (CRUD, reorder, validation)."""

import pytest

from automation.bots import scenarios
from automation.models import BotReply, BotScenario
from automation.services import bots as services
from tests.automation.bots_support import (
    CUSTOMER,
    bot_number,
    bot_texts,
    conversation_of,
    customer_writes,
    make_bot,
    outbound,
)
from tests.messaging.factories import MediaFactory


def scenario(bot, trigger, reply_text, **fields):
    return services.scenario_create(
        bot=bot, actor=None, trigger=trigger, reply={"type": "text", "text": reply_text}, **fields
    )


@pytest.fixture
def number(org):
    return bot_number(org)


@pytest.fixture
def bot(org, number):
    return make_bot(org, number=number)


def test_a_keyword_scenario_answers_through_the_send_path_as_the_bot(org, number, bot, client, fake_meta):
    scenario(bot, "keyword", "We open at 9.", values=["hours", "ساعات العمل"])

    customer_writes(fake_meta, client, org, number, "  HOURS ")

    assert bot_texts(fake_meta) == ["We open at 9."]
    conversation = conversation_of(org, number)
    assert outbound(conversation) == [("We open at 9.", "Support bot", "sent")]
    reply = BotReply.objects.get(conversation=conversation)
    assert (reply.outcome, reply.scenario.values, reply.reply.text) == (
        "scenario",
        ["hours", "ساعات العمل"],
        "We open at 9.",
    )


def test_an_arabic_keyword_matches_whatever_its_diacritics_and_alef(org, number, bot, client, fake_meta):
    scenario(bot, "keyword", "نفتح الساعة ٩", values=["أوقات العمل"])

    customer_writes(fake_meta, client, org, number, "اوقات العَمل")

    assert bot_texts(fake_meta) == ["نفتح الساعة ٩"]


def test_exact_keywords_want_the_whole_message_contains_wants_a_word_of_its_own(org, number, bot, client, fake_meta):
    scenario(bot, "keyword", "exact", values=["price"])
    scenario(bot, "keyword", "contains", values=["menu"], match="contains")
    texts = ["what is the price", "send the menus", "the menu please", "Price"]

    # One customer each: a message no scenario takes goes to the bot's knowledge (none: it hands over).
    for n, text in enumerate(texts):
        customer_writes(fake_meta, client, org, number, text, wa_id=f"96650000010{n}")

    outcomes = BotReply.objects.order_by("inbound_id").values_list("inbound__text", "outcome", "reply__text")
    assert list(outcomes) == [
        ("what is the price", "handoff", None),
        ("send the menus", "handoff", None),
        ("the menu please", "scenario", "contains"),
        ("Price", "scenario", "exact"),
    ]


def test_the_first_matching_scenario_in_order_answers(org, number, bot, client, fake_meta):
    second = scenario(bot, "keyword", "second", values=["hi"])
    first = scenario(bot, "regex", "first", pattern=r"^h")
    services.scenarios_reorder(bot=bot, actor=None, ids=[first.pk, second.pk])

    customer_writes(fake_meta, client, org, number, "hi")

    assert bot_texts(fake_meta) == ["first"]


def test_an_inactive_scenario_is_skipped(org, number, bot, client, fake_meta):
    scenario(bot, "keyword", "off", values=["hi"], is_active=False)
    scenario(bot, "keyword", "on", values=["hi"])

    customer_writes(fake_meta, client, org, number, "hi")

    assert bot_texts(fake_meta) == ["on"]


def test_a_regex_scenario_matches_the_text(org, number, bot, client, fake_meta):
    scenario(bot, "regex", "Your order is on its way.", pattern=r"order\s*#?\d{3,}")

    customer_writes(fake_meta, client, org, number, "Where is Order #12345?")
    customer_writes(fake_meta, client, org, number, "order 12", wa_id="966500000102")

    assert bot_texts(fake_meta) == ["Your order is on its way."]
    assert BotReply.objects.get(inbound__text="order 12").outcome == "handoff"


def test_button_and_list_reply_ids_trigger_their_scenarios(org, number, bot, client, fake_meta):
    scenario(bot, "button", "Sales will call you.", values=["talk_sales"])
    scenario(bot, "list", "Pro is 20 USD.", values=["plan_pro"])

    button = {
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "talk_sales", "title": "Sales"}},
    }
    row = {
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "plan_pro", "title": "Pro"}},
    }
    # A list row with a button's id, and a button with a row's id: the kind counts too.
    wrong_kind = {
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "talk_sales", "title": "Sales"}},
    }
    quick_reply = {"type": "button", "button": {"payload": "talk_sales", "text": "Talk to sales"}}
    for n, message in enumerate((button, row, quick_reply, wrong_kind)):
        customer_writes(fake_meta, client, org, number, message=message, wa_id=f"96650000020{n}")

    assert [bot_texts(fake_meta, f"96650000020{n}") for n in range(4)] == [
        ["Sales will call you."],
        ["Pro is 20 USD."],
        ["Sales will call you."],
        [],
    ]


def test_a_scenario_replies_with_buttons_a_list_media_or_a_template(org, number, bot, client, fake_meta):
    buttons = {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Which team?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "sales", "title": "Sales"}}]},
        },
    }
    media = MediaFactory(organization=org)
    services.scenario_create(bot=bot, actor=None, trigger="keyword", values=["team"], reply=buttons)
    services.scenario_create(
        bot=bot,
        actor=None,
        trigger="keyword",
        values=["photo"],
        reply={"type": "image", "media_id": media.pk, "caption": "Our shop"},
    )
    services.scenario_create(
        bot=bot,
        actor=None,
        trigger="keyword",
        values=["offer"],
        reply={"type": "template", "template": {"name": "promo", "language": "en_US"}},
    )

    for text in ("team", "photo", "photo", "offer"):
        customer_writes(fake_meta, client, org, number, text)

    [interactive] = fake_meta.sends(to=CUSTOMER, type="interactive")
    assert interactive["interactive"] == buttons["interactive"]
    assert [send["image"]["caption"] for send in fake_meta.sends(to=CUSTOMER, type="image")] == ["Our shop", "Our shop"]
    [template] = fake_meta.sends(to=CUSTOMER, type="template")
    assert template["template"] == {"name": "promo", "language": {"code": "en_US"}}


# --- the regex guard -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+b", r"(a|ab)*c", r"(\w+)\s\1", r"a*a*a*b", "x" * 201, r"(unclosed", ""],
)
def test_patterns_that_could_backtrack_catastrophically_or_are_invalid_are_refused(org, bot, pattern):
    with pytest.raises(Exception) as refused:
        services.scenario_create(
            bot=bot, actor=None, trigger="regex", pattern=pattern, reply={"type": "text", "text": "x"}
        )

    assert refused.value.errors.keys() == {"pattern"}
    assert BotScenario.objects.count() == 0


@pytest.mark.parametrize("pattern", [r"^order\s*#?\d+$", r"\b\d{4}-\d{2}-\d{2}\b", r"^(hi|hello)\b", r"(?:ab)+c"])
def test_ordinary_patterns_are_taken(pattern):
    assert scenarios.compile_pattern(pattern).pattern == pattern
