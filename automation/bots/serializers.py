"""API shapes of bots, their scenarios, their state in a conversation and their test. The input serializers are
also the services' validation library (`check_bot`, `check_scenario`, like messaging.number_fields): the API and
the pages get the same refusals, named after the API's fields."""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from automation.bots import knowledge
from automation.models import Bot, BotConversation, BotScenario
from messaging.message_parts import MessageSendSerializer
from whatsapp_hub.errors import invalid_input
from whatsapp_hub.serializers import StrictSerializer, id_field

NAME_MAX_LENGTH = Bot._meta.get_field("name").max_length
PROMPT_MAX_LENGTH = 8000
MESSAGE_MAX_LENGTH = 1024
KEYWORD_MAX_LENGTH = 100
MAX_KEYWORDS = 50
MAX_KNOWLEDGE_BASES = 20
MAX_CONTEXT_WINDOW = 50
MAX_UNANSWERED_TURNS = 20
# Model names as OpenAI-compatible servers spell them: gpt-4o-mini, llama3.1:8b, mistralai/Mistral-7B-Instruct-v0.3.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,119}$"


class BotInputSerializer(StrictSerializer):
    """Create and update body (PUT and PATCH change only the fields sent)."""

    name = serializers.CharField(max_length=NAME_MAX_LENGTH, help_text="Unique in the organization")
    system_prompt = serializers.CharField(
        max_length=PROMPT_MAX_LENGTH, allow_blank=True, required=False, trim_whitespace=False
    )
    model = serializers.RegexField(
        MODEL_NAME,
        allow_blank=True,
        required=False,
        help_text="The chat model; blank: the organization's (settings/ai)",
    )
    temperature = serializers.FloatField(min_value=0, max_value=2, required=False)
    context_window = serializers.IntegerField(
        min_value=0, max_value=MAX_CONTEXT_WINDOW, required=False, help_text="How many recent messages the LLM sees"
    )
    knowledge_base_ids = serializers.ListField(
        child=id_field(),
        max_length=MAX_KNOWLEDGE_BASES,
        required=False,
        help_text="Knowledge bases of the organization the bot answers from",
    )
    is_active = serializers.BooleanField(required=False)
    handoff_keywords = serializers.ListField(
        child=serializers.CharField(max_length=KEYWORD_MAX_LENGTH),
        max_length=MAX_KEYWORDS,
        required=False,
        help_text='A message holding one of these words hands the conversation to people, e.g. ["agent", "human", '
        '"موظف"]',
    )
    score_threshold = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="The score a passage needs to be an answer (0-1)"
    )
    handoff_on_no_answer = serializers.BooleanField(
        required=False, help_text="Hand over at once when no passage scores above the threshold"
    )
    max_unanswered_turns = serializers.IntegerField(
        min_value=0,
        max_value=MAX_UNANSWERED_TURNS,
        required=False,
        help_text="Hand over after this many turns in a row the bot could not answer (0: never)",
    )
    handoff_team_id = id_field(
        required=False, allow_null=True, help_text="The team a handed-over conversation is assigned to"
    )
    handoff_message = serializers.CharField(
        max_length=MESSAGE_MAX_LENGTH,
        allow_blank=True,
        required=False,
        help_text="Sent to the customer when the bot hands over; blank: nothing",
    )
    fallback_message = serializers.CharField(
        max_length=MESSAGE_MAX_LENGTH,
        allow_blank=True,
        required=False,
        help_text="Sent when the bot has no answer and does not hand over yet; blank: nothing",
    )

    def validate_handoff_keywords(self, value: list[str]) -> list[str]:
        words = []
        for word in value:
            word = " ".join(word.split())
            if word and word not in words:
                words.append(word)
        return words


class BotSerializer(serializers.ModelSerializer):
    """A bot (seed shape: name, system_prompt, model, knowledge_base_ids, is_active, created_at; plus its settings
    and handoff rules)."""

    knowledge_base_ids = serializers.SerializerMethodField()
    handoff_team_id = serializers.IntegerField(read_only=True, allow_null=True)
    scenario_count = serializers.SerializerMethodField()

    class Meta:
        model = Bot
        fields = [
            "id",
            "name",
            "system_prompt",
            "model",
            "temperature",
            "context_window",
            "knowledge_base_ids",
            "is_active",
            "handoff_keywords",
            "score_threshold",
            "handoff_on_no_answer",
            "max_unanswered_turns",
            "handoff_team_id",
            "handoff_message",
            "fallback_message",
            "scenario_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_knowledge_base_ids(self, bot: Bot) -> list[int]:
        return knowledge.knowledge_base_ids(bot)

    def get_scenario_count(self, bot: Bot) -> int:
        count = getattr(bot, "scenario_count", None)
        return count if count is not None else bot.scenarios.count()


@extend_schema_field(MessageSendSerializer)
class ReplyField(serializers.DictField):
    """What a scenario sends, in the shape of POST conversations/{id}/messages (checked by messaging.message_parts
    when saved, and again when sent)."""


class ScenarioInputSerializer(StrictSerializer):
    """Create and update body (PUT and PATCH change only the fields sent). By trigger:

    - keyword: `values` (the words, 1-20) and `match` (`exact`: the whole message is one of them, the default;
      `contains`: the message holds one as a word of its own); case, Arabic diacritics and alef forms are ignored
    - regex: `pattern` (Python syntax, at most 200 characters; patterns that could backtrack catastrophically are
      refused: nested or alternated repeats, backreferences, more than 2 repeats of variable length)
    - button, list: `values`, the ids of the reply buttons or list rows (a template's quick-reply payload counts as
      a button's id)

    `reply` is what to send, as POST conversations/{id}/messages takes it: text, media (`media_id` of an upload),
    interactive buttons or list, template, location, contacts (no `file`, `reply_to` or reaction).
    """

    name = serializers.CharField(max_length=120, allow_blank=True, required=False)
    trigger = serializers.ChoiceField(choices=BotScenario.Trigger.choices)
    values = serializers.ListField(
        child=serializers.CharField(max_length=256), max_length=20, required=False, help_text="Keywords, or reply ids"
    )
    match = serializers.ChoiceField(choices=BotScenario.Match.choices, required=False)
    pattern = serializers.CharField(max_length=200, allow_blank=True, required=False, trim_whitespace=False)
    reply = ReplyField()
    is_active = serializers.BooleanField(required=False)
    position = serializers.IntegerField(
        min_value=0, max_value=100000, required=False, help_text="Order among the bot's scenarios (new: the last)"
    )


class ScenarioSerializer(serializers.ModelSerializer):
    bot_id = serializers.IntegerField(read_only=True)
    reply = serializers.DictField(
        read_only=True, help_text="What it sends, in the shape of POST conversations/{id}/messages"
    )

    class Meta:
        model = BotScenario
        fields = [
            "id",
            "bot_id",
            "name",
            "position",
            "trigger",
            "values",
            "match",
            "pattern",
            "reply",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReorderSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=id_field(), max_length=1000, help_text="Every scenario id of the bot, in the new order"
    )


class BotRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ConversationBotSerializer(serializers.Serializer):
    """A conversation's bot: which one answers it (the number's, or one a flow handed it to), and whether people
    hold it (paused: a person replied or took it, the bot handed over, or someone paused it)."""

    conversation_id = serializers.IntegerField()
    bot = BotRefSerializer(allow_null=True, help_text="The bot of this conversation; null: none")
    answering = serializers.BooleanField(help_text="The bot answers the customer's next message")
    paused = serializers.BooleanField()
    paused_reason = serializers.ChoiceField(
        choices=BotConversation.PauseReason.choices, allow_blank=True, help_text="Blank when not paused"
    )
    paused_at = serializers.DateTimeField(allow_null=True)
    paused_by = serializers.IntegerField(allow_null=True, help_text="The person who paused it, if one did")
    unanswered_turns = serializers.IntegerField()
    handed_over_by_flow = serializers.BooleanField()


class BotTestInputSerializer(StrictSerializer):
    message = serializers.CharField(max_length=4096, help_text="What a customer would write")


class SourceSerializer(serializers.Serializer):
    document = serializers.CharField(help_text="The document's name")
    chunk = serializers.CharField(help_text="The passage's text")
    document_id = serializers.IntegerField()
    chunk_id = serializers.IntegerField()
    score = serializers.FloatField()


class BotTestSerializer(serializers.Serializer):
    """What the bot would answer (seed shape plus `sources` and `outcome`); nothing is sent to anyone."""

    response = serializers.CharField(help_text="The reply's text (blank: the bot would stay silent)")
    model_used = serializers.CharField(help_text="The LLM that wrote it; blank for a scenario or a passage")
    tokens_used = serializers.IntegerField()
    sources = SourceSerializer(many=True)
    outcome = serializers.ChoiceField(
        choices=["scenario", "answered", "unanswered", "handoff"],
        help_text="scenario: a scenario's reply; answered: from the knowledge bases or the LLM; unanswered: no "
        "answer (the fallback message); handoff: the conversation would go to people",
    )


def _checked(serializer_class, values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    serializer = serializer_class(data=dict(values), partial=partial)
    if not serializer.is_valid():
        raise invalid_input(serializer.errors)
    return dict(serializer.validated_data)


def check_bot(values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The bot's fields given, checked and cleaned; ServiceError (400, errors by field) otherwise."""
    return _checked(BotInputSerializer, values, partial=partial)


def check_scenario(values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    return _checked(ScenarioInputSerializer, values, partial=partial)
