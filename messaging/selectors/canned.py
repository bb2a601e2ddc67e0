"""Read paths of canned responses: the organization's, searched by shortcut, title and text."""

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from accounts.models import Organization
from messaging.models import CannedResponse


def canned_response_list(*, org: Organization, search: str | None = None) -> QuerySet[CannedResponse]:
    """The organization's canned responses with their attachment (one query for a page), by shortcut.

    `search` (a leading "/" ignored) matches inside the shortcut, title or text, case-insensitively; the shortcuts
    starting with it come first (typing /pri shows /price before /surprise)."""
    responses = CannedResponse.objects.for_org(org).select_related("attachment")
    search = (search or "").strip().removeprefix("/")
    if not search:
        return responses.order_by("shortcut", "id")
    matching = responses.filter(
        Q(shortcut__icontains=search) | Q(title__icontains=search) | Q(text__icontains=search)
    ).annotate(
        rank=Case(
            When(shortcut__startswith=search.lower(), then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    )
    return matching.order_by("rank", "shortcut", "id")
