"""Lead routing: new conversations dealt round-robin among a team's available members (away, deactivated, at the
cap or blind to the number skipped), the team's queue when nobody is, dealt again when someone comes back or a
conversation closes; audited and pushed live through messaging's assignment; never past the cap under concurrency."""

import pytest
from django.db import connection

from accounts.models import AuditLog, Role
from crm.routing import services
from crm.routing.services import conversation_route, lead_routing_backlog_route, membership_availability_set
from messaging import realtime
from messaging.models import Conversation
from messaging.services import numbers as number_services
from messaging.services.conversations import conversation_update
from tests.crm.routing_support import agents, rule, team
from tests.factories import MembershipFactory
from tests.messaging.inbox_support import open_conversation
from tests.messaging.ingest_support import cloud_numbers, meta_payload, post_meta
from tests.races import committed_meanwhile


def route(conversation) -> services.RoutingResult:
    return conversation_route(organization_id=conversation.organization_id, conversation_id=conversation.pk)


def assignee(conversation) -> int | None:
    conversation.refresh_from_db()
    return conversation.assigned_to_id


@pytest.fixture
def sales(org):
    """Omar, Lina and Sami (in this order) in the Sales team, dealt by a rule for every number."""
    members = agents(org, "Omar", "Lina", "Sami")
    return rule(org, team_=team(org, *members, name="Sales")), members


# --- round-robin --------------------------------------------------------------------------------------------------


def test_new_conversations_go_round_robin_starting_after_the_last_member_chosen(org, sales):
    routing_rule, (omar, lina, sami) = sales
    conversations = [open_conversation(org) for _ in range(4)]

    results = [route(c) for c in conversations]

    assert [r.user_id for r in results] == [omar.user_id, lina.user_id, sami.user_id, omar.user_id]
    assert [(c.assigned_to_id, c.team_id) for c in Conversation.objects.order_by("id")] == [
        (member.user_id, routing_rule.team_id) for member in (omar, lina, sami, omar)
    ]
    routing_rule.refresh_from_db()
    assert routing_rule.last_assigned_id == omar.user_id
    routing_rule.last_assigned_id = lina.user_id
    routing_rule.save()
    assert route(open_conversation(org)).user_id == sami.user_id


def test_the_cursor_of_a_member_who_left_the_team_still_moves_on(org, sales):
    routing_rule, (_, lina, sami) = sales
    routing_rule.team.memberships.filter(user=lina.user).delete()
    routing_rule.last_assigned_id = lina.user_id
    routing_rule.save()

    assert route(open_conversation(org)).user_id == sami.user_id


def test_the_number_s_own_rule_wins_over_the_rule_for_every_number_and_a_disabled_rule_deals_nothing(org, sales):
    _, (omar, _, _) = sales
    support_agent = agents(org, "Huda")[0]
    number = open_conversation(org).number
    own = rule(org, team_=team(org, support_agent), number=number)

    assert route(open_conversation(org, number=number)).user_id == support_agent.user_id
    assert route(open_conversation(org)).user_id == omar.user_id
    own.enabled = False
    own.save()
    assert route(open_conversation(org, number=number)).rule_id != own.pk


def test_only_new_leads_nobody_holds_are_dealt(org, sales, admin_membership):
    other_team = team(org, name="Support")
    started_by_us = open_conversation(org, last_inbound_at=None)  # a broadcast or a first template
    held = open_conversation(org, assigned_to=admin_membership.user)
    closed = open_conversation(org, status=Conversation.Status.CLOSED)
    elsewhere = open_conversation(org, team=other_team)

    assert [route(c).outcome for c in (started_by_us, held, closed, elsewhere)] == ["skipped"] * 4
    assert [assignee(c) for c in (started_by_us, held, closed, elsewhere)] == [
        None,
        admin_membership.user_id,
        None,
        None,
    ]
    assert not AuditLog.objects.filter(action="conversation.assign").exists()


def test_no_rule_no_routing(org):
    conversation = open_conversation(org)

    assert route(conversation) == services.SKIPPED
    assert assignee(conversation) is None


# --- who is available -----------------------------------------------------------------------------------------------


def test_a_member_at_the_cap_is_skipped_and_closed_conversations_do_not_count(org, sales):
    routing_rule, (omar, lina, sami) = sales
    routing_rule.max_open_per_member = 2
    routing_rule.save()
    open_conversation(org, assigned_to=omar.user)
    open_conversation(org, assigned_to=omar.user, status=Conversation.Status.PENDING)
    open_conversation(org, assigned_to=lina.user)
    open_conversation(org, assigned_to=lina.user, status=Conversation.Status.CLOSED)
    open_conversation(org, assigned_to=sami.user)
    open_conversation(org, assigned_to=sami.user)

    assert route(open_conversation(org)).user_id == lina.user_id  # Omar and Sami have 2 open, Lina 1


def test_when_everyone_is_at_the_cap_the_conversation_waits_in_the_team_s_queue(org, sales):
    routing_rule, members = sales
    routing_rule.max_open_per_member = 1
    routing_rule.save()
    for member in members:
        open_conversation(org, assigned_to=member.user)
    conversation = open_conversation(org)

    result = route(conversation)

    assert (result.outcome, result.rule_id) == ("queued", routing_rule.pk)
    conversation.refresh_from_db()
    assert (conversation.assigned_to_id, conversation.team_id) == (None, routing_rule.team_id)
    assert AuditLog.objects.get(action="conversation.assign").data == {
        "team": [None, routing_rule.team_id],
        "lead_routing_rule": routing_rule.pk,
    }


def test_away_members_are_skipped_until_they_come_back(org, sales):
    _, (omar, lina, sami) = sales
    membership_availability_set(membership=lina, is_away=True)
    lina.refresh_from_db()
    assert lina.is_away and lina.away_since is not None

    assert [route(open_conversation(org)).user_id for _ in range(3)] == [omar.user_id, sami.user_id, omar.user_id]
    membership_availability_set(membership=lina, is_away=False)
    lina.refresh_from_db()
    assert (lina.is_away, lina.away_since) == (False, None)
    assert route(open_conversation(org)).user_id == lina.user_id


def test_deactivated_members_disabled_users_marketers_and_those_blind_to_the_number_are_skipped(org):
    deactivated, disabled, marketer, blind, able = agents(org, "Dee", "Dis", "Mark", "Blind", "Able")
    deactivated.is_active = False
    deactivated.save()
    disabled.user.is_active = False
    disabled.user.save()
    marketer.role = Role.MARKETING
    marketer.save()
    number = open_conversation(org).number
    number_services.number_assign(number=number, actor=None, user_id=able.user_id, team_id=None)
    rule(org, team_=team(org, deactivated, disabled, marketer, blind, able))

    assert route(open_conversation(org, number=number)).user_id == able.user_id


def test_an_admin_of_the_team_sees_every_number_and_takes_leads(org):
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    number = open_conversation(org).number
    number_services.number_assign(number=number, actor=None, user_id=None, team_id=team(org).pk)
    rule(org, team_=team(org, admin))

    assert route(open_conversation(org, number=number)).user_id == admin.user_id


# --- the team's queue -------------------------------------------------------------------------------------------


def test_the_queue_is_dealt_oldest_first_when_a_member_comes_back(org, django_capture_on_commit_callbacks):
    (omar,) = agents(org, "Omar")
    rule(org, team_=team(org, omar), max_open_per_member=1)
    membership_availability_set(membership=omar, is_away=True)
    first, second = open_conversation(org), open_conversation(org)
    assert [route(c).outcome for c in (first, second)] == ["queued", "queued"]

    with django_capture_on_commit_callbacks(execute=True):
        membership_availability_set(membership=omar, is_away=False)

    assert (assignee(first), assignee(second)) == (omar.user_id, None)  # the cap: one open conversation


def test_closing_a_conversation_deals_the_next_one_of_the_queue(org, django_capture_on_commit_callbacks):
    (omar,) = agents(org, "Omar")
    rule(org, team_=team(org, omar), max_open_per_member=1)
    held = open_conversation(org)
    waiting = open_conversation(org)
    assert [route(c).outcome for c in (held, waiting)] == ["assigned", "queued"]

    with django_capture_on_commit_callbacks(execute=True):
        conversation_update(conversation=held, actor=omar.user, role=Role.AGENT, status=Conversation.Status.CLOSED)

    assert assignee(waiting) == omar.user_id


def test_the_backlog_stops_when_nobody_is_available_and_leaves_other_teams_alone(org, sales):
    routing_rule, members = sales
    routing_rule.max_open_per_member = 1
    routing_rule.save()
    queued = [open_conversation(org, team=routing_rule.team) for _ in range(4)]
    not_ours = open_conversation(org, team=team(org, name="Support"))

    assert lead_routing_backlog_route(organization_id=org.pk) == 3
    assert [assignee(c) for c in queued] == [m.user_id for m in members] + [None]
    assert assignee(not_ours) is None


# --- through the webhook: audited and pushed live -------------------------------------------------------------------


@pytest.fixture
def published(monkeypatch):
    pushes: list[tuple[str, dict]] = []
    monkeypatch.setattr(realtime, "publish", lambda org_id, events: pushes.extend((e, data) for e, data, _ in events))
    return pushes


def test_a_customer_s_first_message_is_assigned_audited_and_pushed_live(client, org, sales, published):
    routing_rule, (omar, _, _) = sales
    cloud_numbers(org)

    assert post_meta(client, org.pk, meta_payload("text")).status_code == 200

    conversation = Conversation.objects.get()
    assert (conversation.assigned_to_id, conversation.team_id) == (omar.user_id, routing_rule.team_id)
    log = AuditLog.objects.get(action="conversation.assign")
    assert (log.actor_id, log.api_key_id, log.target_id, log.data) == (
        None,
        None,
        str(conversation.pk),
        {
            "assigned_to": [None, omar.user_id],
            "team": [None, routing_rule.team_id],
            "lead_routing_rule": routing_rule.pk,
        },
    )
    updates = [data["conversations"][0] for event, data in published if event == "conversation.updated"]
    assert (updates[-1]["id"], updates[-1]["assigned_to"], updates[-1]["team"]) == (
        conversation.pk,
        omar.user_id,
        routing_rule.team_id,
    )


# --- concurrency (PostgreSQL) -------------------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_conversations_arriving_at_once_never_push_a_member_over_the_cap(org):
    """One conversation is dealt in another connection's open transaction (it holds the rule's lock and gave Omar
    his last free place); this one waits on the lock, then sees Omar full and goes to Lina."""
    omar, lina = agents(org, "Omar", "Lina")
    routing_rule = rule(org, team_=team(org, omar, lina), max_open_per_member=1)
    open_conversation(org, assigned_to=lina.user)  # Lina is full too, for now
    first, second = open_conversation(org), open_conversation(org)
    results = []

    with committed_meanwhile(lambda: results.append(route(first))):
        results.append(route(second))

    assert [(r.outcome, r.user_id) for r in results] == [("assigned", omar.user_id), ("queued", None)]
    assert (assignee(first), assignee(second)) == (omar.user_id, None)
    routing_rule.refresh_from_db()
    assert routing_rule.last_assigned_id == omar.user_id


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_rules_sharing_a_member_never_push_them_over_the_cap(org):
    """Two numbers with rules of their own, one team: the member's row is locked while their place is counted."""
    (omar,) = agents(org, "Omar")
    sales_team = team(org, omar)
    first, second = open_conversation(org), open_conversation(org)
    rule(org, team_=sales_team, number=first.number, max_open_per_member=1)
    rule(org, team_=sales_team, number=second.number, max_open_per_member=1)
    results = []

    with committed_meanwhile(lambda: results.append(route(first))):
        results.append(route(second))

    assert [r.outcome for r in results] == ["assigned", "queued"]
    assert Conversation.objects.filter(assigned_to=omar.user).count() == 1
