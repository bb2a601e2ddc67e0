"""Who sees which numbers (messaging/selectors/access.py): assigned numbers only to their user, team and admins."""

from django.utils import timezone

from accounts.models import Role, Team, TeamMember
from messaging.models import Conversation
from messaging.selectors.access import only_visible_numbers, visible_number_ids, visible_numbers
from tests.factories import MembershipFactory
from tests.messaging.factories import ConversationFactory, WhatsAppNumberFactory


def test_everyone_sees_every_number_while_none_is_assigned(org, agent_membership):
    WhatsAppNumberFactory(organization=org)
    assert visible_number_ids(org=org, user_id=agent_membership.user_id, role=Role.AGENT) is None


def test_assigned_numbers_are_seen_by_their_user_their_team_and_admins_only(org, other_org, agent_membership):
    teammate = MembershipFactory(organization=org, role=Role.AGENT)
    stranger = MembershipFactory(organization=org, role=Role.MARKETING)
    team = Team.objects.create(organization=org, name="Sales")
    TeamMember.objects.create(organization=org, team=team, user=teammate.user)
    open_number = WhatsAppNumberFactory(organization=org)
    agents_number = WhatsAppNumberFactory(organization=org, assigned_user=agent_membership.user)
    teams_number = WhatsAppNumberFactory(organization=org, assigned_team=team)
    WhatsAppNumberFactory(organization=other_org)

    assert visible_number_ids(org=org, user_id=agent_membership.user_id, role=Role.AGENT) == {
        open_number.pk,
        agents_number.pk,
    }
    assert visible_number_ids(org=org, user_id=teammate.user_id, role=Role.AGENT) == {open_number.pk, teams_number.pk}
    assert visible_number_ids(org=org, user_id=stranger.user_id, role=Role.MARKETING) == {open_number.pk}
    assert visible_number_ids(org=org, user_id=None, role=Role.AGENT) == {open_number.pk}  # a non-admin API key
    assert visible_number_ids(org=org, user_id=stranger.user_id, role=Role.ADMIN) is None


def test_only_visible_numbers_narrows_a_queryset(org, agent_membership):
    mine = WhatsAppNumberFactory(organization=org, assigned_user=agent_membership.user)
    theirs = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)
    seen = ConversationFactory(organization=org, number=mine)
    ConversationFactory(organization=org, number=theirs)
    ids = visible_number_ids(org=org, user_id=agent_membership.user_id, role=Role.AGENT)

    assert list(only_visible_numbers(Conversation.objects.for_org(org), ids)) == [seen]
    assert only_visible_numbers(Conversation.objects.for_org(org), None).count() == 2


def test_the_subquery_and_the_set_agree_and_cost_what_they_say(org, agent_membership, django_assert_num_queries):
    teammate = MembershipFactory(organization=org, role=Role.AGENT)
    team = Team.objects.create(organization=org, name="Sales")
    TeamMember.objects.create(organization=org, team=team, user=teammate.user)
    WhatsAppNumberFactory(organization=org)
    WhatsAppNumberFactory(organization=org, assigned_user=agent_membership.user)
    WhatsAppNumberFactory(organization=org, assigned_team=team)
    WhatsAppNumberFactory(organization=org, assigned_user=teammate.user, deleted_at=timezone.now())

    for user_id in (agent_membership.user_id, teammate.user_id, None):
        with django_assert_num_queries(1):
            ids = visible_number_ids(org=org, user_id=user_id, role=Role.AGENT)
        with django_assert_num_queries(0):
            subquery = visible_numbers(org=org, user_id=user_id, role=Role.AGENT)
        assert set(subquery.values_list("pk", flat=True)) == ids
    assert visible_numbers(org=org, user_id=agent_membership.user_id, role=Role.ADMIN) is None
