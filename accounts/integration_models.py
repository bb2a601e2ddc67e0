"""The last success and the last error of each of an organization's integrations (accounts.integrations writes them).

Kept in accounts, the lowest app, so that every app whose code talks to an outside service (messaging's providers,
automation's LLM client, accounts' Google sign-in and mail) can record what happened without importing upward. The
error is a short code of the hub's own (`error_code`): the pages and the API turn it into the hub's words, so nothing
an upstream answered is ever stored here or shown."""

from django.db import models

from accounts.models import TenantModel


class IntegrationKind(models.TextChoices):
    WHATSAPP_NUMBER = "whatsapp_number", "WhatsApp number"
    LLM = "llm", "AI provider"
    EMBEDDINGS = "embeddings", "Embeddings"
    WEBHOOK = "webhook", "Outbound webhook"
    GOOGLE = "google", "Google sign-in"
    EMAIL = "email", "E-mail"


class IntegrationStatus(TenantModel):
    """One row per (organization, kind, object id): `object_id` is the number's or endpoint's id, "" for the
    organization's single integrations (AI, Google sign-in, e-mail). Written with conditional updates at most every
    accounts.integrations.RECORD_INTERVAL seconds while the state stays the same, at once when it flips."""

    kind = models.CharField(max_length=20, choices=IntegrationKind.choices)
    object_id = models.CharField(max_length=40, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True, help_text="The hub's code of the last error")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Of the last error's answer")
    details = models.JSONField(default=dict, blank=True, help_text="What the last check read (e.g. quality rating)")
    tested_at = models.DateTimeField(null=True, blank=True, help_text="The last 'test now' (rate limit)")

    class Meta:
        verbose_name_plural = "integration statuses"
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "object_id"], name="accounts_integration_one_row")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}".strip()

    @property
    def failing(self) -> bool:
        """The last outcome was an error."""
        return self.last_error_at is not None and (
            self.last_success_at is None or self.last_error_at >= self.last_success_at
        )
