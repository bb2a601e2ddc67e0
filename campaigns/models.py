"""Broadcast campaigns: one template sent from one number to a frozen audience, paced, each recipient once.

A campaign is written as a draft (or scheduled), then started: its audience is frozen into CampaignRecipient rows
(one per contact), which are the work queue of the sending tasks (campaigns/services.py explains the claim) and the
per-recipient log. The counters on the campaign follow the recipients' statuses, moved by the same statements.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import TenantModel, TenantQuerySet


class CampaignQuerySet(TenantQuerySet):
    pass


class Campaign(TenantModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    class Audience(models.TextChoices):
        CONTACTS = "contacts", "Chosen contacts"
        TAG = "tag", "Contacts with a tag"
        CSV = "csv", "Numbers from a CSV file"
        ALL = "all", "All contacts"

    # Statuses in which the audience may still change and the campaign may be deleted or started.
    EDITABLE = frozenset({Status.DRAFT, Status.SCHEDULED})
    FINISHED = frozenset({Status.COMPLETED, Status.CANCELLED, Status.FAILED})

    name = models.CharField(max_length=200)
    number = models.ForeignKey("messaging.WhatsAppNumber", on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(
        "templates.MessageTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template_name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.CONTACTS)
    contact_ids = models.JSONField(default=list, blank=True, help_text="Chosen contacts (audience contacts or csv)")
    tag = models.ForeignKey("messaging.Tag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    variable_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per placeholder key: {"type": "contact_field", "value": "name", "fallback": "friend"} or '
        '{"type": "static", "value": "Acme"}',
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    warning = models.CharField(max_length=1000, blank=True)
    total = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0, help_text="Accepted by WhatsApp and not failed since")
    delivered = models.PositiveIntegerField(default=0)
    read = models.PositiveIntegerField(default=0)
    replied = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When a sending task last claimed a batch: the sweeper starts senders again for a running campaign idle longer.
    activity_at = models.DateTimeField(null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="campaigns_org_created"),
            # Beat's scans: due scheduled campaigns, running ones (few rows each).
            models.Index(fields=["scheduled_at"], condition=Q(status="scheduled"), name="campaigns_campaign_due"),
            models.Index(fields=["activity_at"], condition=Q(status="running"), name="campaigns_campaign_running"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def pending(self) -> int:
        return max(0, self.total - self.sent - self.failed - self.skipped)


class CampaignRecipient(TenantModel):
    """One contact of a campaign's frozen audience: its send, its statuses, its error (or why it was skipped)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    # A status only moves forward along this order (as a message's does); failed and skipped are final.
    RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4, "skipped": 5}

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey("messaging.Contact", on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, as frozen at the start")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=500, blank=True, help_text="Meta's error, or why it was skipped")
    # The claim of a sending task: its token and when it took (or last renewed) it.
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True, help_text="Not to be sent again before (131056, 5xx)")
    sent_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="campaigns_recipient_unique"),
        ]
        indexes = [
            # The claim scan: the unclaimed pending recipients of a campaign, in id order.
            models.Index(
                fields=["campaign", "id"],
                condition=Q(status="pending", claim_token__isnull=True),
                name="campaigns_recipient_claimable",
            ),
            # The sweeper's scan: claimed recipients (a batch in flight, or its worker died).
            models.Index(
                fields=["claimed_at"], condition=Q(claim_token__isnull=False), name="campaigns_recipient_claimed"
            ),
            # The log: a campaign's recipients by status, in id order.
            models.Index(fields=["campaign", "status", "id"], name="campaigns_recipient_log"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.contact_id} ({self.status})"
