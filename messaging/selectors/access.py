"""Who sees which WhatsApp numbers, and so which conversations, messages, media and threads.

A number assigned to a user or a team is visible only to that user, the team's members and admins; an
unassigned number is visible to every member. API keys have no person: an admin key sees every number, any other
key only the unassigned ones.

Two forms of one rule: `visible_number_ids` (a set, for code that filters in Python, e.g. live-inbox pushes) and
`visible_numbers` (a subquery, for reads that filter in SQL: no query of its own, so a page of the API costs what it
cost before). `request_visible_numbers` is the latter for the caller of a request, made once per request.
"""

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, Func, Q, QuerySet

from accounts.models import Organization, Role, TeamMember
from messaging.models import WhatsAppNumber

# What `only_visible_numbers` takes: ids, a subquery of ids (visible_numbers), or None for every number.
NumberIds = frozenset[int] | QuerySet | None


def _visible_to(*, org: Organization, user_id: int | None) -> Q:
    """The numbers someone who is not an admin sees: the unassigned ones, and those of their own or their teams."""
    condition = Q(assigned_user__isnull=True, assigned_team__isnull=True)
    if user_id is not None:
        teams = TeamMember.objects.for_org(org).filter(user_id=user_id).values("team_id")
        condition |= Q(assigned_user_id=user_id) | Q(assigned_team_id__in=teams)
    return condition


def visible_number_ids(*, org: Organization, user_id: int | None, role: str) -> frozenset[int] | None:
    """The ids of the organization's numbers (deleted ones included: their history stays) that this person may see,
    or None when they may see them all (admins, or nothing is assigned). One small query (none for admins)."""
    if role == Role.ADMIN:
        return None
    visible = ExpressionWrapper(_visible_to(org=org, user_id=user_id), output_field=BooleanField())
    numbers = list(
        WhatsAppNumber.objects.for_org(org)
        .annotate(visible=visible)
        .values_list("pk", "visible", "assigned_user_id", "assigned_team_id")
    )
    if all(user is None and team is None for _, _, user, team in numbers):
        return None
    return frozenset(pk for pk, is_visible, _, _ in numbers if is_visible)


def visible_numbers(*, org: Organization, user_id: int | None, role: str) -> QuerySet | None:
    """The numbers this person may see as a subquery of their ids (deleted ones included), or None for admins (every
    number). Lazy: it runs inside the query it narrows (`only_visible_numbers`)."""
    if role == Role.ADMIN:
        return None
    return WhatsAppNumber.objects.for_org(org).filter(_visible_to(org=org, user_id=user_id)).order_by().values("pk")


def request_visible_numbers(request) -> QuerySet | None:
    """`visible_numbers` of the caller of an API request (request.org, request.role, request.user: the API's
    authentication sets them; an API key has no user), made once per request."""
    try:
        return request._visible_numbers
    except AttributeError:
        request._visible_numbers = visible_numbers(
            org=request.org, user_id=getattr(request.user, "pk", None), role=request.role
        )
        return request._visible_numbers


class _EqualsAny(Func):
    """`field = ANY(array)` (PostgreSQL)."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = BooleanField()


def on_visible_numbers(number_ids: NumberIds, *, field: str = "number_id") -> Q:
    """The condition that a row's `field` is one of `number_ids` (visible_number_ids or visible_numbers; None: any).

    On PostgreSQL a subquery is compared as `= ANY(ARRAY(subquery))`: evaluated once before the scan. As `IN
    (subquery)` the planner may turn it into a join driven from the numbers and sort the rows afterwards, losing the
    index order a keyset page reads (the inbox's (organization, -last_message_at, -id)).
    """
    if number_ids is None:
        return Q()
    if isinstance(number_ids, QuerySet) and connection.vendor == "postgresql":
        return Q(_EqualsAny(F(field), ArraySubquery(number_ids)))
    return Q(**{f"{field}__in": number_ids})


def only_visible_numbers(queryset: QuerySet, number_ids: NumberIds, *, field: str = "number_id") -> QuerySet:
    """`queryset` narrowed to rows whose `field` is one of `number_ids` (on_visible_numbers); as is for None."""
    if number_ids is None:
        return queryset
    return queryset.filter(on_visible_numbers(number_ids, field=field))
