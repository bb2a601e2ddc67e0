"""AI settings per organization (an OpenAI-compatible API: base URL, key, models) and its token usage per day."""

from django.db import models
from django.utils import timezone

from accounts.models import TenantModel
from whatsapp_hub.encryption import EncryptedTextField

DEFAULT_CHAT_MODEL = "gpt-4o-mini"


class AISettings(TenantModel):
    """One row per organization (made on first save). Blank `base_url` means the operator's `OPENAI_BASE_URL`; a
    tenant's own base URL passes the egress policy when saved and again at each request."""

    base_url = models.CharField(max_length=500, blank=True, help_text="Blank: the hub's OPENAI_BASE_URL")
    api_key = EncryptedTextField(blank=True)
    chat_model = models.CharField(max_length=200, default=DEFAULT_CHAT_MODEL)
    embedding_model = models.CharField(max_length=200, blank=True, help_text="Blank: no embeddings (BM25 only)")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "AI settings"
        verbose_name_plural = "AI settings"
        constraints = [models.UniqueConstraint(fields=["organization"], name="ai_settings_one_per_org")]

    def __str__(self) -> str:
        return f"AI settings of {self.organization_id}"


class AIUsage(TenantModel):
    """Tokens used per organization, day (the organization's time zone) and model; counters moved with F()."""

    day = models.DateField()
    model = models.CharField(max_length=200)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "AI usage"
        verbose_name_plural = "AI usage"
        ordering = ["-day", "model"]
        constraints = [models.UniqueConstraint(fields=["organization", "day", "model"], name="ai_usage_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.model}"
