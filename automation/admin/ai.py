"""Django admin of the AI settings (the key is never shown: it is written through settings/ai) and usage."""

from django.contrib import admin

from accounts.admin import TenantAdmin
from automation.models.ai import AISettings, AIUsage


@admin.register(AISettings)
class AISettingsAdmin(TenantAdmin):
    list_display = ("organization", "base_url", "chat_model", "embedding_model", "updated_at")
    search_fields = ("organization__name", "chat_model", "embedding_model")
    exclude = ("api_key",)
    readonly_fields = ("base_url", "updated_at")


@admin.register(AIUsage)
class AIUsageAdmin(TenantAdmin):
    list_display = ("day", "organization", "model", "prompt_tokens", "completion_tokens", "requests")
    list_filter = ("day", "organization")
    search_fields = ("model", "organization__name")
    readonly_fields = ("day", "model", "prompt_tokens", "completion_tokens", "requests")
    show_full_result_count = False
