"""Who sees which WhatsApp numbers, and so which conversations, messages and threads.

A number assigned to a user or a team is visible only to that user, the team's members and admins; an
unassigned number is visible to every member. API keys have no person: an admin key sees every number, any other
key only the unassigned ones.
"""

from django.db.models import QuerySet

from accounts.models import Organization, Role, TeamMember
from messaging.models import WhatsAppNumber


def visible_number_ids(*, org: Organization, user_id: int | None, role: str) -> frozenset[int] | None:
    """The ids of the organization's numbers (deleted ones included: their history stays) that this person may see,
    or None when they may see them all (admins, or nothing is assigned). One or two small queries."""
    if role == Role.ADMIN:
        return None
    numbers = list(WhatsAppNumber.objects.for_org(org).values_list("pk", "assigned_user_id", "assigned_team_id"))
    if all(user is None and team is None for _, user, team in numbers):
        return None
    team_ids = set()
    if user_id is not None:
        team_ids = set(TeamMember.objects.for_org(org).filter(user_id=user_id).values_list("team_id", flat=True))
    return frozenset(
        pk
        for pk, user, team in numbers
        if (user is None and team is None) or (user_id is not None and user == user_id) or team in team_ids
    )


def only_visible_numbers(queryset: QuerySet, number_ids: frozenset[int] | None, *, field: str = "number_id"):
    """`queryset` narrowed to rows whose `field` is one of `number_ids` (from visible_number_ids); as is for None."""
    if number_ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": number_ids})
