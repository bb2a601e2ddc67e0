"""Django admin of the platform's tables: read-only (plans change on the platform pages or the super-admin API, which
audit them; the counters are kept by the write paths; the audit log is never edited)."""

from django.contrib import admin

from accounts.models import MessageUsage, Plan, PlatformAuditLog, StorageUsage


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    """Edited on the platform pages (/platform/plans/) or through super-admin/plans."""

    list_display = ("code", "name", "monthly_price", "currency", "max_users", "max_numbers", "is_active")
    list_filter = ("is_active", "currency")
    search_fields = ("code", "name")


@admin.register(MessageUsage)
class MessageUsageAdmin(ReadOnlyAdmin):
    list_display = ("organization", "month", "messages")
    list_filter = ("month", "organization")
    list_select_related = ("organization",)
    search_fields = ("organization__name",)
    raw_id_fields = ("organization",)


@admin.register(StorageUsage)
class StorageUsageAdmin(ReadOnlyAdmin):
    list_display = ("organization", "bytes")
    list_filter = ("organization",)
    list_select_related = ("organization",)
    search_fields = ("organization__name",)
    raw_id_fields = ("organization",)


@admin.register(PlatformAuditLog)
class PlatformAuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "actor", "organization_name", "organization_ref")
    list_filter = ("action",)
    list_select_related = ("actor",)
    search_fields = ("action", "actor__email", "organization_name")
    raw_id_fields = ("actor",)
    date_hierarchy = "at"
    show_full_result_count = False
