"""Bots: an LLM (or, with none configured, the best passage of their knowledge bases) answering inbound messages,
with keyword scenarios checked first and rules for handing the conversation over to people.

What a bot does with an inbound message is automation.services.bots (bot_handle_inbound); its state in each
conversation (paused by a person, unanswered turns, handed over by a flow) is a BotConversation; each inbound message
it took has one BotReply (unique: a redelivered webhook or a task run twice answers nothing twice)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Team, TenantModel
from automation.models.knowledge import KnowledgeBase
from messaging.models import Conversation, Message


class Bot(TenantModel):
    name = models.CharField(max_length=120)
    system_prompt = models.TextField(blank=True)
    model = models.CharField(max_length=120, blank=True, help_text="Blank: the organization's chat model.")
    temperature = models.FloatField(default=0.3)
    context_window = models.PositiveSmallIntegerField(default=10, help_text="How many recent messages the LLM sees.")
    is_active = models.BooleanField(default=True)
    knowledge_bases = models.ManyToManyField(KnowledgeBase, blank=True, related_name="bots", through="BotKnowledgeBase")
    # Handoff: any of these words in a message, no passage scoring above the threshold, or this many turns in a row
    # the bot could not answer assign the conversation to the team and pause the bot there.
    handoff_keywords = models.JSONField(default=list, blank=True)
    score_threshold = models.FloatField(default=0.2)
    handoff_on_no_answer = models.BooleanField(
        default=False, help_text="Hand over at once when no passage scores above the threshold (with an LLM)."
    )
    max_unanswered_turns = models.PositiveSmallIntegerField(default=2)
    handoff_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    handoff_message = models.TextField(blank=True)
    # Sent when the bot has no answer and does not hand over yet (blank: nothing); a new bot gets one in the language
    # of the person who creates it.
    fallback_message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="automation_bot_name_unique")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class BotKnowledgeBase(TenantModel):
    """A knowledge base a bot answers from (both of the row's organization)."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+")
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "knowledge_base"], name="automation_bot_kb_unique")]

    def __str__(self) -> str:
        return f"bot {self.bot_id}: knowledge base {self.knowledge_base_id}"


class BotScenario(TenantModel):
    """A trigger and the reply it sends, checked in `position` order before the bot's knowledge and LLM."""

    class Trigger(models.TextChoices):
        KEYWORD = "keyword", "Keyword"
        REGEX = "regex", "Regular expression"
        BUTTON = "button", "Button reply"
        LIST = "list", "List reply"

    class Match(models.TextChoices):
        EXACT = "exact", "Exact"
        CONTAINS = "contains", "Contains"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(max_length=120, blank=True)
    position = models.PositiveIntegerField(default=0)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    # keyword: the words; button/list: the reply ids (a template's quick-reply payload counts as a button's id).
    values = models.JSONField(default=list, blank=True)
    match = models.CharField(max_length=16, choices=Match.choices, default=Match.EXACT)
    pattern = models.CharField(max_length=200, blank=True)
    # What to send, in the shape of POST conversations/{id}/messages (checked by messaging.message_parts).
    reply = models.JSONField(default=dict)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bot_id", "position", "id"]
        indexes = [models.Index(fields=["bot", "position"], name="automation_scenario_pos")]

    def __str__(self) -> str:
        return self.name or f"{self.trigger} scenario {self.pk}"


class BotConversation(TenantModel):
    """A bot's state in one conversation: which bot (a flow may hand the conversation to one), whether people hold
    it (paused), and how many turns in a row it could not answer."""

    class PauseReason(models.TextChoices):
        HUMAN_REPLY = "human_reply", "A person replied"
        ASSIGNED = "assigned", "Assigned to a person"
        HANDOFF = "handoff", "Handed over"
        AGENT = "agent", "Paused by a person"

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="bot_state")
    # The bot a flow handed the conversation to (bot_take_over); null: the number's bot.
    bot = models.ForeignKey(Bot, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    handed_over_by_flow = models.BooleanField(default=False)
    paused = models.BooleanField(default=False)
    paused_reason = models.CharField(max_length=16, choices=PauseReason.choices, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unanswered_turns = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"conversation {self.conversation_id}: {'paused' if self.paused else 'bot'}"


class BotReply(TenantModel):
    """What a bot did with one inbound message: claimed before anything is sent (unique per message), so the
    message is never answered twice."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Being answered"
        SCENARIO = "scenario", "Answered by a scenario"
        ANSWERED = "answered", "Answered"
        UNANSWERED = "unanswered", "Not answered"
        HANDOFF = "handoff", "Handed over"
        PAUSED = "paused", "People hold the conversation"
        FAILED = "failed", "Failed"

    bot = models.ForeignKey(Bot, null=True, on_delete=models.SET_NULL, related_name="replies")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    inbound = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="bot_reply")
    reply = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    scenario = models.ForeignKey(BotScenario, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_used = models.CharField(max_length=120, blank=True)
    tokens_used = models.PositiveIntegerField(default=0)
    sources = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="automation_botreply_org"),
            models.Index(fields=["bot", "-created_at"], name="automation_botreply_bot", condition=Q(bot__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"bot reply to {self.inbound_id}: {self.outcome}"
