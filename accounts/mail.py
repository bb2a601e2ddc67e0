"""E-mails of accounts rendered from templates: a subject, a text part and an HTML part, in the recipient's language
(their own choice, else their first organization's, else the product's default)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from accounts import org_settings
from accounts.models import Membership, User


def language_of(user: User) -> str:
    if user.language:
        return user.language
    membership = Membership.objects.select_related("organization").filter(user=user, is_active=True).first()
    locale = (membership.organization.settings or {}).get("locale") if membership is not None else None
    return locale if locale in org_settings.locales() else settings.LANGUAGE_CODE


def send_templated(*, user: User, template: str, context: dict) -> None:
    """Send `accounts/email/<template>_subject.txt`, `.txt` and `.html` to `user` in their language."""
    with translation.override(language_of(user)):
        context = {
            **context,
            "user": user,
            "LANGUAGE_CODE": translation.get_language(),
            "LANGUAGE_BIDI": translation.get_language_bidi(),
        }
        subject = " ".join(render_to_string(f"accounts/email/{template}_subject.txt", context).split())
        text = render_to_string(f"accounts/email/{template}.txt", context)
        html = render_to_string(f"accounts/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(html, "text/html")
    message.send()
