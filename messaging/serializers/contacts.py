"""API shapes of contacts."""

from rest_framework import serializers

from messaging.models import Contact
from messaging.services.contacts import NOTES_MAX_LENGTH
from whatsapp_hub.serializers import StrictSerializer


class ContactSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "profile_name",
            "phone",
            "wa_id",
            "user_id",
            "tags",
            "attributes",
            "notes",
            "opted_out",
            "opted_out_at",
            "is_active",
            "last_inbound_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_tags(self, contact: Contact) -> list[str]:
        return [tag.name for tag in contact.tags.all()]  # prefetched by the selector


class ContactInputSerializer(StrictSerializer):
    """Create and update body. `number` is the seed's name for `phone`; tags are names (replaced on update)."""

    name = serializers.CharField(
        max_length=Contact._meta.get_field("name").max_length, allow_blank=True, required=False
    )
    phone = serializers.CharField(max_length=32, required=False)
    number = serializers.CharField(max_length=32, required=False, write_only=True)
    tags = serializers.ListField(child=serializers.CharField(allow_blank=True), max_length=100, required=False)
    attributes = serializers.DictField(required=False)
    notes = serializers.CharField(max_length=NOTES_MAX_LENGTH, allow_blank=True, required=False)
    is_active = serializers.BooleanField(required=False)

    def validate(self, attrs):
        number = attrs.pop("number", None)
        if number is not None:
            if attrs.get("phone", number) != number:
                raise serializers.ValidationError({"phone": ["Send phone or number, not two different numbers."]})
            attrs["phone"] = number
        if not self.partial and "phone" not in attrs:
            raise serializers.ValidationError({"phone": ["A phone number is required."]})
        return attrs


class ContactImportSerializer(StrictSerializer):
    file = serializers.FileField(help_text="CSV, UTF-8, columns name, number (or phone), tags")


class ContactImportResultSerializer(serializers.Serializer):
    total_rows = serializers.IntegerField()
    imported = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())
