"""Automation, Bots (admins): the list, a new bot, a bot's page (its settings and handoff rules, its scenarios
editor and a test chat: static/js/bots-detail.js, through the bots API) and its deletion (confirmed). Every write
goes through automation.services.bots, as the API's do; the service's refusals show next to the field they name."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selectors as account_selectors
from accounts.settings_views.common import not_found
from accounts.web import admin_required
from automation.bots import knowledge
from automation.bots.forms import BotForm
from automation.bots.serializers import ScenarioSerializer
from automation.models import Bot, BotScenario
from automation.selectors import bots as selectors
from automation.services import bots as services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

TRIGGER_LABELS = {
    BotScenario.Trigger.KEYWORD: gettext_lazy("Keyword"),
    BotScenario.Trigger.REGEX: gettext_lazy("Pattern"),
    BotScenario.Trigger.BUTTON: gettext_lazy("Button reply"),
    BotScenario.Trigger.LIST: gettext_lazy("List reply"),
}
# What static/js/bots-detail.js shows, translated here (no strings in the scripts).
STRINGS = {
    "triggers": TRIGGER_LABELS,
    "match_exact": gettext_lazy("the whole message"),
    "match_contains": gettext_lazy("a word in the message"),
    "reply_text": gettext_lazy("Text"),
    "reply_buttons": gettext_lazy("Buttons"),
    "reply_template": gettext_lazy("Template"),
    "reply_json": gettext_lazy("Other (JSON)"),
    "reply_other": gettext_lazy("%(type)s message"),
    "edit": gettext_lazy("Edit"),
    "delete": gettext_lazy("Delete"),
    "move_up": gettext_lazy("Move up"),
    "move_down": gettext_lazy("Move down"),
    "inactive": gettext_lazy("Off"),
    "confirm_delete": gettext_lazy("Delete this scenario?"),
    "no_scenarios": gettext_lazy("No scenarios yet: the bot answers everything from its knowledge and instructions."),
    "error": gettext_lazy("Something went wrong. Try again."),
    "invalid_json": gettext_lazy("This is not valid JSON."),
    "you": gettext_lazy("You"),
    "thinking": gettext_lazy("The bot is thinking…"),
    "silent": gettext_lazy("(the bot would send nothing)"),
    "outcome_scenario": gettext_lazy("Scenario"),
    "outcome_answered": gettext_lazy("Answer"),
    "outcome_unanswered": gettext_lazy("No answer"),
    "outcome_handoff": gettext_lazy("Hands over to your team"),
    "tokens": gettext_lazy("%(model)s · %(tokens)s tokens"),
    "sources": gettext_lazy("Sources"),
    "score": gettext_lazy("score %(score)s"),
}


def _page(request, template: str, context: dict):
    return render(request, f"automation/{template}", {"section": "bots", **context})


def _bot(request, bot_id: int) -> Bot | None:
    return selectors.bot_list(org=request.org).filter(pk=bot_id).first()


def _form(request, bot: Bot | None) -> BotForm:
    return BotForm(
        request.POST or None,
        bot=bot,
        teams=account_selectors.teams(org=request.org),
        knowledge_bases=knowledge.knowledge_base_choices(organization=request.org),
        chosen_knowledge_bases=knowledge.knowledge_base_ids(bot) if bot is not None else (),
    )


@admin_required
def bot_list(request):
    bots = list(selectors.bot_list(org=request.org))
    numbers = selectors.bot_numbers(org=request.org)
    rows = [{"bot": bot, "numbers": numbers.get(bot.pk, [])} for bot in bots]
    return _page(request, "bots.html", {"rows": rows})


@admin_required
def bot_new(request):
    form = _form(request, None)
    if request.method == "POST" and form.is_valid():
        try:
            bot = services.bot_create(organization=request.org, actor=request.user, **form.service_arguments())
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(
                request, _("Bot %(name)s created: add scenarios, try it, then set it on a number.") % {"name": bot.name}
            )
            return redirect("bot-detail", bot_id=bot.pk)
    return _page(request, "bots_new.html", {"form": form})


@admin_required
def bot_detail(request, bot_id: int):
    """The bot's page; a POST saves its settings (bot_update)."""
    bot = _bot(request, bot_id)
    if bot is None:
        return not_found(request)
    form = _form(request, bot)
    if request.method == "POST" and form.is_valid():
        try:
            services.bot_update(bot=bot, actor=request.user, **form.service_arguments())
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Saved."))
            return redirect("bot-detail", bot_id=bot.pk)
    scenarios = ScenarioSerializer(selectors.scenario_list(org=request.org, bot_id=bot.pk), many=True).data
    data = {"bot_id": bot.pk, "scenarios": scenarios}
    context = {
        "bot": bot,
        "form": form,
        "numbers": selectors.bot_numbers(org=request.org).get(bot.pk, []),
        "data": data,
        "strings": STRINGS,
        "triggers": list(TRIGGER_LABELS.items()),
    }
    return _page(request, "bots_detail.html", context)


@admin_required
def bot_delete(request, bot_id: int):
    """A confirmation page (GET), then the deletion (POST)."""
    bot = _bot(request, bot_id)
    if bot is None:
        return not_found(request)
    if request.method == "POST":
        services.bot_delete(bot=bot, actor=request.user)
        messages.success(request, _("Bot %(name)s deleted.") % {"name": bot.name})
        return redirect("bots")
    numbers = selectors.bot_numbers(org=request.org).get(bot.pk, [])
    return _page(request, "bots_delete.html", {"bot": bot, "numbers": numbers})


urlpatterns = [
    path("automation/bots/", bot_list, name="bots"),
    path("automation/bots/new/", bot_new, name="bot-new"),
    path("automation/bots/<id:bot_id>/", bot_detail, name="bot-detail"),
    path("automation/bots/<id:bot_id>/delete/", bot_delete, name="bot-delete"),
]
