"""The bot form of the bots pages. It checks the shape of the input and names its fields as the bots API does, so
the service's refusals (automation.services.bots) land next to the field that caused them."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from automation.bots.serializers import (
    KEYWORD_MAX_LENGTH,
    MAX_CONTEXT_WINDOW,
    MAX_KEYWORDS,
    MAX_UNANSWERED_TURNS,
    MESSAGE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PROMPT_MAX_LENGTH,
)
from automation.models import Bot

KEYWORD_SEPARATORS = re.compile(r"[,،\n]")


def _textarea(rows: int, max_length: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "dir": "auto", "maxlength": max_length})


class BotForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    is_active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("An inactive bot answers nobody (its numbers stay silent).")
    )
    system_prompt = forms.CharField(
        label=_("Instructions (system prompt)"),
        required=False,
        strip=False,
        help_text=_("Who the bot is and how it answers, e.g. “You are Acme's assistant. Be brief and friendly.”"),
        widget=_textarea(6, PROMPT_MAX_LENGTH),
    )
    model = forms.RegexField(
        regex=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,119}$",
        label=_("Model"),
        required=False,
        help_text=_("Leave blank for your organization's chat model (Settings, AI)."),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"}),
    )
    temperature = forms.FloatField(
        label=_("Temperature"),
        min_value=0,
        max_value=2,
        help_text=_("0: always the same wording; higher: more varied (up to 2)."),
        widget=forms.NumberInput(attrs={"step": "0.1", "min": 0, "max": 2}),
    )
    context_window = forms.IntegerField(
        label=_("Messages of context"),
        min_value=0,
        max_value=MAX_CONTEXT_WINDOW,
        help_text=_("How many recent messages of the conversation the model reads with each question."),
    )
    knowledge_base_ids = forms.TypedMultipleChoiceField(
        label=_("Knowledge bases"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The bot answers from their documents."),
    )
    score_threshold = forms.FloatField(
        label=_("Score threshold"),
        min_value=0,
        max_value=1,
        help_text=_("How well a passage must match the question to count as an answer (0 to 1)."),
        widget=forms.NumberInput(attrs={"step": "0.05", "min": 0, "max": 1}),
    )
    handoff_keywords = forms.CharField(
        label=_("Handoff words"),
        required=False,
        help_text=_("A message holding one of these words goes to your team at once. Separate them with commas."),
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    handoff_on_no_answer = forms.BooleanField(
        label=_("Hand over when no passage matches"),
        required=False,
        help_text=_("Without it, the model still answers from its instructions and the conversation."),
    )
    max_unanswered_turns = forms.IntegerField(
        label=_("Hand over after this many unanswered messages in a row"),
        min_value=0,
        max_value=MAX_UNANSWERED_TURNS,
        help_text=_("0: never."),
    )
    handoff_team_id = forms.TypedChoiceField(
        label=_("Team that takes over"), required=False, coerce=int, empty_value=None
    )
    handoff_message = forms.CharField(
        label=_("Handoff message"),
        required=False,
        help_text=_("Sent to the customer when the bot hands over. Blank: nothing is sent."),
        widget=_textarea(2, MESSAGE_MAX_LENGTH),
    )
    fallback_message = forms.CharField(
        label=_("When the bot has no answer"),
        required=False,
        help_text=_("Sent instead of an answer until the bot hands over. Blank: nothing is sent."),
        widget=_textarea(2, MESSAGE_MAX_LENGTH),
    )

    def __init__(self, data=None, *, bot: Bot | None, teams, knowledge_bases, chosen_knowledge_bases=()):
        """`knowledge_bases`: (id, name) of the organization's; `chosen_knowledge_bases`: the ids the bot has."""
        initial = {"is_active": True, "temperature": 0.3, "context_window": 10, "score_threshold": 0.2}
        initial["max_unanswered_turns"] = 2
        if bot is not None:
            initial = {
                name: getattr(bot, name)
                for name in (
                    "name",
                    "is_active",
                    "system_prompt",
                    "model",
                    "temperature",
                    "context_window",
                    "score_threshold",
                    "handoff_on_no_answer",
                    "max_unanswered_turns",
                    "handoff_team_id",
                    "handoff_message",
                    "fallback_message",
                )
            }
            initial["handoff_keywords"] = ", ".join(bot.handoff_keywords)
            initial["knowledge_base_ids"] = list(chosen_knowledge_bases)
        super().__init__(data, initial=initial)
        self.fields["handoff_team_id"].choices = [("", _("No team")), *((team.pk, team.name) for team in teams)]
        self.fields["knowledge_base_ids"].choices = list(knowledge_bases)
        if bot is None:  # a new bot gets the default words and fallback (the service's)
            for name in ("handoff_keywords", "fallback_message"):
                del self.fields[name]

    def clean_handoff_keywords(self) -> list[str]:
        words = [" ".join(word.split()) for word in KEYWORD_SEPARATORS.split(self.cleaned_data["handoff_keywords"])]
        words = [word for word in words if word]
        if len(words) > MAX_KEYWORDS or any(len(word) > KEYWORD_MAX_LENGTH for word in words):
            raise forms.ValidationError(
                _("At most %(count)s words of %(length)s characters each.")
                % {"count": MAX_KEYWORDS, "length": KEYWORD_MAX_LENGTH}
            )
        return words

    def service_arguments(self) -> dict:
        return dict(self.cleaned_data)
