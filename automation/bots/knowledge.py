"""The bots' side of knowledge bases: which ones a bot answers from, and the passages they hold for a question.
TEMPORARY until the knowledge bases are merged (branch kb): no bot has any."""

from dataclasses import dataclass

from whatsapp_hub.errors import ServiceError


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    document_id: int
    document_name: str
    text: str
    score: float
    page: int | None = None
    heading: str = ""


def knowledge_base_ids(bot) -> list[int]:
    return []


def knowledge_bases_or_error(*, organization, ids: list[int]) -> list:
    if ids:
        message = "No such knowledge base in this organization."
        raise ServiceError(message, errors={"knowledge_base_ids": [message]})
    return []


def search(*, bot, query: str, limit: int = 5) -> list[Hit]:
    return []


def knowledge_bases_set(*, bot, knowledge_bases: list) -> None:
    return None


def knowledge_base_choices(*, organization) -> list[tuple[int, str]]:
    return []
