"""Read paths of the calls: the organization's calls (filtered) on the numbers the reader may see
(selectors.access; None: all), each with its contact joined."""

from datetime import date, datetime, time

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization
from messaging.models import Call
from messaging.selectors.access import NumberIds, only_visible_numbers


def day_start(day: date) -> datetime:
    """Midnight starting this day in the current time zone (date filters: `start_date`..`end_date`, both included)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def call_list(
    *,
    org: Organization,
    number_ids: NumberIds = None,
    number_id: int | None = None,
    contact_id: int | None = None,
    conversation_id: int | None = None,
    direction: str | None = None,
    status: str | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
) -> QuerySet[Call]:
    """Newest first (served by the index (organization, -started_at, -id)). `start_date` and `end_date` are days of
    the current time zone, both included."""
    calls = only_visible_numbers(Call.objects.for_org(org).select_related("contact"), number_ids)
    if number_id is not None:
        calls = calls.filter(number_id=number_id)
    if contact_id is not None:
        calls = calls.filter(contact_id=contact_id)
    if conversation_id is not None:
        calls = calls.filter(conversation_id=conversation_id)
    if direction:
        calls = calls.filter(direction=direction)
    if status:
        calls = calls.filter(status=status)
    if start_date is not None:
        calls = calls.filter(started_at__gte=day_start(start_date))
    if end_date is not None:
        calls = calls.filter(started_at__lt=day_start(end_date) + timezone.timedelta(days=1))
    return calls.order_by("-started_at", "-id")
