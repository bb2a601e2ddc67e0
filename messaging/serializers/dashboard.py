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


class ContactsDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    created = serializers.IntegerField(help_text="Contacts created that day")
    opted_out = serializers.IntegerField(help_text="Contacts who opted out of marketing that day (and still are)")


class BroadcastsDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    started = serializers.IntegerField(help_text="Broadcasts started that day")
    sent = serializers.IntegerField(help_text="Broadcast messages accepted by WhatsApp that day")
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()


METRIC_SERIALIZERS = {
    "messages": AnalyticsDaySerializer,
    "contacts": ContactsDaySerializer,
    "broadcasts": BroadcastsDaySerializer,
}


class DateRangeQuerySerializer(serializers.Serializer):
    """ISO dates of the organization's time zone, both inclusive. Defaults: the 30 days ending today (or ending at
    end_date). The view gives `today` (the organization's) in the context."""

    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)

    def validate(self, attrs):
        end = attrs.get("end_date") or self.context.get("today") or timezone.localdate()
        start = attrs.get("start_date") or end - timedelta(days=ANALYTICS_DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"start_date": ["start_date is after end_date."]})
        if (end - start).days + 1 > ANALYTICS_MAX_DAYS:
            raise serializers.ValidationError({"end_date": [f"The range spans more than {ANALYTICS_MAX_DAYS} days."]})
        return {**attrs, "start_date": start, "end_date": end}


class AnalyticsQuerySerializer(DateRangeQuerySerializer):
    metrics = serializers.ChoiceField(
        choices=list(METRIC_SERIALIZERS),
        default="messages",
        help_text="Which figures each day has: messages (the default), contacts or broadcasts",
    )


class ReportQuerySerializer(DateRangeQuerySerializer):
    number = serializers.IntegerField(required=False, min_value=1, help_text="Only this WhatsApp number's rows")
    team = serializers.IntegerField(required=False, min_value=1, help_text="Only the rows of this team's conversations")
    business_hours = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Response times only of the questions asked, and resolution times only of the cycles opened, "
        "within the organization's business hours (its time zone); message counts are unchanged. 400 when the "
        "organization has none set",
    )


class ReportRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="The agent, team or number; null for unassigned conversations or no team"
    )
    name = serializers.CharField()
    conversations_handled = serializers.IntegerField(help_text="Conversations with a reply by a person in the range")
    messages_sent = serializers.IntegerField(help_text="Messages people sent in the range (failed ones left out)")
    first_responses = serializers.IntegerField(help_text="First responses of conversation cycles in the range")
    first_response_median = serializers.FloatField(allow_null=True, help_text="Seconds")
    first_response_p90 = serializers.FloatField(allow_null=True, help_text="Seconds")
    resolved = serializers.IntegerField(help_text="Conversations closed in the range")
    resolution_median = serializers.FloatField(allow_null=True, help_text="Seconds, from a cycle's start to its close")
    resolution_p90 = serializers.FloatField(allow_null=True, help_text="Seconds")
