"""Celery tasks of message templates: a WABA's sync from Meta, and beat's every-15-minutes round of them.

Thin and safe to run twice: a sync is claimed in the database (only a queued one runs), and writing Meta's listing
again changes nothing. Services are imported in the task bodies: services import tasks.
"""

from celery import shared_task


@shared_task
def sync_templates(organization_id: int, sync_id: int) -> None:
    """Read every page of a WABA's templates from Meta and write them (one TemplateSync's run)."""
    from templates import services

    services.template_sync_run(organization_id=organization_id, sync_id=sync_id)


@shared_task
def schedule_template_syncs() -> int:
    """Queue a sync of every WABA of every active organization's live Cloud numbers."""
    from templates import services

    return services.template_syncs_schedule()
