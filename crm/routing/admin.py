from django.contrib import admin

from crm.routing.models import LeadRoutingRule


@admin.register(LeadRoutingRule)
class LeadRoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "organization", "number", "team", "enabled", "max_open_per_member", "last_assigned")
    list_filter = ("organization", "enabled")
    list_select_related = ("organization", "number", "team", "last_assigned")
    search_fields = ("team__name", "number__display_name", "number__phone_number")
    raw_id_fields = ("organization", "number", "team", "last_assigned")
