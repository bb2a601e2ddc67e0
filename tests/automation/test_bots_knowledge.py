"""Bots answer from their knowledge bases: the LLM gets the passages (and the fake OpenAI server asserts it), the
reply records its sources; with no LLM the best passage above the threshold is the answer (extractive mode), none
hands over; "no answer above the threshold" hands over at once when asked to; the test chat shows the sources; a
bot's knowledge bases are its organization's only."""

import pytest

from automation.models import BotReply
from automation.models.knowledge import KnowledgeBase
from automation.services import knowledge as knowledge_services
from automation.services.ai import ai_settings_save
from tests.automation.bots_support import bot_number, bot_texts, customer_writes, make_bot
from tests.automation.knowledge_support import processed_document

FAQ = """# Returns

You can return any item within 30 days of delivery for a full refund. Keep the receipt.

# Shipping

We ship to every city in Saudi Arabia. Delivery takes two to four working days.

# سياسة الاسترجاع

يمكنك إرجاع أي منتج خلال ثلاثين يومًا من الاستلام واسترداد المبلغ كاملًا.
"""
RETURNS = "You can return any item within 30 days of delivery for a full refund. Keep the receipt."


@pytest.fixture
def number(org):
    return bot_number(org)


@pytest.fixture
def kb(org):
    kb = knowledge_services.knowledge_base_create(organization=org, actor=None, name="Help centre")
    processed_document(kb, "faq.md", FAQ.encode())
    return kb


def test_the_llm_answers_from_the_passages_and_the_reply_keeps_its_sources(
    org, number, kb, client, fake_meta, fake_openai
):
    ai_settings_save(organization=org, actor=None, api_key="sk-test")
    make_bot(org, number=number, knowledge_base_ids=[kb.pk], system_prompt="You are Acme's assistant.")
    fake_openai.script("Hello!", "Within 30 days of delivery, with the receipt.")

    customer_writes(fake_meta, client, org, number, "Hello")
    customer_writes(fake_meta, client, org, number, "Can I return an item for a refund?")

    assert bot_texts(fake_meta) == ["Hello!", "Within 30 days of delivery, with the receipt."]
    [system, *turns] = fake_openai.chat_requests()[1]["messages"]
    assert "You are Acme's assistant." in system["content"]
    assert f"Passages:\n[1] faq.md (Returns):\n{RETURNS}" in system["content"]
    assert turns == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Can I return an item for a refund?"},
    ]
    reply = BotReply.objects.order_by("id").last()
    assert reply.outcome == "answered"
    assert reply.sources[0]["document"] == "faq.md"
    assert reply.sources[0]["chunk"] == RETURNS
    assert reply.sources[0]["score"] >= 0.2


def test_without_an_llm_the_best_passage_is_the_answer(org, number, kb, client, fake_meta):
    make_bot(org, number=number, knowledge_base_ids=[kb.pk])

    customer_writes(fake_meta, client, org, number, "How many days does delivery take?")

    assert bot_texts(fake_meta) == ["We ship to every city in Saudi Arabia. Delivery takes two to four working days."]
    reply = BotReply.objects.get()
    assert (reply.outcome, reply.model_used, reply.tokens_used) == ("answered", "", 0)
    assert [source["document"] for source in reply.sources] == ["faq.md"]


def test_without_an_llm_an_arabic_question_gets_the_arabic_passage(org, number, kb, client, fake_meta):
    make_bot(org, number=number, knowledge_base_ids=[kb.pk])

    customer_writes(fake_meta, client, org, number, "هل يمكنني إرجاع منتج؟")

    assert bot_texts(fake_meta) == ["يمكنك إرجاع أي منتج خلال ثلاثين يومًا من الاستلام واسترداد المبلغ كاملًا."]


def test_without_an_llm_nothing_above_the_threshold_hands_over(org, number, kb, client, fake_meta):
    make_bot(org, number=number, knowledge_base_ids=[kb.pk], handoff_message="A colleague will answer.")

    customer_writes(fake_meta, client, org, number, "Do you sell bicycles?")

    assert bot_texts(fake_meta) == ["A colleague will answer."]
    assert BotReply.objects.get().outcome == "handoff"


def test_a_threshold_above_every_score_hands_over(org, number, kb, client, fake_meta):
    make_bot(org, number=number, knowledge_base_ids=[kb.pk], score_threshold=1.0, handoff_message="Handing over.")

    customer_writes(fake_meta, client, org, number, "Delivery days to Riyadh?")

    assert bot_texts(fake_meta) == ["Handing over."]


def test_no_passage_hands_over_at_once_when_the_rule_says_so(org, number, kb, client, fake_meta, fake_openai):
    ai_settings_save(organization=org, actor=None, api_key="sk-test")
    make_bot(org, number=number, knowledge_base_ids=[kb.pk], handoff_on_no_answer=True, handoff_message="Handing over.")

    customer_writes(fake_meta, client, org, number, "Do you sell bicycles?")

    assert bot_texts(fake_meta) == ["Handing over."]
    assert fake_openai.chat_requests() == []


def test_an_inactive_knowledge_base_is_not_read(org, number, kb, client, fake_meta):
    make_bot(org, number=number, knowledge_base_ids=[kb.pk], handoff_message="Handing over.")
    knowledge_services.knowledge_base_update(knowledge_base=kb, actor=None, active=False)

    customer_writes(fake_meta, client, org, number, "How many days does delivery take?")

    assert bot_texts(fake_meta) == ["Handing over."]


def test_the_test_chat_shows_its_sources(org, kb, admin_client):
    bot = make_bot(org, knowledge_base_ids=[kb.pk])

    response = admin_client.post(f"/api/v1/bots/{bot.pk}/test", {"message": "return an item refund"}, format="json")

    body = response.json()
    assert (body["response"], body["outcome"], body["model_used"], body["tokens_used"]) == (RETURNS, "answered", "", 0)
    [source] = body["sources"]
    assert {key: source[key] for key in ("document", "chunk")} == {"document": "faq.md", "chunk": RETURNS}


def test_a_bots_knowledge_bases_are_its_organizations(org, other_org, kb, admin_client):
    foreign = KnowledgeBase.objects.create(organization=other_org, name="Theirs")
    bot = make_bot(org)

    refused = admin_client.patch(f"/api/v1/bots/{bot.pk}", {"knowledge_base_ids": [kb.pk, foreign.pk]}, format="json")
    taken = admin_client.patch(f"/api/v1/bots/{bot.pk}", {"knowledge_base_ids": [kb.pk]}, format="json")

    assert (refused.status_code, list(refused.json()["errors"])) == (400, ["knowledge_base_ids"])
    assert (taken.status_code, taken.json()["knowledge_base_ids"]) == (200, [kb.pk])
    assert list(bot.knowledge_bases.values_list("pk", flat=True)) == [kb.pk]
    assert list(bot.knowledge_bases.through.objects.values_list("organization_id", flat=True)) == [org.pk]
