"""Forms of the number settings pages. They check the shape of the input and name the fields as the numbers API
does, so the service's errors (messaging.services.numbers) land next to the field that caused them. Secrets are
password inputs: a page never sends one back, typed or stored."""

import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from messaging import extensions
from messaging.models import WhatsAppNumber
from messaging.number_fields import SECRET_MAX_LENGTH
from whatsapp_hub.encryption import mask

NAME_MAX_LENGTH = WhatsAppNumber._meta.get_field("display_name").max_length
URL_MAX_LENGTH = WhatsAppNumber._meta.get_field("waha_base_url").max_length
# The secrets an admin may replace (never read back); a WAHA number's webhook key is the hub's own.
REPLACEABLE_SECRETS = ("access_token", "app_secret", "verify_token", "waha_api_key")


def _text(label, *, required: bool = True, max_length: int = 64, help_text="", ltr: bool = False, **attrs):
    widget_attrs = {"autocomplete": "off", **attrs}
    if ltr:
        widget_attrs["dir"] = "ltr"
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        help_text=help_text,
        widget=forms.TextInput(attrs=widget_attrs),
    )


def _secret(label, *, required: bool = True, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=SECRET_MAX_LENGTH,
        help_text=help_text,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}),
    )


def _display_name():
    return _text(
        _("Display name"), max_length=NAME_MAX_LENGTH, help_text=_("How your team sees this number."), dir="auto"
    )


PHONE_HELP = _("International format, e.g. +966 50 123 4567.")


def _phone_number(help_text=PHONE_HELP):
    return _text(_("Phone number"), required=False, max_length=32, help_text=help_text, ltr=True, inputmode="tel")


class CloudNumberForm(forms.Form):
    display_name = _display_name()
    phone_number = _phone_number()
    phone_number_id = _text(
        _("Phone number ID"), help_text=_("Meta for Developers: WhatsApp, API Setup."), ltr=True, inputmode="numeric"
    )
    waba_id = _text(
        _("WhatsApp Business Account ID"),
        help_text=_("On the same page, under the phone number."),
        ltr=True,
        inputmode="numeric",
    )
    access_token = _secret(_("Access token"), help_text=_("A permanent token of a system user of your business."))
    app_secret = _secret(_("App secret"), help_text=_("App settings, Basic. The hub checks every webhook with it."))
    verify_token = _text(
        _("Verify token"),
        required=False,
        max_length=SECRET_MAX_LENGTH,
        help_text=_("Leave blank to have one generated. You paste it into Meta's dashboard next."),
        ltr=True,
    )

    def clean_verify_token(self) -> str:
        return self.cleaned_data["verify_token"] or secrets.token_urlsafe(24)


class WahaNumberForm(forms.Form):
    display_name = _display_name()
    waha_session = _text(
        _("Session name"),
        required=False,
        help_text=_("Letters, digits, '-' and '_'. Leave blank to have one generated."),
        ltr=True,
    )
    waha_base_url = _text(
        _("WAHA URL"),
        required=False,
        max_length=URL_MAX_LENGTH,
        help_text=_("Your own WAHA server, e.g. https://waha.example.com. Leave blank to use the hub's."),
        ltr=True,
        inputmode="url",
    )
    waha_api_key = _secret(
        _("WAHA API key"), required=False, help_text=_("The X-Api-Key of that server. Blank: the hub's own key.")
    )


class SandboxNumberForm(forms.Form):
    display_name = _display_name()
    phone_number = _phone_number(help_text=_("Optional: any number, nothing is sent to WhatsApp."))


CREATE_FORMS = {"cloud": CloudNumberForm, "waha": WahaNumberForm, "sandbox": SandboxNumberForm}


class NumberEditForm(forms.Form):
    """The fields of the number's provider. A secret left blank stays as it is; `is_primary` only ever makes the
    number primary (another number's becoming primary is what unsets it)."""

    display_name = _display_name()
    phone_number = _phone_number()
    throughput = forms.IntegerField(
        label=_("Throughput"),
        required=False,
        help_text=_("Messages per second this number may send (Meta: 80 by default, up to 1,000)."),
        widget=forms.NumberInput(attrs={"min": 1, "max": 1000}),
    )
    is_primary = forms.BooleanField(
        label=_("Make this the primary number"),
        required=False,
        help_text=_("Used when no number is chosen, e.g. by the API and campaigns."),
    )
    phone_number_id = _text(_("Phone number ID"), ltr=True, inputmode="numeric")
    waba_id = _text(_("WhatsApp Business Account ID"), ltr=True, inputmode="numeric")
    access_token = _secret(_("Access token"), required=False)
    app_secret = _secret(_("App secret"), required=False)
    verify_token = _secret(_("Verify token"), required=False, help_text=_("Type the same token in Meta's dashboard."))
    waha_base_url = WahaNumberForm.base_fields["waha_base_url"]
    waha_api_key = _secret(_("WAHA API key"), required=False)

    # The provider's fields this page edits: a WAHA session's name and webhook key stay as the hub set them.
    PROVIDER_FIELDS = {
        "cloud": ("phone_number_id", "waba_id", "access_token", "app_secret", "verify_token"),
        "waha": ("waha_base_url", "waha_api_key"),
        "sandbox": (),
    }

    def __init__(self, *args, number: WhatsAppNumber, **kwargs):
        initial = {
            "display_name": number.display_name,
            "phone_number": number.phone_number,
            "throughput": number.throughput,
            "phone_number_id": number.phone_number_id,
            "waba_id": number.waba_id,
            "waha_base_url": number.waha_base_url,
        }
        super().__init__(*args, initial=initial, **kwargs)
        # The apps' inputs (messaging/extensions.py), each group under its legend, with the values stored now.
        extensions.number_values_load([number])
        self.extension_groups_names = []
        for legend, fields in extensions.number_form_groups(number.organization_id):
            for name, field in fields.items():
                self.fields[name] = field
                self.initial[name] = number.extension_values.get(name)
            self.extension_groups_names.append((legend, list(fields)))
        own = self.PROVIDER_FIELDS[number.provider]
        for name in {name for fields in self.PROVIDER_FIELDS.values() for name in fields} - set(own):
            del self.fields[name]
        if number.is_primary:
            del self.fields["is_primary"]
        self.number = number

    def changes(self) -> dict:
        """What number_update is given: secrets left blank and an unticked primary box are not changes."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if not (name in REPLACEABLE_SECRETS and not value)
            and not (name == "is_primary" and not value)
            and not (name == "throughput" and value is None)
        }

    def secret_fields(self) -> list[tuple[forms.BoundField, str | None]]:
        """The secret fields with their stored values masked ('...abcd', None when unset)."""
        return [(self[name], mask(getattr(self.number, name))) for name in REPLACEABLE_SECRETS if name in self.fields]

    def plain_fields(self) -> list[forms.BoundField]:
        extended = {name for _, names in self.extension_groups_names for name in names}
        return [self[name] for name in self.fields if name not in REPLACEABLE_SECRETS and name not in extended]

    def extension_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The apps' inputs: (legend, bound fields) per extension."""
        return [(legend, [self[name] for name in names]) for legend, names in self.extension_groups_names]


def _member_label(membership) -> str:
    name = membership.user.name or membership.user.email
    return name if membership.is_active else _("%(name)s (deactivated)") % {"name": name}


class AssignForm(forms.Form):
    user_id = forms.IntegerField(label=_("Person"), required=False, widget=forms.Select)
    team_id = forms.IntegerField(label=_("Team"), required=False, widget=forms.Select)

    def __init__(self, *args, members, teams, **kwargs):
        super().__init__(*args, **kwargs)
        nobody = [("", _("Nobody"))]
        self.fields["user_id"].widget.choices = nobody + [
            (membership.user_id, _member_label(membership)) for membership in members
        ]
        self.fields["team_id"].widget.choices = [("", _("No team"))] + [(team.pk, team.name) for team in teams]


class DeleteForm(forms.Form):
    confirm_name = forms.CharField(max_length=NAME_MAX_LENGTH)

    def __init__(self, *args, number: WhatsAppNumber, **kwargs):
        super().__init__(*args, **kwargs)
        self.number = number
        label = _("To confirm, type the number's name: %(name)s") % {"name": number.display_name}
        self.fields["confirm_name"].label = label
        self.fields["confirm_name"].widget.attrs.update({"autocomplete": "off", "data-expected": number.display_name})

    def clean_confirm_name(self) -> str:
        value = self.cleaned_data["confirm_name"]
        if value.strip() != self.number.display_name:
            raise forms.ValidationError(_("This is not the number's name."))
        return value
