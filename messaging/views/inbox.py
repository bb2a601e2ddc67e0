"""The agents' inbox page: a three-pane app (conversations, thread, contact) that static/js/inbox.js drives through
the REST API and the live socket. The view renders the shell and what the API does not list for agents (the
organization's numbers they may see, the people and teams to assign to); everything else comes from the API."""

from functools import wraps

from django.db.models import Count, Q, QuerySet
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from accounts.selectors import team_members, teams
from accounts.web import member_required, permission_denied
from messaging import call_labels, extensions
from messaging.models import Conversation, Provider
from messaging.selectors import flows as flow_selectors
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.conversations import conversation_list
from messaging.selectors.numbers import number_list
from messaging.serializers.conversations import conversation_data
from messaging.services import flows as flow_services
from messaging.services.contacts import NOTES_MAX_LENGTH

INBOX_ROLES = frozenset({Role.ADMIN, Role.AGENT})

# What the page's scripts show, translated here (no strings in the scripts). `%(name)s` is filled in by the script.
STRINGS = {
    "you": gettext_lazy("You: "),
    "now": gettext_lazy("now"),
    "today": gettext_lazy("Today"),
    "yesterday": gettext_lazy("Yesterday"),
    "no_messages_yet": gettext_lazy("No messages yet"),
    "no_results": gettext_lazy("No conversation matches these filters."),
    "load_failed": gettext_lazy("The conversations could not be loaded."),
    "thread_failed": gettext_lazy("The messages could not be loaded."),
    "retry": gettext_lazy("Retry"),
    "loading_more": gettext_lazy("Loading…"),
    "unread": gettext_lazy("%(count)s unread"),
    "assigned_to": gettext_lazy("Assigned to %(name)s"),
    "team": gettext_lazy("Team %(name)s"),
    "unassigned": gettext_lazy("Unassigned"),
    "me": gettext_lazy("Me (%(name)s)"),
    "someone": gettext_lazy("Someone else"),
    "no_team": gettext_lazy("No team"),
    "window_closes_in": gettext_lazy("Window closes in %(time)s"),
    "window_closing_soon": gettext_lazy("The 24-hour window closes soon"),
    "window_closed": gettext_lazy("Window closed: send a template"),
    "window_never": gettext_lazy("The customer has not written yet: send a template"),
    "template_needed": gettext_lazy(
        "The 24-hour window is closed: the customer last wrote more than 24 hours ago (or never). Only a template "
        "message can be sent until they write again."
    ),
    "via": gettext_lazy("on %(number)s"),
    "template_needed_short": gettext_lazy("Window closed: only a template can be sent"),
    "internal_note": gettext_lazy("Internal note"),
    "note_placeholder": gettext_lazy("Write an internal note, seen by the team only; @ mentions a teammate"),
    "note_failed": gettext_lazy("The note could not be saved."),
    "mention_none": gettext_lazy("No teammate who sees this conversation matches."),
    "no_window": gettext_lazy("WhatsApp Web number: no 24-hour window"),
    "closed": gettext_lazy("Closed"),
    "close": gettext_lazy("Close"),
    "reopen": gettext_lazy("Reopen"),
    "new_messages": gettext_lazy("New messages"),
    "status_queued": gettext_lazy("Sending"),
    "status_sent": gettext_lazy("Sent"),
    "status_delivered": gettext_lazy("Delivered"),
    "status_read": gettext_lazy("Read"),
    "status_failed": gettext_lazy("Not delivered"),
    "failed_reason": gettext_lazy("Not delivered: %(reason)s"),
    "failed_unknown": gettext_lazy("Not delivered (no reason given)"),
    "send_failed": gettext_lazy("Not sent: %(reason)s"),
    "network_error": gettext_lazy("The connection failed."),
    "image": gettext_lazy("Photo"),
    "sticker": gettext_lazy("Sticker"),
    "audio": gettext_lazy("Audio"),
    "video": gettext_lazy("Video"),
    "document": gettext_lazy("Document"),
    "location": gettext_lazy("Location"),
    "contacts": gettext_lazy("Contact card"),
    "interactive": gettext_lazy("Interactive message"),
    "button": gettext_lazy("Button reply"),
    "list_reply": gettext_lazy("List reply"),
    "flow_reply": gettext_lazy("Form submitted"),
    "flow": gettext_lazy("WhatsApp Flow"),
    "reaction": gettext_lazy("Reaction"),
    "reacted": gettext_lazy("Reacted %(emoji)s to a message"),
    "reaction_removed": gettext_lazy("Removed a reaction"),
    "template": gettext_lazy("Template"),
    "unsupported": gettext_lazy("This message type is not supported here."),
    "media_pending": gettext_lazy("Downloading…"),
    "media_failed": gettext_lazy("The file could not be fetched from WhatsApp."),
    "download": gettext_lazy("Download"),
    "open_map": gettext_lazy("Open the map"),
    "quoted": gettext_lazy("A message not loaded here"),
    "customer": gettext_lazy("Customer"),
    "uploading": gettext_lazy("Uploading %(name)s…"),
    "counter": gettext_lazy("%(count)s / %(max)s"),
    "too_long": gettext_lazy("At most %(max)s characters."),
    "notifications_on": gettext_lazy("Notifications on"),
    "notifications_off": gettext_lazy("Turn on notifications"),
    "notifications_blocked": gettext_lazy("Notifications are blocked in this browser's settings"),
    "notification_title": gettext_lazy("New message from %(name)s"),
    "session_ended": gettext_lazy("Your session ended. Signing in again…"),
    "access_removed": gettext_lazy(
        "Live updates stopped: your membership was deactivated or the organization suspended. Ask an admin."
    ),
    "profile_name": gettext_lazy("Name on WhatsApp: %(name)s"),
    "opted_out": gettext_lazy("Opted out of marketing"),
    "subscribed": gettext_lazy("Receives marketing"),
    "remove_tag": gettext_lazy("Remove tag %(tag)s"),
    "notes_saving": gettext_lazy("Saving…"),
    "notes_saved": gettext_lazy("Notes saved."),
    "error": gettext_lazy("Something went wrong."),
    "forbidden": gettext_lazy("You are not allowed to do this."),
    "title": gettext_lazy("Inbox"),
    "sent_to": gettext_lazy("Sent: it will show in the conversation."),
    "played": gettext_lazy("Sent as the customer."),
    # the composer's "/" menu of canned responses
    "canned_menu": gettext_lazy("Canned responses"),
    "canned_hint": gettext_lazy("↑ ↓ to choose · Enter or Tab to insert · Esc to close"),
    "canned_none": gettext_lazy("No canned responses yet."),
    "canned_none_match": gettext_lazy("No canned response matches /%(query)s."),
    "canned_failed": gettext_lazy("The canned responses could not be loaded."),
    "canned_manage": gettext_lazy("Create them in Settings"),
    "canned_with_file": gettext_lazy("with the file %(name)s"),
    "caption_note": gettext_lazy("sent with the text as its caption"),
    "remove_attachment": gettext_lazy("Remove the attachment"),
    "caption_too_long": gettext_lazy("A caption is at most %(max)s characters."),
    "sending_file": gettext_lazy("Sending %(name)s…"),
    # the template picker
    "templates_none": gettext_lazy("This number has no approved template yet."),
    "templates_none_match": gettext_lazy("No approved template matches this search."),
    "templates_failed": gettext_lazy("The templates could not be loaded."),
    "category_marketing": gettext_lazy("Marketing"),
    "category_utility": gettext_lazy("Utility"),
    "category_authentication": gettext_lazy("Authentication"),
    "template_no_values": gettext_lazy("This template needs no values: it is sent as it is."),
    "template_prefilled": gettext_lazy("From the contact"),
    "template_example": gettext_lazy("e.g. %(example)s"),
    "template_media_link": gettext_lazy("A public https link to the file"),
    "location_latitude": gettext_lazy("Latitude"),
    "location_longitude": gettext_lazy("Longitude"),
    "location_name": gettext_lazy("Name"),
    "location_address": gettext_lazy("Address"),
    "header_image": gettext_lazy("Image"),
    "header_video": gettext_lazy("Video"),
    "header_document": gettext_lazy("Document"),
    "header_location": gettext_lazy("Location"),
}


def _people(org) -> list[dict]:
    """Everyone who may hold a conversation (`assignable`), and the others for the names of older assignments."""
    return [
        {
            "id": membership.user_id,
            "name": membership.user.name or membership.user.email,
            "assignable": membership.is_active and membership.user.is_active and membership.role in INBOX_ROLES,
        }
        for membership in team_members(org=org)
    ]


def _visible(request) -> tuple[QuerySet | None, QuerySet[Conversation]]:
    """The numbers this person sees (a subquery; None: all) and the conversations on them."""
    number_ids = request_visible_numbers(request)
    return number_ids, conversation_list(org=request.org, number_ids=number_ids)


def _counts(conversations: QuerySet[Conversation], *, user_id: int) -> dict:
    """Open conversations by tab (mine, unassigned, all), and how many there are in any status (one query)."""
    is_open = Q(status=Conversation.Status.OPEN)
    return conversations.aggregate(
        mine=Count("pk", filter=is_open & Q(assigned_to_id=user_id)),
        unassigned=Count("pk", filter=is_open & Q(assigned_to__isnull=True)),
        all=Count("pk", filter=is_open),
        total=Count("pk"),
    )


def _inbox_member(view):
    """member_required, and the inbox is for agents and admins (marketers get the reason)."""

    @wraps(view)
    @member_required
    def wrapper(request, *args, **kwargs):
        if request.role not in INBOX_ROLES:
            return permission_denied(
                request, reason=_("The inbox is for agents and admins. Ask an admin of your organization for access.")
            )
        return view(request, *args, **kwargs)

    return wrapper


@_inbox_member
def inbox(request, conversation_id: int | None = None):
    org = request.org
    number_ids, conversations = _visible(request)
    opened = None
    if conversation_id is not None:
        conversation = conversations.filter(pk=conversation_id).first()
        if conversation is None:
            raise Http404("No such conversation.")
        opened = conversation_data(conversation)
    numbers = [
        {
            "id": number.pk,
            "name": number.display_name,
            "phone": number.phone_number,
            "provider": number.provider,
        }
        for number in number_list(org=org, number_ids=number_ids)
    ]
    data = {
        "me": {"id": request.user.pk, "name": request.user.name or request.user.email, "role": request.role},
        "numbers": numbers,
        "people": _people(org),
        "teams": [{"id": team.pk, "name": team.name} for team in teams(org=org)],
        "counts": _counts(conversations, user_id=request.user.pk),
        "opened": opened,
        "time_zone": timezone.get_current_timezone_name(),
    }
    context = {
        "data": data,
        "strings": {**STRINGS, **call_labels.inbox_strings()},
        "numbers": numbers,
        "sandbox_numbers": [number for number in numbers if number["provider"] == Provider.SANDBOX],
        "teams": data["teams"],
        "is_admin": request.role == Role.ADMIN,
        "notes_max_length": NOTES_MAX_LENGTH,
        "panel_sections": extensions.inbox_panel_sections(),
        # The published WhatsApp Flows, each sendable from its account's numbers (the composer's flow dialog).
        "flows": [
            {"id": flow.pk, "name": flow.name, "waba_id": flow.waba_id}
            for flow in flow_selectors.flow_sendable(org=org, number_ids=number_ids)
        ],
        "flow_wabas": {str(n.pk): flow_services.flow_waba_id(n) for n in number_list(org=org, number_ids=number_ids)},
    }
    return render(request, "messaging/inbox.html", context)


@_inbox_member
def inbox_counts(request):
    """The tabs' counts, read again by the page after live updates (debounced)."""
    _, conversations = _visible(request)
    return JsonResponse(_counts(conversations, user_id=request.user.pk))


urlpatterns = [
    path("inbox/", inbox, name="inbox"),
    # At most 18 digits: a longer number is no conversation id (and would overflow the query).
    path("inbox/<id:conversation_id>/", inbox, name="inbox-conversation"),
    path("inbox/counts/", inbox_counts, name="inbox-counts"),
]
