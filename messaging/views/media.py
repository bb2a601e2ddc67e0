"""The media library page (under the inbox: agents and admins): the files of the numbers the person may see and the
organization's uploads, newest first, as thumbnails (images) or file icons, filtered like the API's GET media/, with
the organization's storage use; and the public view of a shared link (POST media/{id}/copy). It reads through the
selectors the media API uses (messaging/selectors/conversations.py)."""

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_safe

from messaging.media_links import LinkExpired, media_file_response, media_from_share_token
from messaging.models import Message
from messaging.selectors.conversations import media_library, media_storage_usage
from messaging.views.filters import NumberDaysFilterForm, filtered
from messaging.views.inbox import _inbox_member

PAGE_SIZE = 48
TYPE_CHOICES = [
    ("", gettext_lazy("All files")),
    (Message.Type.IMAGE, gettext_lazy("Images")),
    (Message.Type.VIDEO, gettext_lazy("Videos")),
    (Message.Type.AUDIO, gettext_lazy("Audio")),
    (Message.Type.DOCUMENT, gettext_lazy("Documents")),
    (Message.Type.STICKER, gettext_lazy("Stickers")),
]
DIRECTION_CHOICES = [
    ("", gettext_lazy("Sent and received")),
    (Message.Direction.INBOUND, gettext_lazy("Received")),
    (Message.Direction.OUTBOUND, gettext_lazy("Sent")),
]
ICONS = {"image": "image", "video": "video", "audio": "mic", "document": "file", "sticker": "image"}


class MediaFilterForm(NumberDaysFilterForm):
    """The library's filters, named as the API's (type, direction, number, start_date, end_date)."""

    type = forms.ChoiceField(required=False, choices=TYPE_CHOICES, label=gettext_lazy("Type"))
    direction = forms.ChoiceField(required=False, choices=DIRECTION_CHOICES, label=gettext_lazy("Direction"))

    field_order = ["type", "direction", "number", "start_date", "end_date"]


@require_safe
@_inbox_member
def media_page(request):
    number_ids, numbers, form, filters = filtered(request, MediaFilterForm)
    media = media_library(
        org=request.org,
        number_ids=number_ids,
        kind=filters.get("type"),
        direction=filters.get("direction"),
        number_id=filters.get("number"),
        start_date=filters.get("start_date"),
        end_date=filters.get("end_date"),
    )
    page = Paginator(media, PAGE_SIZE).get_page(request.GET.get("page"))
    names = dict(numbers)
    items = [
        {
            "media": item,
            "icon": ICONS.get(item.kind, "file"),
            "thumbnail": item.kind in ("image", "sticker") and item.status == "ready" and bool(item.file),
            "content_url": reverse("media-content", kwargs={"pk": item.pk}),
            "conversation": item.message.conversation if item.message_id else None,
            "number": names.get(item.message.conversation.number_id, "") if item.message_id else "",
        }
        for item in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "items": items,
        "filtered": bool(filters),
        "query": query.urlencode(),
        "usage": media_storage_usage(org=request.org),
    }
    return render(request, "messaging/media.html", context)


@require_safe
def media_shared(request):
    """A shared link (`?link=<signed token>`): the file for anyone who has a valid link (no sign-in), 410 once
    expired, 404 otherwise. The token is a query parameter, not a path segment: it names no row of the caller's."""
    try:
        media = media_from_share_token(request.GET.get("link", ""))
    except LinkExpired:
        return HttpResponse(
            gettext("This link has expired. Ask whoever shared it for a new one."),
            status=410,
            content_type="text/plain; charset=utf-8",
        )
    response = media_file_response(media)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


urlpatterns = [
    path("inbox/media/", media_page, name="media-library"),
    path("shared/media/", media_shared, name="media-shared"),
]
