"""What the web app calls a call ("Missed voice call", "Voice call, 3:12"): one set of translated strings for the
calls page (rendered here) and the inbox's thread (static/js/inbox-thread.js reads them as `call_<key>`)."""

from django.utils.translation import gettext_lazy

from messaging.models import Call

# By key: `<status>` (outbound variants `<status>_out` where the words differ), `_video` for video calls.
LABELS = {
    "ringing": gettext_lazy("Incoming voice call"),
    "ringing_video": gettext_lazy("Incoming video call"),
    "ringing_out": gettext_lazy("Outgoing voice call"),
    "ringing_out_video": gettext_lazy("Outgoing video call"),
    "answered": gettext_lazy("Answered voice call"),
    "answered_video": gettext_lazy("Answered video call"),
    "completed": gettext_lazy("Voice call, %(duration)s"),
    "completed_video": gettext_lazy("Video call, %(duration)s"),
    "missed": gettext_lazy("Missed voice call"),
    "missed_video": gettext_lazy("Missed video call"),
    "missed_out": gettext_lazy("Unanswered voice call"),
    "missed_out_video": gettext_lazy("Unanswered video call"),
    "rejected": gettext_lazy("Declined voice call"),
    "rejected_video": gettext_lazy("Declined video call"),
    "failed": gettext_lazy("Failed voice call"),
    "failed_video": gettext_lazy("Failed video call"),
}
# Statuses a person would want to act on (call back): shown in the alert colour.
ALERT_STATUSES = frozenset({Call.Status.MISSED, Call.Status.REJECTED, Call.Status.FAILED})


def label_key(*, status: str, direction: str, is_video: bool) -> str:
    key = status
    if direction == Call.Direction.OUTBOUND and f"{status}_out" in LABELS:
        key += "_out"
    return f"{key}_video" if is_video else key


def clock_duration(seconds: int | None) -> str:
    """3:12, 1:02:05."""
    seconds = seconds or 0
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def call_label(call: Call) -> str:
    text = LABELS[label_key(status=call.status, direction=call.direction, is_video=call.is_video)]
    return (
        str(text) % {"duration": clock_duration(call.duration)} if call.status == Call.Status.COMPLETED else str(text)
    )


def inbox_strings() -> dict[str, str]:
    """The labels for the inbox's scripts (keys `call_<key>`)."""
    return {f"call_{key}": text for key, text in LABELS.items()}
