"""Two-step sign-in (accounts.two_factor): a person's authenticator secret, their recovery codes and the browsers
they trust to skip the second step. A person's, not a tenant's (as their sessions): one sign-in reaches every
organization of theirs."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from whatsapp_hub.encryption import EncryptedTextField


class TwoFactor(models.Model):
    """A person's TOTP secret (RFC 6238, 30-second steps, 6 digits), encrypted at rest. Two-step sign-in is on once
    `confirmed_at` is set (the person typed a code of their authenticator app); before that the row is an
    enrolment in progress."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor")
    secret = EncryptedTextField()
    # The last time step whose code was accepted: a code of that step or an older one is refused (no replay).
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"two-step sign-in of {self.user_id} ({'on' if self.confirmed_at else 'enrolling'})"


class RecoveryCode(models.Model):
    """A single-use code that stands in for the authenticator app; only its digest is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="accounts_recoverycode_unique")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of {self.user_id} ({'used' if self.used_at else 'unused'})"


class TrustedDevice(models.Model):
    """A browser the person ticked "trust this browser" on: its cookie carries a random token, of which only the
    digest is stored; it skips the second step until `expires_at`, unless revoked."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_devices")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=200, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="accounts_trusteddevice_user")]
        ordering = ["-last_used_at", "-id"]

    def __str__(self) -> str:
        return f"trusted browser {self.pk} of {self.user_id}"
