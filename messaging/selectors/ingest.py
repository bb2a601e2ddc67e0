"""Read paths of the inbound webhooks: the secrets that authenticate a provider's POST or GET.

`None` means "no such organization (or number) here": the view answers 404.
"""

from dataclasses import dataclass

from django.core.cache import cache

from accounts.models import Organization
from messaging.models import Provider, WhatsAppNumber
from whatsapp_hub.encryption import decrypt, encrypt

# The app secrets of an organization's Cloud numbers are read on every webhook: cached (encrypted, as in the
# database) for this long. The view reads the database again whenever no cached secret matches, so a new or
# changed secret verifies at once; a removed one may still verify until the entry expires (or is forgotten).
SECRETS_CACHE_SECONDS = 60


@dataclass(frozen=True)
class CloudNumberSecret:
    number_id: int
    phone_number_id: str
    app_secret: str


def _secrets_key(organization_id: int) -> str:
    return f"messaging:webhook-secrets:{organization_id}"


def _cloud_numbers(organization_id: int):
    """The organization's live Cloud numbers, unordered."""
    return WhatsAppNumber.objects.filter(organization_id=organization_id, provider=Provider.CLOUD).live().order_by()


def _organization_exists(organization_id: int) -> bool:
    return Organization.objects.filter(pk=organization_id).exists()


def meta_webhook_secrets(
    *, organization_id: int, phone_number_id: str | None = None, fresh: bool = False
) -> list[CloudNumberSecret] | None:
    """The organization's live Cloud numbers with an app secret (only the one with this phone_number_id, when
    given); None when the organization, or that number, does not exist. From the cache unless `fresh`."""
    cached = None if fresh else cache.get(_secrets_key(organization_id))
    if cached is None:
        rows = list(_cloud_numbers(organization_id).values_list("id", "phone_number_id", "app_secret"))
        if not rows and not _organization_exists(organization_id):
            return None
        cached = [(number_id, phone, encrypt(secret) if secret else "") for number_id, phone, secret in rows]
        cache.set(_secrets_key(organization_id), cached, SECRETS_CACHE_SECONDS)
    if phone_number_id is not None:
        cached = [row for row in cached if row[1] == phone_number_id]
        if not cached:
            return None
    return [CloudNumberSecret(number_id, phone, decrypt(token)) for number_id, phone, token in cached if token]


def meta_webhook_secrets_forget(*, organization_id: int) -> None:
    """Drop the cached secrets of the organization (call after a Cloud number's app secret changes or the
    number is deleted, so an old secret stops verifying at once)."""
    cache.delete(_secrets_key(organization_id))


def meta_webhook_verify_tokens(*, organization_id: int, phone_number_id: str | None = None) -> list[str] | None:
    """The verify tokens of the organization's live Cloud numbers (or of that number); None when the
    organization (or that number) does not exist. Always from the database: Meta verifies rarely."""
    numbers = _cloud_numbers(organization_id)
    if phone_number_id is not None:
        numbers = numbers.filter(phone_number_id=phone_number_id)
    tokens = list(numbers.values_list("verify_token", flat=True))
    if not tokens:
        exists = phone_number_id is None and _organization_exists(organization_id)
        return [] if exists else None
    return [token for token in tokens if token]


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
