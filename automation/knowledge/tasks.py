"""Celery tasks of knowledge bases: thin, idempotent wrappers over automation.services.knowledge."""

from celery import shared_task


@shared_task(acks_late=True)
def process_document(organization_id: int, document_id: int) -> None:
    """Extract, split and index one uploaded document (a second run finds it claimed or done)."""
    from automation.services.knowledge import document_process

    document_process(organization_id=organization_id, document_id=document_id)


@shared_task
def sweep_documents() -> int:
    """Beat: documents left pending or whose processing died, queued again (or failed after too many attempts)."""
    from automation.services.knowledge import documents_sweep

    return documents_sweep()
