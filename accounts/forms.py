"""Forms of the web app's account pages: they check the shape of the input; the services decide."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput, max_length=4096)


# --- the organization admin's settings pages -------------------------------------------------------------------

# The roles as people read them (Role's own labels are not translated).
ROLE_CHOICES = [(Role.ADMIN, _("Admin")), (Role.AGENT, _("Agent")), (Role.MARKETING, _("Marketing"))]
ROLE_HELP = _("Admins manage the team and settings, agents answer in the inbox, marketing runs contacts and campaigns.")


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"dir": "ltr", "autocomplete": "off"})
    )
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=Role.AGENT, help_text=ROLE_HELP)


def member_label(membership) -> str:
    name = membership.user.name or membership.user.email
    return name if membership.is_active else gettext("%(name)s (deactivated)") % {"name": name}


class TeamForm(forms.Form):
    """A team's name, description and members; `members` are the organization's memberships to choose from."""

    name = forms.CharField(label=_("Name"), max_length=120, widget=forms.TextInput(attrs={"dir": "auto"}))
    description = forms.CharField(
        label=_("Description"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )
    member_ids = forms.TypedMultipleChoiceField(
        label=_("Members"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member_ids"].choices = [(member.user_id, member_label(member)) for member in members]


class TeamDeleteForm(forms.Form):
    """Deleting a team is confirmed by typing its name."""

    confirm_name = forms.CharField(label=_("Team name"), max_length=120)

    def __init__(self, *args, team_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.team_name = team_name
        self.fields["confirm_name"].widget.attrs.update({"dir": "auto", "autocomplete": "off"})

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"]
        if typed != self.team_name:
            raise forms.ValidationError(_("That is not the team's name."))
        return typed


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("What uses this key, e.g. “n8n production”."),
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=ROLE_CHOICES,
        initial=Role.AGENT,
        help_text=_("The key can do what a member with this role can do."),
    )


def _words(value) -> list[str]:
    lines = value if isinstance(value, list | tuple) else (value or "").splitlines()
    return [line.strip() for line in lines if isinstance(line, str) and line.strip()]


class KeywordsField(forms.CharField):
    """One word or phrase per line, cleaned to a list (blank lines dropped); the organization settings schema checks
    the words themselves."""

    widget = forms.Textarea(attrs={"rows": 8, "dir": "auto"})

    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=10_000, **kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def clean(self, value) -> list[str]:
        return _words(super().clean(value))

    def has_changed(self, initial, data) -> bool:
        return _words(initial) != _words(data)


class OrganizationForm(forms.Form):
    """The organization's name and settings (accounts.org_settings). Field names are the settings' keys, so the
    service's errors land next to their fields."""

    name = forms.CharField(label=_("Name"), max_length=200, widget=forms.TextInput(attrs={"dir": "auto"}))
    timezone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        help_text=_("Dates and times are shown in this time zone. Start typing a city, e.g. Riyadh."),
        widget=forms.TextInput(
            attrs={"list": "time-zones", "dir": "ltr", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    locale = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        help_text=_("The organization's default language."),
    )
    opt_out_keywords = KeywordsField(
        label=_("Opt-out keywords"),
        help_text=_(
            "One word or phrase per line. A customer who sends one of them as a whole message gets no more marketing."
        ),
    )
    opt_in_keywords = KeywordsField(
        label=_("Opt-in keywords"),
        help_text=_("One word or phrase per line. A customer who sends one of them is opted back in."),
    )
