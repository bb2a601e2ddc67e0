"""Django admin of message templates, for platform staff: read-only mirrors of Meta's (what Meta holds changes
through Meta: the API's create, delete and sync), with an action that syncs their accounts now, and the log of
syncs."""

from django.contrib import admin, messages

from accounts.admin import TenantAdmin
from accounts.models import Organization
from templates import services
from templates.models import MessageTemplate, TemplateSync


@admin.register(MessageTemplate)
class MessageTemplateAdmin(TenantAdmin):
    list_display = ("name", "language", "organization", "waba_id", "category", "status", "quality_score", "deleted_at")
    list_filter = ("status", "category", "quality_score", "organization")
    list_select_related = ("organization", "created_by")
    search_fields = ("name", "=meta_id", "=waba_id")
    raw_id_fields = ("organization", "created_by")
    readonly_fields = tuple(
        field.name for field in MessageTemplate._meta.get_fields() if field.concrete and not field.auto_created
    )
    actions = ["sync_accounts"]

    def has_add_permission(self, request) -> bool:
        return False  # a template is submitted to Meta (POST templates/), not written here

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting is Meta's (DELETE templates/{id}); a deleted template stays, marked

    @admin.action(description="Sync these templates' accounts from Meta now")
    def sync_accounts(self, request, queryset) -> None:
        pairs = set(queryset.values_list("organization_id", "waba_id"))
        queued = 0
        for organization_id, waba_id in sorted(pairs):
            if waba_id == services.SANDBOX_WABA_ID:
                continue
            organization = Organization.objects.get(pk=organization_id)
            syncs = services.template_sync_request(organization=organization, actor=request.user, waba_id=waba_id)
            queued += len(syncs)
        self.message_user(request, f"{queued} sync(s) queued.", messages.SUCCESS)


@admin.register(TemplateSync)
class TemplateSyncAdmin(TenantAdmin):
    list_display = ("id", "organization", "waba_id", "status", "pages", "created", "updated", "deleted", "created_at")
    list_filter = ("status", "organization")
    list_select_related = ("organization", "requested_by")
    search_fields = ("=waba_id",)
    raw_id_fields = ("organization", "requested_by")
    readonly_fields = tuple(
        field.name for field in TemplateSync._meta.get_fields() if field.concrete and not field.auto_created
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
