"""Read paths of the inbound webhooks: the secrets that authenticate a provider's POST or GET; the backlog of events
not processed yet (health and metrics).

`None` means "no such organization (or number) here": the view answers 404.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from time import monotonic

from django.db.models import Count, Min

from accounts.models import Organization
from messaging.models import Provider, WebhookEvent, WhatsAppNumber

# The secrets of an organization's numbers (Cloud app secrets, WAHA webhook keys) are read on every webhook: each
# process keeps them for this long (no round trip at all on the hot path). The views read the database again
# whenever no kept secret matches, so a new or changed secret verifies at once; a removed one is forgotten at
# once by the process that removed it (webhook_secrets_forget) and within this many seconds by the others.
SECRETS_CACHE_SECONDS = 5.0

# (provider, organization id) -> (monotonic expiry, rows); per process.
_kept_secrets: dict[tuple[str, int], tuple[float, list[tuple]]] = {}


@dataclass(frozen=True)
class CloudNumberSecret:
    number_id: int
    phone_number_id: str
    app_secret: str


@dataclass(frozen=True)
class WahaSessionKey:
    number_id: int
    session: str
    hmac_key: str


def _numbers(organization_id: int, provider: str):
    """The organization's live numbers of this provider, unordered."""
    return WhatsAppNumber.objects.filter(organization_id=organization_id, provider=provider).live().order_by()


def _organization_exists(organization_id: int) -> bool:
    return Organization.objects.filter(pk=organization_id).exists()


def _kept(provider: str, organization_id: int, fresh: bool, load: Callable[[], list[tuple]]) -> list[tuple] | None:
    """`load()`'s rows, kept by the process for SECRETS_CACHE_SECONDS unless `fresh`; None when there are no rows
    because the organization does not exist."""
    key = (provider, organization_id)
    kept = None if fresh else _kept_secrets.get(key)
    if kept is None or kept[0] < monotonic():
        rows = load()
        if not rows and not _organization_exists(organization_id):
            return None
        kept = (monotonic() + SECRETS_CACHE_SECONDS, rows)
        _kept_secrets[key] = kept
    return kept[1]


def meta_webhook_secrets(
    *, organization_id: int, phone_number_id: str | None = None, fresh: bool = False
) -> list[CloudNumberSecret] | None:
    """The organization's live Cloud numbers with an app secret (only the one with this phone_number_id, when
    given); None when the organization, or that number, does not exist. Kept by the process unless `fresh`."""
    rows = _kept(
        Provider.CLOUD,
        organization_id,
        fresh,
        lambda: list(_numbers(organization_id, Provider.CLOUD).values_list("id", "phone_number_id", "app_secret")),
    )
    if rows is None:
        return None
    if phone_number_id is not None:
        rows = [row for row in rows if row[1] == phone_number_id]
        if not rows:
            return None
    return [CloudNumberSecret(number_id, phone, secret) for number_id, phone, secret in rows if secret]


def waha_webhook_keys(*, organization_id: int, fresh: bool = False) -> list[WahaSessionKey] | None:
    """The organization's live WAHA numbers that have a webhook HMAC key, with their session (a number without
    a key authenticates nothing); None when the organization does not exist. Kept by the process unless `fresh`."""
    rows = _kept(
        Provider.WAHA,
        organization_id,
        fresh,
        lambda: list(
            _numbers(organization_id, Provider.WAHA).values_list("id", "waha_session", "waha_webhook_hmac_key")
        ),
    )
    if rows is None:
        return None
    return [WahaSessionKey(number_id, session, key) for number_id, session, key in rows if key]


def webhook_secrets_forget(*, organization_id: int) -> None:
    """Forget the organization's secrets kept by this process (call after a Cloud number's app secret or a WAHA
    number's key or session changes, or a number is deleted, so an old secret stops verifying at once here;
    other processes within SECRETS_CACHE_SECONDS)."""
    for provider in (Provider.CLOUD, Provider.WAHA):
        _kept_secrets.pop((provider, organization_id), None)


def meta_webhook_verify_tokens(*, organization_id: int, phone_number_id: str | None = None) -> list[str] | None:
    """The verify tokens of the organization's live Cloud numbers (or of that number); None when the
    organization (or that number) does not exist. Always from the database: Meta verifies rarely."""
    numbers = _numbers(organization_id, Provider.CLOUD)
    if phone_number_id is not None:
        numbers = numbers.filter(phone_number_id=phone_number_id)
    tokens = list(numbers.values_list("verify_token", flat=True))
    if not tokens:
        exists = phone_number_id is None and _organization_exists(organization_id)
        return [] if exists else None
    return [token for token in tokens if token]


# The events of the ingest's backlog (the sweeper takes up the failed ones), and the dead letters.
BACKLOG_STATUSES = (
    WebhookEvent.Status.PENDING,
    WebhookEvent.Status.PROCESSING,
    WebhookEvent.Status.FAILED,
    WebhookEvent.Status.DEAD,
)
UNPROCESSED_STATUSES = BACKLOG_STATUSES[:3]


def webhook_event_backlog() -> dict[str, tuple[int, datetime]]:
    """Platform-wide, for operators (no tenant's data: counts and times): each status of BACKLOG_STATUSES that has
    events -> (how many, when the oldest was received). One query over the queue index (status, received_at); the
    processed events, the bulk of the table, are not read."""
    rows = (
        WebhookEvent.objects.filter(status__in=BACKLOG_STATUSES)
        .order_by()
        .values_list("status")
        .annotate(count=Count("pk"), oldest=Min("received_at"))
    )
    return {status: (count, oldest) for status, count, oldest in rows}


def ingest_lag(backlog: dict[str, tuple[int, datetime]], *, now: datetime) -> float:
    """Seconds since the oldest event not processed yet was received (0 when none waits)."""
    oldest = [backlog[status][1] for status in UNPROCESSED_STATUSES if status in backlog]
    return max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0
