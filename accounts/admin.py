from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import ApiKey, AuditLog, Invitation, Membership, Organization, Team, TeamMember, User


class TenantAdmin(admin.ModelAdmin):
    """Common to every tenant-owned model: filter by organization, no N+1 on it."""

    list_filter: tuple = ("organization",)
    list_select_related: tuple = ("organization",)
    raw_id_fields: tuple = ("organization",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "is_active", "created_at")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "plan", "created_at")
    list_filter = ("status", "plan")
    search_fields = ("name", "slug")
    readonly_fields = ("created_at",)
    inlines = [MembershipInline]


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


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ("user", "organization", "role", "is_active", "created_at")
    list_filter = ("role", "is_active", "organization")
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "organization__name")
    raw_id_fields = ("organization", "user")


@admin.register(Invitation)
class InvitationAdmin(TenantAdmin):
    list_display = ("email", "organization", "role", "status", "expires_at", "created_at")
    list_filter = ("status", "role", "organization")
    list_select_related = ("organization",)
    search_fields = ("email", "organization__name")
    raw_id_fields = ("organization", "invited_by")
    readonly_fields = ("token_hash",)


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


@admin.register(AuditLog)
class AuditLogAdmin(TenantAdmin):
    list_display = ("at", "organization", "action", "actor", "target_type", "target_id")
    list_filter = ("action", "organization")
    list_select_related = ("organization", "actor")
    search_fields = ("action", "actor__email", "target_id")
    raw_id_fields = ("organization", "actor", "api_key")
    date_hierarchy = "at"
    show_full_result_count = False
