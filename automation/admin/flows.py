"""Django admin of flows, for platform staff: read-only (flows, workflows and functions are written through the
API's services, which check graphs and URLs); a function's headers (secrets) are not shown."""

from django.contrib import admin

from accounts.admin import TenantAdmin
from automation.models import CustomFunction, Flow, FlowRun, FlowRunStep, FlowVersion


class ReadOnlyAdmin(TenantAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Flow)
class FlowAdmin(ReadOnlyAdmin):
    list_display = ("name", "organization", "kind", "is_active", "version", "updated_at")
    list_filter = ("kind", "is_active", "organization")
    list_select_related = ("organization",)
    search_fields = ("name",)
    raw_id_fields = ("organization", "created_by")


@admin.register(FlowVersion)
class FlowVersionAdmin(ReadOnlyAdmin):
    list_display = ("flow", "version", "organization", "created_at")
    list_select_related = ("organization", "flow")
    search_fields = ("flow__name",)
    raw_id_fields = ("organization", "flow")


@admin.register(FlowRun)
class FlowRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "flow", "status", "current_node", "waiting_for", "wake_at", "organization", "started_at")
    list_filter = ("status", "is_test", "organization")
    list_select_related = ("organization", "flow")
    search_fields = ("=id", "flow__name", "current_node")
    raw_id_fields = ("organization", "flow", "flow_version", "number", "contact", "conversation", "trigger_message")
    show_full_result_count = False


@admin.register(FlowRunStep)
class FlowRunStepAdmin(ReadOnlyAdmin):
    list_display = ("run", "step_no", "node_type", "node_id", "organization", "created_at")
    list_select_related = ("organization", "run")
    search_fields = ("=run__id", "node_id")
    raw_id_fields = ("organization", "run", "message")
    show_full_result_count = False


@admin.register(CustomFunction)
class CustomFunctionAdmin(ReadOnlyAdmin):
    list_display = ("name", "organization", "method", "url", "updated_at")
    list_select_related = ("organization",)
    search_fields = ("name", "url")
    raw_id_fields = ("organization", "created_by")
    exclude = ("headers_encrypted",)
