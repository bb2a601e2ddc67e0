"""Django admin of campaigns, for platform staff: read-mostly (campaigns are written through the API's services);
the recipients' table is big, so it skips the full count."""

from django.contrib import admin

from accounts.admin import TenantAdmin
from campaigns.models import Campaign, CampaignRecipient


@admin.register(Campaign)
class CampaignAdmin(TenantAdmin):
    list_display = ("name", "organization", "status", "total", "sent", "delivered", "read", "failed", "created_at")
    list_filter = ("status", "organization")
    list_select_related = ("organization", "number")
    search_fields = ("name", "template_name")
    raw_id_fields = ("organization", "number", "template", "tag", "created_by")
    readonly_fields = (
        "status",
        "total",
        "sent",
        "delivered",
        "read",
        "replied",
        "failed",
        "skipped",
        "started_at",
        "finished_at",
        "activity_at",
    )


@admin.register(CampaignRecipient)
class CampaignRecipientAdmin(TenantAdmin):
    list_display = ("campaign", "phone", "status", "error_code", "sent_at", "organization")
    list_filter = ("status", "organization")
    list_select_related = ("organization", "campaign")
    search_fields = ("=phone", "campaign__name")
    raw_id_fields = ("organization", "campaign", "contact", "message")
    show_full_result_count = False
