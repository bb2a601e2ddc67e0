"""Read paths of inbox embeds: the organization's embeds, the embed a token names (if still active), and the
conversations and messages in its scope."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from messaging.models import Conversation, InboxEmbed
from messaging.selectors.conversations import conversation_list
from messaging.services.embeds import token_payload


def embed_list(*, org: Organization) -> QuerySet[InboxEmbed]:
    return InboxEmbed.objects.for_org(org).prefetch_related("numbers", "teams").select_related("created_by")


def embed_from_token(token: str) -> InboxEmbed | None:
    """The embed a signed token names, when it is neither revoked nor expired (and its key matches): else None.
    Called on every request of an embed, so revocation takes effect at once."""
    payload = token_payload(token)
    if payload is None:
        return None
    embed_id, key = payload
    embed = InboxEmbed.objects.select_related("organization").filter(pk=embed_id, key=key).first()
    if embed is None or not embed.is_active(timezone.now()) or not embed.organization.is_active:
        return None
    return embed


def embed_conversation_list(*, embed: InboxEmbed, status: str | None = None) -> QuerySet[Conversation]:
    """The conversations the embed shows: of its numbers, or of its teams (the conversation's team or its number's),
    newest activity first."""
    numbers = embed.numbers.values("pk")
    teams = embed.teams.values("pk")
    scope = Q(number_id__in=numbers) | Q(team_id__in=teams) | Q(number__assigned_team_id__in=teams)
    return conversation_list(org=embed.organization, status=status).filter(scope).order_by("-last_message_at", "-id")
