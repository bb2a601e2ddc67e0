"""Read paths of inbox embeds: the organization's embeds, the embed a token names (if still active), and the
conversations and messages in its scope."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from messaging.models import Conversation, InboxEmbed, WhatsAppNumber
from messaging.selectors.conversations import conversation_list
from messaging.services.embeds import token_payload
from whatsapp_hub.errors import ServiceError


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


def embed_from_token_or_error(token: str) -> InboxEmbed:
    """embed_from_token for the embed's live socket: ServiceError 401 for a token this hub did not sign, 403 for an
    embed revoked, expired or of a suspended organization."""
    if token_payload(token) is None:
        raise ServiceError("This embed address is not valid.", status_code=401, code="invalid_embed")
    embed = embed_from_token(token)
    if embed is None:
        raise ServiceError("This embed was revoked or has expired.", status_code=403, code="embed_ended")
    return embed


def embed_scope(*, embed: InboxEmbed) -> tuple[frozenset[int], frozenset[int]]:
    """(numbers, teams) of the embed's scope as embed_conversation_list reads it: a conversation of one of the
    numbers is in it (its own numbers and those assigned to its teams), and so is one whose team is one of the
    teams."""
    team_ids = frozenset(embed.teams.values_list("pk", flat=True))
    numbers = WhatsAppNumber.objects.for_org(embed.organization).filter(
        Q(pk__in=embed.numbers.values("pk")) | Q(assigned_team_id__in=team_ids)
    )
    return frozenset(numbers.values_list("pk", flat=True)), team_ids


def embed_team_conversation_ids(*, embed: InboxEmbed, team_ids: frozenset[int], conversation_ids) -> set[int]:
    """Which of these conversations of the embed's organization belong to one of `team_ids`."""
    conversations = Conversation.objects.for_org(embed.organization)
    return set(conversations.filter(pk__in=set(conversation_ids), team_id__in=team_ids).values_list("pk", flat=True))


def embed_conversation_list(*, embed: InboxEmbed, status: str | None = None) -> QuerySet[Conversation]:
    """The conversations the embed shows: of its numbers, or of its teams (the conversation's team or its number's),
    newest activity first."""
    numbers = embed.numbers.values("pk")
    teams = embed.teams.values("pk")
    scope = Q(number_id__in=numbers) | Q(team_id__in=teams) | Q(number__assigned_team_id__in=teams)
    return conversation_list(org=embed.organization, status=status).filter(scope).order_by("-last_message_at", "-id")
