"""The bot's own answers, through the real path (webhook, ingest, dispatch, the LLM on the fake OpenAI server, the send
to the fake Graph API): what the LLM receives (instructions, system prompt, recent messages, the question), unanswered
turns and their handoff, the LLM failing, no LLM at all (extractive mode with nothing to quote: a handoff)."""

import pytest

from accounts.models import Team
from automation.bots.answer import NO_ANSWER
from automation.models import BotConversation, BotReply
from automation.services.ai import ai_settings_save
from tests.automation.bots_support import bot_number, bot_texts, conversation_of, customer_writes, make_bot


@pytest.fixture
def number(org):
    return bot_number(org)


@pytest.fixture
def llm(org, fake_openai):
    ai_settings_save(organization=org, actor=None, api_key="sk-test", chat_model="gpt-4o-mini")
    return fake_openai


def outcomes() -> list[str]:
    return list(BotReply.objects.order_by("id").values_list("outcome", flat=True))


def test_the_llm_gets_the_system_prompt_the_recent_messages_and_the_question(org, number, llm, client, fake_meta):
    make_bot(org, number=number, system_prompt="You are Acme's assistant.", context_window=3, temperature=0.5)
    llm.script("Hello! How can I help?", "We open at 9.")

    customer_writes(fake_meta, client, org, number, "Hi")
    customer_writes(fake_meta, client, org, number, "When do you open?")

    assert bot_texts(fake_meta) == ["Hello! How can I help?", "We open at 9."]
    second = llm.chat_requests()[1]
    assert (second["model"], second["temperature"]) == ("gpt-4o-mini", 0.5)
    [system, *turns] = second["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith("You answer customers of this business on WhatsApp.")
    assert system["content"].endswith("\n\nYou are Acme's assistant.")
    assert "Passages:" not in system["content"]
    assert turns == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "When do you open?"},
    ]
    reply = BotReply.objects.order_by("id").last()
    assert (reply.outcome, reply.model_used, reply.tokens_used, reply.reply.sender_label) == (
        "answered",
        "gpt-4o-mini",
        reply.tokens_used,
        "Support bot",
    )
    assert reply.tokens_used > 0


def test_the_context_window_keeps_the_last_n_messages(org, number, llm, client, fake_meta):
    make_bot(org, number=number, context_window=2)
    llm.script("One", "Two", "Three")

    for text in ("first", "second", "third"):
        customer_writes(fake_meta, client, org, number, text)

    assert llm.chat_requests()[2]["messages"][1:] == [
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "Two"},
        {"role": "user", "content": "third"},
    ]


def test_an_unanswered_turn_sends_the_fallback_and_the_nth_hands_over(org, number, llm, client, fake_meta):
    team = Team.objects.create(organization=org, name="Support")
    make_bot(
        org,
        number=number,
        max_unanswered_turns=2,
        handoff_team_id=team.pk,
        fallback_message="Could you say that another way?",
        handoff_message="A colleague will answer.",
    )
    llm.script(NO_ANSWER, NO_ANSWER)

    customer_writes(fake_meta, client, org, number, "Do you sell boats?")
    customer_writes(fake_meta, client, org, number, "Boats?")
    customer_writes(fake_meta, client, org, number, "hello?")

    assert bot_texts(fake_meta) == ["Could you say that another way?", "A colleague will answer."]
    assert outcomes() == ["unanswered", "handoff"]
    conversation = conversation_of(org, number)
    assert conversation.team_id == team.pk
    assert BotConversation.objects.get(conversation=conversation).paused_reason == "handoff"
    assert len(llm.chat_requests()) == 2


def test_an_answer_between_unanswered_turns_starts_the_count_again(org, number, llm, client, fake_meta):
    make_bot(org, number=number, max_unanswered_turns=2, fallback_message="Sorry?")
    llm.script(NO_ANSWER, "Yes, we deliver.", NO_ANSWER)

    for text in ("boats?", "do you deliver?", "planes?"):
        customer_writes(fake_meta, client, org, number, text)

    assert outcomes() == ["unanswered", "answered", "unanswered"]
    assert BotConversation.objects.get().unanswered_turns == 1


def test_zero_unanswered_turns_never_hands_over(org, number, llm, client, fake_meta):
    make_bot(org, number=number, max_unanswered_turns=0, fallback_message="Sorry?")
    llm.script(*[NO_ANSWER] * 3)

    for text in ("a", "b", "c"):
        customer_writes(fake_meta, client, org, number, text)

    assert bot_texts(fake_meta) == ["Sorry?"] * 3


def test_when_the_llm_fails_the_turn_is_unanswered(org, number, llm, client, fake_meta):
    make_bot(org, number=number, fallback_message="Sorry?")
    llm.fail_next(500, times=5)

    customer_writes(fake_meta, client, org, number, "hi")

    reply = BotReply.objects.get()
    assert (reply.outcome, bot_texts(fake_meta)) == ("unanswered", ["Sorry?"])
    assert reply.error != ""


def test_without_an_llm_or_a_passage_to_quote_the_bot_hands_over(org, number, client, fake_meta):
    make_bot(org, number=number, handoff_message="A colleague will answer.", fallback_message="Sorry?")

    customer_writes(fake_meta, client, org, number, "When do you open?")

    assert bot_texts(fake_meta) == ["A colleague will answer."]
    assert outcomes() == ["handoff"]


def test_the_bots_own_model_is_used(org, number, llm, client, fake_meta):
    make_bot(org, number=number, model="gpt-4o")

    customer_writes(fake_meta, client, org, number, "hi")

    assert [request["model"] for request in llm.chat_requests()] == ["gpt-4o"]
    assert BotReply.objects.get().model_used == "gpt-4o"


def test_the_test_chat_shows_the_llms_answer_and_its_tokens(org, llm, admin_client):
    bot = make_bot(org, system_prompt="Be brief.")
    llm.script("We open at 9.")

    response = admin_client.post(f"/api/v1/bots/{bot.pk}/test", {"message": "When do you open?"}, format="json")

    body = response.json()
    assert (response.status_code, body["response"], body["model_used"], body["outcome"], body["sources"]) == (
        200,
        "We open at 9.",
        "gpt-4o-mini",
        "answered",
        [],
    )
    assert body["tokens_used"] > 0
    assert llm.chat_requests()[0]["messages"][-1] == {"role": "user", "content": "When do you open?"}
