"""Outbound webhooks: every write of endpoints and deliveries.

Endpoints (admins): created with a secret (given, or generated) that is returned once and stored encrypted; its URL
checked by the egress policy when saved (a 400 on `url`); events from automation.events.EVENT_TYPES. Rotating the
secret returns the new one once; the previous one keeps signing beside it for a grace period (ROTATION_GRACE), so a
receiver can switch over without refusing a delivery.

Deliveries. automation.events fans an event out into one WebhookDelivery per subscribed active endpoint and queues
`deliver_webhooks` tasks (DELIVERY_TASK_BATCH deliveries each). A task claims the due deliveries it names (FOR UPDATE
SKIP LOCKED, then a lease: attempts + 1, next_attempt_at pushed LEASE ahead, so a run twice sends nothing twice at
once and a dead worker's delivery is due again after the lease), POSTs them concurrently through the egress policy
(public addresses only, no redirects, timeouts; whatsapp_hub/egress.py), and records each outcome:
- a 2xx: succeeded;
- anything else (another status, a timeout, a refused connection, an address the policy refuses, a redirect): the
  error is recorded with a message safe to show, and the delivery is retried at the next step of RETRY_DELAYS
  (jittered) by the beat sweeper (`webhook_deliveries_sweep`, every minute: retries survive restarts), up to
  MAX_ATTEMPTS attempts over about 22 hours, then it fails. At least once: a receiver deduplicates on the event id.
The body is JSON `{id, type, created_at, organization_id, data}`, signed Stripe-style:
`X-Webhook-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one v1 per signing secret.

Auto-disable. Every failed attempt of an endpoint's events counts (test pings do not); a success starts the count
again. An endpoint whose attempts have all failed for AUTO_DISABLE_AFTER, AUTO_DISABLE_MIN_FAILURES of them at
least, is disabled: its waiting deliveries fail, the audit log says so, and the organization's admins get an e-mail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import re
import secrets
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import islice
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from accounts import mail
from accounts.models import Membership, Organization, Role, SystemLog, User
from accounts.services import audit_log_write, system_log_write
from automation import events
from automation.models import WebhookDelivery, WebhookEndpoint
from automation.models.webhooks import EXCERPT_LENGTH, URL_MAX_LENGTH
from automation.selectors.webhooks import iso, subscribed_endpoints
from automation.tasks import deliver_webhooks, push_webhook_log, send_webhook_disabled_email
from messaging import realtime
from messaging.services import notifications
from whatsapp_hub import egress
from whatsapp_hub.aftercommit import enqueue_after_commit, run_after_commit
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.ops import metrics

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
Error = WebhookDelivery.Error

MAX_ATTEMPTS = 8
# The wait before attempts 2 to 8 (seconds): 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h; about 22 h in all.
RETRY_DELAYS = (60, 5 * 60, 15 * 60, 60 * 60, 3 * 3600, 6 * 3600, 12 * 3600)
JITTER = 0.15  # each wait is drawn within ±15% of its step, so endpoints that failed together do not retry together
TIMEOUT = (3.05, 10.0)  # connect, read (seconds)
EXCERPT_BYTES = 4 * 1024  # the part of an answer read for its excerpt; the rest is never read
LEASE = timedelta(minutes=2)  # longer than an attempt can take (the timeouts); then the sweeper takes it up again
PENDING_GRACE = timedelta(minutes=1)  # new deliveries have a task queued: the sweeper leaves them that long
SWEEP_LIMIT = 2000
DELIVERY_TASK_BATCH = 20
SEND_THREADS = 8
DELIVERY_RETENTION = timedelta(days=30)  # finished deliveries (and their bodies) are deleted after this
PRUNE_LIMIT = 5000
ROTATION_GRACE = timedelta(hours=24)
ROTATION_GRACE_MAX_HOURS = 7 * 24
AUTO_DISABLE_AFTER = timedelta(days=1)
AUTO_DISABLE_MIN_FAILURES = 5
PUSH_INTERVAL = 1  # seconds: at most one live push per endpoint
SECRET_PREFIX = "whsec_"
SECRET_MIN_LENGTH, SECRET_MAX_LENGTH = 16, 200
SECRET_PATTERN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces
USER_AGENT = "WhatsAppHub-Webhooks/1.0"
SIGNATURE_HEADER = "X-Webhook-Signature"

# What each error code reads as (the delivery log, the API): the hub's words, never the upstream's.
ERROR_MESSAGES = {
    Error.HTTP_STATUS: gettext_lazy("The endpoint answered HTTP %(status)s (only 2xx counts as delivered)."),
    Error.TIMEOUT: gettext_lazy("The endpoint did not answer within %(seconds)s seconds."),
    Error.CONNECTION: gettext_lazy("Could not connect to the endpoint."),
    Error.ADDRESS_NOT_ALLOWED: gettext_lazy(
        "The endpoint's address is not allowed: the hub only connects to public addresses (or those its operator "
        "allows)."
    ),
    Error.REDIRECT: gettext_lazy("The endpoint answered with a redirect; the hub does not follow redirects."),
    Error.ENDPOINT_DISABLED: gettext_lazy("The endpoint was deactivated before this delivery was made."),
}


def error_message(delivery: WebhookDelivery) -> str:
    """The words of a delivery's error, in the current language ("" when it has none)."""
    if not delivery.error_code:
        return ""
    text = ERROR_MESSAGES.get(delivery.error_code)
    if text is None:
        return delivery.get_error_code_display()
    return str(text) % {"status": delivery.response_status, "seconds": int(TIMEOUT[1])}


def _not_found(what: str) -> ServiceError:
    return ServiceError(what, status_code=404, code="not_found")


def _field_error(field: str, message: str) -> ServiceError:
    return ServiceError(message, errors={field: [message]})


# --- endpoints -----------------------------------------------------------------------------------------------------


def _url_or_error(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise _field_error("url", gettext("Enter the URL the events are posted to."))
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise _field_error("url", gettext("The URL is longer than %(count)d characters.") % {"count": URL_MAX_LENGTH})
    try:
        egress.check_url(url)
    except egress.EgressError as refused:
        raise _field_error("url", str(refused)) from None
    if "#" in url:
        raise _field_error("url", gettext("A webhook URL cannot have a fragment (#...)."))
    return url


def _events_or_error(values: Any) -> list[str]:
    if not isinstance(values, list | tuple) or not values:
        raise _field_error("events", gettext("Choose at least one event."))
    unknown = [value for value in values if not isinstance(value, str) or value not in events.EVENT_TYPES]
    if unknown:
        raise _field_error(
            "events",
            gettext("Unknown event type %(name)s; the types are: %(known)s.")
            % {"name": repr(unknown[0]), "known": ", ".join(events.EVENT_TYPES)},
        )
    return list(dict.fromkeys(values))


def _description_or_error(description: Any) -> str:
    if not isinstance(description, str):
        raise _field_error("description", gettext("Not a valid string."))
    description = " ".join(description.split())
    limit = WebhookEndpoint._meta.get_field("description").max_length
    if len(description) > limit:
        raise _field_error(
            "description", gettext("The description is longer than %(count)d characters.") % {"count": limit}
        )
    return description


def _secret_or_error(secret: str | None) -> str:
    """A given secret checked, or a new one generated."""
    if secret is None or secret == "":
        return SECRET_PREFIX + secrets.token_urlsafe(32)
    if not isinstance(secret, str) or not SECRET_PATTERN.fullmatch(secret):
        raise _field_error("secret", gettext("A secret is printable ASCII characters without spaces."))
    if not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH:
        raise _field_error(
            "secret",
            gettext("A secret is %(min)d to %(max)d characters long.")
            % {"min": SECRET_MIN_LENGTH, "max": SECRET_MAX_LENGTH},
        )
    return secret


def _subscriptions_changed_on_commit(organization_id: int) -> None:
    run_after_commit(partial(events.subscriptions_changed, organization_id), what="webhook subscriptions changed")


def _locked(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    locked = WebhookEndpoint.objects.for_org(endpoint.organization).select_for_update().filter(pk=endpoint.pk).first()
    if locked is None:
        raise _not_found(gettext("No such webhook endpoint."))
    locked.organization = endpoint.organization
    return locked


@transaction.atomic
def webhook_endpoint_create(
    *,
    organization: Organization,
    actor: Any,
    url: str,
    events: list[str],
    secret: str | None = None,
    description: str = "",
    active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint; returns it and its secret (shown once: the caller's only chance to read it in clear).

    400 naming the field: a URL the egress policy refuses (not http(s), a private address...), no or unknown event
    types, a given secret that is too short or not printable ASCII. Audited (`webhook.create`)."""
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=_url_or_error(url),
        events=_events_or_error(events),
        secret=_secret_or_error(secret),
        description=_description_or_error(description),
        active=bool(active),
        created_by=actor if isinstance(actor, User) else None,
    )
    audit_log_write(
        organization=organization,
        actor=actor,
        action="webhook.create",
        target=endpoint,
        data={"url": endpoint.url, "events": endpoint.events},
    )
    _subscriptions_changed_on_commit(organization.pk)
    return endpoint, endpoint.secret


def _fail_open_deliveries(endpoint: WebhookEndpoint, now: datetime) -> int:
    """The endpoint's deliveries still waiting fail (it was deactivated or disabled): redeliver them once it is on
    again. Test pings are left to finish."""
    return (
        WebhookDelivery.objects.for_org(endpoint.organization)
        .filter(endpoint=endpoint, status__in=WebhookDelivery.OPEN)
        .exclude(event_type=events.PING)
        .update(status=Status.FAILED, error_code=Error.ENDPOINT_DISABLED, next_attempt_at=None, last_attempt_at=now)
    )


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: Any,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change the fields given (None leaves one as it is). Deactivating fails the deliveries still waiting;
    activating a disabled endpoint clears why it was disabled and starts its failure count again. Audited
    (`webhook.update`, with the fields changed)."""
    endpoint = _locked(endpoint)
    changed: list[str] = []
    # An unchanged URL is not checked again (its host may not resolve this minute): every delivery is checked anyway.
    if url is not None and (not isinstance(url, str) or url.strip() != endpoint.url):
        endpoint.url = _url_or_error(url)
        changed.append("url")
    if events is not None and (events := _events_or_error(events)) != endpoint.events:
        endpoint.events = events
        changed.append("events")
    if description is not None and (description := _description_or_error(description)) != endpoint.description:
        endpoint.description = description
        changed.append("description")
    now = timezone.now()
    if active is not None and bool(active) != endpoint.active:
        endpoint.active = bool(active)
        changed.append("active")
        if endpoint.active:
            endpoint.disabled_at, endpoint.disabled_reason = None, ""
            endpoint.consecutive_failures, endpoint.failing_since = 0, None
            changed += ["disabled_at", "disabled_reason", "consecutive_failures", "failing_since"]
        else:
            _fail_open_deliveries(endpoint, now)
    if changed:
        endpoint.save(update_fields=[*changed, "updated_at"])
        visible = [name for name in ("url", "events", "description", "active") if name in changed]
        audit_log_write(
            organization=endpoint.organization,
            actor=actor,
            action="webhook.update",
            target=endpoint,
            data={"changed": visible},
        )
        _subscriptions_changed_on_commit(endpoint.organization_id)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Any) -> None:
    """Delete the endpoint and its delivery log. Audited (`webhook.delete`)."""
    endpoint = _locked(endpoint)
    audit_log_write(
        organization=endpoint.organization,
        actor=actor,
        action="webhook.delete",
        target=endpoint,
        data={"url": endpoint.url},
    )
    endpoint.delete()
    _subscriptions_changed_on_commit(endpoint.organization_id)


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, actor: Any, secret: str | None = None, grace_hours: int | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret (given, or generated), returned once. The one it replaces keeps signing deliveries beside it
    for `grace_hours` (24 by default; 0 stops it at once), so receivers can switch without refusing any. A rotation
    during another one's grace drops the older secret. Audited (`webhook.rotate_secret`)."""
    if grace_hours is None:
        grace = ROTATION_GRACE
    elif isinstance(grace_hours, int) and not isinstance(grace_hours, bool) and 0 <= grace_hours <= 168:
        grace = timedelta(hours=grace_hours)
    else:
        raise _field_error(
            "grace_hours",
            gettext("The grace period is 0 to %(max)d hours.") % {"max": ROTATION_GRACE_MAX_HOURS},
        )
    new_secret = _secret_or_error(secret)
    endpoint = _locked(endpoint)
    if new_secret == endpoint.secret:
        raise _field_error("secret", gettext("The new secret must differ from the current one."))
    now = timezone.now()
    if grace:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = endpoint.secret, now + grace
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = "", None
    endpoint.secret = new_secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    audit_log_write(
        organization=endpoint.organization,
        actor=actor,
        action="webhook.rotate_secret",
        target=endpoint,
        data={"grace_hours": int(grace.total_seconds() // 3600)},
    )
    return endpoint, new_secret


# --- the body and its signature --------------------------------------------------------------------------------------


def event_payload(*, event_id: str, event_type: str, organization_id: int, data: dict, created_at: datetime) -> dict:
    """An event's JSON body, as every endpoint receives it."""
    return {
        "id": event_id,
        "type": event_type,
        "created_at": iso(created_at),
        "organization_id": organization_id,
        "data": data,
    }


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(16)


BODY_KEYS = ("id", "type", "created_at", "organization_id", "data")


def delivery_body(payload: dict) -> bytes:
    """The exact bytes posted (and signed): compact JSON, UTF-8, the envelope's keys in their documented order (a
    JSON column may store them in another)."""
    ordered = {key: payload[key] for key in BODY_KEYS if key in payload}
    ordered.update((key, value) for key, value in payload.items() if key not in ordered)
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" with `secret`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(*, signing_secrets: list[str], timestamp: int, body: bytes) -> str:
    """`t=<timestamp>,v1=<signature>` with one v1 per secret (two during a rotation: the current one first)."""
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature(secret=secret, timestamp=timestamp, body=body)}" for secret in signing_secrets]
    return ",".join(parts)


# --- fan-out ---------------------------------------------------------------------------------------------------------


def webhook_deliveries_create(
    *, organization_id: int, event_type: str, items: list[dict], created_at: datetime | None = None
) -> list[int]:
    """One event per item of `items` (each its `data`), each delivered to every active endpoint of the organization
    subscribed to `event_type`: the rows in bulk, their tasks queued after commit (automation.events calls this
    after the commit of the work the events announce). Returns the new deliveries' ids."""
    endpoints = subscribed_endpoints(organization_id=organization_id, event_type=event_type)
    if not endpoints or not items:
        return []
    created_at = created_at or timezone.now()
    now = timezone.now()
    rows = []
    for data in items:
        event_id = new_event_id()
        payload = event_payload(
            event_id=event_id,
            event_type=event_type,
            organization_id=organization_id,
            data=data,
            created_at=created_at,
        )
        rows += [
            WebhookDelivery(
                organization_id=organization_id,
                endpoint_id=endpoint.pk,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint in endpoints
        ]
    with transaction.atomic():
        created = WebhookDelivery.objects.bulk_create(rows, batch_size=500)
        ids = [delivery.pk for delivery in created]
        _queue_on_commit(organization_id, ids)
    return ids


def _chunks(ids: list[int], size: int):
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _queue_on_commit(organization_id: int, delivery_ids: list[int]) -> None:
    for chunk in _chunks(delivery_ids, DELIVERY_TASK_BATCH):
        enqueue_after_commit(deliver_webhooks, organization_id, chunk)


# --- attempts --------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one POST went: `status` and `excerpt` when the endpoint answered, `error_code` unless it was a 2xx."""

    status: int | None = None
    latency_ms: int | None = None
    excerpt: str = ""
    error_code: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.error_code


_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def _send_pool() -> ThreadPoolExecutor:
    """The process's threads for concurrent POSTs (HTTP only: the database is used by the calling thread)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool_pid != os.getpid():
                _pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="webhook-send")
                _pool_pid = os.getpid()
    return _pool


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").replace("\x00", "")
    return text[:EXCERPT_LENGTH]


def _read_start(response: requests.Response, limit: int) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def post(*, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` through the egress policy; never raises. Thread-safe (no database)."""
    started = time.monotonic()
    try:
        response = egress.request("POST", url, data=body, headers=headers, timeout=TIMEOUT, stream=True)
    except egress.RedirectNotFollowed:
        return Outcome(error_code=Error.REDIRECT, latency_ms=_elapsed(started))
    except egress.EgressError:
        return Outcome(error_code=Error.ADDRESS_NOT_ALLOWED)
    except requests.Timeout:
        return Outcome(error_code=Error.TIMEOUT, latency_ms=_elapsed(started))
    except requests.RequestException as exc:
        logger.info("webhook POST to %s failed: %s", url.split("?", 1)[0], exc)
        return Outcome(error_code=Error.CONNECTION, latency_ms=_elapsed(started))
    try:
        raw = _read_start(response, EXCERPT_BYTES)
    except requests.RequestException:
        raw = b""
    finally:
        response.close()
    status = response.status_code
    return Outcome(
        status=status,
        latency_ms=_elapsed(started),
        excerpt=_excerpt(raw),
        error_code="" if 200 <= status < 300 else Error.HTTP_STATUS,
    )


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _headers(delivery: WebhookDelivery, endpoint: WebhookEndpoint, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Id": delivery.event_id,
        "X-Webhook-Event": delivery.event_type,
        SIGNATURE_HEADER: signature_header(
            signing_secrets=endpoint.signing_secrets(now), timestamp=timestamp, body=body
        ),
    }


def _claim(organization_id: int, delivery_ids: list[int], now: datetime) -> list[WebhookDelivery]:
    """The due deliveries among these ids, leased to this run (attempts + 1, due again after LEASE)."""
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                organization_id=organization_id,
                pk__in=delivery_ids,
                status__in=WebhookDelivery.OPEN,
                next_attempt_at__lte=now,
            )
            .filter(Q(endpoint__active=True) | Q(event_type=events.PING))
            .order_by("id")
        )
        if due:
            WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in due]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + LEASE, last_attempt_at=now
            )
            for delivery in due:
                delivery.attempts += 1
    return due


def retry_delay(attempts: int) -> timedelta:
    """The wait after a delivery's `attempts`-th failed attempt, jittered."""
    step = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    return timedelta(seconds=step * random.uniform(1 - JITTER, 1 + JITTER))


def webhook_deliveries_attempt(*, organization_id: int, delivery_ids: list[int]) -> list[WebhookDelivery]:
    """Attempt these deliveries now, those that are due (the task's work; safe to run twice and concurrently: a
    delivery is claimed by one run). The POSTs go out concurrently, outside any transaction; the outcomes are
    recorded together. Returns the deliveries attempted, as recorded."""
    now = timezone.now()
    claimed = _claim(organization_id, delivery_ids, now)
    if not claimed:
        return []
    endpoints = {
        endpoint.pk: endpoint
        for endpoint in WebhookEndpoint.objects.filter(
            organization_id=organization_id, pk__in={delivery.endpoint_id for delivery in claimed}
        )
    }
    jobs = []
    for delivery in claimed:
        endpoint = endpoints[delivery.endpoint_id]
        body = delivery_body(delivery.payload)
        jobs.append((delivery, endpoint.url, body, _headers(delivery, endpoint, body, now)))
    if len(jobs) == 1:
        outcomes = [post(url=jobs[0][1], body=jobs[0][2], headers=jobs[0][3])]
    else:
        pool = _send_pool()
        futures = [pool.submit(post, url=url, body=body, headers=headers) for _, url, body, headers in jobs]
        outcomes = [future.result() for future in futures]
    return _record(organization_id, [(job[0], outcome) for job, outcome in zip(jobs, outcomes, strict=True)], endpoints)


RECORDED_FIELDS = [
    "status",
    "next_attempt_at",
    "last_attempt_at",
    "delivered_at",
    "response_status",
    "latency_ms",
    "response_excerpt",
    "error_code",
]


def _record(
    organization_id: int, results: list[tuple[WebhookDelivery, Outcome]], endpoints: dict[int, WebhookEndpoint]
) -> list[WebhookDelivery]:
    """Store the outcomes (a fixed number of queries however many), move the endpoints' failure counts, and disable
    an endpoint failing for too long."""
    now = timezone.now()
    successes: set[int] = set()
    failures: dict[int, int] = defaultdict(int)
    for delivery, outcome in results:
        is_ping = delivery.event_type == events.PING
        delivery.response_status, delivery.latency_ms = outcome.status, outcome.latency_ms
        delivery.response_excerpt, delivery.error_code = outcome.excerpt, outcome.error_code
        delivery.last_attempt_at = now
        if outcome.succeeded:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = Status.SUCCEEDED, now, None
        elif is_ping or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = Status.FAILED, None
        else:
            delivery.status, delivery.next_attempt_at = Status.RETRYING, now + retry_delay(delivery.attempts)
        if not is_ping:
            if outcome.succeeded:
                successes.add(delivery.endpoint_id)
            else:
                failures[delivery.endpoint_id] += 1
    with transaction.atomic():
        # A delivery whose lease ran out and was claimed again since (its attempts moved on) keeps the later run's.
        current = dict(
            WebhookDelivery.objects.select_for_update()
            .filter(pk__in=[delivery.pk for delivery, _ in results])
            .values_list("pk", "attempts")
        )
        mine = [delivery for delivery, _ in results if current.get(delivery.pk) == delivery.attempts]
        WebhookDelivery.objects.bulk_update(mine, RECORDED_FIELDS)
        if successes:
            WebhookEndpoint.objects.filter(pk__in=successes, consecutive_failures__gt=0).update(
                consecutive_failures=0, failing_since=None
            )
        for endpoint_id, count in failures.items():
            if endpoint_id in successes:
                continue
            WebhookEndpoint.objects.filter(pk=endpoint_id).update(
                consecutive_failures=F("consecutive_failures") + count,
                failing_since=Coalesce(F("failing_since"), Value(now)),
            )
            _disable_if_failing(endpoints[endpoint_id], now)
        _push_on_commit(organization_id, {delivery.endpoint_id for delivery, _ in results})
    attempts = [(delivery, outcome) for delivery, outcome in results if delivery.event_type != events.PING]
    recorded = {delivery.pk for delivery in mine}
    metrics.outbound_webhooks_attempted(
        errors=[outcome.error_code for _, outcome in attempts],
        given_up=sum(1 for delivery, _ in attempts if delivery.pk in recorded and delivery.status == Status.FAILED),
    )
    return [delivery for delivery, _ in results]


ENDPOINT_DISABLED_LOG = gettext_noop(
    "The webhook %(url)s was disabled: every delivery attempt failed for more than a day (%(failures)s in a row). Fix "
    "it, then activate it again."
)


def _disable_if_failing(endpoint: WebhookEndpoint, now: datetime) -> bool:
    """Disable the endpoint when all its attempts have failed for AUTO_DISABLE_AFTER (once: a conditional update),
    with its waiting deliveries failed, an audit entry and an e-mail to the admins. Inside a transaction."""
    reason = gettext_lazy(
        "Disabled automatically: every delivery attempt failed for more than a day. Fix the endpoint, then activate it "
        "again."
    )
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint.pk,
        active=True,
        consecutive_failures__gte=AUTO_DISABLE_MIN_FAILURES,
        failing_since__lte=now - AUTO_DISABLE_AFTER,
    ).update(active=False, disabled_at=now, disabled_reason=str(reason)[:300], updated_at=now)
    if not disabled:
        return False
    endpoint.refresh_from_db()
    endpoint.organization = Organization.objects.get(pk=endpoint.organization_id)
    failed = _fail_open_deliveries(endpoint, now)
    audit_log_write(
        organization=endpoint.organization,
        actor=None,
        action="webhook.auto_disable",
        target=endpoint,
        data={
            "url": endpoint.url,
            "consecutive_failures": endpoint.consecutive_failures,
            "failing_since": iso(endpoint.failing_since),
            "deliveries_failed": failed,
        },
    )
    system_log_write(
        organization_id=endpoint.organization_id,
        level=SystemLog.Level.ERROR,
        category=SystemLog.Category.WEBHOOK,
        message=ENDPOINT_DISABLED_LOG,
        details={
            "url": endpoint.url,
            "failures": endpoint.consecutive_failures,
            "deliveries_failed": failed,
            "endpoint_id": endpoint.pk,
        },
        related=("webhook_endpoint", endpoint.pk),
    )
    _subscriptions_changed_on_commit(endpoint.organization_id)
    enqueue_after_commit(send_webhook_disabled_email, endpoint.organization_id, endpoint.pk)
    notifications.admins_notify_integration(
        organization=endpoint.organization,
        title=notifications.TITLES["integration_failing"],
        params={"url": endpoint.url},
        link=reverse("settings-webhooks"),
    )
    run_after_commit(metrics.outbound_webhook_endpoint_disabled)
    logger.warning("webhook endpoint %s of organization %s disabled (failing)", endpoint.pk, endpoint.organization_id)
    return True


def webhook_endpoint_disabled_notify(*, organization_id: int, endpoint_id: int) -> int:
    """E-mail the organization's active admins that this endpoint was disabled for failing (the task's work), each
    in their language. Returns how many were written to; none when it is active again."""
    endpoint = (
        WebhookEndpoint.objects.select_related("organization")
        .filter(organization_id=organization_id, pk=endpoint_id, active=False, disabled_at__isnull=False)
        .first()
    )
    if endpoint is None:
        return 0
    admins = (
        Membership.objects.filter(
            organization_id=organization_id, role=Role.ADMIN, is_active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("user__email")
    )
    context = {
        "organization": endpoint.organization,
        "url": endpoint.url,
        "since": endpoint.failing_since,
        "failures": endpoint.consecutive_failures,
        "link": f"{settings.PUBLIC_BASE_URL}/settings/webhooks/{endpoint.pk}/",
    }
    with transaction.atomic():
        for membership in admins:
            mail.send_templated(
                user=membership.user, template="webhook_disabled", context=context, organization=endpoint.organization
            )
    return len(admins)


# --- erasure and retention -----------------------------------------------------------------------------------------


def webhook_deliveries_erase_contact(*, organization_id: int, contact_id: int, **_) -> int:
    """A contact was erased (messaging.hooks.contact_deleted): the deliveries whose event was about them (their
    `data.contact_id`: messages, statuses, conversations, the contact itself) are deleted, sent or not. Returns how
    many."""
    deleted, _ = WebhookDelivery.objects.filter(
        organization_id=organization_id, payload__data__contact_id=contact_id
    ).delete()
    return deleted


def webhook_deliveries_prune(*, now: datetime | None = None, limit: int = PRUNE_LIMIT) -> int:
    """Delete finished deliveries older than DELIVERY_RETENTION (their bodies hold customers' data), at most
    `limit` at a time (the sweeper's work: the rest goes in the next minutes). Returns how many."""
    now = now or timezone.now()
    old = WebhookDelivery.objects.filter(
        status__in=[Status.SUCCEEDED, Status.FAILED], created_at__lt=now - DELIVERY_RETENTION
    ).values_list("pk", flat=True)[:limit]
    deleted, _ = WebhookDelivery.objects.filter(pk__in=list(old)).delete()
    return deleted


# --- the sweeper, test pings, redeliveries ---------------------------------------------------------------------------


def webhook_deliveries_sweep(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Beat, every minute: queue the deliveries that are due (retries whose time has come, leases that ran out, new
    deliveries whose task was lost), oldest first, at most `limit`; fail the waiting deliveries of endpoints that are
    no longer active; delete the finished ones past their retention. Returns how many were queued."""
    now = now or timezone.now()
    webhook_deliveries_prune(now=now)
    WebhookDelivery.objects.filter(status__in=WebhookDelivery.OPEN, endpoint__active=False).exclude(
        event_type=events.PING
    ).update(status=Status.FAILED, error_code=Error.ENDPOINT_DISABLED, next_attempt_at=None)
    due = (
        WebhookDelivery.objects.filter(
            Q(status=Status.RETRYING, next_attempt_at__lte=now)
            | Q(status=Status.PENDING, next_attempt_at__lte=now - PENDING_GRACE)
        )
        .order_by("next_attempt_at")
        .values_list("organization_id", "pk")[:limit]
    )
    by_org: dict[int, list[int]] = defaultdict(list)
    for organization_id, pk in due:
        by_org[organization_id].append(pk)
    for organization_id, ids in by_org.items():
        _queue_on_commit(organization_id, ids)
    return sum(len(ids) for ids in by_org.values())


def webhook_endpoint_test(*, endpoint: WebhookEndpoint, actor: Any) -> WebhookDelivery:
    """Send the endpoint a `ping` event now, in this request (it may be inactive: a test before switching it on),
    and return the delivery with its outcome. A ping is tried once and counts toward nothing."""
    now = timezone.now()
    event_id = new_event_id()
    data = {"endpoint_id": endpoint.pk, "message": "A test ping from WhatsApp Hub."}
    delivery = WebhookDelivery.objects.create(
        organization=endpoint.organization,
        endpoint=endpoint,
        event_id=event_id,
        event_type=events.PING,
        payload=event_payload(
            event_id=event_id,
            event_type=events.PING,
            organization_id=endpoint.organization_id,
            data=data,
            created_at=now,
        ),
        next_attempt_at=now,
        created_at=now,
    )
    attempted = webhook_deliveries_attempt(organization_id=endpoint.organization_id, delivery_ids=[delivery.pk])
    return attempted[0] if attempted else delivery


@transaction.atomic
def webhook_delivery_redeliver(*, delivery: WebhookDelivery, actor: Any) -> WebhookDelivery:
    """Deliver a finished delivery's event again, as a new delivery (the same event id and body, signed anew) queued
    now, with the usual retries. 409 while the delivery is still being attempted, or when its endpoint is not
    active. Audited (`webhook.redeliver`)."""
    endpoint = _locked(delivery.endpoint)
    if not endpoint.active:
        raise ServiceError(
            gettext("The endpoint is not active: activate it before redelivering."),
            status_code=409,
            code="endpoint_inactive",
        )
    if delivery.status in WebhookDelivery.OPEN:
        raise ServiceError(
            gettext("This delivery is still being attempted."), status_code=409, code="delivery_in_progress"
        )
    now = timezone.now()
    again = WebhookDelivery.objects.create(
        organization=endpoint.organization,
        endpoint=endpoint,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        redelivery_of=delivery,
        next_attempt_at=now,
        created_at=now,
    )
    audit_log_write(
        organization=endpoint.organization,
        actor=actor,
        action="webhook.redeliver",
        target=endpoint,
        data={"delivery_id": delivery.pk, "event_id": delivery.event_id},
    )
    _queue_on_commit(endpoint.organization_id, [again.pk])
    _push_on_commit(endpoint.organization_id, {endpoint.pk})
    return again


# --- live updates of the delivery log --------------------------------------------------------------------------------

LIVE_EVENT = "webhook.deliveries"


def _push_on_commit(organization_id: int, endpoint_ids: set[int]) -> None:
    """Tell the organization's admins' pages that these endpoints' logs changed (the pages reload their log): at
    once, and at most once per PUSH_INTERVAL per endpoint; the changes within that interval are pushed together at
    its end by a task (`push_webhook_log`). With tasks run inline (the embedded default) every change is pushed."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        now, later = sorted(endpoint_ids), []
    else:
        now = [pk for pk in sorted(endpoint_ids) if cache.add(f"automation:webhooks:push:{pk}", 1, PUSH_INTERVAL)]
        later = [
            pk
            for pk in sorted(set(endpoint_ids) - set(now))
            if cache.add(f"automation:webhooks:push-later:{pk}", 1, PUSH_INTERVAL)
        ]
    if now:
        run_after_commit(partial(webhook_log_push, organization_id=organization_id, endpoint_ids=now), what="push")
    if later:
        push = partial(push_webhook_log.apply_async, (organization_id, later), countdown=PUSH_INTERVAL)
        run_after_commit(push, what="webhook log push (trailing)")


def webhook_log_push(*, organization_id: int, endpoint_ids: list[int]) -> None:
    """Push `webhook.deliveries` for these endpoints now (after commit; best effort, like every push)."""
    realtime.publish(organization_id, [(LIVE_EVENT, {"endpoint_ids": endpoint_ids}, realtime.ORGANIZATION_WIDE)])
