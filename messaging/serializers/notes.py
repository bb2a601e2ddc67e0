"""API shapes of internal notes (messaging.services.notes)."""

from rest_framework import serializers

from messaging.models import ConversationNote
from messaging.services.notes import MAX_MENTIONS, NOTE_MAX_LENGTH
from whatsapp_hub.serializers import StrictSerializer, id_field


def note_data(note: ConversationNote) -> dict:
    """A note as the API and the live inbox show it (its author loaded)."""
    author = note.author
    return {
        "id": note.pk,
        "conversation_id": note.conversation_id,
        "author_id": note.author_id,
        "author_name": (author.name or author.email) if author is not None else "",
        "text": note.text,
        "mentions": list(note.mentions or []),
        "created_at": note.created_at.isoformat(),
    }


class NoteSerializer(serializers.Serializer):
    """An internal note: seen by the team only, never sent to the customer."""

    id = serializers.IntegerField(read_only=True)
    conversation_id = serializers.IntegerField(read_only=True)
    author_id = serializers.IntegerField(read_only=True, allow_null=True)
    author_name = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    mentions = serializers.ListField(child=serializers.IntegerField(), read_only=True, help_text="Mentioned user ids")
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, note: ConversationNote) -> dict:
        return note_data(note)


class NoteCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=NOTE_MAX_LENGTH, trim_whitespace=True)
    mentions = serializers.ListField(
        child=id_field(),
        required=False,
        max_length=MAX_MENTIONS,
        help_text="User ids of members who see the conversation (GET conversations/{id}/members lists them)",
    )


class ConversationMemberSerializer(serializers.Serializer):
    """A member who sees the conversation: who may be mentioned in its notes."""

    id = serializers.IntegerField(source="user_id")
    name = serializers.CharField(source="user.name")
    email = serializers.EmailField(source="user.email")
