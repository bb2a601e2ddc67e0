"""The calls page (under the inbox: agents and admins): the calls of the numbers the person may see, newest first,
filtered by number, direction, status and days, each linked to its conversation. It reads through the selector the
calls API uses (messaging/selectors/calls.py)."""

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from messaging.call_labels import ALERT_STATUSES, call_label, clock_duration
from messaging.models import Call
from messaging.selectors.calls import call_list
from messaging.views.filters import NumberDaysFilterForm, filtered
from messaging.views.inbox import _inbox_member

PAGE_SIZE = 50
STATUS_CHOICES = [
    ("", gettext_lazy("All calls")),
    (Call.Status.MISSED, gettext_lazy("Missed")),
    (Call.Status.COMPLETED, gettext_lazy("Completed")),
    (Call.Status.ANSWERED, gettext_lazy("Answered")),
    (Call.Status.REJECTED, gettext_lazy("Declined")),
    (Call.Status.FAILED, gettext_lazy("Failed")),
    (Call.Status.RINGING, gettext_lazy("Ringing")),
]
DIRECTION_CHOICES = [
    ("", gettext_lazy("Both directions")),
    (Call.Direction.INBOUND, gettext_lazy("Incoming")),
    (Call.Direction.OUTBOUND, gettext_lazy("Outgoing")),
]


class CallFilterForm(NumberDaysFilterForm):
    """The list's filters, named as the API's (number, direction, status, start_date, end_date)."""

    direction = forms.ChoiceField(required=False, choices=DIRECTION_CHOICES, label=gettext_lazy("Direction"))
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label=gettext_lazy("Status"))

    field_order = ["number", "direction", "status", "start_date", "end_date"]


@require_safe
@_inbox_member
def call_log(request):
    number_ids, numbers, form, filters = filtered(request, CallFilterForm)
    calls = call_list(
        org=request.org,
        number_ids=number_ids,
        number_id=filters.get("number"),
        direction=filters.get("direction"),
        status=filters.get("status"),
        start_date=filters.get("start_date"),
        end_date=filters.get("end_date"),
    )
    page = Paginator(calls, PAGE_SIZE).get_page(request.GET.get("page"))
    names = dict(numbers)
    rows = [
        {
            "call": call,
            "label": call_label(call),
            "alert": call.status in ALERT_STATUSES,
            "duration": clock_duration(call.duration) if call.duration else "",
            "number": names.get(call.number_id, ""),
        }
        for call in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "rows": rows, "filtered": bool(filters), "query": query.urlencode()}
    return render(request, "messaging/calls.html", context)


urlpatterns = [path("inbox/calls/", call_log, name="calls")]
