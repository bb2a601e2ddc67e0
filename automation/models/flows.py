"""Flows: node/edge graphs run on inbound messages (the JSON shape is documented in automation/flows)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import TenantModel


class Flow(TenantModel):
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    nodes = models.JSONField(default=list, blank=True)
    edges = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="automation_flow_name_unique")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
