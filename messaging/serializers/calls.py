from rest_framework import serializers

from messaging.models import Call
from messaging.serializers.conversations import ContactBriefSerializer
from whatsapp_hub.serializers import id_field


class CallSerializer(serializers.ModelSerializer):
    """A call as the API, the calls page and the live inbox (`call.created`, `call.updated`) show it."""

    contact = ContactBriefSerializer(read_only=True)
    number_id = serializers.IntegerField(read_only=True)
    conversation_id = serializers.IntegerField(read_only=True)
    duration = serializers.IntegerField(read_only=True, allow_null=True, help_text="Seconds talked (null: unknown)")

    class Meta:
        model = Call
        fields = [
            "id",
            "number_id",
            "contact",
            "conversation_id",
            "direction",
            "status",
            "is_video",
            "started_at",
            "ended_at",
            "duration",
            "provider_call_id",
            "error_code",
            "error_title",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CallListQuerySerializer(serializers.Serializer):
    """Filters of the calls (query parameters; the page and its size are the paginator's)."""

    number = id_field(required=False, help_text="A WhatsApp number id")
    contact = id_field(required=False, help_text="A contact id")
    conversation = id_field(required=False, help_text="A conversation id")
    direction = serializers.ChoiceField(choices=Call.Direction.choices, required=False)
    status = serializers.ChoiceField(choices=Call.Status.choices, required=False)
    start_date = serializers.DateField(required=False, help_text="Calls started on or after this day (YYYY-MM-DD)")
    end_date = serializers.DateField(required=False, help_text="Calls started on or before this day (YYYY-MM-DD)")

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"end_date": ["Must not be before start_date."]})
        return attrs
