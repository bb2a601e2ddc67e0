"""CRM: the organization's customer companies (businesses), sales pipelines with ordered stages, deals and their
history, and the sales team. Contacts are messaging's; a contact's business is a link row here (messaging never
imports crm)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Invitation, TenantModel
from messaging.models import Contact, Conversation


class Business(TenantModel):
    name = models.CharField(max_length=200)
    website = models.URLField(max_length=300, blank=True)
    industry = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    address = models.TextField(max_length=1000, blank=True)
    tags = models.JSONField(default=list, blank=True)  # names (crm.services checks them: up to 50, 50 long)
    notes = models.TextField(max_length=10000, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "name"], name="crm_business_org_name")]
        verbose_name_plural = "businesses"

    def __str__(self) -> str:
        return self.name


class ContactBusiness(TenantModel):
    """A contact belongs to at most one business: one row per contact."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="crm_business_link")
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="contact_links")

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.business_id}"


class Pipeline(TenantModel):
    name = models.CharField(max_length=120)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="crm_pipeline_name_unique"),
            models.UniqueConstraint(
                fields=["organization"], condition=models.Q(is_default=True), name="crm_pipeline_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Outcome(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(TenantModel):
    """A column of a pipeline. A deal moved into a stage takes its outcome as status (Won -> won, Lost -> lost)."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OPEN)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Deal(TenantModel):
    class Source(models.TextChoices):
        CONVERSATION = "conversation", _("Conversation")
        CAMPAIGN = "campaign", _("Campaign")
        AD = "ad", _("Ad")
        MANUAL = "manual", _("Manual")

    Status = Outcome

    title = models.CharField(max_length=200)
    # Up to 4 minor units (ISO 4217's most); the service refuses more than the currency's own.
    value = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    currency = models.CharField(max_length=3)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    status = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OPEN, db_index=True)
    lost_reason = models.CharField(max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    business = models.ForeignKey(Business, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expected_close_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    # The Click-to-WhatsApp ad the deal came from (source "ad"): set from the conversation an ad started, or given.
    ad = models.ForeignKey("crm.Ad", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    notes = models.TextField(max_length=10000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "pipeline", "stage"], name="crm_deal_org_pipeline_stage")]

    def __str__(self) -> str:
        return self.title


class DealHistory(TenantModel):
    """One stage or status change of a deal (its creation included), with who and when. Stage names are copied: the
    history stays readable after a stage is renamed or deleted."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_stage_name = models.CharField(max_length=120, blank=True)
    to_stage_name = models.CharField(max_length=120, blank=True)
    from_status = models.CharField(max_length=8, blank=True)
    to_status = models.CharField(max_length=8)
    lost_reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "deal history"

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_name} -> {self.to_stage_name}"


class SalesMember(TenantModel):
    """Someone on the sales team (seed `sales-team/`): a member of the organization, or invited to be one."""

    name = models.CharField(max_length=150)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=32, blank=True)
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "email"], name="crm_salesmember_email_unique")]

    def __str__(self) -> str:
        return self.name


# The ad registry's models live in crm/ads/ (Django finds an app's models through this module).
from crm.ads.models import Ad, AdReferral  # noqa: E402
from crm.routing.models import LeadRoutingRule  # noqa: E402  (its own module: crm/routing/)

__all__ = [
    "Ad",
    "AdReferral",
    "Business",
    "ContactBusiness",
    "Deal",
    "DealHistory",
    "LeadRoutingRule",
    "Outcome",
    "Pipeline",
    "SalesMember",
    "Stage",
]
