"""What a claimed batch is parsed into (per organization), and the defensive readers the parsers share:
provider payloads are untrusted JSON, so every field is read with its expected type or a blank."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from accounts.models import Organization
from messaging.models import WebhookEvent, WhatsAppNumber

logger = logging.getLogger(__name__)


@dataclass
class Item:
    """One message of the batch, as it will be stored."""

    number_id: int
    wa_id: str | None
    user_id: str | None
    profile_name: str
    provider_message_id: str
    direction: str
    type: str
    text: str
    payload: dict
    reply_to: str
    referral: dict | None
    timestamp: datetime
    status: str
    media: dict | None = None
    contact_id: int | None = None


@dataclass
class StatusUpdate:
    provider_message_id: str
    status: str
    timestamp: datetime
    error_code: int | None = None
    error_title: str = ""
    message_id: int | None = None  # ours, from `biz_opaque_callback_data` ("msg:<id>", set on every send)


@dataclass
class CallEvent:
    """One call event of the batch (a call rang, was answered, ended): the fields its row takes. Shaped like an Item
    where the contacts' and conversations' writers read one (number_id, wa_id, user_id, profile_name, direction,
    timestamp, contact_id)."""

    number_id: int
    wa_id: str | None
    user_id: str | None
    profile_name: str
    provider_call_id: str
    direction: str
    status: str
    timestamp: datetime  # when the call began (the connect), or when this event says it did
    payload: dict
    is_video: bool = False
    ended_at: datetime | None = None
    duration: int | None = None
    error_code: int | None = None
    error_title: str = ""
    contact_id: int | None = None


@dataclass
class Batch:
    """One organization's share of a claimed batch."""

    organization: Organization
    items: list[Item] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    calls: list[CallEvent] = field(default_factory=list)
    sessions: dict[int, tuple[str, dict | None]] = field(default_factory=dict)  # WAHA number id -> (status, me)
    template_events: list[tuple[str, dict]] = field(default_factory=list)  # (waba id, change value)
    # Meta's news about the account's numbers: (waba id, field, change value) of NUMBER_FIELDS.
    number_events: list[tuple[str, str, dict]] = field(default_factory=list)
    # Meta's `flows` field (a WhatsApp Flow's status changed, a health alert): (waba id, change value).
    flow_events: list[tuple[str, dict]] = field(default_factory=list)
    notes: dict[int, list[str]] = field(default_factory=dict)  # event id -> what is kept in its last_error

    _numbers: dict[str, int] | None = None

    def number_id(self, phone_number_id: str) -> int | None:
        """The organization's live number with this phone_number_id (read once per batch, when needed)."""
        if self._numbers is None:
            self._numbers = dict(
                WhatsAppNumber.objects.for_org(self.organization)
                .live()
                .exclude(phone_number_id="")
                .values_list("phone_number_id", "id")
            )
        return self._numbers.get(phone_number_id)

    def note(self, event: WebhookEvent, text: str) -> None:
        logger.info("webhook event %s: %s", event.pk, text)
        self.notes.setdefault(event.pk, []).append(text)


def as_datetime(value, *, default: datetime, milliseconds: bool = False) -> datetime:
    """A provider timestamp (Meta: a string of seconds; WAHA: a number) as an aware datetime."""
    try:
        seconds = float(value) / (1000 if milliseconds else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return default


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value) -> list:
    return value if isinstance(value, list) else []


def as_str(value) -> str:
    return value if isinstance(value, str) else ""
