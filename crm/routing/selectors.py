"""Lead-routing reads: the rules, and who of a team would take a lead now (for the settings page)."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from accounts.models import Membership, Organization, TeamMember
from crm.routing.models import OPEN_STATUSES, LeadRoutingRule
from messaging.models import Conversation
from messaging.services.conversations import INBOX_ROLES


def lead_routing_rule_list(*, org: Organization) -> QuerySet[LeadRoutingRule]:
    return LeadRoutingRule.objects.for_org(org).select_related("number", "team", "last_assigned")


def membership_of(*, org: Organization, user_id: int) -> Membership | None:
    return Membership.objects.for_org(org).filter(user_id=user_id).select_related("organization").first()


@dataclass(frozen=True)
class MemberState:
    user_id: int
    name: str
    open_conversations: int
    is_away: bool
    takes_leads: bool  # an active admin or agent (away or not)


def team_member_states(*, org: Organization, team_ids: list[int]) -> dict[int, list[MemberState]]:
    """Per team, its members by name: their open conversations, whether they are away and whether they can take
    leads at all. Three queries, whatever the number of teams."""
    links = list(
        TeamMember.objects.for_org(org).filter(team_id__in=team_ids).select_related("user").order_by("user__name")
    )
    user_ids = {link.user_id for link in links}
    memberships = {m.user_id: m for m in Membership.objects.for_org(org).filter(user_id__in=user_ids)}
    counts = dict(
        Conversation.objects.for_org(org)
        .filter(assigned_to_id__in=user_ids, status__in=OPEN_STATUSES)
        .values_list("assigned_to_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    states: dict[int, list[MemberState]] = defaultdict(list)
    for link in links:
        membership = memberships.get(link.user_id)
        states[link.team_id].append(
            MemberState(
                user_id=link.user_id,
                name=link.user.name or link.user.email,
                open_conversations=counts.get(link.user_id, 0),
                is_away=bool(membership and membership.is_away),
                takes_leads=bool(
                    membership and membership.is_active and link.user.is_active and membership.role in INBOX_ROLES
                ),
            )
        )
    return states
