"""Forms of the platform pages (staff): organizations and plans."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.plans import DEFAULT_PLANS, plans_all

MB = 1024 * 1024


def plan_choices(*, active_only: bool = True) -> list[tuple[str, str]]:
    """The plans an organization may be given; with no plan rows at all (a flushed test database), the defaults."""
    plans = plans_all().filter(is_active=True) if active_only else plans_all()
    choices = [(plan.code, plan.name) for plan in plans]
    if not choices and not plans_all().exists():
        choices = [(code, fields["name"]) for code, fields in DEFAULT_PLANS.items()]
    return choices


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(label=_("Organization name"), max_length=200)
    admin_email = forms.EmailField(
        label=_("First admin's e-mail"), max_length=254, help_text=_("They get an invitation to join as its admin.")
    )
    plan = forms.ChoiceField(label=_("Plan"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = plan_choices()
        self.fields["name"].widget.attrs.update({"dir": "auto", "autocomplete": "off"})


class PlanChangeForm(forms.Form):
    plan = forms.ChoiceField(label=_("Plan"))

    def __init__(self, *args, current: str, **kwargs):
        super().__init__(*args, initial={"plan": current}, **kwargs)
        choices = plan_choices()
        if current not in dict(choices):
            choices.append((current, current))
        self.fields["plan"].choices = choices


class OrganizationDeleteForm(forms.Form):
    """Deleting an organization is confirmed by typing its name (checked again by the service)."""

    confirm_name = forms.CharField(label=_("Organization name"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirm_name"].widget.attrs.update({"dir": "auto", "autocomplete": "off"})


def _limit(label, help_text=None):
    return forms.IntegerField(
        label=label, required=False, min_value=0, max_value=2**31 - 1, help_text=help_text or _("Empty: unlimited.")
    )


class PlanForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"), max_length=16, help_text=_("Organizations name their plan by it; it cannot change later.")
    )
    name = forms.CharField(label=_("Name"), max_length=80)
    monthly_price = forms.DecimalField(
        label=_("Monthly price"), max_digits=12, decimal_places=2, min_value=Decimal(0), initial=Decimal(0)
    )
    currency = forms.CharField(
        label=_("Currency"), min_length=3, max_length=3, initial="USD", help_text=_("ISO 4217 code, e.g. USD, SAR.")
    )
    max_users = _limit(_("Users"))
    max_numbers = _limit(_("WhatsApp numbers"))
    max_messages_per_month = _limit(_("Outbound messages a month"))
    max_storage_mb = _limit(_("Storage (MB)"))
    is_active = forms.BooleanField(
        label=_("Active"), required=False, initial=True, help_text=_("Only active plans can be given to organizations.")
    )

    def __init__(self, *args, plan=None, **kwargs):
        if plan is not None:
            kwargs["initial"] = {
                "code": plan.code,
                "name": plan.name,
                "monthly_price": plan.monthly_price,
                "currency": plan.currency,
                "max_users": plan.max_users,
                "max_numbers": plan.max_numbers,
                "max_messages_per_month": plan.max_messages_per_month,
                "max_storage_mb": None if plan.max_storage_bytes is None else plan.max_storage_bytes // MB,
                "is_active": plan.is_active,
            }
        super().__init__(*args, **kwargs)
        if plan is not None:
            self.fields["code"].disabled = True
        self.fields["name"].widget.attrs.update({"dir": "auto"})

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        storage = data.pop("max_storage_mb")
        data["max_storage_bytes"] = None if storage is None else storage * MB
        return data
