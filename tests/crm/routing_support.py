"""Rows for lead-routing tests (and the isolation walker, the fuzzer and the admin test)."""

import secrets

from accounts.models import Role, Team, TeamMember
from crm.routing.models import LeadRoutingRule
from tests.factories import MembershipFactory, UserFactory


def team(org, *members, name: str | None = None) -> Team:
    made = Team.objects.create(organization=org, name=name or f"Sales {secrets.token_hex(3)}")
    for membership in members:
        TeamMember.objects.create(organization=org, team=made, user=membership.user)
    return made


def agents(org, *names: str):
    """Agents of `org`, created in this order (so their user ids, the round-robin's order, ascend)."""
    return [MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(name=name)) for name in names]


def rule(org, *, team_=None, number=None, **fields) -> LeadRoutingRule:
    return LeadRoutingRule.objects.create(
        organization=org, team=team_ or team(org, *agents(org, "Omar")), number=number, **fields
    )


def number_rule(org) -> LeadRoutingRule:
    """A rule of a number of its own (an organization has many: the walker, the fuzzer, the admin test)."""
    from tests.messaging.factories import WhatsAppNumberFactory

    return rule(org, number=WhatsAppNumberFactory(organization=org), max_open_per_member=3)
