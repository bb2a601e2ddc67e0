"""API shapes of inbox embeds."""

from django.urls import reverse
from rest_framework import serializers

from messaging.models import InboxEmbed
from messaging.services.embeds import NAME_MAX_LENGTH, ORIGINS_MAX, embed_token
from whatsapp_hub.serializers import StrictSerializer, id_field


class InboxEmbedSerializer(serializers.ModelSerializer):
    """An embed. `url`: the address to put in the other site's iframe (it carries the signed token: keep it as
    secret as a password); `active`: neither revoked nor expired."""

    number_ids = serializers.SerializerMethodField()
    team_ids = serializers.SerializerMethodField()
    active = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = InboxEmbed
        fields = [
            "id",
            "name",
            "mode",
            "number_ids",
            "team_ids",
            "allowed_origins",
            "expires_at",
            "revoked_at",
            "active",
            "url",
            "created_at",
        ]
        read_only_fields = fields

    def get_number_ids(self, embed: InboxEmbed) -> list[int]:
        return sorted(number.pk for number in embed.numbers.all())

    def get_team_ids(self, embed: InboxEmbed) -> list[int]:
        return sorted(team.pk for team in embed.teams.all())

    def get_active(self, embed: InboxEmbed) -> bool:
        return embed.is_active(self.context["now"])

    def get_url(self, embed: InboxEmbed) -> str:
        path = reverse("embed", kwargs={"token": embed_token(embed)})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class InboxEmbedInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    mode = serializers.ChoiceField(
        choices=InboxEmbed.Mode.values, help_text="read_only: no composer, every write refused"
    )
    number_ids = serializers.ListField(child=id_field(), required=False, max_length=100, default=list)
    team_ids = serializers.ListField(child=id_field(), required=False, max_length=100, default=list)
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300),
        max_length=ORIGINS_MAX,
        help_text="The origins (scheme://host[:port]) that may frame it: its frame-ancestors",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


# What an embed's live socket forwards of the inbox's events (messaging.consumers.EmbedConsumer): what the embed page
# shows, nothing of the organization's people (who sent, who is assigned) or of the provider.
EMBED_EVENT_FIELDS = {
    "messages": (
        "id",
        "conversation_id",
        "direction",
        "type",
        "text",
        "status",
        "timestamp",
        "sender_label",
        "created_at",
    ),
    "conversations": ("id", "contact", "number_id", "status", "unread_count", "last_message", "last_message_at"),
}


def embed_item_data(kind: str, item: dict) -> dict:
    """A message or conversation of an inbox event (`kind`: "messages" or "conversations"), as an embed sees it."""
    return {field: item.get(field) for field in EMBED_EVENT_FIELDS[kind]}
