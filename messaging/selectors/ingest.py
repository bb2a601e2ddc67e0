"""Read paths of the inbound webhooks: the secrets that authenticate a provider's POST or GET.

`None` means "no such organization (or number) here": the view answers 404.
"""

from dataclasses import dataclass
from time import monotonic

from accounts.models import Organization
from messaging.models import Provider, WhatsAppNumber

# The app secrets of an organization's Cloud numbers are read on every webhook: each process keeps them for this
# long (no round trip at all on the hot path). The view reads the database again whenever no kept secret
# matches, so a new or changed secret verifies at once; a removed one is forgotten at once by the process that
# removed it (meta_webhook_secrets_forget) and within this many seconds by the others.
SECRETS_CACHE_SECONDS = 5.0

# organization id -> (monotonic expiry, [(number id, phone_number_id, app secret)]); per process.
_kept_secrets: dict[int, tuple[float, list[tuple[int, str, str]]]] = {}


@dataclass(frozen=True)
class CloudNumberSecret:
    number_id: int
    phone_number_id: str
    app_secret: str


def _cloud_numbers(organization_id: int):
    """The organization's live Cloud numbers, unordered."""
    return WhatsAppNumber.objects.filter(organization_id=organization_id, provider=Provider.CLOUD).live().order_by()


def _organization_exists(organization_id: int) -> bool:
    return Organization.objects.filter(pk=organization_id).exists()


def meta_webhook_secrets(
    *, organization_id: int, phone_number_id: str | None = None, fresh: bool = False
) -> list[CloudNumberSecret] | None:
    """The organization's live Cloud numbers with an app secret (only the one with this phone_number_id, when
    given); None when the organization, or that number, does not exist. Kept by the process unless `fresh`."""
    kept = None if fresh else _kept_secrets.get(organization_id)
    if kept is None or kept[0] < monotonic():
        rows = list(_cloud_numbers(organization_id).values_list("id", "phone_number_id", "app_secret"))
        if not rows and not _organization_exists(organization_id):
            return None
        kept = (monotonic() + SECRETS_CACHE_SECONDS, rows)
        _kept_secrets[organization_id] = kept
    rows = kept[1]
    if phone_number_id is not None:
        rows = [row for row in rows if row[1] == phone_number_id]
        if not rows:
            return None
    return [CloudNumberSecret(number_id, phone, secret) for number_id, phone, secret in rows if secret]


def meta_webhook_secrets_forget(*, organization_id: int) -> None:
    """Forget the organization's secrets kept by this process (call after a Cloud number's app secret changes
    or the number is deleted, so an old secret stops verifying at once here; other processes within
    SECRETS_CACHE_SECONDS)."""
    _kept_secrets.pop(organization_id, None)


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
