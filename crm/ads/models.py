"""The ad registry. Imported by crm.models (Django finds an app's models there)."""

from django.db import models
from django.utils import timezone

from accounts.models import TenantModel
from messaging.models import Contact, Conversation, Message


class Ad(TenantModel):
    """An ad (or post) customers clicked to write to the organization, as Meta's referral names it. Its creative
    (headline, body, media) is the latest one seen: an advertiser may edit the ad while it runs."""

    class SourceType(models.TextChoices):
        AD = "ad", "Ad"
        POST = "post", "Post"
        UNKNOWN = "unknown", "Unknown"

    source_id = models.CharField(max_length=64)
    source_type = models.CharField(max_length=16, choices=SourceType.choices, default=SourceType.AD)
    source_url = models.URLField(max_length=2000, blank=True)
    headline = models.CharField(max_length=500, blank=True)
    body = models.TextField(max_length=5000, blank=True)
    media_type = models.CharField(max_length=16, blank=True)
    media_url = models.URLField(max_length=2000, blank=True)
    thumbnail_url = models.URLField(max_length=2000, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "source_type", "source_id"], name="crm_ad_source_unique")
        ]

    def __str__(self) -> str:
        return self.headline or f"{self.source_type} {self.source_id}"


class AdReferral(TenantModel):
    """One inbound message that carried an ad's referral. `starts_conversation`: it was its conversation's first
    inbound message (the conversation counts as started by the ad); `new_contact`: its contact was created by it
    (stored by the same ingest, and it was the contact's first message). Both are decided once, when recorded."""

    ad = models.ForeignKey(Ad, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="ad_referrals")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    ctwa_clid = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(help_text="When the message was stored")
    starts_conversation = models.BooleanField(default=False)
    new_contact = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["organization", "ad", "at"], name="crm_adreferral_org_ad_at"),
            models.Index(
                fields=["organization", "at"], condition=models.Q(starts_conversation=True), name="crm_adref_started"
            ),
            models.Index(fields=["contact", "at"], name="crm_adreferral_contact_at"),
        ]

    def __str__(self) -> str:
        return f"{self.ad_id}:{self.message_id}"
