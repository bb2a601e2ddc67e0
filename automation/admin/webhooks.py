"""Outbound webhooks in the Django admin: read-only (endpoints change through the API's services: the URL check,
the secret shown once, the audit log, the subscriptions cache); an endpoint is deleted, and a failed delivery
redelivered, through the services too. Secrets are never shown, only their last 4 characters."""

from django.contrib import admin, messages

from accounts.admin import TenantAdmin
from automation.models import WebhookDelivery, WebhookEndpoint
from automation.services import webhooks as services
from whatsapp_hub.errors import ServiceError


class ReadOnlyAdmin(TenantAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "organization", "active", "consecutive_failures", "disabled_at", "created_at")
    list_filter = ("active", "organization")
    list_select_related = ("organization",)
    search_fields = ("url", "description")
    raw_id_fields = ("organization", "created_by")
    fields = (
        "organization",
        "url",
        "description",
        "events",
        "active",
        "secret_masked",
        "previous_secret_expires_at",
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "failing_since",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="Secret")
    def secret_masked(self, obj: WebhookEndpoint) -> str:
        return obj.secret_masked or ""

    def delete_model(self, request, obj: WebhookEndpoint) -> None:
        services.webhook_endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for endpoint in queryset.select_related("organization"):
            services.webhook_endpoint_delete(endpoint=endpoint, actor=request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "organization",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "response_status",
        "latency_ms",
        "created_at",
    )
    list_filter = ("status", "event_type", "organization")
    list_select_related = ("organization", "endpoint")
    search_fields = ("=event_id", "endpoint__url")
    raw_id_fields = ("organization", "endpoint", "redelivery_of")
    show_full_result_count = False
    actions = ["redeliver"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the log goes with its endpoint

    @admin.action(description="Redeliver: send these events again (finished deliveries of active endpoints)")
    def redeliver(self, request, queryset) -> None:
        done, refused = 0, []
        for delivery in queryset.select_related("endpoint__organization"):
            try:
                services.webhook_delivery_redeliver(delivery=delivery, actor=request.user)
                done += 1
            except ServiceError as exc:
                refused.append(f"{delivery.pk}: {exc.detail}")
        self.message_user(request, f"{done} delivery(ies) queued again.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Refused: " + "; ".join(refused), messages.WARNING)
