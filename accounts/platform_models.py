"""The platform's own tables (super admins): plans with prices and limits, the usage counters the limits are checked
against, and the platform-level audit log. Imported by accounts.models, so they are accounts' models."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Plan(models.Model):
    """A subscription plan set by platform staff. An organization names its plan by `code` (Organization.plan), which
    never changes once created; a limit of None is unlimited."""

    code = models.SlugField(max_length=16, unique=True)
    name = models.CharField(max_length=80)
    monthly_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code, e.g. USD, SAR, EUR.")
    max_users = models.PositiveIntegerField(null=True, blank=True)
    max_numbers = models.PositiveIntegerField(null=True, blank=True)
    max_messages_per_month = models.PositiveIntegerField(null=True, blank=True)
    max_storage_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="Only active plans can be given to organizations.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["monthly_price", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class MessageUsage(models.Model):
    """Outbound messages an organization stored in one calendar month (UTC): one row per organization and month,
    counted with F() in the send paths (accounts.plans.usage_messages_reserve)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, db_index=True)
    month = models.DateField(help_text="The first day of the month.")
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "month"], name="accounts_messageusage_unique")]
        ordering = ["-month", "organization"]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.month:%Y-%m}: {self.messages}"


class StorageUsage(models.Model):
    """Bytes of stored files an organization uploaded or received (media, knowledge documents): added when a file
    is stored, subtracted when it is deleted (accounts.plans.usage_storage_add)."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="storage")
    bytes = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.bytes} bytes"


class PlatformAuditLog(models.Model):
    """What platform staff did to tenants (created, suspended, deleted, impersonated, plans): outside every tenant,
    so it survives the deletion of the organization it names (by id and name, not a foreign key)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    organization_ref = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    organization_name = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.organization_name}"
