"""API shapes of the ad registry and its figures."""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from crm.ads.models import Ad
from crm.serializers import StageTotalValueSerializer
from messaging.serializers.dashboard import AnalyticsQuerySerializer


class AdsQuerySerializer(AnalyticsQuerySerializer):
    """ISO dates, both inclusive, days in the organization's time zone. Defaults: the 30 days ending today (or ending
    at end_date); at most 366 days."""


@extend_schema_field({"type": "number", "format": "double", "nullable": True})
class SecondsField(serializers.Field):
    """A duration in seconds (one decimal), null when there is none."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return None if value is None else round(value.total_seconds(), 1)


class AdSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ad
        fields = [
            "id",
            "source_id",
            "source_type",
            "source_url",
            "headline",
            "body",
            "media_type",
            "media_url",
            "thumbnail_url",
            "first_seen_at",
            "last_seen_at",
        ]
        read_only_fields = fields


class AdFiguresSerializer(AdSerializer):
    """An ad and what it brought over the range (see crm.ads.selectors)."""

    referrals = serializers.IntegerField(help_text="Inbound messages carrying the ad's referral")
    conversations_started = serializers.IntegerField(
        help_text="Conversations whose first inbound message carried the referral"
    )
    new_contacts = serializers.IntegerField(help_text="Contacts created by that first message")
    messages = serializers.IntegerField(help_text="Inbound messages of those conversations")
    agent_replies = serializers.IntegerField(help_text="Outbound messages people sent in those conversations")
    median_first_response_seconds = SecondsField(
        source="median_first_response",
        help_text="Median time from the referral message to the first reply a person sent (null: no reply yet)",
    )
    deals_created = serializers.IntegerField(help_text="Deals from the ad created in the range")
    deals_won = serializers.IntegerField(help_text="Of those, won")
    won_values = StageTotalValueSerializer(many=True, help_text="The won deals' values, per currency")

    class Meta(AdSerializer.Meta):
        fields = [
            *AdSerializer.Meta.fields,
            "referrals",
            "conversations_started",
            "new_contacts",
            "messages",
            "agent_replies",
            "median_first_response_seconds",
            "deals_created",
            "deals_won",
            "won_values",
        ]
        read_only_fields = fields


class AdRangeSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    time_zone = serializers.CharField(help_text="The organization's time zone: the days' boundaries")


@extend_schema_serializer(many=False)  # the list route answers one object: the range and its results
class AdReportSerializer(AdRangeSerializer):
    results = AdFiguresSerializer(many=True)


class AdDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    referrals = serializers.IntegerField()
    conversations_started = serializers.IntegerField()
    new_contacts = serializers.IntegerField()
    deals_created = serializers.IntegerField()


class AdDetailSerializer(AdFiguresSerializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    time_zone = serializers.CharField(help_text="The organization's time zone: the days' boundaries")
    days = AdDaySerializer(many=True, help_text="Every day of the range")

    class Meta(AdFiguresSerializer.Meta):
        fields = [*AdFiguresSerializer.Meta.fields, "start_date", "end_date", "time_zone", "days"]
        read_only_fields = fields
