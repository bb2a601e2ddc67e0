"""The record of every e-mail the hub sends (accounts.mail): one EmailLog row per message, rendered when it was queued,
sent by a task after the commit, and its attachments."""

from django.conf import settings
from django.db import models

from accounts.models import Organization, TenantQuerySet
from whatsapp_hub.encryption import EncryptedTextField


class EmailLog(models.Model):
    """One e-mail to one address. Rendered at enqueue time in the recipient's language; `body_text`/`body_html` are
    what the task sends and are encrypted at rest (they may carry a sign-in link, a reset or an invitation token),
    then emptied once the e-mail is sent or has failed for good: only the record stays. `organization` is the tenant
    the mail is about, when there is one (an invitation, a webhook disabled, a notification; a member's own mail
    when they belong to one organization); platform mail without one (a sign-in link of someone in several
    organizations) is seen by staff only (Django admin)."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        PASSWORD_RESET = "password_reset", "Password reset"
        MAGIC_LINK = "magic_link", "Sign-in link"
        LOCKOUT = "lockout", "Lockout notice"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"
        NOTIFICATION = "notification", "Notification"
        DIGEST = "digest", "Digest"
        TEST = "test", "Test"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    SUBJECT_MAX = 255
    ERROR_MAX = 300

    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    recipient = models.EmailField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject = models.CharField(max_length=SUBJECT_MAX)
    language = models.CharField(max_length=16)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The class of the last error and its message, bounded; never a body or a credential (accounts.mail._error_of).
    last_error = models.CharField(max_length=ERROR_MAX, blank=True)
    body_text = EncryptedTextField(blank=True)
    body_html = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When an attempt was last claimed or the sweeper last queued it again (accounts.mail.email_logs_requeue).
    tried_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="accounts_emaillog_org_created")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"


class EmailAttachment(models.Model):
    """A file sent with an e-mail. Its bytes live in the row (bounded by EMAIL_ATTACHMENTS_MAX_BYTES per e-mail) only
    until the e-mail is sent or has failed for good: written in the same transaction as its log, so a rollback leaves
    nothing behind (a stored file would outlive it) and the retrying task needs nothing but the database. The name,
    type and size stay for the record."""

    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, db_index=True)
    log = models.ForeignKey(EmailLog, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    content = models.BinaryField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename
