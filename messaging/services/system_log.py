"""What messaging tells an organization's admins in its system log (accounts.services.system_log_write): webhook events
that went to the dead letters, messages that could not be delivered, numbers whose status or quality changed. The
wording is here (marked for translation: the logs page shows it in the reader's language); the failure points call
these in one line. Like the writer, nothing here raises into the caller, and inside a transaction the entries are
written after its commit."""

from collections import defaultdict
from collections.abc import Iterable

from django.utils.translation import gettext_noop

from accounts.models import SystemLog
from accounts.services import SystemLogEntry, system_log_write, system_logs_write
from messaging.models import WebhookEvent, WhatsAppNumber

Level = SystemLog.Level
Category = SystemLog.Category

# At most this many message ids in the details of one delivery failure entry (a campaign may fail thousands).
IDS_MAX = 50

DEAD_LETTER = gettext_noop(
    "A webhook event from %(source)s could not be processed after %(attempts)s attempts and went to the dead letters "
    "(%(reason)s). Replay it once the cause is fixed."
)
ONE_FAILED = gettext_noop("A message could not be delivered: %(reason)s")
MANY_FAILED = gettext_noop("%(count)s messages could not be delivered: %(reason)s")
NO_REASON = gettext_noop("no reason given")


def webhook_events_dead(*, events: Iterable[WebhookEvent], reason: str) -> None:
    """These events went to the dead letters; `reason` in the product's words (an exception's class name, or that
    its worker stopped), never the event's body."""
    entries = [
        SystemLogEntry(
            event.organization_id,
            Level.ERROR,
            Category.WEBHOOK,
            DEAD_LETTER,
            details={
                "source": WebhookEvent.Source(event.source).label if event.source in WebhookEvent.Source.values else "",
                "attempts": event.attempts,
                "reason": reason,
                "event_id": event.pk,
            },
            related=("webhook_event", event.pk),
        )
        for event in events
    ]
    system_logs_write(entries=entries)


def messages_failed(*, organization_id: int, failed: Iterable[tuple[int, int | None, str]]) -> None:
    """Outbound messages (id, error code, error title) whose send ended failed: one entry per error, naming its
    messages (the first IDS_MAX of them)."""
    by_error: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    for message_id, code, title in failed:
        by_error[(code, title or "")].append(message_id)
    entries = []
    for (code, title), ids in sorted(by_error.items(), key=lambda item: min(item[1])):
        details = {"reason": title or NO_REASON, "error_code": code, "count": len(ids), "message_ids": ids[:IDS_MAX]}
        one = len(ids) == 1
        entries.append(
            SystemLogEntry(
                organization_id,
                Level.ERROR,
                Category.DELIVERY,
                ONE_FAILED if one else MANY_FAILED,
                details=details,
                related=("message", ids[0]) if one else None,
            )
        )
    system_logs_write(entries=entries)


NUMBER_SESSION = gettext_noop(
    "The WhatsApp number %(number)s is now %(status)s: its WhatsApp Web session is %(session)s."
)
NUMBER_LEVELS = {
    WhatsAppNumber.Status.ACTIVE: Level.INFO,
    WhatsAppNumber.Status.PENDING: Level.WARNING,
    WhatsAppNumber.Status.DISCONNECTED: Level.ERROR,
}


def _number_name(number: WhatsAppNumber) -> str:
    return number.phone_number or number.display_name or str(number.pk)


def number_session_changed(*, number: WhatsAppNumber, before: str) -> None:
    """The number's status moved from `before` to its current one with its WAHA session's status."""
    details = {
        "number": _number_name(number),
        "status": number.status,
        "before": before,
        "session": number.session_status,
        "number_id": number.pk,
    }
    system_log_write(
        organization_id=number.organization_id,
        level=NUMBER_LEVELS.get(number.status, Level.WARNING),
        category=Category.INTEGRATION,
        message=NUMBER_SESSION,
        details=details,
        related=("whatsapp_number", number.pk),
    )


# Meta's news about the numbers of a WhatsApp Business Account (phone_number_quality_update, account_update,
# business_capability_update): how bad each event is, and what the log says of it.
META_EVENT_LEVELS = {
    "FLAGGED": Level.WARNING,
    "DOWNGRADE": Level.ERROR,
    "UNFLAGGED": Level.INFO,
    "UPGRADE": Level.INFO,
    "THROUGHPUT_UPGRADE": Level.INFO,
    "DISABLED_UPDATE": Level.ERROR,
    "ACCOUNT_VIOLATION": Level.ERROR,
    "ACCOUNT_RESTRICTION": Level.ERROR,
    "ACCOUNT_DELETED": Level.ERROR,
    "PARTNER_REMOVED": Level.WARNING,
}
NUMBER_QUALITY = gettext_noop(
    "Meta reported %(event)s for the WhatsApp number %(number)s (messaging limit: %(limit)s)."
)
ACCOUNT_UPDATE = gettext_noop("Meta reported %(event)s for the WhatsApp Business Account %(waba_id)s.")
LIMIT_CHANGED = gettext_noop(
    "Meta set the messaging limit of the WhatsApp Business Account %(waba_id)s to %(limit)s (%(changed)s numbers)."
)
UNKNOWN = "-"


def _word(value) -> str:
    """A name Meta sends (an event, a tier), kept to letters, digits and underscores: never free text of theirs."""
    text = "".join(ch for ch in str(value or "") if ch.isalnum() or ch == "_")[:40]
    return text or UNKNOWN


def numbers_meta_news(*, organization_id: int, waba_id: str, field: str, value: dict, changed: int) -> None:
    """What Meta said about the account's numbers, logged when it is news for an admin: a quality event of a number
    (flagged, downgraded, upgraded...), an account event (disabled, restricted...), or a messaging limit that changed
    `changed` numbers."""
    event = _word(value.get("event"))
    if field == "phone_number_quality_update":
        digits = "".join(ch for ch in str(value.get("display_phone_number", "")) if ch.isdigit())[:20]
        limit = _word(value.get("current_limit") or value.get("old_limit"))
        message, details = NUMBER_QUALITY, {"event": event, "number": f"+{digits}" if digits else UNKNOWN}
        details["limit"] = limit
    elif field == "account_update":
        message, details = ACCOUNT_UPDATE, {"event": event, "waba_id": _word(waba_id)}
    elif changed:
        limit = _word(value.get("max_daily_conversations_per_business") or value.get("current_limit"))
        message, details = LIMIT_CHANGED, {"waba_id": _word(waba_id), "limit": limit, "changed": changed}
        event = ""
    else:
        return
    system_log_write(
        organization_id=organization_id,
        level=META_EVENT_LEVELS.get(event, Level.INFO),
        category=Category.INTEGRATION,
        message=message,
        details={**details, "field": field},
    )
