"""Bots: every write path. Their settings and scenarios; the number's bot and flow (messaging's number extension);
the bot's state in a conversation (paused by people, resumed, taken over by a flow's bot node); and the answer to an
inbound message (bot_handle_inbound, the last handler of automation.dispatch).

How an inbound message is answered (bot_handle_inbound):
1. Only an inbound text, button or list reply, on a conversation whose bot (one a flow handed it to, else the
   number's) is active, from a contact who has not opted out. People hold a conversation when the bot is paused there:
   a person replied in it (any outbound message with a sender, from the inbox or the API), assigned it to a person,
   paused the bot by hand, or the bot handed it over. Only an agent's resume gives it back.
2. The message is claimed first: one BotReply per inbound message (unique), created under the lock of the
   conversation's bot state; a redelivered webhook or a task run twice finds it and does nothing.
3. A handoff keyword hands over; else the first matching scenario's reply is sent; else the answer is composed
   (automation.bots.answer: retrieval, the LLM, or the best passage), outside any transaction.
4. Unanswered (no passage above the threshold, or the LLM had none): without an LLM, or with `handoff_on_no_answer`
   and no passage, or at `max_unanswered_turns` in a row, the bot hands over (the conversation goes to the handoff
   team, the bot pauses there, the handoff message is sent); otherwise it sends its fallback message.
5. Replies go through messaging's send path (message_send: the 24-hour window, opt-out and provider rules), labelled
   with the bot's name. A person who took the conversation while the answer was being composed wins: nothing is sent.
"""

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.models import Organization, Role, Team, User
from accounts.services import audit_log_write
from automation.bots import answer as answers
from automation.bots import knowledge, scenarios
from automation.bots.serializers import check_bot, check_scenario
from automation.models import Bot, BotConversation, BotReply, BotScenario, Flow, NumberAutomation
from automation.selectors import bots as selectors
from messaging import message_parts
from messaging.models import Conversation, Media, Message, WhatsAppNumber
from messaging.services.conversations import conversation_update, message_send
from whatsapp_hub.aftercommit import enqueue_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

DEFAULT_FALLBACK = gettext_lazy(
    'Sorry, I don\'t have an answer to that. Could you ask in other words, or write "agent" to talk to a person?'
)
DEFAULT_HANDOFF_KEYWORDS = ["agent", "human", "موظف"]
ANSWERED_TYPES = frozenset({Message.Type.TEXT, Message.Type.INTERACTIVE, Message.Type.BUTTON})
PEOPLE_REASONS = frozenset(
    {BotConversation.PauseReason.HUMAN_REPLY, BotConversation.PauseReason.ASSIGNED, BotConversation.PauseReason.AGENT}
)
# What a scenario may send: what messaging sends, but no upload, quote or reaction.
SCENARIO_REPLY_TYPES = frozenset(message_parts.SEND_TYPES) - {Message.Type.REACTION, message_parts.FLOW_TYPE}
MAX_SCENARIOS = 200


def _field_error(field: str, message: str) -> ServiceError:
    return ServiceError(f"{field}: {message}", errors={field: [message]})


# --- bots ----------------------------------------------------------------------------------------------------


def _team_or_error(*, organization: Organization, team_id: int | None) -> None:
    if team_id is not None and not Team.objects.for_org(organization).filter(pk=team_id).exists():
        raise _field_error("handoff_team_id", gettext("No team of this organization has this id."))


def _name_free_or_error(*, organization: Organization, name: str, bot_id: int | None = None) -> None:
    if Bot.objects.for_org(organization).filter(name=name).exclude(pk=bot_id).exists():
        raise _field_error("name", gettext("Another bot of this organization has this name."))


def _save_unique(bot: Bot, **kwargs) -> None:
    """Save; a concurrent bot of the same name is the 400 of the name check, not a 500."""
    try:
        with transaction.atomic():
            bot.save(**kwargs)
    except IntegrityError:
        raise _field_error("name", gettext("Another bot of this organization has this name.")) from None


@transaction.atomic
def bot_create(*, organization: Organization, actor, **values: Any) -> Bot:
    """A new bot with the fields given (BotInputSerializer's: `name` required); its handoff keywords default to
    agent/human/موظف and its fallback message to one in the current language. Audited as bot.create."""
    values = check_bot(values)
    kb_ids = values.pop("knowledge_base_ids", [])
    knowledge_bases = knowledge.knowledge_bases_or_error(organization=organization, ids=kb_ids)
    _team_or_error(organization=organization, team_id=values.get("handoff_team_id"))
    _name_free_or_error(organization=organization, name=values["name"])
    values.setdefault("handoff_keywords", list(DEFAULT_HANDOFF_KEYWORDS))
    values.setdefault("fallback_message", str(DEFAULT_FALLBACK))
    bot = Bot(organization=organization, created_by=actor if isinstance(actor, User) else None, **values)
    _save_unique(bot)
    knowledge.knowledge_bases_set(bot=bot, knowledge_bases=knowledge_bases)
    audit_log_write(organization=organization, actor=actor, action="bot.create", target=bot, data={"name": bot.name})
    return bot


@transaction.atomic
def bot_update(*, bot: Bot, actor, **changes: Any) -> Bot:
    """Change the fields given (PUT and PATCH alike). Audited as bot.update with the names of the changed fields."""
    organization = bot.organization
    changes = check_bot(changes, partial=True)
    bot = Bot.objects.for_org(organization).select_for_update().get(pk=bot.pk)
    changed = []
    if "knowledge_base_ids" in changes:
        kb_ids = changes.pop("knowledge_base_ids")
        if sorted(set(kb_ids)) != knowledge.knowledge_base_ids(bot):
            knowledge_bases = knowledge.knowledge_bases_or_error(organization=organization, ids=kb_ids)
            knowledge.knowledge_bases_set(bot=bot, knowledge_bases=knowledge_bases)
            changed.append("knowledge_base_ids")
    if "handoff_team_id" in changes:
        _team_or_error(organization=organization, team_id=changes["handoff_team_id"])
    if "name" in changes:
        _name_free_or_error(organization=organization, name=changes["name"], bot_id=bot.pk)
    fields = [name for name, value in changes.items() if getattr(bot, name) != value]
    for name in fields:
        setattr(bot, name, changes[name])
    if fields:
        _save_unique(bot, update_fields=[name.removesuffix("_id") for name in fields] + ["updated_at"])
    changed += fields
    if changed:
        audit_log_write(
            organization=organization, actor=actor, action="bot.update", target=bot, data={"changed": sorted(changed)}
        )
    return bot


@transaction.atomic
def bot_delete(*, bot: Bot, actor) -> None:
    """Delete the bot, its scenarios and its state in conversations; numbers and flows that used it lose it."""
    audit_log_write(
        organization=bot.organization, actor=actor, action="bot.delete", target=bot, data={"name": bot.name}
    )
    bot.delete()


# --- scenarios -------------------------------------------------------------------------------------------------


def _reply_or_error(*, organization: Organization, reply: Any) -> dict:
    """The scenario's reply checked as messaging checks a send (400 naming `reply`), with its media (an upload of
    the organization, ready)."""
    if not isinstance(reply, dict):
        raise _field_error("reply", gettext('A message to send, e.g. {"type": "text", "text": "Hello"}.'))
    if reply.get("type") not in SCENARIO_REPLY_TYPES:
        raise _field_error("reply", gettext("A scenario replies with text, media, buttons, a list or a template."))
    if "reply_to" in reply or "file" in reply:
        raise _field_error("reply", gettext("A scenario's reply takes no reply_to or file (upload it, use media_id)."))
    try:
        outbound = message_parts.parse(reply)
    except ServiceError as error:
        raise ServiceError(error.detail, errors={"reply": error.errors or [error.detail]}) from None
    if outbound.media_id is not None:
        media = Media.objects.for_org(organization).filter(pk=outbound.media_id, status=Media.Status.READY)
        if not media.exclude(file="").exists():
            raise _field_error("reply", gettext("No such uploaded media in this organization (upload it first)."))
    return dict(reply)


def _scenario_or_error(*, organization: Organization, values: dict[str, Any]) -> dict[str, Any]:
    """A whole scenario's fields (the stored ones with the changes), checked for its trigger."""
    trigger = values["trigger"]
    if trigger == BotScenario.Trigger.REGEX:
        try:
            scenarios.compile_pattern(values.get("pattern") or "")
        except ValueError as exc:
            raise _field_error("pattern", str(exc)) from None
        values["values"] = []
    else:
        words = [" ".join(str(value).split()) for value in values.get("values") or []]
        words = list(dict.fromkeys(word for word in words if word))
        if not words:
            if trigger == BotScenario.Trigger.KEYWORD:
                raise _field_error("values", gettext("Give at least one keyword."))
            raise _field_error("values", gettext("Give at least one reply id."))
        if trigger == BotScenario.Trigger.KEYWORD and any(len(word) > 100 for word in words):
            raise _field_error("values", gettext("A keyword has at most 100 characters."))
        if trigger == BotScenario.Trigger.LIST and any(len(word) > 200 for word in words):
            raise _field_error("values", gettext("A list row's id has at most 200 characters."))
        values["values"], values["pattern"] = words, ""
    values["reply"] = _reply_or_error(organization=organization, reply=values.get("reply"))
    return values


@transaction.atomic
def scenario_create(*, bot: Bot, actor, **values: Any) -> BotScenario:
    """A new scenario of the bot (ScenarioInputSerializer's fields); without a position it goes last."""
    organization = bot.organization
    values = check_scenario(values)
    bot = Bot.objects.for_org(organization).select_for_update().get(pk=bot.pk)  # serialise positions per bot
    existing = BotScenario.objects.for_org(organization).filter(bot=bot)
    if existing.count() >= MAX_SCENARIOS:
        raise ServiceError(gettext("A bot has at most %(max)s scenarios.") % {"max": MAX_SCENARIOS})
    values = _scenario_or_error(organization=organization, values=values)
    if "position" not in values:
        last = existing.order_by("-position").values_list("position", flat=True).first()
        values["position"] = 0 if last is None else last + 1
    scenario = BotScenario.objects.create(organization=organization, bot=bot, **values)
    audit_log_write(organization=organization, actor=actor, action="bot.scenario.create", target=scenario)
    return scenario


@transaction.atomic
def scenario_update(*, scenario: BotScenario, actor, **changes: Any) -> BotScenario:
    organization = scenario.organization
    changes = check_scenario(changes, partial=True)
    scenario = BotScenario.objects.for_org(organization).select_for_update().get(pk=scenario.pk)
    current = {
        name: getattr(scenario, name)
        for name in ("name", "trigger", "values", "match", "pattern", "reply", "is_active", "position")
    }
    values = _scenario_or_error(organization=organization, values={**current, **changes})
    fields = [name for name, value in values.items() if current[name] != value]
    for name in fields:
        setattr(scenario, name, values[name])
    if fields:
        scenario.save(update_fields=[*fields, "updated_at"])
        audit_log_write(
            organization=organization,
            actor=actor,
            action="bot.scenario.update",
            target=scenario,
            data={"changed": sorted(fields)},
        )
    return scenario


@transaction.atomic
def scenario_delete(*, scenario: BotScenario, actor) -> None:
    audit_log_write(organization=scenario.organization, actor=actor, action="bot.scenario.delete", target=scenario)
    scenario.delete()


@transaction.atomic
def scenarios_reorder(*, bot: Bot, actor, ids: list[int]) -> list[BotScenario]:
    """Put the bot's scenarios in this order (`ids`: each of them once, no other)."""
    organization = bot.organization
    Bot.objects.for_org(organization).select_for_update().get(pk=bot.pk)
    rows = {row.pk: row for row in BotScenario.objects.for_org(organization).filter(bot=bot)}
    if len(ids) != len(set(ids)) or set(ids) != set(rows):
        raise _field_error("ids", gettext("List every scenario of this bot once, in the new order."))
    moved = []
    for position, pk in enumerate(ids):
        if rows[pk].position != position:
            rows[pk].position = position
            moved.append(rows[pk])
    BotScenario.objects.bulk_update(moved, ["position"])
    if moved:
        audit_log_write(organization=organization, actor=actor, action="bot.scenario.reorder", target=bot)
    return [rows[pk] for pk in ids]


# --- a number's bot and flow (messaging's number extension) ----------------------------------------------------


@transaction.atomic
def number_automation_set(*, number: WhatsAppNumber, actor, values: dict[str, int | None]) -> NumberAutomation | None:
    """Set the number's bot and/or flow (`bot_id`, `flow_id` given: an id of the organization's, or None to unset).
    400 naming the field for another organization's or a missing row. Audited as number.automation when it changes.
    Called by messaging.services.numbers.number_update inside its transaction (messaging/extensions.py)."""
    organization = number.organization
    changes: dict[str, int | None] = {}
    missing = {
        "bot_id": gettext("No bot of this organization has this id."),
        "flow_id": gettext("No flow of this organization has this id."),
    }
    for field, model in (("bot_id", Bot), ("flow_id", Flow)):
        if field not in values:
            continue
        row_id = values[field]
        if row_id is not None and not model.objects.for_org(organization).filter(pk=row_id).exists():
            raise _field_error(field, missing[field])
        changes[field] = row_id
    link = NumberAutomation.objects.for_org(organization).select_for_update().filter(number=number).first()
    if link is None:
        if not any(value is not None for value in changes.values()):
            return None
        link = NumberAutomation(organization=organization, number=number)
    changed = {field: value for field, value in changes.items() if getattr(link, field) != value}
    if not changed and link.pk is not None:
        return link
    for field, value in changed.items():
        setattr(link, field, value)
    link.save()
    audit_log_write(organization=organization, actor=actor, action="number.automation", target=number, data=changed)
    return link


# --- the bot's state in a conversation ---------------------------------------------------------------------------


def _state_locked(conversation: Conversation) -> tuple[BotConversation, bool]:
    """The conversation's bot state, created when missing, locked. Must be called inside a transaction."""
    organization = conversation.organization
    state, created = BotConversation.objects.for_org(organization).get_or_create(
        organization=organization, conversation=conversation
    )
    if not created:
        state = BotConversation.objects.for_org(organization).select_for_update().get(pk=state.pk)
    return state, created


def _pause(state: BotConversation, *, reason: str, user_id: int | None) -> None:
    state.paused, state.paused_reason, state.paused_at, state.paused_by_id = True, reason, timezone.now(), user_id
    state.unanswered_turns = 0
    state.save(update_fields=["paused", "paused_reason", "paused_at", "paused_by", "unanswered_turns", "updated_at"])


def _has_bot(conversation: Conversation) -> bool:
    return selectors.conversation_bot(conversation=conversation) is not None


@transaction.atomic
def bot_conversation_hold(*, organization_id: int, conversation_id: int, reason: str, user_id: int | None) -> bool:
    """People took the conversation (a person replied in it, or it was assigned to one): its bot pauses there, if
    it has one. Returns whether it paused now. Idempotent."""
    conversation = (
        Conversation.objects.filter(organization_id=organization_id, pk=conversation_id)
        .select_related("organization", "number")
        .first()
    )
    if conversation is None or not _has_bot(conversation):
        return False
    state, _ = _state_locked(conversation)
    if state.paused:
        return False
    _pause(state, reason=reason, user_id=user_id)
    return True


def bot_conversation_pause(*, conversation: Conversation, actor) -> BotConversation:
    """An agent pauses the bot in this conversation (it stays paused until resumed). 409 when no bot answers it."""
    with transaction.atomic():
        if not _has_bot(conversation):
            raise ServiceError(gettext("No bot answers this conversation."), status_code=409, code="no_bot")
        state, _ = _state_locked(conversation)
        if not state.paused:
            _pause(
                state, reason=BotConversation.PauseReason.AGENT, user_id=actor.pk if isinstance(actor, User) else None
            )
            audit_log_write(
                organization=conversation.organization, actor=actor, action="bot.pause", target=conversation
            )
    return state


def bot_conversation_resume(*, conversation: Conversation, actor) -> BotConversation:
    """An agent gives the conversation back to its bot: it answers the customer's next message (its count of
    unanswered turns starts again). The conversation's assignee stays. 409 when no bot answers it."""
    with transaction.atomic():
        if not _has_bot(conversation):
            raise ServiceError(gettext("No bot answers this conversation."), status_code=409, code="no_bot")
        state, _ = _state_locked(conversation)
        if state.paused:
            state.paused, state.paused_reason, state.paused_at, state.paused_by = False, "", None, None
            state.unanswered_turns = 0
            state.save(
                update_fields=["paused", "paused_reason", "paused_at", "paused_by", "unanswered_turns", "updated_at"]
            )
            audit_log_write(
                organization=conversation.organization, actor=actor, action="bot.resume", target=conversation
            )
    return state


def bot_take_over(*, conversation: Conversation, bot: Bot) -> None:
    """A flow hands the conversation to `bot` (the flows' `bot` node): from now on that bot answers it, whatever
    the number's bot is. People keep a conversation they hold (the bot stays paused until an agent resumes it).
    The customer's latest message, if the bot has not dealt with it, is answered by a task after commit.
    May be called inside the caller's transaction."""
    if bot.organization_id != conversation.organization_id:
        raise ValueError("bot_take_over: the bot and the conversation belong to different organizations")
    from automation.bots import tasks

    with transaction.atomic():
        state, _ = _state_locked(conversation)
        state.bot, state.handed_over_by_flow, state.unanswered_turns = bot, True, 0
        state.save(update_fields=["bot", "handed_over_by_flow", "unanswered_turns", "updated_at"])
        enqueue_after_commit(tasks.answer_latest, conversation.organization_id, conversation.pk)


def bot_answer_latest(*, organization_id: int, conversation_id: int) -> bool:
    """Answer the conversation's latest message if it is the customer's and no bot dealt with it yet."""
    latest = (
        Message.objects.filter(organization_id=organization_id, conversation_id=conversation_id).order_by("-id").first()
    )
    if latest is None or latest.direction != Message.Direction.INBOUND:
        return False
    return bot_handle_inbound(latest)


# --- answering an inbound message --------------------------------------------------------------------------------


def bot_handle_inbound(message: Message) -> bool:
    """The bots' handler of automation.dispatch: answer this inbound message if the conversation's bot should (see
    the module's docstring). Returns whether the bot took it. Idempotent per message; makes network calls (the LLM,
    outside any transaction)."""
    if message.direction != Message.Direction.INBOUND or message.type not in ANSWERED_TYPES:
        return False
    conversation = (
        Conversation.objects.filter(organization_id=message.organization_id, pk=message.conversation_id)
        .select_related("organization", "number", "contact")
        .first()
    )
    if conversation is None or conversation.contact.opted_out or conversation.number.deleted_at is not None:
        return False
    bot = selectors.conversation_bot(conversation=conversation)
    if bot is None:
        return False
    claim = _claim(message=message, conversation=conversation, bot=bot)
    if claim is None:
        return False
    try:
        _respond(claim=claim, message=message, conversation=conversation, bot=bot)
    except Exception as exc:
        BotReply.objects.filter(pk=claim.pk, outcome=BotReply.Outcome.PENDING).update(
            outcome=BotReply.Outcome.FAILED, error=repr(exc)[:500]
        )
        raise
    return True


def _claim(*, message: Message, conversation: Conversation, bot: Bot) -> BotReply | None:
    """The message's BotReply, created now; None when it has one already or people hold the conversation."""
    with transaction.atomic():
        state, created = _state_locked(conversation)
        if created and conversation.assigned_to_id is not None:
            # Assigned to a person before the bot had a state here (e.g. before the number got its bot).
            _pause(state, reason=BotConversation.PauseReason.ASSIGNED, user_id=None)
        if state.paused:
            return None
        claim, created = BotReply.objects.get_or_create(
            organization=conversation.organization,
            inbound=message,
            defaults={"bot": bot, "conversation": conversation},
        )
        return claim if created else None


def _respond(*, claim: BotReply, message: Message, conversation: Conversation, bot: Bot) -> None:
    folded = scenarios.fold(message.text)
    if bot.handoff_keywords and scenarios.contains_word(
        folded, [scenarios.fold(word) for word in bot.handoff_keywords]
    ):
        _hand_off(claim=claim, conversation=conversation, bot=bot)
        return
    for scenario in selectors.active_scenarios(bot=bot):
        if scenarios.matches(scenario, message=message, folded_text=folded):
            claim.scenario = scenario
            _send(claim=claim, conversation=conversation, bot=bot, content=scenario.reply, outcome="scenario")
            return
    question = (message.text or "").strip()
    if not question:
        _finish(claim, outcome=BotReply.Outcome.UNANSWERED)
        return
    history = selectors.recent_messages(conversation=conversation, before_id=message.pk, limit=bot.context_window)
    result = answers.compose(bot=bot, question=question, history=history)
    claim.model_used, claim.tokens_used, claim.sources = result.model_used, result.tokens_used, result.sources
    claim.error = result.error
    if result.answered:
        content = {"type": "text", "text": result.text}
        _send(claim=claim, conversation=conversation, bot=bot, content=content, outcome="answered")
        return
    _unanswered(claim=claim, conversation=conversation, bot=bot, result=result)


def _unanswered(*, claim: BotReply, conversation: Conversation, bot: Bot, result: answers.Answer) -> None:
    state = BotConversation.objects.for_org(conversation.organization).get(conversation=conversation)
    turns = state.unanswered_turns + 1
    if (
        result.extractive
        or (result.no_passage and bot.handoff_on_no_answer)
        or (bot.max_unanswered_turns and turns >= bot.max_unanswered_turns)
    ):
        _hand_off(claim=claim, conversation=conversation, bot=bot)
        return
    content = {"type": "text", "text": bot.fallback_message} if bot.fallback_message.strip() else None
    _send(claim=claim, conversation=conversation, bot=bot, content=content, outcome="unanswered")


def _finish(claim: BotReply, *, outcome: str, reply: Message | None = None, error: str = "") -> None:
    claim.outcome, claim.reply = outcome, reply
    claim.error = (error or claim.error)[:500]
    claim.save(update_fields=["outcome", "reply", "scenario", "model_used", "tokens_used", "sources", "error"])


def _send_or_error(*, conversation: Conversation, bot: Bot, content: dict) -> tuple[Message | None, str]:
    """Send as the bot; (message, "") or (None, why not) when messaging refuses (e.g. the window closed)."""
    try:
        return message_send(conversation=conversation, sent_by=None, content=content, sender_label=bot.name), ""
    except ServiceError as error:
        logger.info("bot %s could not answer in conversation %s: %s", bot.pk, conversation.pk, error.detail)
        return None, str(error.detail)


def _send(*, claim: BotReply, conversation: Conversation, bot: Bot, content: dict | None, outcome: str) -> None:
    """Send the reply (None: nothing) unless people took the conversation meanwhile, and count the turn."""
    with transaction.atomic():
        state, _ = _state_locked(conversation)
        if state.paused:
            _finish(claim, outcome=BotReply.Outcome.PAUSED)
            return
        sent, error = (
            (None, "") if content is None else _send_or_error(conversation=conversation, bot=bot, content=content)
        )
        turns = state.unanswered_turns + 1 if outcome == BotReply.Outcome.UNANSWERED else 0
        if turns != state.unanswered_turns:
            state.unanswered_turns = turns
            state.save(update_fields=["unanswered_turns", "updated_at"])
        _finish(claim, outcome=BotReply.Outcome.FAILED if error else outcome, reply=sent, error=error)


def _hand_off(*, claim: BotReply, conversation: Conversation, bot: Bot) -> None:
    """Give the conversation to people: the handoff team takes it, the bot pauses there, the customer is told."""
    with transaction.atomic():
        state, _ = _state_locked(conversation)
        if state.paused:
            _finish(claim, outcome=BotReply.Outcome.PAUSED)
            return
        if bot.handoff_team_id is not None and conversation.team_id != bot.handoff_team_id:
            conversation_update(conversation=conversation, actor=None, role=Role.ADMIN, team_id=bot.handoff_team_id)
        sent, error = None, ""
        if bot.handoff_message.strip():
            content = {"type": "text", "text": bot.handoff_message}
            sent, error = _send_or_error(conversation=conversation, bot=bot, content=content)
        _pause(state, reason=BotConversation.PauseReason.HANDOFF, user_id=None)
        _finish(claim, outcome=BotReply.Outcome.HANDOFF, reply=sent, error=error)


# --- the test chat ---------------------------------------------------------------------------------------------


def bot_test(*, bot: Bot, message: str) -> dict:
    """What the bot would answer `message` in a new conversation (handoff keywords, text scenarios, then its
    knowledge and LLM); nothing is stored or sent. Makes network calls (the LLM)."""
    folded = scenarios.fold(message)
    blank = {"response": "", "model_used": "", "tokens_used": 0, "sources": []}
    if bot.handoff_keywords and scenarios.contains_word(
        folded, [scenarios.fold(word) for word in bot.handoff_keywords]
    ):
        return {**blank, "response": bot.handoff_message, "outcome": "handoff"}
    probe = Message(type=Message.Type.TEXT, text=message, direction=Message.Direction.INBOUND)
    for scenario in selectors.active_scenarios(bot=bot):
        if scenarios.matches(scenario, message=probe, folded_text=folded):
            text = message_parts.parse(scenario.reply)
            return {**blank, "response": _reply_text(text.part), "outcome": "scenario"}
    result = answers.compose(bot=bot, question=message.strip(), history=[])
    shown = {"model_used": result.model_used, "tokens_used": result.tokens_used, "sources": result.sources}
    if result.answered:
        return {**shown, "response": result.text, "outcome": "answered"}
    if result.extractive or (result.no_passage and bot.handoff_on_no_answer) or bot.max_unanswered_turns == 1:
        return {**shown, "response": bot.handoff_message, "outcome": "handoff"}
    return {**shown, "response": bot.fallback_message, "outcome": "unanswered"}


def _reply_text(part: dict) -> str:
    """The words of a scenario's reply, as the test chat shows them."""
    mtype = part["type"]
    obj = part.get(mtype)
    if mtype == Message.Type.TEXT:
        return obj["body"]
    if mtype == Message.Type.INTERACTIVE:
        return obj["body"]["text"]
    if mtype == Message.Type.TEMPLATE:
        return gettext("Template: %(name)s") % {"name": obj["name"]}
    if mtype in Message.MEDIA_TYPES:
        return obj.get("caption") or f"[{mtype}]"
    return f"[{mtype}]"
