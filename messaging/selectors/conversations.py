"""Read paths of the inbox: conversations (filtered), their messages, messages across conversations, message
search, media. Reads for a person take `number_ids`, the numbers they may see (selectors.access; None: all)."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from accounts.models import Organization
from messaging.models import Contact, Conversation, Media, Message
from messaging.selectors.access import NumberIds, on_visible_numbers, only_visible_numbers
from messaging.selectors.calls import day_start
from messaging.selectors.contacts import contacts_matching

# A row of the inbox needs its number's provider, never its credentials (nor the cost of decrypting them).
SECRETS = ("access_token", "app_secret", "verify_token", "waha_api_key", "waha_webhook_hmac_key")


def conversation_list(
    *,
    org: Organization,
    status: str | None = None,
    assigned_to: str | int | None = None,
    user_id: int | None = None,
    team_id: int | None = None,
    number_id: int | None = None,
    unread: bool | None = None,
    search: str | None = None,
    number_ids: NumberIds = None,
) -> QuerySet[Conversation]:
    """The organization's conversations on `number_ids`, with their contact and number joined (one query for a
    page).

    `assigned_to`: "me" (the user `user_id`), "none" (unassigned) or a user id. `search` matches the contact's
    name, profile name, phone, wa_id digits or tag. Order and cursor are the paginator's: newest activity first
    on (last_message_at, id), served by the index (organization, -last_message_at, -id).
    """
    conversations = only_visible_numbers(
        Conversation.objects.for_org(org).select_related("contact", "number").defer(*(f"number__{f}" for f in SECRETS)),
        number_ids,
    )
    if status:
        conversations = conversations.filter(status=status)
    if assigned_to == "none":
        conversations = conversations.filter(assigned_to__isnull=True)
    elif assigned_to == "me":
        conversations = conversations.filter(assigned_to_id=user_id)
    elif assigned_to is not None:
        conversations = conversations.filter(assigned_to_id=int(assigned_to))
    if team_id is not None:
        conversations = conversations.filter(team_id=team_id)
    if number_id is not None:
        conversations = conversations.filter(number_id=number_id)
    if unread is True:
        conversations = conversations.filter(unread_count__gt=0)
    elif unread is False:
        conversations = conversations.filter(unread_count=0)
    if search and search.strip():
        contacts = contacts_matching(Contact.objects.for_org(org), org=org, text=search)
        conversations = conversations.filter(contact__in=contacts.values("pk"))
    return conversations


def conversation_messages(*, org: Organization, conversation: Conversation) -> QuerySet[Message]:
    """A conversation's messages with their media (one query for a page); newest first by id (the paginator's)."""
    return Message.objects.for_org(org).filter(conversation=conversation).select_related("media")


def message_reply_ids(*, org: Organization, messages: Iterable[Message]) -> dict[str, int]:
    """Our ids of the messages these ones quote, by provider id (one query, none when nothing is quoted)."""
    quoted = {message.reply_to_provider_id for message in messages if message.reply_to_provider_id}
    if not quoted:
        return {}
    return dict(
        Message.objects.for_org(org).filter(provider_message_id__in=quoted).values_list("provider_message_id", "pk")
    )


def message_list(
    *,
    org: Organization,
    number_ids: NumberIds = None,
    contact_id: int | None = None,
    conversation_id: int | None = None,
    direction: str | None = None,
    number_id: int | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Message]:
    """The organization's messages on `number_ids` across conversations, with their contact and media joined (one
    query for a page), filtered by contact, conversation, direction, number and creation time (`created_after`
    inclusive, `created_before` exclusive). Paged newest first on (created_at, id), served by the index
    (organization, -created_at)."""
    messages = only_visible_numbers(
        Message.objects.for_org(org).select_related("conversation__contact", "media"),
        number_ids,
        field="conversation__number_id",
    )
    filters = {
        "conversation__contact_id": contact_id,
        "conversation_id": conversation_id,
        "direction": direction,
        "conversation__number_id": number_id,
        "created_at__gte": created_after,
        "created_at__lt": created_before,
    }
    return messages.filter(**{lookup: value for lookup, value in filters.items() if value is not None})


def message_search(*, org: Organization, query: str, number_ids: NumberIds = None) -> QuerySet[Message]:
    """Messages of the organization on `number_ids` whose text matches `query`, with conversation, contact and
    media joined.

    PostgreSQL: full-text search in the `simple` configuration with web-search syntax ("a phrase", -word, or);
    the expression is the one the GIN index `messaging_msg_text_fts` (migration 0002) is built on, so the index
    serves it. Elsewhere (SQLite): case-insensitive containment of the whole query.
    """
    messages = only_visible_numbers(
        Message.objects.for_org(org).select_related("conversation__contact", "media"),
        number_ids,
        field="conversation__number_id",
    )
    if connection.vendor == "postgresql":
        vector = SearchVector("text", config="simple")
        return messages.annotate(search=vector).filter(
            search=SearchQuery(query, config="simple", search_type="websearch")
        )
    return messages.filter(text__icontains=query)


def media_list(*, org: Organization, number_ids: NumberIds = None) -> QuerySet[Media]:
    """The organization's media: uploads not sent yet, and the files of messages on `number_ids`."""
    media = Media.objects.for_org(org)
    if number_ids is None:
        return media
    return media.filter(
        Q(message__isnull=True) | on_visible_numbers(number_ids, field="message__conversation__number_id")
    )


# --- the media library ----------------------------------------------------------------------------------------------

# What a file is shown as: the type of the message that carried it, else (an upload not sent yet) its MIME type's.
_KIND_OF_MIME = Case(
    When(mime_type="image/webp", then=Value(Message.Type.STICKER.value)),
    When(mime_type__startswith="image/", then=Value(Message.Type.IMAGE.value)),
    When(mime_type__startswith="video/", then=Value(Message.Type.VIDEO.value)),
    When(mime_type__startswith="audio/", then=Value(Message.Type.AUDIO.value)),
    default=Value(Message.Type.DOCUMENT.value),
)


def media_library(
    *,
    org: Organization,
    number_ids: NumberIds = None,
    kind: str | None = None,
    direction: str | None = None,
    number_id: int | None = None,
    conversation_id: int | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
) -> QuerySet[Media]:
    """The media library: `media_list` (the numbers the reader may see, and uploads) newest first, each annotated
    with its `kind` (image, video, audio, document, sticker) and `direction` (an upload not sent yet is outbound: it is
    ours), with its message's conversation and contact joined. `start_date`/`end_date`: days of the current time
    zone, both included. Served by the index (organization, -created_at, -id)."""
    media = (
        media_list(org=org, number_ids=number_ids)
        .select_related("message__conversation__contact")
        .annotate(
            kind=Coalesce(Case(When(message__type__in=Message.MEDIA_TYPES, then=F("message__type"))), _KIND_OF_MIME),
            direction=Coalesce(F("message__direction"), Value(Message.Direction.OUTBOUND.value)),
        )
    )
    if kind:
        media = media.filter(kind=kind)
    if direction == Message.Direction.INBOUND:
        media = media.filter(message__direction=Message.Direction.INBOUND)
    elif direction == Message.Direction.OUTBOUND:
        media = media.filter(Q(message__isnull=True) | Q(message__direction=Message.Direction.OUTBOUND))
    if number_id is not None:
        media = media.filter(message__conversation__number_id=number_id)
    if conversation_id is not None:
        media = media.filter(message__conversation_id=conversation_id)
    if start_date is not None:
        media = media.filter(created_at__gte=day_start(start_date))
    if end_date is not None:
        media = media.filter(created_at__lt=day_start(end_date) + timedelta(days=1))
    return media.order_by("-created_at", "-id")


def media_storage_usage(*, org: Organization) -> dict[str, int]:
    """The organization's stored files (every number's, whoever asks): how many and their bytes, summed in SQL."""
    usage = (
        Media.objects.for_org(org)
        .filter(status=Media.Status.READY)
        .exclude(file="")
        .aggregate(files=Count("id"), bytes=Coalesce(Sum("size"), 0))
    )
    return {"files": usage["files"], "bytes": usage["bytes"]}
