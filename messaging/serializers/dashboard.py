"""API shapes of the dashboard figures and analytics."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

ANALYTICS_MAX_DAYS = 366
ANALYTICS_DEFAULT_DAYS = 30


class DaySerializer(serializers.Serializer):
    date = serializers.DateField()
    sent = serializers.IntegerField()
    received = serializers.IntegerField()


class AnalyticsDaySerializer(DaySerializer):
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    failed = serializers.IntegerField()


class DashboardStatsSerializer(serializers.Serializer):
    total_messages = serializers.IntegerField()
    messages_in_24h = serializers.IntegerField()
    total_contacts = serializers.IntegerField()
    active_numbers = serializers.IntegerField()
    conversations_open = serializers.IntegerField()
    broadcasts_sent = serializers.IntegerField(help_text="0 until broadcasts exist (the campaigns app)")
    analytics = DaySerializer(many=True, help_text="The last 7 days, today included")


class AnalyticsQuerySerializer(serializers.Serializer):
    """ISO dates, both inclusive. Defaults: the 30 days ending today (or ending at end_date)."""

    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)

    def validate(self, attrs):
        end = attrs.get("end_date") or timezone.localdate()
        start = attrs.get("start_date") or end - timedelta(days=ANALYTICS_DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"start_date": ["start_date is after end_date."]})
        if (end - start).days + 1 > ANALYTICS_MAX_DAYS:
            raise serializers.ValidationError({"end_date": [f"The range spans more than {ANALYTICS_MAX_DAYS} days."]})
        return {"start_date": start, "end_date": end}
