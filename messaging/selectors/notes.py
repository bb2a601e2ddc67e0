"""Reads of internal notes and of who may be mentioned in them (messaging.services.notes)."""

from django.db.models import Q, QuerySet

from accounts.models import Membership, Organization, Role, TeamMember
from messaging.models import Conversation, ConversationNote

NOTE_ROLES = (Role.ADMIN, Role.AGENT)


def conversation_notes(*, org: Organization, conversation: Conversation) -> QuerySet:
    """The conversation's notes, newest first, with their authors."""
    return (
        ConversationNote.objects.for_org(org).filter(conversation=conversation).select_related("author").order_by("-id")
    )


def conversation_members(*, org: Organization, conversation: Conversation) -> QuerySet:
    """The active members who see this conversation (messaging.selectors.access): the inbox's roles (admins and
    agents); an agent only when the conversation's number is unassigned, or assigned to them or to one of their
    teams. Memberships with their users, by name."""
    members = Membership.objects.for_org(org).filter(is_active=True, user__is_active=True, role__in=NOTE_ROLES)
    number = conversation.number
    if number.assigned_user_id is not None or number.assigned_team_id is not None:
        sees = Q(role=Role.ADMIN)
        if number.assigned_user_id is not None:
            sees |= Q(user_id=number.assigned_user_id)
        if number.assigned_team_id is not None:
            team = TeamMember.objects.for_org(org).filter(team_id=number.assigned_team_id).values("user_id")
            sees |= Q(user_id__in=team)
        members = members.filter(sees)
    return members.select_related("user").order_by("user__name", "user__email")
