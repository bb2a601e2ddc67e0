"""Forms of the web app's account pages: they check the shape of the input; the services decide.

Lengths are the API serializers' (accounts.serializers), so a page accepts what the API accepts."""

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from whatsapp_hub.errors import ServiceError


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
        named = {field: messages for field, messages in (refused.errors or {}).items() if field in self.fields}
        for field, messages in named.items():
            for message in messages:
                self.add_error(field, message)
        if not named:
            self.add_error(None, refused.detail)


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
