"""API shapes of the platform (super admin): plans, usage and the dashboard."""

from decimal import Decimal

from rest_framework import serializers

from accounts.models import Plan
from whatsapp_hub.serializers import StrictModelSerializer


class PlanSerializer(StrictModelSerializer):
    """A plan. Limits: null is unlimited. `code` is set once (organizations name their plan by it)."""

    monthly_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), coerce_to_string=True, required=False
    )
    currency = serializers.CharField(
        min_length=3, max_length=3, required=False, help_text="ISO 4217 currency code, e.g. USD, SAR, EUR."
    )
    max_storage_bytes = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, allow_null=True, required=False, help_text="Bytes of stored files."
    )
    subscribers = serializers.IntegerField(read_only=True, default=0, help_text="Active organizations on the plan.")
    organizations = serializers.IntegerField(read_only=True, default=0, help_text="All organizations on the plan.")

    class Meta:
        model = Plan
        fields = [
            "id",
            "code",
            "name",
            "monthly_price",
            "currency",
            "max_users",
            "max_numbers",
            "max_messages_per_month",
            "max_storage_bytes",
            "is_active",
            "subscribers",
            "organizations",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "subscribers", "organizations", "created_at", "updated_at"]
        extra_kwargs = {
            "max_users": {"min_value": 0, "max_value": 2**31 - 1},
            "max_numbers": {"min_value": 0, "max_value": 2**31 - 1},
            "max_messages_per_month": {"min_value": 0, "max_value": 2**31 - 1},
        }


class PlanUpdateSerializer(PlanSerializer):
    class Meta(PlanSerializer.Meta):
        read_only_fields = [*PlanSerializer.Meta.read_only_fields, "code"]


class OrganizationUsageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    plan = serializers.CharField()
    status = serializers.CharField()
    messages_this_month = serializers.IntegerField()
    numbers = serializers.IntegerField()
    members = serializers.IntegerField()
    storage_bytes = serializers.IntegerField()


class MonthFiguresSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The first day of the month.")
    signups = serializers.IntegerField(help_text="Organizations created that month.")
    messages = serializers.IntegerField(help_text="Outbound messages sent that month, every organization.")


class PlatformStatsSerializer(serializers.Serializer):
    total_organizations = serializers.IntegerField()
    active_organizations = serializers.IntegerField()
    suspended_organizations = serializers.IntegerField()
    total_users = serializers.IntegerField()
    organizations_by_plan = serializers.DictField(child=serializers.IntegerField())
    active_subscriptions = serializers.IntegerField(
        help_text="Active organizations on a plan with a price (paying subscriptions)."
    )
    monthly_revenue = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        coerce_to_string=False,
        help_text="The subscriptions' monthly prices summed, in revenue_currency (the currency most revenue is in).",
    )
    revenue_currency = serializers.CharField(help_text="ISO 4217 code of monthly_revenue; empty when there is none.")
    monthly_revenue_by_currency = serializers.DictField(
        child=serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=False),
        help_text="Monthly revenue per currency, when plans are priced in several.",
    )
    messages_this_month = serializers.IntegerField(help_text="Outbound messages this month, every organization.")
    usage = OrganizationUsageSerializer(many=True, help_text="The organizations sending most this month, with usage.")
    months = MonthFiguresSerializer(many=True, help_text="The last 12 months, oldest first.")


class OrganizationDeleteSerializer(serializers.Serializer):
    confirm_name = serializers.CharField(max_length=200)
