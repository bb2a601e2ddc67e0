"""Django admin of messaging, for platform staff. Secrets are write-only (shown masked, never in a form's value);
a number is created and edited through the numbers services; the big tables (messages, webhook events) skip
the full count. Dead webhook events are replayed from here."""

from django import forms
from django.contrib import admin, messages
from django.db import models

from accounts.admin import ServiceAdmin, ServiceModelForm, TenantAdmin
from messaging.models import (
    Call,
    CannedResponse,
    Contact,
    ContactTag,
    Conversation,
    ConversationNote,
    ConversationResolution,
    FlowResponse,
    InboxEmbed,
    Media,
    Message,
    Notification,
    NotificationPreference,
    Tag,
    WebhookEvent,
    WhatsAppFlow,
    WhatsAppNumber,
)
from messaging.services import canned as canned_services
from messaging.services import embeds as embed_services
from messaging.services import erasure
from messaging.services import numbers as number_services
from messaging.services.ingest import webhook_events_replay
from whatsapp_hub.encryption import mask

PROVIDER_FIELDS = number_services.CLOUD_FIELDS + number_services.WAHA_FIELDS
SECRET_FIELDS = tuple(name for name in PROVIDER_FIELDS if name in number_services.SECRET_FIELDS)
# What number_update takes from the form (the secrets apart: they change only when a new value is typed).
UPDATABLE_FIELDS = frozenset(
    {"display_name", "phone_number", "is_primary", "throughput", "messaging_limit_tier", "status", *PROVIDER_FIELDS}
) - set(SECRET_FIELDS)


def _secret_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: blank keeps the stored value (a new WAHA number's webhook key is generated).",
    )


class WhatsAppNumberForm(ServiceModelForm):
    access_token = _secret_field()
    app_secret = _secret_field()
    verify_token = _secret_field()
    waha_api_key = _secret_field()
    waha_webhook_hmac_key = _secret_field()
    waha_base_url = forms.URLField(
        required=False, max_length=WhatsAppNumber._meta.get_field("waha_base_url").max_length, assume_scheme="https"
    )

    service_fields = {"user_id": "assigned_user", "team_id": "assigned_team"}

    class Meta:
        model = WhatsAppNumber
        exclude = SECRET_FIELDS

    def save_through_services(self) -> WhatsAppNumber:
        data = self.cleaned_data
        if self.instance._state.adding:
            number = number_services.number_create(
                organization=data["organization"],
                actor=self.actor,
                display_name=data["display_name"],
                provider=data["provider"],
                phone_number=data["phone_number"],
                is_primary=data["is_primary"],
                throughput=data["throughput"],
                messaging_limit_tier=data["messaging_limit_tier"],
                **{name: data[name] for name in PROVIDER_FIELDS if data.get(name)},  # secrets included
            )
        else:
            typed_secrets = {name: data[name] for name in SECRET_FIELDS if data.get(name)}
            changes = {name: data[name] for name in self.changed_data if name in UPDATABLE_FIELDS}
            number = self.instance
            if changes or typed_secrets:
                number = number_services.number_update(number=number, actor=self.actor, **changes, **typed_secrets)
        if {"assigned_user", "assigned_team"} & set(self.changed_data):
            number = number_services.number_assign(
                number=number,
                actor=self.actor,
                user_id=data["assigned_user"].pk if data["assigned_user"] else None,
                team_id=data["assigned_team"].pk if data["assigned_team"] else None,
            )
        return number


@admin.register(WhatsAppNumber)
class WhatsAppNumberAdmin(ServiceAdmin, TenantAdmin):
    """Created and edited through messaging.services.numbers (checks, audit with the staff user as actor, the
    webhook secret cache, the WAHA session's sync); deleted by the organization's admins (a soft delete that
    keeps the history), not here."""

    form = WhatsAppNumberForm
    list_display = ("display_name", "organization", "provider", "phone_number", "status", "is_primary", "deleted_at")
    list_filter = ("provider", "status", "organization")
    search_fields = ("display_name", "phone_number", "=phone_number_id", "waha_session")
    raw_id_fields = ("organization", "assigned_user", "assigned_team")

    def get_readonly_fields(self, request, obj=None):
        hub_set = ("session_status", "deleted_at", "created_at", "masked_secrets")
        # The provider and the tenant of a number never change; a new number's status is set by the hub.
        return ("organization", "provider", *hub_set) if obj is not None else ("status", *hub_set)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

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

    # Deleting a contact is their erasure: through the service, as the API does it (raw webhook events deleted or
    # scrubbed, media files removed after commit, audited with the staff user).
    def delete_model(self, request, obj: Contact) -> None:
        erasure.contact_delete(contact=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for contact in queryset.select_related("organization"):
            erasure.contact_delete(contact=contact, actor=request.user)

    def get_deleted_objects(self, objs, request):
        # The erasure takes the contact's history with it: deleting it needs no right to delete history alone.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected


class HistoryAdmin(TenantAdmin):
    """Conversations, messages and media are history: they go when their contact is erased (ContactAdmin), never
    one by one (a message deleted alone would leave its media file in storage and a hole in the thread)."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ContactTag)
class ContactTagAdmin(TenantAdmin):
    list_display = ("contact", "tag", "organization")
    list_select_related = ("contact", "tag", "organization")
    search_fields = ("tag__name", "=contact__wa_id")
    raw_id_fields = ("organization", "contact", "tag")


@admin.register(Conversation)
class ConversationAdmin(HistoryAdmin):
    list_display = ("__str__", "organization", "status", "unread_count", "assigned_to", "last_message_at")
    list_filter = ("status", "organization")
    list_select_related = ("organization", "contact", "number", "assigned_to")
    search_fields = ("=contact__wa_id", "contact__name", "contact__phone")
    raw_id_fields = ("organization", "number", "contact", "assigned_to", "team")
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(ConversationResolution)
class ConversationResolutionAdmin(HistoryAdmin):
    list_display = ("id", "organization", "conversation_id", "assigned_to", "team", "opened_at", "closed_at")
    list_filter = ("organization",)
    list_select_related = ("organization", "assigned_to", "team")
    search_fields = ("=conversation__contact__wa_id",)
    raw_id_fields = ("organization", "conversation", "number", "assigned_to", "team", "closed_by")
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(HistoryAdmin):
    list_display = ("id", "organization", "conversation_id", "direction", "type", "status", "error_code", "created_at")
    list_filter = ("direction", "type", "status", "organization")
    search_fields = ("=provider_message_id",)
    raw_id_fields = ("organization", "conversation", "sent_by")
    readonly_fields = ("created_at", "status_updated_at", "provider_timestamp", "attempts", "attempted_at")
    show_full_result_count = False


@admin.register(Call)
class CallAdmin(HistoryAdmin):
    """Read only: a call is what the provider's webhooks reported (ingest/calls.py writes it)."""

    list_display = ("id", "organization", "number", "contact", "direction", "status", "duration", "started_at")
    list_filter = ("direction", "status", "is_video", "organization")
    list_select_related = ("organization", "number", "contact")
    search_fields = ("=provider_call_id", "=contact__wa_id", "contact__name")
    raw_id_fields = ("organization", "number", "contact", "conversation")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Media)
class MediaAdmin(HistoryAdmin):
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
    # request_id: the X-Request-ID of the webhook's POST, which the log lines about the event name.
    readonly_fields = (
        "received_at",
        "claimed_at",
        "processed_at",
        "attempts",
        "last_error",
        "dedupe_key",
        "request_id",
    )
    show_full_result_count = False
    actions = ["replay"]

    @admin.action(description="Replay: put dead or failed events back in the queue")
    def replay(self, request, queryset) -> None:
        replayed = webhook_events_replay(events=queryset)
        self.message_user(request, f"{replayed} event(s) queued again.", messages.SUCCESS)


class CannedResponseForm(ServiceModelForm):
    service_fields = {"attachment_id": "attachment"}

    class Meta:
        model = CannedResponse
        fields = ("organization", "shortcut", "title", "text", "attachment")

    def save_through_services(self) -> CannedResponse:
        data = self.cleaned_data
        attachment_id = data["attachment"].pk if data["attachment"] else None
        if self.instance._state.adding:
            return canned_services.canned_response_create(
                organization=data["organization"],
                actor=self.actor,
                shortcut=data["shortcut"],
                title=data["title"],
                text=data["text"],
                attachment_id=attachment_id,
            )
        changes = {name: data[name] for name in ("shortcut", "title", "text") if name in self.changed_data}
        if "attachment" in self.changed_data:
            changes["attachment_id"] = attachment_id
        # The form's instance holds the typed values already: the service starts from the stored row.
        stored = CannedResponse.objects.for_org(self.instance.organization).get(pk=self.instance.pk)
        return canned_services.canned_response_update(canned_response=stored, actor=self.actor, **changes)


@admin.register(CannedResponse)
class CannedResponseAdmin(ServiceAdmin, TenantAdmin):
    """Created, edited and deleted through messaging.services.canned (shortcut and text rules, an attachment of the
    response's own organization, audit with the staff user as actor)."""

    form = CannedResponseForm
    list_display = ("__str__", "title", "organization", "attachment", "created_by", "updated_at")
    list_select_related = ("organization", "attachment", "created_by")
    search_fields = ("shortcut", "title", "text")
    raw_id_fields = ("organization", "attachment")
    readonly_fields = ("created_by", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # A response never moves to another organization (its attachment is that organization's upload).
        return ("organization", *self.readonly_fields) if obj is not None else self.readonly_fields

    def delete_model(self, request, obj: CannedResponse) -> None:
        canned_services.canned_response_delete(canned_response=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for canned in queryset.select_related("organization"):
            canned_services.canned_response_delete(canned_response=canned, actor=request.user)


@admin.register(InboxEmbed)
class InboxEmbedAdmin(TenantAdmin):
    """Read, revoke and delete: admins create embeds in the app (Settings > Embeds), whose checks the embed relies on
    (numbers and teams of the organization, origins)."""

    list_display = ("name", "organization", "mode", "expires_at", "revoked_at", "created_at")
    list_select_related = ("organization",)
    search_fields = ("name", "organization__name")
    readonly_fields = (
        "name",
        "mode",
        "numbers",
        "teams",
        "allowed_origins",
        "expires_at",
        "revoked_at",
        "created_by",
        "created_at",
    )
    exclude = ("key",)
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected embeds (their open pages stop at once)")
    def revoke(self, request, queryset):
        for embed in queryset:
            embed_services.embed_revoke(embed=embed, actor=request.user)
        self.message_user(request, f"{queryset.count()} embed(s) revoked.", messages.SUCCESS)


@admin.register(WhatsAppFlow)
class WhatsAppFlowAdmin(TenantAdmin):
    """Read only: a flow is Meta's (created, changed, published and deleted at Meta through
    messaging.services.flows, from the app or the API)."""

    list_display = ("name", "organization", "status", "waba_id", "meta_flow_id", "last_alert_at", "updated_at")
    list_filter = ("status", "organization")
    list_select_related = ("organization",)
    search_fields = ("name", "=meta_flow_id", "=waba_id")
    raw_id_fields = ("organization", "number", "created_by")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default, without the warning

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FlowResponse)
class FlowResponseAdmin(HistoryAdmin):
    """Read only: what a customer submitted in a flow (ingest stores it from the nfm_reply message)."""

    list_display = ("id", "organization", "flow", "contact", "received_at")
    list_filter = ("organization",)
    list_select_related = ("organization", "flow", "contact")
    search_fields = ("=flow_token", "=contact__wa_id", "flow__name")
    raw_id_fields = ("organization", "flow", "contact", "conversation", "message")


@admin.register(ConversationNote)
class ConversationNoteAdmin(HistoryAdmin):
    """Read only: notes are written in the inbox (messaging.services.notes)."""

    list_display = ("id", "organization", "conversation", "author", "created_at")
    list_select_related = ("organization", "conversation__contact", "conversation__number", "author")
    search_fields = ("=conversation__id", "author__email")
    raw_id_fields = ("organization", "conversation", "author")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(TenantAdmin):
    """Read only: notifications are made by messaging.services.notifications.notify."""

    list_display = ("id", "organization", "recipient", "kind", "created_at", "read_at", "emailed_at")
    list_filter = ("kind", "organization")
    list_select_related = ("organization", "recipient")
    search_fields = ("recipient__email",)
    raw_id_fields = ("organization", "recipient", "conversation")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(TenantAdmin):
    """Read only: each person sets theirs (Account > Notifications, PUT notification-preferences)."""

    list_display = ("user", "organization", "quiet_start", "quiet_end", "time_zone", "updated_at")
    list_select_related = ("organization", "user")
    search_fields = ("user__email",)
    raw_id_fields = ("organization", "user")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
