"""The API's shapes of conversations, messages and media are built by one function each (messaging/serializers/
conversations.py), for the API and the live pushes alike: each gives the keys its serializer declares for the schema,
in that order, and times read as DRF's DateTimeField writes them."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone
from rest_framework import serializers

from messaging.serializers.conversations import (
    ConversationSerializer,
    MediaSerializer,
    MessageSearchResultSerializer,
    MessageSerializer,
    datetime_data,
)
from tests.messaging.factories import ConversationFactory, MediaFactory, MessageFactory


@pytest.mark.django_db
def test_each_shape_has_the_keys_its_serializer_declares_in_order(org):
    conversation = ConversationFactory(organization=org, last_message_direction="inbound")
    image = MessageFactory(organization=org, conversation=conversation, type="image", reply_to_provider_id="w")
    media = MediaFactory(organization=org, message=image)
    location = MessageFactory(
        organization=org, conversation=conversation, type="location", payload={"location": {"name": "Here"}}
    )

    conversation_data = ConversationSerializer(conversation).data
    message_data = MessageSerializer(image, context={"reply_ids": {"w": location.pk}}).data

    assert list(conversation_data) == ConversationSerializer.Meta.fields
    assert list(conversation_data["contact"]) == ["id", "name", "phone", "wa_id"]
    assert list(conversation_data["last_message"]) == ["text", "direction", "type"]
    assert list(message_data) == MessageSerializer.Meta.fields
    assert message_data["reply_to"] == {"id": location.pk, "provider_message_id": "w"}
    assert list(message_data["media"]) == MediaSerializer.Meta.fields
    assert message_data["media"]["url"] == f"/api/v1/media/{media.pk}/content"
    # The field named after the type follows the message's own fields.
    search_fields = MessageSearchResultSerializer.Meta.fields
    assert list(MessageSerializer(location).data) == [*MessageSerializer.Meta.fields, "location"]
    assert list(MessageSearchResultSerializer(location).data) == [*search_fields[:-2], "location", *search_fields[-2:]]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Riyadh", "America/St_Johns"])
@pytest.mark.parametrize(
    "value", [datetime(2025, 6, 15, 10, 30, 1, 123456, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)]
)
def test_times_read_as_drfs_datetime_field_writes_them(zone, value):
    with timezone.override(zone):
        shown = datetime_data(value, timezone.get_current_timezone())

        assert shown == serializers.DateTimeField().to_representation(value)
    assert datetime_data(None, UTC) is None
