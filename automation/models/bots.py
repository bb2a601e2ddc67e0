"""Bots: an LLM (or, with none configured, the best passage of their knowledge bases) answering inbound messages,
with keyword scenarios checked first and rules for handing the conversation over to people."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Team, TenantModel


class Bot(TenantModel):
    name = models.CharField(max_length=120)
    system_prompt = models.TextField(blank=True)
    model = models.CharField(max_length=120, blank=True, help_text="Blank: the organization's chat model.")
    temperature = models.FloatField(default=0.3)
    context_window = models.PositiveSmallIntegerField(default=10, help_text="How many recent messages the LLM sees.")
    is_active = models.BooleanField(default=True)
    # Handoff: any of these words in a message, no passage scoring above the threshold, or this many turns in a row
    # the bot could not answer assign the conversation to the team and pause the bot there.
    handoff_keywords = models.JSONField(default=list, blank=True)
    score_threshold = models.FloatField(default=0.2)
    max_unanswered_turns = models.PositiveSmallIntegerField(default=2)
    handoff_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    handoff_message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="automation_bot_name_unique")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
