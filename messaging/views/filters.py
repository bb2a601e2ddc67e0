"""What the inbox's list pages (calls, the media library) share: filters by one of the numbers the person may see and
a range of days, named as the APIs' (number, start_date, end_date)."""

from django import forms
from django.utils.translation import gettext_lazy

from messaging.selectors.access import request_visible_numbers
from messaging.selectors.numbers import number_list


class NumberDaysFilterForm(forms.Form):
    number = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=gettext_lazy("Number"))
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


def filtered(request, form_class: type[NumberDaysFilterForm]):
    """(the visible number ids, their (id, name) choices, the bound form, its valid non-empty values): an invalid
    filter is shown with its error and left out."""
    number_ids = request_visible_numbers(request)
    numbers = [(number.pk, number.display_name) for number in number_list(org=request.org, number_ids=number_ids)]
    form = form_class(request.GET, numbers=numbers)
    form.is_valid()
    filters = {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}
    return number_ids, numbers, form, filters
