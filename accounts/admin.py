"""Django admin of accounts, for platform staff. Edits of organizations, memberships and invitations (and, in
messaging, of numbers) go through the services (ServiceModelForm), so they are checked, audited and followed up as
the API's are; the audit log is read-only."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.messages import ERROR, SUCCESS
from django.db import models, transaction
from django.template.response import TemplateResponse

from accounts import services, two_factor
from accounts.models import (
    ApiKey,
    AuditLog,
    CustomPage,
    EmailAttachment,
    EmailLog,
    Invitation,
    MagicLink,
    Membership,
    Organization,
    SystemLog,
    Team,
    TeamMember,
    TrustedDevice,
    User,
    UserSession,
)
from accounts.platform_forms import plan_choices
from whatsapp_hub.errors import ServiceError


class TenantAdmin(admin.ModelAdmin):
    """Common to every tenant-owned model: filter by organization, no N+1 on it."""

    list_filter: tuple = ("organization",)
    list_select_related: tuple = ("organization",)
    raw_id_fields: tuple = ("organization",)


class ServiceModelForm(forms.ModelForm):
    """A ModelForm that saves through the services. Once the form's and the model's own checks pass,
    `save_through_services()` runs in a transaction of its own (inside the admin's): a ServiceError undoes what
    it wrote and shows as form errors, never a 500. The admin has nothing left to save (ServiceAdmin)."""

    actor: User | None = None  # the staff user (ServiceAdmin.get_form)
    # The form field of a service's argument, where their names differ.
    service_fields: dict[str, str] = {}

    def save_through_services(self) -> models.Model:
        """Write the cleaned data through the services; the saved object."""
        raise NotImplementedError

    def _post_clean(self) -> None:
        # ModelForm's hook between cleaning and saving (Django's UserCreationForm extends it too): the only
        # place a write can still turn into form errors.
        super()._post_clean()
        if self.errors:
            return
        try:
            with transaction.atomic():
                self.instance = self.save_through_services()
        except ServiceError as exc:
            self._add_service_error(exc)

    def _add_service_error(self, exc: ServiceError) -> None:
        if not exc.errors:
            self.add_error(None, exc.detail)
        for argument, messages in (exc.errors or {}).items():
            field = self.service_fields.get(argument, argument)
            if isinstance(messages, dict):  # one level down, e.g. settings: {key: [...]}
                messages = [f"{key}: {message}" for key, inner in messages.items() for message in inner]
            if field in self.fields:
                self.add_error(field, messages)
            else:
                self.add_error(None, [f"{field}: {message}" for message in messages])


class ServiceAdmin(admin.ModelAdmin):
    """The admin of a model whose form (a ServiceModelForm) saves through the services."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # a class made for this request
        return form

    def save_model(self, request, obj, form, change) -> None:
        """Saved already: by the services, from the form's validation."""


class MembershipInline(admin.TabularInline):
    """Read-only here: roles and activation change on the membership's own page, through the services (last-admin
    and seat checks, audit)."""

    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "is_active", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _settings_changes(current: Any, wanted: Any) -> Any:
    """The settings PATCH that turns `current` into `wanted` (null removes a key); `wanted` as it is when it is
    not an object (the service refuses it)."""
    if wanted is None:
        wanted = {}
    if not isinstance(wanted, dict):
        return wanted
    current = current if isinstance(current, dict) else {}
    removed = {key: None for key in current if key not in wanted}
    return {**removed, **{key: value for key, value in wanted.items() if current.get(key, None) != value}}


class OrganizationForm(ServiceModelForm):
    admin_email = forms.EmailField(
        max_length=254, help_text="The new organization's first admin, invited by e-mail (the invitation's token)."
    )

    class Meta:
        model = Organization
        fields = ["name", "status", "plan", "settings"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            del self.fields["admin_email"]
        if "plan" in self.fields:  # the plans staff set (accounts.Plan), the current one included
            current = self.instance.plan if not self.instance._state.adding else None
            choices = plan_choices()
            if current and current not in dict(choices):
                choices.append((current, current))
            self.fields["plan"] = forms.ChoiceField(choices=choices, initial=current or Organization.Plan.STARTER)

    def save_through_services(self) -> Organization:
        data = self.cleaned_data
        if self.instance._state.adding:
            organization, _ = services.organization_create_with_admin(
                name=data["name"], admin_email=data["admin_email"], plan=data["plan"], actor=self.actor
            )
            return organization
        # The row as stored: the services compare with it (the form has already set the new values on
        # self.instance).
        organization = Organization.objects.get(pk=self.instance.pk)
        changed = set(self.changed_data)
        edits = {name: data[name] for name in ("name", "plan") if name in changed}
        if edits:
            organization = services.organization_platform_update(organization=organization, actor=self.actor, **edits)
        if "status" in changed:
            organization = services.organization_set_status(
                organization=organization, status=data["status"], actor=self.actor
            )
        settings = _settings_changes(organization.settings, data.get("settings"))
        if "settings" in changed and settings != {}:
            organization = services.organization_update(organization=organization, actor=self.actor, settings=settings)
        return organization


@admin.register(Organization)
class OrganizationAdmin(ServiceAdmin):
    """A new organization comes with its first admin's invitation; plan, status (suspension) and settings
    change through the services. An organization is deleted through the super-admin API (organization_delete,
    which removes its stored files too), not here: the admin's confirmation page would list every row of the tenant
    and needs delete permission on each (numbers, memberships and the audit log are never deleted by hand)."""

    form = OrganizationForm
    list_display = ("name", "slug", "status", "plan", "created_at")
    list_filter = ("status", "plan")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "plan", "admin_email"]
        return ["name", "slug", "status", "plan", "settings", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("slug", "created_at")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "memberships__organization")
    search_fields = ("email", "name")
    readonly_fields = ("date_joined", "last_login", "token_version")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "token_version")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    actions = ["reset_two_factor"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A person leaves by deactivation (is_active, or their memberships through the services): deleting the
        # account would take their memberships with it, an organization's last admin among them.
        return False

    @admin.action(description="Reset two-step sign-in of the selected people", permissions=["change"])
    def reset_two_factor(self, request, queryset):
        """For people who lost both their authenticator app and their recovery codes: a confirmation page listing
        those who use two-step sign-in (as Django's deletion asks), then two_factor_reset for each (audited,
        e-mailed)."""
        people = list(queryset.filter(two_factor__confirmed_at__isnull=False).order_by("email"))
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Reset two-step sign-in",
                "opts": self.model._meta,
                "people": people,
                "skipped": queryset.count() - len(people),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/accounts/user/two_factor_reset_confirmation.html", context)
        reset = 0
        for person in people:
            try:
                two_factor.two_factor_reset(user_id=person.pk, actor=request.user)
            except ServiceError as refused:
                self.message_user(request, f"{person.email}: {refused.detail}", ERROR)
            else:
                reset += 1
        self.message_user(request, f"Two-step sign-in reset for {reset} person(s).", SUCCESS)


class MembershipForm(ServiceModelForm):
    class Meta:
        model = Membership
        fields = ["role", "is_active"]

    def save_through_services(self) -> Membership:
        member = {"organization": self.instance.organization, "user_id": self.instance.user_id, "actor": self.actor}
        membership = self.instance
        changed = set(self.changed_data)
        if "role" in changed:
            membership = services.member_set_role(**member, role=self.cleaned_data["role"])
        if "is_active" in changed:
            activation = services.member_activate if self.cleaned_data["is_active"] else services.member_deactivate
            membership = activation(**member)
        return membership


@admin.register(Membership)
class MembershipAdmin(ServiceAdmin, TenantAdmin):
    """Role and activation change through the services, as an organization admin changes them: audited with the
    staff user as actor, the last active admin kept, the seat limit checked on activation, and the member's tokens
    following at once (checked per request).

    Memberships are not added here: a person joins through an invitation (add one on the invitation page), which
    they accept with their own account's password. A membership made by hand would give an account access to a
    tenant it never asked to join, past the seat limit. Nor are they deleted here (deactivate instead: the history
    of who did what stays, and the last admin cannot be removed)."""

    form = MembershipForm
    fields = ("organization", "user", "role", "is_active", "created_at")
    readonly_fields = ("organization", "user", "created_at")
    list_display = ("user", "organization", "role", "is_active", "created_at")
    list_filter = ("role", "is_active", "organization")
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "organization__name")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InvitationForm(ServiceModelForm):
    class Meta:
        model = Invitation
        fields = ["organization", "email", "role"]

    def save_through_services(self) -> Invitation:
        data = self.cleaned_data
        return services.invitation_create(
            organization=data["organization"], email=data["email"], role=data["role"], invited_by=self.actor
        )


@admin.register(Invitation)
class InvitationAdmin(ServiceAdmin, TenantAdmin):
    """Invitations are made through the invitation service (the token e-mailed, the seat limit and existing members
    checked, audited with the staff user as actor) and revoked through it; nothing else about one is edited."""

    form = InvitationForm
    list_display = ("email", "organization", "role", "status", "expires_at", "created_at")
    list_filter = ("status", "role", "organization")
    list_select_related = ("organization",)
    search_fields = ("email", "organization__name")
    raw_id_fields = ("organization", "invited_by")
    readonly_fields = ("token_hash",)
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected pending invitations", permissions=["add"])
    def revoke(self, request, queryset) -> None:
        revoked = 0
        for invitation in queryset.filter(status=Invitation.Status.PENDING).select_related("organization"):
            try:
                services.invitation_revoke(
                    organization=invitation.organization, email=invitation.email, actor=request.user
                )
            except ServiceError:
                continue  # accepted or revoked since the page was shown
            revoked += 1
        self.message_user(request, f"{revoked} invitation(s) revoked.", SUCCESS)


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 0
    raw_id_fields = ("user", "organization")


@admin.register(Team)
class TeamAdmin(TenantAdmin):
    list_display = ("name", "organization", "created_at")
    search_fields = ("name", "organization__name")
    inlines = [TeamMemberInline]


@admin.register(TeamMember)
class TeamMemberAdmin(TenantAdmin):
    list_display = ("team", "user", "organization")
    list_select_related = ("team", "user", "organization")
    search_fields = ("team__name", "user__email")
    raw_id_fields = ("organization", "team", "user")


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ("name", "prefix", "organization", "role", "created_at", "last_used_at", "revoked_at")
    list_filter = ("role", "organization")
    list_select_related = ("organization",)
    search_fields = ("name", "prefix", "organization__name")
    raw_id_fields = ("organization", "created_by")
    readonly_fields = ("prefix", "key_hash", "last_used_at")


class ReadOnlyTenantAdmin(TenantAdmin):
    """A record the services write, never added, edited or deleted by hand (retention deletes it)."""

    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyTenantAdmin):
    """Read-only: the record of who did what."""

    list_display = ("at", "organization", "action", "actor", "target_type", "target_id")
    list_filter = ("action", "organization")
    list_select_related = ("organization", "actor")
    search_fields = ("action", "actor__email", "target_id")
    raw_id_fields = ("organization", "actor", "api_key")
    date_hierarchy = "at"


@admin.register(SystemLog)
class SystemLogAdmin(ReadOnlyTenantAdmin):
    """Read-only: what the organizations' admins see in Settings > Logs."""

    list_display = ("created_at", "organization", "level", "category", "message", "related_type", "related_id")
    list_filter = ("level", "category", "organization")
    search_fields = ("message", "related_id")
    date_hierarchy = "created_at"


class EmailAttachmentInline(admin.TabularInline):
    model = EmailAttachment
    fields = ("filename", "content_type", "size")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")


@admin.register(EmailLog)
class EmailLogAdmin(ReadOnlyTenantAdmin):
    """Read-only: every e-mail the hub sent, platform-wide (the organizations' admins see theirs in Settings > E-mail
    log; mail without an organization, such as the sign-in links of people in several, only here). The bodies are
    never shown: they may carry a sign-in link or a token until sent, and are emptied then."""

    list_display = ("created_at", "organization", "kind", "recipient", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind", "language", "organization")
    list_select_related = ("organization",)
    search_fields = ("recipient", "subject")
    raw_id_fields = ("organization", "user")
    date_hierarchy = "created_at"
    fields = (
        "organization",
        "user",
        "recipient",
        "kind",
        "subject",
        "language",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields
    inlines = [EmailAttachmentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body_text", "body_html")


@admin.register(MagicLink)
class MagicLinkAdmin(admin.ModelAdmin):
    """E-mail sign-in links, for support ("did the link go out, was it used?"): read-only, the token is not stored.
    Deleting one revokes it."""

    list_display = ("user", "created_at", "expires_at", "used_at")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
    readonly_fields = ("user", "token_hash", "created_at", "expires_at", "used_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    """People's browser and API sessions (accounts.sessions), for support ("where is this account signed in?"):
    read-only; deleting one signs it out at once (its checks find no open session)."""

    list_display = ("user", "kind", "ip", "created_at", "last_used_at", "ended_at", "end_reason")
    list_filter = ("kind", "end_reason")
    list_select_related = ("user",)
    search_fields = ("user__email", "ip")
    raw_id_fields = ("user",)
    readonly_fields = (
        "user",
        "kind",
        "key_hash",
        "token_jti",
        "user_agent",
        "ip",
        "created_at",
        "last_used_at",
        "expires_at",
        "ended_at",
        "end_reason",
    )
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TrustedDevice)
class TrustedDeviceAdmin(admin.ModelAdmin):
    """Browsers people trust to skip two-step sign-in's second step (accounts.two_factor), for support ("which
    browsers skip the code?"): read-only, without the token's digest; deleting one makes its browser ask again."""

    list_display = ("user", "label", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "label")
    raw_id_fields = ("user",)
    fields = readonly_fields = ("user", "label", "user_agent", "created_at", "last_used_at", "expires_at", "revoked_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CustomPage)
class CustomPageAdmin(TenantAdmin):
    """Read and delete: admins write them in the app (Settings > Custom pages), whose checks (an http(s) address, a
    known icon) the pages rely on."""

    list_display = ("title", "kind", "icon", "position", "organization", "updated_at")
    search_fields = ("title", "organization__name")
    readonly_fields = ("title", "kind", "icon", "position", "content", "url", "created_at", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False


from accounts import platform_admin  # noqa: E402, F401  (registers the platform's tables)
