"""Recording how an organization's integrations fare (accounts.integration_models.IntegrationStatus).

The code that really calls an outside service says what happened: `integration_ok` after a call that worked,
`integration_failed` with one of the hub's error codes after one that did not (what the service answered is never
passed in: only a code and an HTTP status). Cheap enough for a send path: while the state stays the same a row is
written at most every `INTEGRATION_STATUS_INTERVAL` seconds (a conditional update, and a per-process memo that skips
even that query), at once when it flips (ok after failing, failing after ok, another error code).

`integration_test_claim` is the "test now" rate limit: one test per integration per TEST_INTERVAL, claimed with a
conditional update so that two clicks at once cannot both run it.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.integration_models import IntegrationStatus

TEST_INTERVAL = 10  # seconds between two "test now" of one integration

_memo: dict[tuple[int, str, str], tuple[bool, str, float]] = {}
_memo_lock = threading.Lock()


def forget() -> None:
    """Drop the per-process memo (tests: a new state must be written at once)."""
    with _memo_lock:
        _memo.clear()


def _rows(organization_id: int, kind: str, object_id: str):
    return IntegrationStatus.objects.filter(organization_id=organization_id, kind=kind, object_id=object_id)


def _write(organization_id: int, kind: str, object_id: str, fields: dict, stale: Q) -> None:
    rows = _rows(organization_id, kind, object_id)
    if rows.filter(stale).update(**fields) or rows.exists():
        return
    try:
        with transaction.atomic():
            IntegrationStatus.objects.create(organization_id=organization_id, kind=kind, object_id=object_id, **fields)
    except IntegrityError:  # made meanwhile by another process: write over it
        rows.update(**fields)


def _record(
    organization_id: int, kind: str, object_id, *, ok: bool, code: str, fields: dict, stale: Q, force: bool
) -> None:
    object_id = str(object_id or "")
    key = (organization_id, kind, object_id)
    now = time.monotonic()
    interval = settings.INTEGRATION_STATUS_INTERVAL
    if not force:
        with _memo_lock:
            seen = _memo.get(key)
        if seen is not None and seen[:2] == (ok, code) and now - seen[2] < interval:
            return
    _write(organization_id, kind, object_id, fields, Q() if force else stale)
    with _memo_lock:
        _memo[key] = (ok, code, now)


def integration_ok(
    *, organization_id: int, kind: str, object_id="", details: dict | None = None, force: bool = False
) -> None:
    """A call to the integration worked (`details`: what it read, e.g. a number's quality rating; kept as given).
    `force`: write now whatever the interval (a "test now")."""
    now = timezone.now()
    fields: dict = {"last_success_at": now}
    if details is not None:  # merged into what is kept (e.g. a quality event from Meta's webhooks)
        row = _rows(organization_id, kind, str(object_id or "")).first()
        fields["details"] = {**(row.details if row is not None else {}), **details}
    since = now - timedelta(seconds=settings.INTEGRATION_STATUS_INTERVAL)
    stale = Q(last_success_at__isnull=True) | Q(last_success_at__lt=since) | Q(last_error_at__gte=F("last_success_at"))
    _record(organization_id, kind, object_id, ok=True, code="", fields=fields, stale=stale, force=force)


def integration_failed(
    *,
    organization_id: int,
    kind: str,
    object_id="",
    error_code: str,
    http_status: int | None = None,
    force: bool = False,
) -> None:
    """A call to the integration failed: `error_code` is one of the hub's codes (automation.selectors.integrations
    words them), `http_status` the answer's status when there was one. Never pass what the service answered."""
    now = timezone.now()
    fields = {"last_error_at": now, "error_code": error_code[:40], "http_status": http_status}
    since = now - timedelta(seconds=settings.INTEGRATION_STATUS_INTERVAL)
    stale = (
        Q(last_error_at__isnull=True)
        | Q(last_error_at__lt=since)
        | Q(last_success_at__gt=F("last_error_at"))
        | ~Q(error_code=error_code[:40])
    )
    _record(organization_id, kind, object_id, ok=False, code=error_code, fields=fields, stale=stale, force=force)


def integration_test_claim(*, organization_id: int, kind: str, object_id="") -> int:
    """Claim a "test now" of the integration: 0 when claimed, else the seconds to wait (one test per TEST_INTERVAL)."""
    object_id = str(object_id or "")
    now = timezone.now()
    since = now - timedelta(seconds=TEST_INTERVAL)
    rows = _rows(organization_id, kind, object_id)
    if rows.filter(Q(tested_at__isnull=True) | Q(tested_at__lte=since)).update(tested_at=now):
        return 0
    row = rows.first()
    if row is None:
        try:
            with transaction.atomic():
                IntegrationStatus.objects.create(
                    organization_id=organization_id, kind=kind, object_id=object_id, tested_at=now
                )
            return 0
        except IntegrityError:
            row = rows.first()
    if row is None or row.tested_at is None:
        return TEST_INTERVAL
    return max(1, TEST_INTERVAL - int((now - row.tested_at).total_seconds()))


def integration_details_merge(*, organization_id: int, kind: str, object_id="", details: dict) -> None:
    """Keep `details` (merged into the row's) without touching the outcome: news about the integration that is
    neither a success nor an error (e.g. Meta's quality event of a number)."""
    object_id = str(object_id or "")
    row, _ = IntegrationStatus.objects.get_or_create(organization_id=organization_id, kind=kind, object_id=object_id)
    _rows(organization_id, kind, object_id).update(details={**(row.details or {}), **details})
