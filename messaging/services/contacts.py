"""Contacts: create, update, import/export, tags, opt-out."""

import unicodedata

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_log_write
from messaging import hooks
from messaging.models import Contact
from messaging.phones import InvalidPhoneNumber, normalize_phone, wa_id_from_e164
from whatsapp_hub.errors import ServiceError

# Inbound words that opt a contact out of (or back into) marketing; an organization may set its own
# lists in Organization.settings["opt_out_keywords"] / ["opt_in_keywords"].
DEFAULT_OPT_OUT_KEYWORDS = ["stop", "unsubscribe", "stop all", "cancel", "إيقاف", "ايقاف", "توقف", "إلغاء الاشتراك"]
DEFAULT_OPT_IN_KEYWORDS = ["start", "subscribe", "unstop", "اشتراك", "ابدأ"]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip().casefold()


def opt_keyword(*, organization: Organization, text: str) -> bool | None:
    """True when `text` (a whole inbound message) is an opt-out word, False for opt-in, else None."""
    folded = _fold(text)
    if not folded:
        return None
    settings = organization.settings or {}
    if folded in {_fold(w) for w in settings.get("opt_out_keywords", DEFAULT_OPT_OUT_KEYWORDS)}:
        return True
    if folded in {_fold(w) for w in settings.get("opt_in_keywords", DEFAULT_OPT_IN_KEYWORDS)}:
        return False
    return None


def phone_or_error(raw: str, *, field: str = "phone") -> str:
    """E.164 of `raw`, or a 400 naming the field."""
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber as exc:
        raise ServiceError(str(exc), errors={field: [str(exc)]}) from None


@transaction.atomic
def contact_get_or_create(*, organization: Organization, phone: str, name: str = "") -> Contact:
    """The organization's contact for this phone number, created when missing."""
    e164 = phone_or_error(phone)
    contact, _ = Contact.objects.for_org(organization).get_or_create(
        organization=organization, wa_id=wa_id_from_e164(e164), defaults={"phone": e164, "name": name.strip()}
    )
    return contact


@transaction.atomic
def contact_set_opted_out(*, contact: Contact, opted_out: bool, actor=None, source: str = "api") -> Contact:
    """Opt a contact out of marketing (or back in), recorded in the audit log; subscribers told after commit."""
    if contact.opted_out == opted_out:
        return contact
    contact.opted_out = opted_out
    contact.opted_out_at = timezone.now() if opted_out else None
    contact.save(update_fields=["opted_out", "opted_out_at", "updated_at"])
    audit_log_write(
        organization=contact.organization,
        actor=actor,
        action="contact.opt_out" if opted_out else "contact.opt_in",
        target=contact,
        data={"source": source},
    )
    hooks.contact_opted_out.send_on_commit(
        organization_id=contact.organization_id, contact_id=contact.pk, opted_out=opted_out
    )
    return contact
