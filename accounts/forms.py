"""Forms of the web app's account pages: they check the shape of the input; the services decide.

Lengths are the API serializers' (accounts.serializers), so a page accepts what the API accepts."""

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import org_settings
from accounts.models import Role
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error


def _email() -> forms.EmailField:
    widget = forms.EmailInput(attrs={"autocomplete": "username", "dir": "ltr"})
    return forms.EmailField(label=_("E-mail"), max_length=254, widget=widget)


def _password(label, autocomplete: str, max_length: int = 128) -> forms.CharField:
    widget = forms.PasswordInput(attrs={"autocomplete": autocomplete, "dir": "ltr"})
    return forms.CharField(label=label, strip=False, max_length=max_length, widget=widget)


def _name() -> forms.CharField:
    widget = forms.TextInput(attrs={"autocomplete": "name", "dir": "auto"})
    return forms.CharField(label=_("Your name"), max_length=150, widget=widget)


def _organization_name() -> forms.CharField:
    widget = forms.TextInput(attrs={"autocomplete": "organization", "dir": "auto"})
    return forms.CharField(label=_("Organization name"), max_length=200, widget=widget)


class AccountForm(forms.Form):
    """A form whose input a service then checks: the service's refusal is shown next to the fields it names.
    The first field has the focus; `new_password_field` names a password being chosen (the validators' rules are
    its help)."""

    new_password_field: str | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._focus(next(iter(self.fields)))
        if self.new_password_field:  # in the request's language, from the validators in force
            self.fields[self.new_password_field].help_text = password_validation.password_validators_help_text_html()

    def _focus(self, name: str) -> None:
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)
        self.fields[name].widget.attrs["autofocus"] = True

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        first_wrong = next((name for name in self.fields if name in self.errors), None)
        if first_wrong is not None:  # the person starts where the first mistake is
            self._focus(first_wrong)

    def add_refusal(self, refused: ServiceError) -> None:
        """Each message of `refused` next to the field it names; its detail above the form when it names none."""
        show_service_error(self, refused)


class SignInForm(AccountForm):
    email = _email()
    password = _password(_("Password"), "current-password", max_length=4096)


class SignUpForm(AccountForm):
    new_password_field = "password"
    name = _name()
    email = _email()
    password = _password(_("Password"), "new-password")
    organization_name = _organization_name()


class PasswordForgotForm(AccountForm):
    email = _email()


class PasswordResetForm(AccountForm):
    new_password_field = "new_password"
    new_password = _password(_("New password"), "new-password")


class InvitationSignUpForm(AccountForm):
    """Joining through an invitation with a new account."""

    new_password_field = "password"

    name = _name()
    password = _password(_("Choose a password"), "new-password")


class InvitationSignInForm(AccountForm):
    """Joining through an invitation with the account the invited e-mail already has."""

    password = _password(_("Password of your account"), "current-password")


class OrganizationCreateForm(AccountForm):
    name = _organization_name()


def _code(label, required: bool = True) -> forms.CharField:
    widget = forms.TextInput(
        attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "dir": "ltr", "spellcheck": "false"}
    )
    return forms.CharField(label=label, max_length=16, required=required, widget=widget)


class TwoFactorCodeForm(AccountForm):
    """A current code of the authenticator app (confirming the set-up)."""

    code = _code(_("Code from the app"))


class TwoFactorProofForm(AccountForm):
    """A current code, or the password, to turn the protection down (turn off, new recovery codes)."""

    code = _code(_("Code from the app"), required=False)
    password = forms.CharField(
        label=_("Or your password"),
        strip=False,
        max_length=128,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "dir": "ltr"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.pop("autofocus", None)

    def clean(self):
        data = super().clean()
        if not data.get("code") and not data.get("password"):
            raise forms.ValidationError(gettext("Give a current code from the app, or your password."))
        return data


class SecondStepForm(AccountForm):
    """The second step of a sign-in: a code, or a recovery code, and whether to trust this browser."""

    code = _code(_("Code from the app"), required=False)
    recovery_code = forms.CharField(
        label=_("Recovery code"),
        help_text=_("Each recovery code works once."),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "dir": "ltr", "spellcheck": "false"}),
    )
    trust_device = forms.BooleanField(label=_("Trust this browser for 30 days"), required=False)

    def focus_recovery(self) -> None:
        """The page shows the recovery code's field instead of the code's: it gets the focus."""
        if "code" not in self.errors:
            self._focus("recovery_code")

    def clean(self):
        data = super().clean()
        if not data.get("code") and not data.get("recovery_code"):
            raise forms.ValidationError(gettext("Type the code your authenticator app shows, or a recovery code."))
        return data


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
    require_admin_two_factor = forms.BooleanField(
        label=_("Require two-step sign-in for admins"),
        required=False,
        help_text=_(
            "Admins without two-step sign-in are sent to set it up, and cannot use the admin pages or admin API "
            "routes until they do."
        ),
    )

    # Business hours: per weekday an "open" box (its field holds the day's errors) and two times, built in __init__.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, name in org_settings.WEEKDAY_NAMES.items():
            self.fields[f"hours_{day}"] = forms.BooleanField(label=name, required=False)
            for end, label in (("open", gettext("%(day)s opens at")), ("close", gettext("%(day)s closes at"))):
                self.fields[f"hours_{day}_{end}"] = forms.CharField(
                    label=label % {"day": name},
                    required=False,
                    max_length=8,
                    widget=forms.TimeInput(attrs={"type": "time", "dir": "ltr"}),
                )

    @staticmethod
    def hours_initial(hours: dict[int, tuple[int, int]]) -> dict:
        """The business hours fields' initial values from org_settings.business_hours (closed days: 09:00 to
        17:00 ready, unticked), and `business_hours` as the setting holds them, to tell a change."""

        def clock(minute: int) -> str:
            return f"{minute // 60:02d}:{minute % 60:02d}"

        initial: dict = {"business_hours": {}}
        for weekday, day in enumerate(org_settings.WEEKDAYS, 1):
            opening, closing = hours.get(weekday, (9 * 60, 17 * 60))
            initial |= {f"hours_{day}": weekday in hours, f"hours_{day}_open": clock(opening)}
            initial[f"hours_{day}_close"] = clock(closing)
            if weekday in hours:
                initial["business_hours"][day] = [clock(opening), clock(closing)]
        return initial

    def hours_rows(self) -> list[dict]:
        """Per weekday its bound fields: `day` (the open box), `open` and `close`."""
        return [
            {"day": self[f"hours_{day}"], "open": self[f"hours_{day}_open"], "close": self[f"hours_{day}_close"]}
            for day in org_settings.WEEKDAYS
        ]

    def clean(self):
        """`business_hours`: the ticked days' intervals, each checked by the settings schema's own check (its
        message goes to that day)."""
        cleaned = super().clean()
        hours = {}
        for day in org_settings.WEEKDAYS:
            if cleaned.get(f"hours_{day}"):
                interval = [cleaned.get(f"hours_{day}_open") or "", cleaned.get(f"hours_{day}_close") or ""]
                try:
                    hours[day] = org_settings.business_hours_interval(day, interval)
                except ValueError as exc:
                    self.add_error(f"hours_{day}", str(exc))
        cleaned["business_hours"] = hours
        return cleaned

    def business_hours_changed(self) -> bool:
        return self.cleaned_data["business_hours"] != self.initial.get("business_hours", {})
