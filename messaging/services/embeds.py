"""Inbox embeds: the inbox limited to some numbers and/or teams, shown in an iframe of another site (a CRM, a
helpdesk) at /embed/<token>/. Create, revoke, delete (admins), the signed token, and the one write an embed may do:
reply (in reply mode).

The token is a Django signature (SECRET_KEY, its own salt) of the embed's id and random key: it cannot be forged,
and it names the row every request re-reads (selectors.embeds.embed_from_token), so a revoked or expired embed ends
its open pages at their next request and its live sockets at once. Only the origins listed may frame it (the
page's frame-ancestors)."""

import secrets
from datetime import datetime

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Organization, Team
from accounts.services import audit_log_write, http_origin
from messaging.models import Conversation, InboxEmbed, Message, WhatsAppNumber
from messaging.services.conversations import message_send
from messaging.services.events import embed_sockets_close_on_commit
from whatsapp_hub.errors import ServiceError

TOKEN_SALT = "messaging.embed"
NAME_MAX_LENGTH = InboxEmbed._meta.get_field("name").max_length
ORIGINS_MAX = 10


def _refuse(field: str, message: str) -> ServiceError:
    return ServiceError(message, errors={field: [message]})


def embed_token(embed: InboxEmbed) -> str:
    """The signed token of the embed's URL (/embed/<token>/)."""
    # A plain signature (no timestamp): the URL stays the same; expiry is the row's, checked on each request.
    return signing.Signer(salt=TOKEN_SALT).sign_object({"e": embed.pk, "k": embed.key})


def token_payload(token: str) -> tuple[int, str] | None:
    """(embed id, key) of a token this hub signed, else None."""
    try:
        data = signing.Signer(salt=TOKEN_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), int) or not isinstance(data.get("k"), str):
        return None
    return data["e"], data["k"]


def _origins_or_error(origins: list[str]) -> list[str]:
    """Each an http(s) origin (scheme://host[:port], no path), at least one, at most ORIGINS_MAX, without repeats."""
    cleaned: list[str] = []
    for origin in origins:
        origin = origin.strip().rstrip("/")
        if not origin:
            continue
        if http_origin(origin) != origin:
            raise _refuse(
                "allowed_origins",
                gettext("%(origin)s is not an origin: write scheme://host[:port], e.g. https://crm.example.com.")
                % {"origin": origin[:100]},
            )
        if origin.lower() not in (known.lower() for known in cleaned):
            cleaned.append(origin)
    if not cleaned:
        raise _refuse("allowed_origins", gettext("Name the site (origin) that will show the embed."))
    if len(cleaned) > ORIGINS_MAX:
        raise _refuse("allowed_origins", gettext("At most %(max)d origins.") % {"max": ORIGINS_MAX})
    return cleaned


def _rows_or_error(queryset, ids: list[int], field: str, message: str) -> list:
    rows = list(queryset.filter(pk__in=set(ids)))
    if len(rows) != len(set(ids)):
        raise _refuse(field, message)
    return rows


@transaction.atomic
def embed_create(
    *,
    organization: Organization,
    actor,
    name: str,
    mode: str,
    allowed_origins: list[str],
    number_ids: list[int] = (),
    team_ids: list[int] = (),
    expires_at: datetime | None = None,
) -> InboxEmbed:
    """A new embed (audited as inbox_embed.create). Its scope is the conversations of `number_ids` (numbers of the
    organization, not deleted) and those of `team_ids` (the conversation's team, or its number's); one of them at
    least. 400s name the field at fault."""
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise _refuse("name", gettext("Give the embed a name of 1 to %(max)d characters.") % {"max": NAME_MAX_LENGTH})
    if mode not in InboxEmbed.Mode.values:
        raise _refuse("mode", gettext("An embed is read only or may reply."))
    numbers = _rows_or_error(
        WhatsAppNumber.objects.for_org(organization).live(),
        list(number_ids),
        "number_ids",
        gettext("No such WhatsApp number in this organization."),
    )
    teams = _rows_or_error(
        Team.objects.for_org(organization), list(team_ids), "team_ids", gettext("No such team in this organization.")
    )
    if not numbers and not teams:
        raise _refuse("number_ids", gettext("Choose the numbers or teams whose conversations the embed shows."))
    if expires_at is not None and expires_at <= timezone.now():
        raise _refuse("expires_at", gettext("The expiry must be in the future."))
    embed = InboxEmbed.objects.create(
        organization=organization,
        name=name,
        mode=mode,
        allowed_origins=_origins_or_error(allowed_origins),
        expires_at=expires_at,
        key=secrets.token_hex(16),
        created_by=actor if getattr(actor, "is_authenticated", False) and not hasattr(actor, "api_key") else None,
    )
    embed.numbers.set(numbers)
    embed.teams.set(teams)
    audit_log_write(organization=organization, actor=actor, action="inbox_embed.create", target=embed)
    return embed


@transaction.atomic
def embed_revoke(*, embed: InboxEmbed, actor) -> InboxEmbed:
    """End the embed: its URL and every page already open answer 404 from their next request, and its live sockets
    close after the commit. Idempotent (audited once, as inbox_embed.revoke)."""
    revoked = InboxEmbed.objects.filter(pk=embed.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        audit_log_write(organization=embed.organization, actor=actor, action="inbox_embed.revoke", target=embed)
        embed_sockets_close_on_commit(embed_id=embed.pk)
    embed.refresh_from_db(fields=["revoked_at"])
    return embed


@transaction.atomic
def embed_delete(*, embed: InboxEmbed, actor) -> None:
    audit_log_write(
        organization=embed.organization,
        actor=actor,
        action="inbox_embed.delete",
        target=embed,
        data={"name": embed.name},
    )
    embed_sockets_close_on_commit(embed_id=embed.pk)
    embed.delete()


def embed_reply(*, embed: InboxEmbed, conversation: Conversation, text: str) -> Message:
    """A text reply from the embed (reply mode only: a 403 otherwise), sent as messaging's message_send sends, with
    the embed's name as the sender's label. `conversation` must come from the embed's scope
    (selectors.embeds.embed_conversation_list)."""
    if embed.mode != InboxEmbed.Mode.REPLY:
        raise ServiceError(
            gettext("This embed is read only: it cannot send."), status_code=403, code="permission_denied"
        )
    if not text.strip():
        raise _refuse("text", gettext("Write a message."))
    return message_send(
        conversation=conversation, sent_by=None, content={"type": "text", "text": text}, sender_label=embed.name
    )
