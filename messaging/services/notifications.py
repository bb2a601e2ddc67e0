"""Notifications: what a person is told, on which channels, and when.

`notify` is the one way in: the apps call it (messaging for assignments, new messages and mentions; campaigns when a
campaign finishes; automation when an outbound webhook is disabled: they may import messaging, never the reverse).
It records one Notification per recipient (never for the member who did the thing, nor for anyone who is not an
active member), in the caller's transaction, and after commit:

- in_app: the recipient's bell hears `notification.created` on their own sockets (realtime.member_send: no other
  member's socket gets it), with their new unread count;
- browser: the same frame says `browser: true` when the person wants a pop-up for this kind and is not in quiet
  hours; the page shows one if the person allowed it and the tab is hidden;
- email: not at once. The notification gets `email_due_at` = now + NOTIFICATION_EMAIL_DELAY_MINUTES; a beat task
  every minute (`notification_emails_send_due`) sends each person ONE e-mail (a digest) of their notifications
  still unread and due, claimed in the database first (a second run sends nothing); those read meanwhile are never
  mailed. A burst of inbound messages makes one notification per conversation (merged while unread), so a burst is
  one line of one e-mail. An e-mail falling due during quiet hours is dropped (the bell keeps the notification).
  A sweep rather than one delayed task per notification: nothing waits in the broker for minutes (the Redis
  visibility timeout would deliver it twice), and a lost run is the next minute's.

Preferences (NotificationPreference): each kind x channel on or off, DEFAULT_CHANNELS where the person chose
nothing; quiet hours in the person's time zone (else the organization's), possibly across midnight.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts import mail
from accounts.models import Membership, Organization, User
from accounts.org_settings import time_zones
from accounts.web import organization_time_zone
from messaging import realtime
from messaging.models import Notification, NotificationKind, NotificationPreference
from whatsapp_hub.aftercommit import run_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

CHANNELS = ("in_app", "browser", "email")
Kind = NotificationKind

# What a person gets before they choose: mentions and assignments everywhere; new messages in the bell and as a
# pop-up (an e-mail per customer message would be noise); campaigns and integrations in the bell (the admins already
# get an e-mail when a webhook is disabled: automation.services.webhooks).
DEFAULT_CHANNELS: dict[str, dict[str, bool]] = {
    Kind.ASSIGNED: {"in_app": True, "browser": True, "email": True},
    Kind.MESSAGE: {"in_app": True, "browser": True, "email": False},
    Kind.MENTION: {"in_app": True, "browser": True, "email": True},
    Kind.CAMPAIGN_FINISHED: {"in_app": True, "browser": False, "email": False},
    Kind.INTEGRATION_FAILING: {"in_app": True, "browser": False, "email": False},
    # Customers cannot open a blocked flow: worth an e-mail when nobody saw the bell.
    Kind.FLOW_BLOCKED: {"in_app": True, "browser": False, "email": True},
}

# The titles, by kind (translated when shown, in the reader's language; `params` fill them).
TITLES = {
    "assigned": gettext_noop("%(actor)s assigned you the conversation with %(contact)s"),
    "assigned_nobody": gettext_noop("The conversation with %(contact)s is assigned to you"),
    "message": gettext_noop("New message from %(contact)s"),
    "mention": gettext_noop("%(actor)s mentioned you in a note on %(contact)s"),
    "campaign_finished": gettext_noop("The campaign %(name)s finished"),
    "integration_failing": gettext_noop("The webhook %(url)s was disabled: its deliveries kept failing"),
    "number_disconnected": gettext_noop("The WhatsApp number %(number)s is disconnected"),
    "meta_event": gettext_noop("Meta reported %(event)s for your WhatsApp account %(account)s"),
    "flow_blocked": gettext_noop("Meta blocked the WhatsApp Flow %(name)s: it can be neither sent nor opened"),
    "flow_throttled": gettext_noop("Meta throttled the WhatsApp Flow %(name)s: at most 10 sends an hour"),
}
BODY_MAX = 300


def title_of(notification: Notification) -> str:
    """The notification's title in the active language."""
    params = (notification.data or {}).get("params") or {}
    try:
        return gettext(notification.title) % params
    except (KeyError, TypeError, ValueError):
        return notification.title


# --- preferences ---------------------------------------------------------------------------------------------------


def channels_of(preference: NotificationPreference | None) -> dict[str, dict[str, bool]]:
    """Every kind x channel, as chosen, else DEFAULT_CHANNELS."""
    chosen = preference.channels if preference is not None else {}
    return {
        kind: {
            channel: bool((chosen.get(kind) or {}).get(channel, default))
            for channel, default in DEFAULT_CHANNELS[kind].items()
        }
        for kind in Kind.values
    }


def time_zone_of(preference: NotificationPreference | None, organization: Organization) -> ZoneInfo:
    if preference is not None and preference.time_zone:
        try:
            return ZoneInfo(preference.time_zone)
        except (KeyError, ValueError):
            pass
    return organization_time_zone(organization)


def in_quiet_hours(preference: NotificationPreference | None, organization: Organization, now: datetime) -> bool:
    """Whether `now` falls in the person's quiet hours (start included, end excluded; start after end spans
    midnight: 22:00-07:00)."""
    if preference is None or preference.quiet_start is None or preference.quiet_end is None:
        return False
    start, end = preference.quiet_start, preference.quiet_end
    if start == end:
        return False
    local = now.astimezone(time_zone_of(preference, organization)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _channels_or_error(value) -> dict[str, dict[str, bool]]:
    if not isinstance(value, dict):
        raise ServiceError(
            gettext("channels: an object of kinds, each an object of channels."),
            errors={"channels": [gettext("An object of kinds, each an object of channels.")]},
        )
    cleaned: dict[str, dict[str, bool]] = {}
    for kind, channels in value.items():
        if kind not in Kind.values or not isinstance(channels, dict):
            message = gettext("Unknown kind %(kind)s: one of %(kinds)s.") % {
                "kind": str(kind)[:40],
                "kinds": ", ".join(Kind.values),
            }
            raise ServiceError(message, errors={"channels": [message]})
        for channel, on in channels.items():
            if channel not in CHANNELS or not isinstance(on, bool):
                message = gettext("Each channel (%(channels)s) is true or false.") % {"channels": ", ".join(CHANNELS)}
                raise ServiceError(message, errors={"channels": [message]})
            cleaned.setdefault(kind, {})[channel] = on
    return cleaned


def notification_preferences_update(
    *,
    organization: Organization,
    user: User,
    channels: dict | None = None,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    time_zone: str = "",
) -> NotificationPreference:
    """Replace the person's choices (channels merge over the current ones; quiet hours need both ends or neither).
    400 with the field on a mistake."""
    if (quiet_start is None) != (quiet_end is None):
        message = gettext("Give both the start and the end of the quiet hours, or neither.")
        raise ServiceError(message, errors={"quiet_end" if quiet_end is None else "quiet_start": [message]})
    if time_zone and time_zone not in time_zones():
        message = gettext("An IANA time zone name, e.g. Asia/Riyadh.")
        raise ServiceError(message, errors={"time_zone": [message]})
    cleaned = _channels_or_error(channels or {})
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.select_for_update().get_or_create(
            organization=organization, user=user
        )
        current = channels_of(preference)
        for kind, chosen in cleaned.items():
            current[kind].update(chosen)
        preference.channels = current
        preference.quiet_start, preference.quiet_end, preference.time_zone = quiet_start, quiet_end, time_zone
        preference.save()
    return preference


# --- notify ------------------------------------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= BODY_MAX else text[: BODY_MAX - 1] + "…"


def notify(
    *,
    organization: Organization,
    recipient_ids: Iterable[int],
    kind: str,
    title: str,
    params: dict | None = None,
    body: str = "",
    link: str = "",
    conversation_id: int | None = None,
    actor_id: int | None = None,
    merge: bool = False,
) -> list[Notification]:
    """Tell these members of `organization` (`title`: a gettext_noop text that `params` fill, translated when read;
    `body`: the object's own words, e.g. a note's excerpt). The actor and anyone not an active member are left out.
    `merge`: an unread notification of the same kind and conversation is brought up to date instead of a new one
    (new messages). One transaction (the caller's, when inside one); pushes and e-mails after commit."""
    wanted = {pk for pk in recipient_ids if pk is not None and pk != actor_id}
    if not wanted:
        return []
    members = set(
        Membership.objects.for_org(organization)
        .filter(user_id__in=wanted, is_active=True, user__is_active=True)
        .values_list("user_id", flat=True)
    )
    if not members:
        return []
    preferences = {
        p.user_id: p for p in NotificationPreference.objects.for_org(organization).filter(user_id__in=members)
    }
    now = timezone.now()
    delay = timedelta(minutes=settings.NOTIFICATION_EMAIL_DELAY_MINUTES)
    data = {"params": params or {}}
    body = _excerpt(body)
    written: list[tuple[Notification, bool]] = []  # (notification, browser pop-up)
    with transaction.atomic():
        for user_id in sorted(members):
            preference = preferences.get(user_id)
            channels = channels_of(preference)[kind]
            if not any(channels.values()):
                continue
            quiet = in_quiet_hours(preference, organization, now)
            notification = None
            if merge and conversation_id is not None:
                notification = (
                    Notification.objects.for_org(organization)
                    .select_for_update()
                    .filter(recipient_id=user_id, kind=kind, conversation_id=conversation_id, read_at__isnull=True)
                    .first()
                )
            if notification is not None:
                notification.data = {**data, "count": int((notification.data or {}).get("count", 1)) + 1}
                notification.title, notification.body, notification.link = title, body, link
                notification.created_at = now
                notification.save(update_fields=["data", "title", "body", "link", "created_at"])
            else:
                notification = Notification.objects.create(
                    organization=organization,
                    recipient_id=user_id,
                    kind=kind,
                    title=title,
                    body=body,
                    link=link,
                    conversation_id=conversation_id,
                    data=data,
                    in_app=channels["in_app"],
                    email_due_at=now + delay if channels["email"] else None,
                    created_at=now,
                )
            written.append((notification, channels["browser"] and not quiet))
        run_after_commit(lambda: _push(organization.pk, written), what="notifications push")
    return [notification for notification, _ in written]


def _push(organization_id: int, written: list[tuple[Notification, bool]]) -> None:
    from messaging.selectors.notifications import notification_unread_count
    from messaging.serializers.notifications import notification_data

    organization = Organization(pk=organization_id)
    for notification, browser in written:
        if not notification.in_app and not browser:
            continue
        unread = notification_unread_count(org=organization, user_id=notification.recipient_id)
        realtime.member_send(
            organization_id,
            notification.recipient_id,
            {
                "type": "notification.created",
                "data": {"notification": notification_data(notification), "unread_count": unread, "browser": browser},
            },
        )


# --- reading ---------------------------------------------------------------------------------------------------


def notification_mark_read(*, notification: Notification) -> Notification:
    """Read (idempotent: the first read time stays)."""
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
        _count_on_commit(notification.organization_id, notification.recipient_id)
    return notification


def notifications_mark_all_read(*, organization: Organization, user: User) -> int:
    """Every unread notification of the person in the organization read; how many."""
    count = (
        Notification.objects.for_org(organization)
        .filter(recipient=user, read_at__isnull=True)
        .update(read_at=timezone.now())
    )
    if count:
        _count_on_commit(organization.pk, user.pk)
    return count


def _count_on_commit(organization_id: int, user_id: int) -> None:
    """The person's other tabs hear their new unread count."""

    def push() -> None:
        from messaging.selectors.notifications import notification_unread_count

        unread = notification_unread_count(org=Organization(pk=organization_id), user_id=user_id)
        realtime.member_send(organization_id, user_id, {"type": "notification.count", "data": {"unread_count": unread}})

    run_after_commit(push, what="notification count push")


# --- e-mail ------------------------------------------------------------------------------------------------------


def notification_emails_send_due(*, now: datetime | None = None) -> int:
    """Beat, every minute: one e-mail to each person with notifications due by `now` (unread, not e-mailed); how
    many e-mails went."""
    now = now or timezone.now()
    pairs = (
        Notification.objects.filter(emailed_at__isnull=True, email_due_at__lte=now, read_at__isnull=True)
        .order_by()
        .values_list("organization_id", "recipient_id")
        .distinct()
    )
    return sum(
        1
        for organization_id, user_id in list(pairs)
        if notification_email_send(organization_id=organization_id, user_id=user_id, now=now)
    )


def notification_email_send(*, organization_id: int, user_id: int, now: datetime | None = None) -> int:
    """The e-mail of one person in one organization, once one of their notifications is due by `now`: all those
    still unread and waiting for an e-mail, in one message. Idempotent: the rows are claimed (emailed_at) in a
    transaction, the e-mail goes after it; a second run finds nothing. During quiet hours the due rows are claimed
    and dropped. How many notifications the e-mail carried (0: none sent)."""
    now = now or timezone.now()
    organization = Organization.objects.filter(pk=organization_id).first()
    user = User.objects.filter(pk=user_id).first()
    if organization is None or user is None:
        return 0
    with transaction.atomic():
        waiting = list(
            Notification.objects.for_org(organization)
            .select_for_update(skip_locked=True)
            .filter(recipient=user, emailed_at__isnull=True, email_due_at__isnull=False, read_at__isnull=True)
            .order_by("created_at", "id")
        )
        # Once one is due, the others waiting go with it: one e-mail now rather than another a minute later.
        if not any(n.email_due_at <= now for n in waiting):
            return 0
        due = waiting
        Notification.objects.filter(pk__in=[n.pk for n in due]).update(emailed_at=now)
    preference = NotificationPreference.objects.for_org(organization).filter(user=user).first()
    if in_quiet_hours(preference, organization, now) or not user.is_active or not user.email:
        return 0
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    items = [{"title": _Title(n), "body": n.body, "url": f"{base}{n.link}" if n.link else ""} for n in due]
    mail.send_templated(
        user=user,
        template="notification",
        context={
            "organization": organization,
            "items": items,
            "count": len(items),
            "settings_url": f"{base}{reverse('notification-preferences')}",
        },
    )
    return len(items)


class _Title:
    """A notification's title rendered when the template reads it: in the recipient's language (send_templated
    renders under it)."""

    def __init__(self, notification: Notification):
        self.notification = notification

    def __str__(self) -> str:
        return title_of(self.notification)


# --- messaging's own events (subscribed in MessagingConfig.ready(): after commit) -------------------------------


def on_conversation_assigned(
    *, organization_id: int, conversation_id: int, assigned_to_id: int | None, actor_id: int | None, **_
) -> None:
    """The new assignee hears of it (not when they took it themselves)."""
    if assigned_to_id is None or assigned_to_id == actor_id:
        return
    from messaging.models import Conversation

    conversation = (
        Conversation.objects.filter(pk=conversation_id, organization_id=organization_id)
        .select_related("organization", "contact")
        .first()
    )
    if conversation is None:
        return
    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    params = {"contact": conversation.contact.display_name}
    if actor is not None:
        params["actor"] = actor.name or actor.email
    notify(
        organization=conversation.organization,
        recipient_ids=[assigned_to_id],
        kind=Kind.ASSIGNED,
        title=TITLES["assigned" if actor is not None else "assigned_nobody"],
        params=params,
        body=conversation.last_message_preview,
        link=reverse("inbox-conversation", args=[conversation.pk]),
        conversation_id=conversation.pk,
        actor_id=actor_id,
    )


def on_message_received(*, organization_id: int, message_ids: list[int], **_) -> None:
    """The assignee of each conversation that got inbound messages hears of it: one notification per conversation
    (merged into the unread one), whatever the size of the batch."""
    from messaging.models import Conversation, Message

    latest: dict[int, str] = {}
    for conversation_id, text in (
        Message.objects.filter(organization_id=organization_id, pk__in=message_ids, direction="inbound")
        .order_by("id")
        .values_list("conversation_id", "text")
    ):
        latest[conversation_id] = text
    if not latest:
        return
    conversations = (
        Conversation.objects.filter(organization_id=organization_id, pk__in=latest, assigned_to__isnull=False)
        .select_related("organization", "contact")
        .order_by("id")
    )
    for conversation in conversations:
        notify(
            organization=conversation.organization,
            recipient_ids=[conversation.assigned_to_id],
            kind=Kind.MESSAGE,
            title=TITLES["message"],
            params={"contact": conversation.contact.display_name},
            body=latest[conversation.pk] or conversation.last_message_preview,
            link=reverse("inbox-conversation", args=[conversation.pk]),
            conversation_id=conversation.pk,
            merge=True,
        )


def admins_notify(*, organization: Organization, kind: str, title: str, params: dict, link: str) -> None:
    """Tell the organization's admins (no actor: the platform or Meta did it)."""
    admins = Membership.objects.for_org(organization).filter(role="admin").values_list("user_id", flat=True)
    notify(organization=organization, recipient_ids=list(admins), kind=kind, title=title, params=params, link=link)


def admins_notify_integration(*, organization: Organization, title: str, params: dict, link: str) -> None:
    """Tell the organization's admins that an integration is failing (a WhatsApp number's connection, Meta's
    restrictions, an outbound webhook): kind integration_failing."""
    admins_notify(organization=organization, kind=Kind.INTEGRATION_FAILING, title=title, params=params, link=link)
