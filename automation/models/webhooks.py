"""Outbound webhooks: an organization's endpoints and the deliveries of events to them.

An event (automation/events.py) becomes one WebhookDelivery per active endpoint subscribed to its type; each
delivery is its own work item: attempted by a task (claimed with a conditional update, so two runs never send it
twice at once), retried with backoff by the beat sweeper, and kept as the delivery log (status, attempts, the last
answer's code, latency and a short excerpt, or the error). automation/services/webhooks.py holds the rules.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import TenantModel
from whatsapp_hub.encryption import EncryptedTextField, mask

URL_MAX_LENGTH = 2000
EXCERPT_LENGTH = 500


class WebhookEndpoint(TenantModel):
    """A URL of the organization's that receives the events it subscribes to, signed with its secret.

    During a secret rotation the previous secret signs too, until `previous_secret_expires_at`. An endpoint whose
    deliveries keep failing is disabled on its own (`disabled_at`, `disabled_reason`); `failing_since` and
    `consecutive_failures` count the failed attempts since its last success.
    """

    url = models.CharField(max_length=URL_MAX_LENGTH)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types it receives (automation.events.EVENT_TYPES)")
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True, help_text="When it was disabled for failing")
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "active"], name="automation_webhook_org_active")]

    def __str__(self) -> str:
        return self.url

    @property
    def secret_masked(self) -> str | None:
        return mask(self.secret)

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous one during a rotation."""
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(TenantModel):
    """One event for one endpoint: the body it is sent with (`payload`), and how its attempts went."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Error(models.TextChoices):
        """Why the last attempt failed (the words users read are automation.services.webhooks.ERROR_MESSAGES)."""

        HTTP_STATUS = "http_status", "Answered with a status other than 2xx"
        TIMEOUT = "timeout", "No answer in time"
        CONNECTION = "connection", "Could not connect"
        ADDRESS_NOT_ALLOWED = "address_not_allowed", "Address not allowed (egress policy)"
        REDIRECT = "redirect", "Answered with a redirect (not followed)"
        ENDPOINT_DISABLED = "endpoint_disabled", "The endpoint was disabled before it was delivered"

    # Statuses a delivery is still attempted in.
    OPEN = frozenset({Status.PENDING, Status.RETRYING})

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40, help_text="The event's id (evt_...): the same for every endpoint")
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(help_text="The JSON body: {id, type, created_at, organization_id, data}")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Due then (pending or retrying)")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=EXCERPT_LENGTH, blank=True)
    error_code = models.CharField(max_length=32, choices=Error.choices, blank=True)
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="automation_delivery_log"),
            # The sweeper's scan: open deliveries by due time (a partial index: finished ones never enter it).
            models.Index(
                fields=["next_attempt_at"],
                name="automation_delivery_due",
                condition=models.Q(status__in=["pending", "retrying"]),
            ),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> endpoint {self.endpoint_id} ({self.status})"
