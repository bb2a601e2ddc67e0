"""API shapes of notifications and notification preferences (messaging.services.notifications)."""

from datetime import time

from rest_framework import serializers

from messaging.models import Notification, NotificationKind
from messaging.services.notifications import title_of
from whatsapp_hub.serializers import OptionalBooleanField, StrictSerializer


def notification_data(notification: Notification) -> dict:
    """A notification as the API and the bell show it: its title in the active language."""
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": title_of(notification),
        "body": notification.body,
        "link": notification.link,
        "conversation_id": notification.conversation_id,
        "count": int((notification.data or {}).get("count", 1)),
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
        "created_at": notification.created_at.isoformat(),
    }


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=NotificationKind.choices, read_only=True)
    title = serializers.CharField(read_only=True, help_text="In the caller's language")
    body = serializers.CharField(read_only=True, help_text="The object's own words: a note's or a message's excerpt")
    link = serializers.CharField(read_only=True, help_text="The object's page in the web app")
    conversation_id = serializers.IntegerField(read_only=True, allow_null=True)
    count = serializers.IntegerField(read_only=True, help_text="Events merged into it (new messages)")
    read_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, notification: Notification) -> dict:
        return notification_data(notification)


class NotificationListQuerySerializer(serializers.Serializer):
    unread = OptionalBooleanField(required=False, help_text="true: only the unread ones")


class UnreadCountSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField()


class ReadAllSerializer(serializers.Serializer):
    read = serializers.IntegerField(help_text="How many were marked read")


class ChannelsSerializer(StrictSerializer):
    in_app = serializers.BooleanField(required=False)
    browser = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class KindsSerializer(StrictSerializer):
    assigned = ChannelsSerializer(required=False)
    message = ChannelsSerializer(required=False)
    mention = ChannelsSerializer(required=False)
    campaign_finished = ChannelsSerializer(required=False)
    integration_failing = ChannelsSerializer(required=False)
    flow_blocked = ChannelsSerializer(required=False)


class ClockField(serializers.RegexField):
    """A time of day as "HH:MM" (24-hour), in and out; read as a datetime.time (no time zone: the preferences'
    `time_zone` says which)."""

    def __init__(self, **kwargs):
        super().__init__(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", max_length=5, **kwargs)
        self.error_messages["invalid"] = "A time of day as HH:MM (00:00 to 23:59)."

    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)  # the pattern and length checks run on the text
        if value is None:
            return None
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))

    def to_representation(self, value):
        return value.strftime("%H:%M") if isinstance(value, time) else value


class NotificationPreferencesSerializer(StrictSerializer):
    """Each kind x channel (in_app, browser, email) on or off, and quiet hours: from `quiet_start` to `quiet_end`
    (HH:MM, across midnight when start is after end; both null: none) in `time_zone` (blank: the organization's),
    no browser pop-up and no e-mail; the bell still records."""

    channels = KindsSerializer(required=False)
    quiet_start = ClockField(required=False, allow_null=True, help_text="HH:MM, or null: no quiet hours")
    quiet_end = ClockField(required=False, allow_null=True, help_text="HH:MM, or null: no quiet hours")
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64)
