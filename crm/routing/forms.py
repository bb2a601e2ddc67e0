"""The settings page's form of a lead-routing rule (the same checks as the API's, in the service)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.routing.serializers import CAP_MAX


class LeadRoutingRuleForm(forms.Form):
    number = forms.TypedChoiceField(
        label=_("WhatsApp number"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("The rule for every number applies to the numbers without a rule of their own."),
    )
    team = forms.TypedChoiceField(
        label=_("Team"), coerce=int, help_text=_("Its admins and agents take the new conversations in turn.")
    )
    max_open_per_member = forms.IntegerField(
        label=_("Open conversations per member"),
        min_value=1,
        max_value=CAP_MAX,
        required=False,
        help_text=_("A member with this many open or pending conversations gets no new one. Leave empty for no limit."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args, numbers, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["number"].choices = [("", _("Every number")), *((n.pk, str(n)) for n in numbers)]
        self.fields["team"].choices = [("", "—"), *((t.pk, t.name) for t in teams)]
        self.numbers = {n.pk: n for n in numbers}
        self.teams = {t.pk: t for t in teams}

    def rule_fields(self) -> dict:
        """The service's arguments: the chosen rows (the choices are the organization's own)."""
        data = self.cleaned_data
        return {
            "number": self.numbers.get(data["number"]) if data["number"] is not None else None,
            "team": self.teams[data["team"]],
            "max_open_per_member": data["max_open_per_member"],
            "enabled": data["enabled"],
        }
