"""Django admin of bots, their scenarios, their state in conversations, their replies and the numbers' bot and flow,
for platform staff: read-mostly (written through the API's services, which check what the tables cannot: a reply
WhatsApp takes, a safe pattern, rows of one organization); bot replies are many, so no full count."""

from django.contrib import admin

from accounts.admin import TenantAdmin
from automation.models import Bot, BotConversation, BotKnowledgeBase, BotReply, BotScenario, NumberAutomation


class _ReadOnly(TenantAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Bot)
class BotAdmin(_ReadOnly):
    list_display = ("name", "organization", "is_active", "model", "handoff_team", "updated_at")
    list_filter = ("is_active", "organization")
    list_select_related = ("organization", "handoff_team")
    search_fields = ("name", "organization__name")
    raw_id_fields = ("organization", "handoff_team", "created_by")


@admin.register(BotKnowledgeBase)
class BotKnowledgeBaseAdmin(_ReadOnly):
    list_display = ("bot", "knowledge_base", "organization")
    list_select_related = ("organization", "bot", "knowledge_base")
    search_fields = ("bot__name", "knowledge_base__name")
    raw_id_fields = ("organization", "bot", "knowledge_base")


@admin.register(BotScenario)
class BotScenarioAdmin(_ReadOnly):
    list_display = ("__str__", "bot", "organization", "trigger", "position", "is_active")
    list_filter = ("trigger", "is_active", "organization")
    list_select_related = ("organization", "bot")
    search_fields = ("name", "pattern", "bot__name")
    raw_id_fields = ("organization", "bot")


@admin.register(BotConversation)
class BotConversationAdmin(_ReadOnly):
    list_display = ("conversation", "organization", "bot", "paused", "paused_reason", "unanswered_turns", "updated_at")
    list_filter = ("paused", "paused_reason", "organization")
    list_select_related = ("organization", "bot", "conversation__contact", "conversation__number")
    search_fields = ("conversation__contact__name", "conversation__contact__wa_id", "bot__name")
    raw_id_fields = ("organization", "conversation", "bot", "paused_by")


@admin.register(BotReply)
class BotReplyAdmin(_ReadOnly):
    list_display = ("inbound", "organization", "bot", "outcome", "model_used", "tokens_used", "created_at")
    list_filter = ("outcome", "organization")
    list_select_related = ("organization", "bot", "inbound")
    search_fields = ("bot__name", "inbound__text")
    raw_id_fields = ("organization", "bot", "conversation", "inbound", "reply", "scenario")
    show_full_result_count = False


@admin.register(NumberAutomation)
class NumberAutomationAdmin(_ReadOnly):
    list_display = ("number", "organization", "bot", "flow")
    list_select_related = ("organization", "number", "bot", "flow")
    search_fields = ("number__display_name", "bot__name", "flow__name")
    raw_id_fields = ("organization", "number", "bot", "flow")
