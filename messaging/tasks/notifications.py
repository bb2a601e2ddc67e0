"""Celery task of notification e-mails (beat, every minute). Thin and safe to run twice: the rows are claimed in the
database before an e-mail goes. Services are imported in the task body: services import tasks."""

from celery import shared_task


@shared_task
def send_due_notification_emails() -> int:
    """One e-mail per person with notifications unread and due (messaging.services.notifications); how many."""
    from messaging.services import notifications

    return notifications.notification_emails_send_due()
