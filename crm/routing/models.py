"""The lead-routing rule (crm's table; imported by crm/models.py so Django sees it)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Team, TenantModel
from messaging.models import Conversation, WhatsAppNumber

# A member's open conversations, counted against a rule's cap: those not closed.
OPEN_STATUSES = (Conversation.Status.OPEN, Conversation.Status.PENDING)


class LeadRoutingRule(TenantModel):
    """How the new conversations of one number (`number`; null: every number without a rule of its own) are
    dealt: round-robin among the members of `team`, none of them past `max_open_per_member` open conversations
    (null: no cap). `last_assigned` is the round-robin's cursor: the member the rule chose last."""

    number = models.ForeignKey(
        WhatsAppNumber, null=True, blank=True, on_delete=models.CASCADE, related_name="lead_routing_rules"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="lead_routing_rules")
    enabled = models.BooleanField(default=True)
    max_open_per_member = models.PositiveIntegerField(null=True, blank=True)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], condition=Q(number__isnull=False), name="crm_routing_one_per_number"
            ),
            models.UniqueConstraint(
                fields=["organization"], condition=Q(number__isnull=True), name="crm_routing_one_default"
            ),
            models.CheckConstraint(
                condition=Q(max_open_per_member__isnull=True) | Q(max_open_per_member__gte=1),
                name="crm_routing_cap_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or 'every number'} -> {self.team_id}"
