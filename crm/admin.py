from django import forms
from django.contrib import admin
from django.db import models

from crm.models import Ad, AdReferral, Business, ContactBusiness, Deal, DealHistory, Pipeline, SalesMember, Stage


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "industry", "owner", "created_at")
    list_filter = ("organization",)
    search_fields = ("name",)
    raw_id_fields = ("organization", "owner")
    formfield_overrides = {models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}}


@admin.register(ContactBusiness)
class ContactBusinessAdmin(admin.ModelAdmin):
    list_display = ("contact", "business", "organization")
    list_filter = ("organization",)
    raw_id_fields = ("organization", "contact", "business")


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "is_default")
    list_filter = ("organization",)
    raw_id_fields = ("organization",)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("name", "pipeline", "position", "outcome")
    list_filter = ("organization",)
    raw_id_fields = ("organization", "pipeline")


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ("title", "organization", "value", "currency", "stage", "status", "owner")
    list_filter = ("organization",)
    search_fields = ("title",)
    raw_id_fields = (
        "organization",
        "pipeline",
        "stage",
        "owner",
        "contact",
        "business",
        "conversation",
        "created_by",
        "ad",
    )


@admin.register(DealHistory)
class DealHistoryAdmin(admin.ModelAdmin):
    list_display = ("deal", "from_stage_name", "to_stage_name", "from_status", "to_status", "actor", "at")
    list_filter = ("organization",)
    raw_id_fields = ("organization", "deal", "actor", "from_stage", "to_stage")


@admin.register(SalesMember)
class SalesMemberAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "phone", "organization")
    list_filter = ("organization",)
    raw_id_fields = ("organization", "invitation")


@admin.register(Ad)
class AdAdmin(admin.ModelAdmin):
    list_display = ("headline", "source_type", "source_id", "organization", "first_seen_at", "last_seen_at")
    list_filter = ("organization", "source_type")
    search_fields = ("headline", "source_id")
    raw_id_fields = ("organization",)
    formfield_overrides = {models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}}


@admin.register(AdReferral)
class AdReferralAdmin(admin.ModelAdmin):
    list_display = ("ad", "message", "contact", "at", "starts_conversation", "new_contact", "organization")
    list_filter = ("organization", "starts_conversation", "new_contact")
    list_select_related = ("ad", "message", "contact", "organization")
    search_fields = ("ad__source_id", "ctwa_clid")
    raw_id_fields = ("organization", "ad", "message", "conversation", "contact")
    show_full_result_count = False


from crm.routing import admin as routing_admin  # noqa: E402, F401  (registers the lead-routing rule's admin)
