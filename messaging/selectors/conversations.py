"""Read paths of the inbox: conversations (filtered), their messages, message search, media."""

from collections.abc import Iterable

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import QuerySet

from accounts.models import Organization
from messaging.models import Contact, Conversation, Media, Message
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
) -> QuerySet[Conversation]:
    """The organization's conversations with their contact and number joined (one query for a page).

    `assigned_to`: "me" (the user `user_id`), "none" (unassigned) or a user id. `search` matches the contact's
    name, profile name, phone, wa_id digits or tag. Order and cursor are the paginator's: newest activity first
    on (last_message_at, id), served by the index (organization, -last_message_at, -id).
    """
    conversations = (
        Conversation.objects.for_org(org).select_related("contact", "number").defer(*(f"number__{f}" for f in SECRETS))
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


def message_search(*, org: Organization, query: str) -> QuerySet[Message]:
    """Messages of the organization whose text matches `query`, with conversation, contact and media joined.

    PostgreSQL: full-text search in the `simple` configuration with web-search syntax ("a phrase", -word, or);
    the expression is the one the GIN index `messaging_msg_text_fts` (migration 0002) is built on, so the index
    serves it. Elsewhere (SQLite): case-insensitive containment of the whole query.
    """
    messages = Message.objects.for_org(org).select_related("conversation__contact", "media")
    if connection.vendor == "postgresql":
        vector = SearchVector("text", config="simple")
        return messages.annotate(search=vector).filter(
            search=SearchQuery(query, config="simple", search_type="websearch")
        )
    return messages.filter(text__icontains=query)


def media_list(*, org: Organization) -> QuerySet[Media]:
    return Media.objects.for_org(org)
