"""Bots: the reads of the API, the pages and the bots' handler."""

from typing import Any

from django.db.models import Count, QuerySet

from accounts.models import Organization
from automation.models import Bot, BotConversation, BotScenario, Flow, NumberAutomation
from messaging.models import Conversation, Message


def bot_list(*, org: Organization) -> QuerySet[Bot]:
    """The organization's bots with their scenario count (and knowledge bases: one query for a page)."""
    return (
        Bot.objects.for_org(org)
        .annotate(scenario_count=Count("scenarios", distinct=True))
        .prefetch_related("knowledge_bases")
        .order_by("name", "id")
    )


def scenario_list(*, org: Organization, bot_id: int) -> QuerySet[BotScenario]:
    return BotScenario.objects.for_org(org).filter(bot_id=bot_id).order_by("position", "id")


def active_scenarios(*, bot: Bot) -> list[BotScenario]:
    return list(
        BotScenario.objects.for_org(bot.organization).filter(bot=bot, is_active=True).order_by("position", "id")
    )


def flow_choices(*, organization_id: int) -> list[tuple[int, str]]:
    return list(Flow.objects.filter(organization_id=organization_id).order_by("name", "id").values_list("pk", "name"))


def bot_choices(*, organization_id: int) -> list[tuple[int, str]]:
    return list(Bot.objects.filter(organization_id=organization_id).order_by("name", "id").values_list("pk", "name"))


def number_automation_values(*, organization_id: int, number_ids: list[int]) -> dict[int, dict[str, Any]]:
    """{number id: {bot_id, flow_id}} of the numbers that have a bot or a flow (one query)."""
    rows = NumberAutomation.objects.filter(organization_id=organization_id, number_id__in=number_ids).values_list(
        "number_id", "bot_id", "flow_id"
    )
    return {number_id: {"bot_id": bot_id, "flow_id": flow_id} for number_id, bot_id, flow_id in rows}


def number_bot(*, number_id: int, organization_id: int) -> Bot | None:
    link = (
        NumberAutomation.objects.filter(organization_id=organization_id, number_id=number_id)
        .select_related("bot")
        .first()
    )
    return link.bot if link is not None else None


def conversation_bot(*, conversation: Conversation, state: BotConversation | None = None) -> Bot | None:
    """The active bot that answers this conversation: the one a flow handed it to, else its number's."""
    if state is None:
        state = BotConversation.objects.filter(
            organization_id=conversation.organization_id, conversation_id=conversation.pk
        ).first()
    if state is not None and state.bot_id is not None:
        handed = Bot.objects.filter(organization_id=conversation.organization_id, pk=state.bot_id).first()
        if handed is not None and handed.is_active:
            return handed
    bot = number_bot(number_id=conversation.number_id, organization_id=conversation.organization_id)
    return bot if bot is not None and bot.is_active else None


def conversation_bot_state(*, conversation: Conversation) -> dict[str, Any]:
    """The conversation's bot and whether it answers (ConversationBotSerializer's shape)."""
    state = BotConversation.objects.filter(
        organization_id=conversation.organization_id, conversation_id=conversation.pk
    ).first()
    bot = conversation_bot(conversation=conversation, state=state)
    paused = bool(state and state.paused)
    return {
        "conversation_id": conversation.pk,
        "bot": {"id": bot.pk, "name": bot.name} if bot is not None else None,
        "answering": bot is not None and not paused,
        "paused": paused,
        "paused_reason": state.paused_reason if paused else "",
        "paused_at": state.paused_at if paused else None,
        "paused_by": state.paused_by_id if paused else None,
        "unanswered_turns": state.unanswered_turns if state else 0,
        "handed_over_by_flow": bool(state and state.handed_over_by_flow),
    }


def recent_messages(*, conversation: Conversation, before_id: int, limit: int) -> list[Message]:
    """The `limit` messages of the conversation before the message `before_id`, oldest first (reactions left out)."""
    if limit <= 0:
        return []
    rows = (
        Message.objects.for_org(conversation.organization)
        .filter(conversation=conversation, pk__lt=before_id)
        .exclude(type=Message.Type.REACTION)
        .only("id", "direction", "type", "text")
        .order_by("-id")[:limit]
    )
    return list(reversed(rows))


def bot_numbers(*, org: Organization) -> dict[int, list]:
    """{bot id: the live numbers it answers on} (one query)."""
    links = (
        NumberAutomation.objects.for_org(org)
        .filter(bot__isnull=False, number__deleted_at__isnull=True)
        .select_related("number")
        .order_by("number__display_name", "number_id")
    )
    numbers: dict[int, list] = {}
    for link in links:
        numbers.setdefault(link.bot_id, []).append(link.number)
    return numbers
