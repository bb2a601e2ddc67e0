"""API shapes of lead routing: the rules, and a member's own availability."""

from rest_framework import serializers

from crm.routing.models import LeadRoutingRule
from whatsapp_hub.serializers import StrictSerializer, id_field

CAP_MAX = 10000


class LeadRoutingRuleSerializer(serializers.ModelSerializer):
    number_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="null: every number without a rule")
    number_name = serializers.CharField(source="number.display_name", read_only=True, allow_null=True, default=None)
    team_id = serializers.IntegerField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    last_assigned_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The member the rule chose last (the round-robin goes on after them)"
    )

    class Meta:
        model = LeadRoutingRule
        fields = [
            "id",
            "number_id",
            "number_name",
            "team_id",
            "team_name",
            "enabled",
            "max_open_per_member",
            "last_assigned_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadRoutingRuleInputSerializer(StrictSerializer):
    number_id = id_field(
        required=False,
        allow_null=True,
        help_text="The WhatsApp number whose new conversations are dealt; null: every number without a rule of its own",
    )
    team_id = id_field(help_text="The team whose members take the conversations")
    enabled = serializers.BooleanField(required=False, default=True)
    max_open_per_member = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=CAP_MAX,
        help_text="A member with this many open (or pending) conversations gets no more; null: no cap",
    )


class AvailabilitySerializer(serializers.Serializer):
    is_away = serializers.BooleanField(help_text="Away: lead routing gives this member no new conversation")
    away_since = serializers.DateTimeField(allow_null=True, read_only=True)


class AvailabilityInputSerializer(StrictSerializer):
    is_away = serializers.BooleanField()
