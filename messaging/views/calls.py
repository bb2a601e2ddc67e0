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
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.calls import call_list
from messaging.selectors.numbers import number_list
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


class CallFilterForm(forms.Form):
    """The list's filters, named as the API's (number, direction, status, start_date, end_date)."""

    number = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=gettext_lazy("Number"))
    direction = forms.ChoiceField(required=False, choices=DIRECTION_CHOICES, label=gettext_lazy("Direction"))
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label=gettext_lazy("Status"))
    start_date = forms.DateField(
        required=False, label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.DateField(required=False, label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, numbers: list[tuple[int, str]]):
        super().__init__(data)
        self.fields["number"].choices = [("", gettext_lazy("All numbers")), *numbers]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and start > end:
            self.add_error("end_date", gettext_lazy("The last day comes before the first."))
        return cleaned


@require_safe
@_inbox_member
def call_log(request):
    number_ids = request_visible_numbers(request)
    numbers = [(number.pk, number.display_name) for number in number_list(org=request.org, number_ids=number_ids)]
    form = CallFilterForm(request.GET, numbers=numbers)
    form.is_valid()  # an invalid filter is shown with its error and left out
    filters = {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}
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
