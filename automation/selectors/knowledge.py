"""Reads of knowledge bases, their documents and chunks (every query scoped to one organization)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization
from automation.knowledge import retrieval
from automation.models.knowledge import Document, KnowledgeBase


def knowledge_base_list(*, org: Organization) -> QuerySet[KnowledgeBase]:
    return KnowledgeBase.objects.for_org(org).order_by("name", "id")


def knowledge_base_get(*, org: Organization, pk: int) -> KnowledgeBase | None:
    return knowledge_base_list(org=org).filter(pk=pk).first()


def document_list(*, org: Organization, knowledge_base: KnowledgeBase) -> QuerySet[Document]:
    return (
        Document.objects.for_org(org)
        .filter(knowledge_base=knowledge_base)
        .select_related("knowledge_base")
        .order_by("-created_at", "-id")
    )


def documents_in_progress(*, org: Organization, knowledge_base: KnowledgeBase) -> bool:
    return (
        document_list(org=org, knowledge_base=knowledge_base)
        .filter(status__in=[Document.Status.PENDING, Document.Status.PROCESSING])
        .exists()
    )


def knowledge_base_search(
    *, org: Organization, knowledge_base: KnowledgeBase, query: str, limit: int = 5
) -> list[retrieval.Hit]:
    """What a bot would retrieve from this knowledge base for `query` (an inactive one too: this is its test)."""
    return retrieval.search(
        organization_id=org.pk,
        knowledge_base_ids=[knowledge_base.pk],
        query=query,
        limit=limit,
        include_inactive=True,
    )
