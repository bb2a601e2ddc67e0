"""The bots' side of knowledge bases: which ones a bot answers from (the organization's own only), and the passages
they hold for a question (automation.knowledge.retrieval: never across organizations, inactive bases left out)."""

from automation.knowledge import retrieval
from automation.knowledge.retrieval import Hit
from automation.models import Bot
from automation.models.knowledge import KnowledgeBase
from whatsapp_hub.errors import ServiceError

__all__ = ["Hit", "knowledge_base_choices", "knowledge_base_ids", "knowledge_bases_or_error", "search"]


def knowledge_base_ids(bot: Bot) -> list[int]:
    """The ids of the bot's knowledge bases, sorted (from the prefetch when the bot has one)."""
    return sorted(kb.pk for kb in bot.knowledge_bases.all())


def knowledge_bases_or_error(*, organization, ids: list[int]) -> list[KnowledgeBase]:
    """The organization's knowledge bases `ids`; a 400 on knowledge_base_ids naming one that is not its own."""
    ids = list(dict.fromkeys(ids))
    found = list(KnowledgeBase.objects.for_org(organization).filter(pk__in=ids))
    if len(found) != len(ids):
        message = "No such knowledge base in this organization."
        raise ServiceError(message, errors={"knowledge_base_ids": [message]})
    return found


def knowledge_bases_set(*, bot: Bot, knowledge_bases: list[KnowledgeBase]) -> None:
    bot.knowledge_bases.set(knowledge_bases, through_defaults={"organization_id": bot.organization_id})


def knowledge_base_choices(*, organization) -> list[tuple[int, str]]:
    """(id, name) of the organization's knowledge bases, for the bot form."""
    return list(KnowledgeBase.objects.for_org(organization).order_by("name", "id").values_list("pk", "name"))


def search(*, bot: Bot, query: str, limit: int = 5) -> list[Hit]:
    """The passages of the bot's (active) knowledge bases that best answer `query`, best first."""
    return retrieval.search(
        organization_id=bot.organization_id, knowledge_base_ids=knowledge_base_ids(bot), query=query, limit=limit
    )
