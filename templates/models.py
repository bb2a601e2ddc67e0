"""WhatsApp message templates, as Meta keeps them per WhatsApp Business Account (WABA).

A template row mirrors one template of one WABA in one language: synced from Meta's Templates API (or created by
the hub and submitted there). Meta's id is the key: a sync upserts on it, so two syncs at once cannot duplicate a
row, and a template renamed on Meta stays one row. A template gone from Meta is marked (`deleted_at`), not dropped:
campaigns and messages that used it keep their history.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import TenantModel, TenantQuerySet


class MessageTemplateQuerySet(TenantQuerySet):
    def live(self) -> "MessageTemplateQuerySet":
        """Templates Meta still has (deleted ones are kept for history only)."""
        return self.filter(deleted_at__isnull=True)

    def sendable(self) -> "MessageTemplateQuerySet":
        """Only approved templates can be sent (Meta answers 132001 otherwise)."""
        return self.live().filter(status=MessageTemplate.Status.APPROVED)


class MessageTemplate(TenantModel):
    class Category(models.TextChoices):
        MARKETING = "MARKETING", "Marketing"
        UTILITY = "UTILITY", "Utility"
        AUTHENTICATION = "AUTHENTICATION", "Authentication"

    class Status(models.TextChoices):
        """Meta's template statuses (Templates API and `message_template_status_update` events)."""

        APPROVED = "APPROVED", "Approved"
        PENDING = "PENDING", "Pending review"
        REJECTED = "REJECTED", "Rejected"
        PAUSED = "PAUSED", "Paused"
        DISABLED = "DISABLED", "Disabled"
        IN_APPEAL = "IN_APPEAL", "In appeal"
        PENDING_DELETION = "PENDING_DELETION", "Pending deletion"
        DELETED = "DELETED", "Deleted"
        LIMIT_EXCEEDED = "LIMIT_EXCEEDED", "Limit exceeded"
        ARCHIVED = "ARCHIVED", "Archived"
        FLAGGED = "FLAGGED", "Flagged"
        LOCKED = "LOCKED", "Locked"

    class ParameterFormat(models.TextChoices):
        POSITIONAL = "POSITIONAL", "Positional ({{1}})"
        NAMED = "NAMED", "Named ({{first_name}})"

    class Quality(models.TextChoices):
        GREEN = "GREEN", "High"
        YELLOW = "YELLOW", "Medium"
        RED = "RED", "Low"
        UNKNOWN = "UNKNOWN", "Unknown"

    waba_id = models.CharField(max_length=64, help_text="The WhatsApp Business Account holding the template")
    meta_id = models.CharField(max_length=64, help_text="Meta's template id (the hub's own id on sandbox numbers)")
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16, help_text="Meta's language code, e.g. en_US, ar")
    category = models.CharField(max_length=16, choices=Category.choices)
    sub_category = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    parameter_format = models.CharField(
        max_length=10, choices=ParameterFormat.choices, default=ParameterFormat.POSITIONAL
    )
    components = models.JSONField(default=list, help_text="Meta's components, as the Templates API gives them")
    rejected_reason = models.CharField(max_length=1000, blank=True)
    quality_score = models.CharField(max_length=8, choices=Quality.choices, default=Quality.UNKNOWN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When the template was found gone from Meta")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MessageTemplateQuerySet.as_manager()

    class Meta:
        constraints = [
            # The key a sync upserts on (ON CONFLICT needs a plain, not partial, unique index).
            models.UniqueConstraint(fields=["organization", "meta_id"], name="templates_template_meta_id_unique"),
        ]
        indexes = [
            models.Index(fields=["organization", "waba_id", "name", "language"], name="templates_template_lookup"),
            models.Index(
                fields=["organization", "status", "name"],
                condition=Q(deleted_at__isnull=True),
                name="templates_template_live",
            ),
        ]
        ordering = ["name", "language", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class TemplateSync(TenantModel):
    """One run of the template sync of a WABA: queued by `POST templates/sync` or by beat, readable while it runs."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    waba_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pages = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="templates_sync_org_created")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"sync {self.waba_id} ({self.status})"
