"""Reads of a person's notifications and preferences (messaging.services.notifications)."""

from django.db.models import QuerySet

from accounts.models import Organization
from messaging.models import Notification, NotificationPreference


def notification_list(*, org: Organization, user_id: int, unread: bool | None = None) -> QuerySet:
    """The person's notifications in the bell (in_app), newest first."""
    rows = Notification.objects.for_org(org).filter(recipient_id=user_id, in_app=True)
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-id")


def notification_unread_count(*, org: Organization, user_id: int) -> int:
    return Notification.objects.for_org(org).filter(recipient_id=user_id, in_app=True, read_at__isnull=True).count()


def notification_preference(*, org: Organization, user_id: int) -> NotificationPreference | None:
    """The person's preferences in the organization (None: the defaults)."""
    return NotificationPreference.objects.for_org(org).filter(user_id=user_id).first()
