"""Lead-routing writes: the rules (admins), a member's away state, and the dealing of conversations (called by the
messaging hooks crm subscribes to in CrmConfig.ready()). Keyword-only arguments, one transaction each.

Concurrency: dealing a conversation locks its rule's row first, then the conversation, then the candidates'
memberships (in id order), and counts their open conversations under those locks. Two conversations arriving at
once on one rule are dealt one after the other, and two rules sharing a member wait on that member's row: nobody
goes past the cap.
"""

import logging
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from accounts import services as account_services
from accounts.models import Membership, Organization, Role, Team, TeamMember
from crm.routing.models import OPEN_STATUSES, LeadRoutingRule
from messaging.models import Conversation, WhatsAppNumber
from messaging.selectors.access import visible_number_ids
from messaging.services.conversations import INBOX_ROLES, UNCHANGED, conversation_update
from whatsapp_hub.aftercommit import run_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

# Conversations of a team's queue dealt per trigger (a member back from away, a conversation closed).
BACKLOG_BATCH = 100
RULE_FIELDS = ("number", "team", "enabled", "max_open_per_member")


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, errors={field: [message]})


# --- Rules ------------------------------------------------------------------------------------------------------


def _rule_check(*, organization: Organization, rule_id: int | None, fields: dict) -> None:
    number, team, cap = fields.get("number"), fields.get("team"), fields.get("max_open_per_member")
    if number is not None and (number.organization_id != organization.pk or number.deleted_at is not None):
        raise _invalid("number_id", gettext("No such WhatsApp number in this organization."))
    if team is not None and team.organization_id != organization.pk:
        raise _invalid("team_id", gettext("No such team in this organization."))
    if cap is not None and cap < 1:
        raise _invalid("max_open_per_member", gettext("The cap is at least 1 open conversation (empty: no cap)."))
    if "number" in fields:
        taken = LeadRoutingRule.objects.for_org(organization).filter(number=number).exclude(pk=rule_id)
        if taken.exists():
            raise _rule_taken(number)


def _rule_taken(number: WhatsAppNumber | None) -> ServiceError:
    if number is None:
        return _invalid("number_id", gettext("There is already a rule for every number; edit that one."))
    return _invalid("number_id", gettext("This number already has a rule; edit that one."))


def _rule_save(rule: LeadRoutingRule) -> None:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:  # the same number's rule created meanwhile (the unique constraints)
        raise _rule_taken(rule.number) from None


@transaction.atomic
def lead_routing_rule_create(
    *,
    organization: Organization,
    actor,
    team: Team,
    number: WhatsAppNumber | None = None,
    enabled: bool = True,
    max_open_per_member: int | None = None,
) -> LeadRoutingRule:
    """A rule for `number` (None: every number without a rule of its own). 400 when the number or team is not the
    organization's, the number already has a rule, or the cap is under 1."""
    fields = {"number": number, "team": team, "enabled": enabled, "max_open_per_member": max_open_per_member}
    _rule_check(organization=organization, rule_id=None, fields=fields)
    rule = LeadRoutingRule(organization=organization, **fields)
    _rule_save(rule)
    account_services.audit_log_write(
        organization=organization, actor=actor, action="lead_routing.create", target=rule, data=_audit_of(rule)
    )
    return rule


@transaction.atomic
def lead_routing_rule_update(*, rule: LeadRoutingRule, actor, **fields) -> LeadRoutingRule:
    """Change the fields given (number, team, enabled, max_open_per_member); checked as on create. A new team
    restarts the round-robin."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"unknown rule fields: {sorted(unknown)}")
    if "team" in fields and fields["team"] is None:
        raise _invalid("team_id", gettext("Choose the team whose members take the conversations."))
    _rule_check(organization=rule.organization, rule_id=rule.pk, fields=fields)
    if "team" in fields and fields["team"].pk != rule.team_id:
        rule.last_assigned = None
    for name, value in fields.items():
        setattr(rule, name, value)
    _rule_save(rule)
    account_services.audit_log_write(
        organization=rule.organization, actor=actor, action="lead_routing.update", target=rule, data=_audit_of(rule)
    )
    return rule


@transaction.atomic
def lead_routing_rule_delete(*, rule: LeadRoutingRule, actor) -> None:
    account_services.audit_log_write(
        organization=rule.organization, actor=actor, action="lead_routing.delete", target=rule, data=_audit_of(rule)
    )
    rule.delete()


def _audit_of(rule: LeadRoutingRule) -> dict:
    return {
        "number": rule.number_id,
        "team": rule.team_id,
        "enabled": rule.enabled,
        "max_open_per_member": rule.max_open_per_member,
    }


# --- Away -------------------------------------------------------------------------------------------------------


@transaction.atomic
def membership_availability_set(*, membership: Membership, is_away: bool) -> Membership:
    """The member marks themselves away (routing gives them nothing new) or available again (their teams' queues
    are dealt after commit, them included). Idempotent: `away_since` keeps the first time."""
    locked = Membership.objects.for_org(membership.organization).select_for_update().get(pk=membership.pk)
    if locked.is_away != is_away:
        locked.is_away = is_away
        locked.away_since = timezone.now() if is_away else None
        locked.save(update_fields=["is_away", "away_since"])
        if not is_away:
            run_after_commit(
                partial(lead_routing_backlog_route, organization_id=locked.organization_id), what="lead routing backlog"
            )
    return locked


# --- Dealing ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingResult:
    """What dealing one conversation did: "assigned" (to `user_id`), "queued" (nobody available: the conversation
    went to the rule's team, unassigned) or "skipped" (no rule applies, or someone holds it already)."""

    outcome: str
    rule_id: int | None = None
    user_id: int | None = None


SKIPPED = RoutingResult("skipped")


def _rule_for_number(*, organization_id: int, number_id: int) -> LeadRoutingRule | None:
    """The enabled rule of the number, else the enabled rule of every number; locked (select_for_update)."""
    rules = LeadRoutingRule.objects.filter(organization_id=organization_id, enabled=True).filter(
        Q(number_id=number_id) | Q(number__isnull=True)
    )
    for rule in sorted(rules.only("pk", "number_id"), key=lambda r: r.number_id is None):
        locked = LeadRoutingRule.objects.select_for_update().filter(pk=rule.pk, enabled=True).first()
        if locked is not None:
            return locked
    return None


def _sees_number(membership: Membership, number: WhatsAppNumber) -> bool:
    if number.assigned_user_id is None and number.assigned_team_id is None:
        return True  # an unassigned number: everyone sees it
    visible = visible_number_ids(org=membership.organization, user_id=membership.user_id, role=membership.role)
    return visible is None or number.pk in visible


def _round_robin(user_ids: list[int], after: int | None) -> list[int]:
    """The ids in order, starting with the first after `after` (the cursor), wrapping around."""
    ordered = sorted(user_ids)
    if after is None:
        return ordered
    later = [pk for pk in ordered if pk > after]
    return later + [pk for pk in ordered if pk <= after]


def _next_member(*, rule: LeadRoutingRule, number: WhatsAppNumber) -> int | None:
    """The user id of the next available member of the rule's team, or None. Locks the candidates' memberships (in
    id order: two rules sharing members never deadlock) and counts their open conversations under those locks.
    Must be called inside a transaction holding the rule's lock."""
    team_users = TeamMember.objects.filter(organization_id=rule.organization_id, team_id=rule.team_id).values("user_id")
    memberships = {
        m.user_id: m
        for m in Membership.objects.filter(
            organization_id=rule.organization_id,
            user_id__in=team_users,
            is_active=True,
            is_away=False,
            role__in=INBOX_ROLES,
            user__is_active=True,
        )
        .select_related("organization")
        .select_for_update(of=("self",))
        .order_by("pk")
    }
    candidates = _round_robin(list(memberships), rule.last_assigned_id)
    if rule.max_open_per_member is not None and candidates:
        open_counts = dict(
            Conversation.objects.filter(
                organization_id=rule.organization_id, assigned_to_id__in=candidates, status__in=OPEN_STATUSES
            )
            .values_list("assigned_to_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        candidates = [pk for pk in candidates if open_counts.get(pk, 0) < rule.max_open_per_member]
    return next((pk for pk in candidates if _sees_number(memberships[pk], number)), None)


def conversation_route(*, organization_id: int, conversation_id: int) -> RoutingResult:
    """Deal one conversation by its number's rule: to the next available member of the rule's team (the rule's
    cursor moves to them), else to the team alone (its queue). Only a conversation nobody holds, not closed, that
    the customer wrote in (a lead: not one the business started with a broadcast or a first template), and in no
    other team. The assignment goes through messaging's conversation_update: audited (`conversation.assign`, with
    the rule), pushed live, the hooks told. One transaction; never raises for a conversation it cannot deal."""
    try:
        with transaction.atomic():
            return _route(organization_id=organization_id, conversation_id=conversation_id)
    except ServiceError as refused:  # e.g. the member was deactivated between the check and the assignment
        logger.warning("lead routing: conversation %s not dealt: %s", conversation_id, refused.detail)
        return SKIPPED


def _route(*, organization_id: int, conversation_id: int) -> RoutingResult:
    number_id = (
        Conversation.objects.filter(organization_id=organization_id, pk=conversation_id)
        .values_list("number_id", flat=True)
        .first()
    )
    if number_id is None:
        return SKIPPED
    rule = _rule_for_number(organization_id=organization_id, number_id=number_id)
    if rule is None:
        return SKIPPED
    conversation = (
        Conversation.objects.filter(organization_id=organization_id, pk=conversation_id)
        .select_related("organization", "number")
        .select_for_update(of=("self",))
        .first()
    )
    if (
        conversation is None
        or conversation.assigned_to_id is not None
        or conversation.status not in OPEN_STATUSES
        or conversation.last_inbound_at is None
        or conversation.team_id not in (None, rule.team_id)
    ):
        return SKIPPED
    user_id = _next_member(rule=rule, number=conversation.number)
    conversation_update(
        conversation=conversation,
        actor=None,
        role=Role.ADMIN,
        assigned_to_id=UNCHANGED if user_id is None else user_id,
        team_id=rule.team_id,
        audit_data={"lead_routing_rule": rule.pk},
    )
    if user_id is None:
        return RoutingResult("queued", rule_id=rule.pk)
    rule.last_assigned_id = user_id
    rule.save(update_fields=["last_assigned", "updated_at"])
    return RoutingResult("assigned", rule_id=rule.pk, user_id=user_id)


def lead_routing_backlog_route(*, organization_id: int, limit: int = BACKLOG_BATCH) -> int:
    """Deal the teams' queues (conversations routing left to a rule's team, unassigned, oldest first, up to
    `limit`), until nobody is available. Returns how many were assigned. Safe to run twice: a dealt conversation is
    no longer in the queue."""
    rules = list(LeadRoutingRule.objects.filter(organization_id=organization_id, enabled=True))
    team_ids = {rule.team_id for rule in rules}
    if not team_ids:
        return 0
    queue = (
        Conversation.objects.filter(
            organization_id=organization_id,
            assigned_to__isnull=True,
            team_id__in=team_ids,
            status__in=OPEN_STATUSES,
            last_inbound_at__isnull=False,
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    assigned, full_rules = 0, set()
    for conversation_id in list(queue):
        result = conversation_route(organization_id=organization_id, conversation_id=conversation_id)
        if result.outcome == "assigned":
            assigned += 1
        elif result.outcome == "queued":
            full_rules.add(result.rule_id)
            if len(full_rules) == len(rules):
                break
    return assigned


# --- Hook subscribers (messaging/hooks.py, connected in CrmConfig.ready()) ----------------------------------------


def _routes(organization_id: int) -> bool:
    return LeadRoutingRule.objects.filter(organization_id=organization_id, enabled=True).exists()


def on_conversation_created(*, organization_id: int, conversation_ids: list[int], **_) -> None:
    """New conversations: each dealt by its number's rule (one query when the organization routes nothing)."""
    if not _routes(organization_id):
        return
    for conversation_id in sorted(conversation_ids):
        conversation_route(organization_id=organization_id, conversation_id=conversation_id)


def on_conversation_updated(*, organization_id: int, conversation_ids: list[int], fields: list[str], **_) -> None:
    """A conversation was closed: its assignee has room for one more, so the queues are dealt."""
    if "status" not in fields or not _routes(organization_id):
        return
    closed = Conversation.objects.filter(
        organization_id=organization_id, pk__in=conversation_ids, status=Conversation.Status.CLOSED
    )
    if closed.exists():
        lead_routing_backlog_route(organization_id=organization_id)
