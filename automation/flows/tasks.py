"""Celery tasks of flows (registered through automation/tasks.py): beat's wake-up of due runs. Thin and safe to run
twice: the engine takes each due run with SKIP LOCKED and acts only on a run still due."""

from celery import shared_task


@shared_task
def wake_flow_runs() -> int:
    """Delays and ask timeouts that are due, runs that waited too long, runs whose worker died."""
    from automation.services import flows

    return flows.flow_runs_wake_due()
