"""Django admin of messaging, for platform staff. Secrets never appear (they are not even masked form fields);
the big tables (messages, webhook events) skip the full count. Dead webhook events are replayed from here."""

from django.contrib import admin, messages
from django.db import models

from accounts.admin import TenantAdmin
from messaging.models import Contact, ContactTag, Conversation, Media, Message, Tag, WebhookEvent, WhatsAppNumber
from messaging.services.ingest import webhook_events_replay
from whatsapp_hub.encryption import mask

SECRET_FIELDS = ("access_token", "app_secret", "verify_token", "waha_api_key", "waha_webhook_hmac_key")


@admin.register(WhatsAppNumber)
class WhatsAppNumberAdmin(TenantAdmin):
    list_display = ("display_name", "organization", "provider", "phone_number", "status", "is_primary", "deleted_at")
    list_filter = ("provider", "status", "organization")
    search_fields = ("display_name", "phone_number", "=phone_number_id", "waha_session")
    raw_id_fields = ("organization", "assigned_user", "assigned_team")
    exclude = SECRET_FIELDS
    readonly_fields = ("masked_secrets", "created_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Secrets (masked)")
    def masked_secrets(self, number: WhatsAppNumber) -> str:
        return ", ".join(f"{name}: {mask(getattr(number, name)) or '-'}" for name in SECRET_FIELDS)


@admin.register(Tag)
class TagAdmin(TenantAdmin):
    list_display = ("name", "organization")
    search_fields = ("name",)


@admin.register(Contact)
class ContactAdmin(TenantAdmin):
    list_display = ("__str__", "organization", "phone", "wa_id", "opted_out", "is_active", "created_at")
    list_filter = ("opted_out", "is_active", "organization")
    search_fields = ("name", "profile_name", "phone", "=wa_id", "=user_id")
    readonly_fields = ("created_at", "updated_at", "last_inbound_at", "opted_out_at")
    show_full_result_count = False


@admin.register(ContactTag)
class ContactTagAdmin(TenantAdmin):
    list_display = ("contact", "tag", "organization")
    list_select_related = ("contact", "tag", "organization")
    search_fields = ("tag__name", "=contact__wa_id")
    raw_id_fields = ("organization", "contact", "tag")


@admin.register(Conversation)
class ConversationAdmin(TenantAdmin):
    list_display = ("__str__", "organization", "status", "unread_count", "assigned_to", "last_message_at")
    list_filter = ("status", "organization")
    list_select_related = ("organization", "contact", "number", "assigned_to")
    search_fields = ("=contact__wa_id", "contact__name", "contact__phone")
    raw_id_fields = ("organization", "number", "contact", "assigned_to", "team")
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(TenantAdmin):
    list_display = ("id", "organization", "conversation_id", "direction", "type", "status", "error_code", "created_at")
    list_filter = ("direction", "type", "status", "organization")
    search_fields = ("=provider_message_id",)
    raw_id_fields = ("organization", "conversation", "sent_by")
    readonly_fields = ("created_at", "status_updated_at", "provider_timestamp", "attempts", "attempted_at")
    show_full_result_count = False


@admin.register(Media)
class MediaAdmin(TenantAdmin):
    list_display = ("id", "organization", "message_id", "mime_type", "size", "status", "created_at")
    list_filter = ("status", "organization")
    search_fields = ("=provider_media_id", "filename")
    raw_id_fields = ("organization", "message")
    readonly_fields = ("created_at", "attempts", "attempted_at")
    show_full_result_count = False


@admin.register(WebhookEvent)
class WebhookEventAdmin(TenantAdmin):
    list_display = ("id", "organization", "source", "status", "attempts", "received_at", "processed_at")
    list_filter = ("status", "source", "organization")
    search_fields = ("=dedupe_key",)
    raw_id_fields = ("organization", "number")
    readonly_fields = ("received_at", "claimed_at", "processed_at", "attempts", "last_error", "dedupe_key")
    show_full_result_count = False
    actions = ["replay"]

    @admin.action(description="Replay: put dead or failed events back in the queue")
    def replay(self, request, queryset) -> None:
        replayed = webhook_events_replay(events=queryset)
        self.message_user(request, f"{replayed} event(s) queued again.", messages.SUCCESS)
