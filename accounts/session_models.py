"""A person's signed-in sessions (accounts.sessions): browser sessions and API refresh-token chains, so they can see
and end them. A person's, not a tenant's: one session may act in any of their organizations (the switcher)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class UserSession(models.Model):
    """One signed-in device: a browser session (its key's digest) or an API session (the chain of rotated refresh
    tokens of one sign-in, whose tokens carry this row's id as their `sid` claim). Ended rows stay for the record."""

    class Kind(models.TextChoices):
        BROWSER = "browser", "Browser"
        API = "api", "API"

    class EndReason(models.TextChoices):
        SIGNED_OUT = "signed_out", "Signed out"
        REVOKED = "revoked", "Revoked"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="user_sessions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The browser session key's SHA-256 (never the key), or the API session's latest refresh token id (jti).
    key_hash = models.CharField(max_length=64, blank=True)
    token_jti = models.CharField(max_length=255, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ended_at"], name="accounts_usersession_user")]
        ordering = ["-last_used_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} session {self.pk} of {self.user_id}"
