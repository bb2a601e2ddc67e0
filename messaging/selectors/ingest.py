"""Read paths of the inbound webhooks: the secrets that authenticate a provider's POST or GET.

Each is one indexed query on the hot path (a second one only to tell an unknown organization from one
without numbers). `None` means "no such organization (or number) here": the view answers 404.
"""

from dataclasses import dataclass

from accounts.models import Organization
from messaging.models import Provider, WhatsAppNumber


def _organization_exists(organization_id: int) -> bool:
    return Organization.objects.filter(pk=organization_id).exists()


def _cloud_numbers(*, organization_id: int, phone_number_id: str | None):
    """The organization's live Cloud numbers (or its number with this phone_number_id), unordered."""
    numbers = WhatsAppNumber.objects.filter(organization_id=organization_id).live().order_by()
    if phone_number_id is not None:
        return numbers.filter(phone_number_id=phone_number_id)
    return numbers.filter(provider=Provider.CLOUD)


def meta_webhook_secrets(*, organization_id: int, phone_number_id: str | None = None) -> list[tuple[int, str]] | None:
    """(number id, app secret) of the organization's live Cloud numbers that have one (or of the number
    with this phone_number_id); None when the organization (or that number) does not exist."""
    rows = list(
        _cloud_numbers(organization_id=organization_id, phone_number_id=phone_number_id).values_list("id", "app_secret")
    )
    if not rows:
        exists = phone_number_id is None and _organization_exists(organization_id)
        return [] if exists else None
    return [(number_id, secret) for number_id, secret in rows if secret]


def meta_webhook_verify_tokens(*, organization_id: int, phone_number_id: str | None = None) -> list[str] | None:
    """The verify tokens of the organization's live Cloud numbers (or of that number); None when the
    organization (or that number) does not exist."""
    rows = list(
        _cloud_numbers(organization_id=organization_id, phone_number_id=phone_number_id).values_list(
            "verify_token", flat=True
        )
    )
    if not rows:
        exists = phone_number_id is None and _organization_exists(organization_id)
        return [] if exists else None
    return [token for token in rows if token]


@dataclass(frozen=True)
class WahaSession:
    number_id: int
    hmac_key: str


def waha_webhook_session(*, organization_id: int, session: str) -> WahaSession | None:
    """The organization's live WAHA number running `session` (with its webhook HMAC key, blank when the
    session signs nothing); None when there is no such organization or session."""
    row = (
        WhatsAppNumber.objects.filter(organization_id=organization_id, provider=Provider.WAHA, waha_session=session)
        .live()
        .order_by()
        .values_list("id", "waha_webhook_hmac_key")
        .first()
    )
    return WahaSession(number_id=row[0], hmac_key=row[1]) if row else None
