"""A bot's answer to a question: the passages of its knowledge bases, then the LLM with the system prompt, the
passages and the recent messages; with no LLM configured, the best passage above the threshold (extractive mode).

Makes network calls (the LLM): never call it inside a transaction. Nothing here writes or sends anything.
"""

import logging
from dataclasses import dataclass, field

from automation import llm
from automation.bots import knowledge
from automation.models import Bot
from messaging.models import Message

logger = logging.getLogger(__name__)

# What the LLM answers when neither the passages nor the conversation hold the answer: the bot counts the turn as
# unanswered (and may hand over) instead of sending it.
NO_ANSWER = "NO_ANSWER"
INSTRUCTIONS = (
    "You answer customers of this business on WhatsApp. Answer in the customer's language, briefly, as plain text. "
    "Use the passages below and the conversation; do not invent facts (prices, policies, dates) they do not hold. "
    f"If they do not hold the answer, reply with exactly {NO_ANSWER} and nothing else."
)
REPLY_MAX_LENGTH = 4096
PASSAGES = 5
MAX_TOKENS = 600


@dataclass
class Answer:
    """`answered`: the text answers the question; otherwise the turn is unanswered (`no_passage`: no passage scored
    above the threshold; `extractive`: no LLM is configured, so the bot can only quote)."""

    text: str = ""
    answered: bool = False
    no_passage: bool = False
    extractive: bool = False
    model_used: str = ""
    tokens_used: int = 0
    sources: list[dict] = field(default_factory=list)
    error: str = ""


def source_of(hit: knowledge.Hit) -> dict:
    return {
        "document": hit.document_name,
        "chunk": hit.text,
        "document_id": hit.document_id,
        "chunk_id": hit.chunk_id,
        "score": round(float(hit.score), 4),
    }


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= REPLY_MAX_LENGTH else text[: REPLY_MAX_LENGTH - 1].rstrip() + "…"


def _extractive(hits: list, *, error: str = "") -> Answer:
    if not hits:
        return Answer(no_passage=True, extractive=True, error=error)
    best = hits[0]
    return Answer(text=_clip(best.text), answered=True, extractive=True, sources=[source_of(best)], error=error)


def _history_turns(history: list[Message]) -> list[dict]:
    """The recent messages as chat turns: the customer's as user, ours (people, bots, flows) as assistant."""
    turns = []
    for message in history:
        text = (message.text or "").strip() or f"[{message.type}]"
        role = "user" if message.direction == Message.Direction.INBOUND else "assistant"
        turns.append({"role": role, "content": text})
    return turns


def chat_messages(*, bot: Bot, question: str, hits: list, history: list[Message]) -> list[dict]:
    """What the LLM is sent: the instructions, the bot's system prompt and the passages; the recent messages; the
    question."""
    system = [INSTRUCTIONS]
    if bot.system_prompt.strip():
        system.append(bot.system_prompt.strip())
    if hits:
        passages = "\n\n".join(
            f"[{number}] {hit.document_name}{f' ({hit.heading})' if hit.heading else ''}:\n{hit.text}"
            for number, hit in enumerate(hits, start=1)
        )
        system.append(f"Passages:\n{passages}")
    return [
        {"role": "system", "content": "\n\n".join(system)},
        *_history_turns(history),
        {"role": "user", "content": question},
    ]


def compose(*, bot: Bot, question: str, history: list[Message]) -> Answer:
    """The bot's answer to `question` (the customer's message), with `history` (the messages before it, oldest
    first) for context. Never raises for an LLM failure: the best passage stands in, else the turn is unanswered."""
    organization = bot.organization
    has_knowledge = bool(knowledge.knowledge_base_ids(bot))
    hits = knowledge.search(bot=bot, query=question, limit=PASSAGES) if has_knowledge else []
    above = [hit for hit in hits if hit.score >= bot.score_threshold]
    if not llm.is_configured(organization):
        return _extractive(above)
    if has_knowledge and not above and bot.handoff_on_no_answer:
        return Answer(no_passage=True)
    messages = chat_messages(bot=bot, question=question, hits=above, history=history)
    try:
        result = llm.chat(
            organization=organization,
            messages=messages,
            model=bot.model or None,
            temperature=bot.temperature,
            max_tokens=MAX_TOKENS,
        )
    except llm.LLMNotConfigured:
        return _extractive(above)
    except llm.LLMError as exc:
        logger.warning("bot %s: the LLM failed (%s); answering from the passages", bot.pk, exc.detail)
        answer = _extractive(above, error=str(exc.detail)[:500])
        answer.extractive = False  # the LLM is configured: an unanswered turn, not a handoff of extractive mode
        return answer
    text = (result.text or "").strip()
    answer = Answer(
        model_used=result.model,
        tokens_used=(result.prompt_tokens or 0) + (result.completion_tokens or 0),
        sources=[source_of(hit) for hit in above],
        no_passage=has_knowledge and not above,
    )
    if not text or NO_ANSWER in text:
        return answer
    answer.text, answer.answered = _clip(text), True
    return answer
