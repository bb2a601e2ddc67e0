"""Celery task of erasure: stored media files deleted once the rows that used them are gone. Thin and safe to run
twice (a file already deleted is skipped). Services are imported in the task body: services import tasks."""

from celery import shared_task


@shared_task
def delete_media_files(organization_id: int, names: list[str]) -> None:
    """Delete these stored files of the organization, except those a Media row of it still uses."""
    from messaging.services import erasure

    erasure.media_files_delete_unused(organization_id=organization_id, names=set(names))
