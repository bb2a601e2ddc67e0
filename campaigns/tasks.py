"""Celery tasks of campaigns: the sending tasks, the schedule and the sweeper (beat, every minute), and the trailing
progress push. Thin and safe to run twice: the services claim their work in the database. Services are imported in
the task bodies: services import tasks."""

from celery import shared_task


@shared_task(bind=True)
def send_campaign(self, organization_id: int, campaign_id: int):
    """Send a running campaign's batches for a while, then queue itself again while work is due (run eagerly, as in
    the embedded default, it sends until nothing is left now)."""
    from campaigns import sending

    eager = bool(self.request.is_eager)
    delay = sending.campaign_send_batches(
        organization_id=organization_id, campaign_id=campaign_id, budget=None if eager else sending.BUDGET
    )
    if delay is not None and not eager:
        # No countdown when it is due now: a countdown, even 0, makes it a scheduled task, which a worker starts later.
        self.apply_async((organization_id, campaign_id), countdown=min(delay, 60) or None)


@shared_task
def start_due_campaigns() -> int:
    """Start the scheduled campaigns whose time has come."""
    from campaigns import services

    return services.campaigns_start_due()


@shared_task
def sweep_campaigns() -> int:
    """Resolve the claims of dead workers' batches; restart the sending of stalled running campaigns."""
    from campaigns import services

    return services.campaigns_sweep()


@shared_task
def push_campaign_progress(organization_id: int, campaign_ids: list[int]) -> None:
    """The trailing campaign.updated of a burst of changes (coalesced pushes)."""
    from campaigns import services

    services.campaign_progress_publish(organization_id=organization_id, campaign_ids=campaign_ids)
