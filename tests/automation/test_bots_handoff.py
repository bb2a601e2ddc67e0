"""People take over: handoff keywords, a person's reply or assignment pauses the bot in that conversation, an agent
resumes it; nothing is answered twice (webhook redelivery, a task run twice); opted-out contacts get no answer."""

import pytest
from django.test import TestCase

from accounts.models import Role, Team
from automation import tasks
from automation.models import BotConversation, BotReply
from automation.services import bots as services
from messaging.models import Contact, Message
from messaging.services import contacts as contact_services
from tests.automation.bots_support import (
    bot_number,
    bot_texts,
    conversation_of,
    customer_writes,
    make_bot,
    outbound,
)
from tests.factories import MembershipFactory
from tests.messaging.inbox_support import committed


@pytest.fixture
def number(org):
    return bot_number(org)


@pytest.fixture
def team(org):
    return Team.objects.create(organization=org, name="Support")


@pytest.fixture
def bot(org, number, team):
    bot = make_bot(
        org,
        number=number,
        handoff_keywords=["agent", "موظف"],
        handoff_team_id=team.pk,
        handoff_message="A colleague will answer you here.",
    )
    services.scenario_create(
        bot=bot, actor=None, trigger="keyword", values=["hi"], reply={"type": "text", "text": "Hello!"}
    )
    return bot


def state(conversation) -> tuple:
    row = BotConversation.objects.get(conversation=conversation)
    return row.paused, row.paused_reason


def bot_url(conversation, action: str = "") -> str:
    return f"/api/v1/conversations/{conversation.pk}/bot{'/' + action if action else ''}"


def test_a_handoff_keyword_gives_the_conversation_to_the_team_pauses_the_bot_and_says_so(
    org, number, bot, team, client, fake_meta
):
    customer_writes(fake_meta, client, org, number, "I want a موظف please")
    customer_writes(fake_meta, client, org, number, "hi")  # the bot is paused: no scenario answers

    conversation = conversation_of(org, number)
    assert conversation.team_id == team.pk
    assert conversation.assigned_to_id is None
    assert state(conversation) == (True, "handoff")
    assert bot_texts(fake_meta) == ["A colleague will answer you here."]
    assert list(BotReply.objects.order_by("id").values_list("outcome", flat=True)) == ["handoff"]


def test_a_handoff_keyword_is_a_word_of_its_own(org, number, bot, client, fake_meta):
    services.scenario_create(
        bot=bot, actor=None, trigger="keyword", values=["agents"], reply={"type": "text", "text": "We have 5."}
    )

    customer_writes(fake_meta, client, org, number, "agents")

    assert bot_texts(fake_meta) == ["We have 5."]


def test_a_persons_reply_from_the_api_pauses_the_bot_there(org, number, bot, client, fake_meta, agent_client):
    customer_writes(fake_meta, client, org, number, "hi")
    conversation = conversation_of(org, number)

    sent = committed(
        agent_client.post,
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"type": "text", "text": "Agent here"},
        format="json",
    )
    customer_writes(fake_meta, client, org, number, "hi")

    assert sent.status_code == 202
    assert bot_texts(fake_meta) == ["Hello!", "Agent here"]
    assert state(conversation) == (True, "human_reply")
    assert [label for _, label, _ in outbound(conversation)] == ["Support bot", ""]


def test_an_api_keys_send_and_the_bots_own_replies_do_not_pause_it(org, number, bot, client, fake_meta):
    from rest_framework.test import APIClient

    from accounts import services as account_services

    _, raw = account_services.api_key_create(organization=org, name="n8n", role=Role.ADMIN, actor=None)
    integration = APIClient()
    integration.credentials(HTTP_X_API_KEY=raw)
    customer_writes(fake_meta, client, org, number, "hi")
    conversation = conversation_of(org, number)

    committed(
        integration.post,
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"type": "text", "text": "Order shipped"},
        format="json",
    )
    customer_writes(fake_meta, client, org, number, "hi")

    assert bot_texts(fake_meta) == ["Hello!", "Order shipped", "Hello!"]
    assert state(conversation) == (False, "")


def test_assigning_the_conversation_to_a_person_pauses_the_bot_a_team_does_not(
    org, number, bot, team, client, fake_meta, admin_client, agent_membership
):
    customer_writes(fake_meta, client, org, number, "hi")
    conversation = conversation_of(org, number)

    committed(admin_client.patch, f"/api/v1/conversations/{conversation.pk}", {"team": team.pk}, format="json")
    customer_writes(fake_meta, client, org, number, "hi")
    assert state(conversation) == (False, "")
    committed(
        admin_client.patch,
        f"/api/v1/conversations/{conversation.pk}",
        {"assigned_to": agent_membership.user_id},
        format="json",
    )
    customer_writes(fake_meta, client, org, number, "hi")

    assert state(conversation) == (True, "assigned")
    assert bot_texts(fake_meta) == ["Hello!", "Hello!"]


def test_a_conversation_assigned_before_the_number_had_a_bot_is_left_to_its_person(
    org, client, fake_meta, agent_membership
):
    number = bot_number(org)
    customer_writes(fake_meta, client, org, number, "hello?")
    conversation = conversation_of(org, number)
    conversation.assigned_to_id = agent_membership.user_id
    conversation.save(update_fields=["assigned_to"])
    bot = make_bot(org, number=number)
    services.scenario_create(
        bot=bot, actor=None, trigger="keyword", values=["hi"], reply={"type": "text", "text": "Hello!"}
    )

    customer_writes(fake_meta, client, org, number, "hi")

    assert bot_texts(fake_meta) == []
    assert state(conversation) == (True, "assigned")


def test_an_agent_sees_the_state_and_resumes_the_bot(
    org, number, bot, client, fake_meta, agent_client, agent_membership
):
    customer_writes(fake_meta, client, org, number, "agent")
    conversation = conversation_of(org, number)

    shown = agent_client.get(bot_url(conversation)).json()
    resumed = committed(agent_client.post, bot_url(conversation, "resume"))
    customer_writes(fake_meta, client, org, number, "hi")

    assert {key: shown[key] for key in ("bot", "answering", "paused", "paused_reason", "paused_by")} == {
        "bot": {"id": bot.pk, "name": "Support bot"},
        "answering": False,
        "paused": True,
        "paused_reason": "handoff",
        "paused_by": None,
    }
    assert resumed.status_code == 200
    assert (resumed.json()["answering"], resumed.json()["paused"], resumed.json()["paused_reason"]) == (True, False, "")
    assert bot_texts(fake_meta) == ["A colleague will answer you here.", "Hello!"]


def test_an_agent_pauses_the_bot_by_hand(org, number, bot, client, fake_meta, agent_client, agent_membership):
    customer_writes(fake_meta, client, org, number, "hi")
    conversation = conversation_of(org, number)

    paused = committed(agent_client.post, bot_url(conversation, "pause"))
    customer_writes(fake_meta, client, org, number, "hi")

    assert (paused.status_code, paused.json()["paused_reason"], paused.json()["paused_by"]) == (
        200,
        "agent",
        agent_membership.user_id,
    )
    assert bot_texts(fake_meta) == ["Hello!"]


def test_pause_and_resume_answer_409_without_a_bot(org, agent_client):
    from tests.messaging.factories import ConversationFactory

    conversation = ConversationFactory(organization=org)

    shown = agent_client.get(bot_url(conversation))
    refused = agent_client.post(bot_url(conversation, "resume"))

    assert (shown.status_code, shown.json()["bot"], shown.json()["answering"]) == (200, None, False)
    assert (refused.status_code, refused.json()["detail"]) == (409, "No bot answers this conversation.")
    assert not BotConversation.objects.exists()


def test_marketers_may_not_pause_or_resume(org, number, bot, client, fake_meta, marketing_client):
    customer_writes(fake_meta, client, org, number, "hi")
    conversation = conversation_of(org, number)

    assert marketing_client.post(bot_url(conversation, "pause")).status_code == 403
    assert state(conversation) == (False, "")


# --- never twice ------------------------------------------------------------------------------------------------


def test_a_redelivered_webhook_is_answered_once(org, number, bot, client, fake_meta):
    from tests.campaigns.support import webhooks_through_the_endpoint

    webhooks_through_the_endpoint(fake_meta, client, org)
    fake_meta.send_inbound("966500000001", text="hi", phone_number_id=number.phone_number_id, message_id="wamid.SAME")
    with TestCase.captureOnCommitCallbacks(execute=True):
        fake_meta.deliver_webhooks(duplicate=True)
    # Meta sends the same message again in another webhook (another batch, another time): one message, one answer.
    fake_meta.send_inbound(
        "966500000001",
        text="hi",
        phone_number_id=number.phone_number_id,
        message_id="wamid.SAME",
        timestamp=fake_meta.clock.now() + 30,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        fake_meta.deliver_webhooks()

    assert Message.objects.filter(direction="inbound").count() == 1
    assert bot_texts(fake_meta) == ["Hello!"]
    assert BotReply.objects.count() == 1


def test_the_task_run_twice_answers_once(org, number, bot, client, fake_meta):
    customer_writes(fake_meta, client, org, number, "hi")
    inbound = Message.objects.get(direction="inbound")

    with TestCase.captureOnCommitCallbacks(execute=True):
        tasks.handle_inbound(org.pk, inbound.pk)
        tasks.handle_inbound(org.pk, inbound.pk)

    assert bot_texts(fake_meta) == ["Hello!"]


def test_outbound_messages_are_never_answered(org, number, bot, client, fake_meta):
    customer_writes(fake_meta, client, org, number, "hi")
    reply = Message.objects.get(direction="outbound")

    assert services.bot_handle_inbound(reply) is False
    assert BotReply.objects.count() == 1


# --- opted out --------------------------------------------------------------------------------------------------


def test_an_opted_out_contact_gets_no_answer(org, number, bot, client, fake_meta):
    customer_writes(fake_meta, client, org, number, "hi")
    contact = Contact.objects.get(organization=org, wa_id="966500000001")
    contact_services.contact_set_opted_out(contact=contact, opted_out=True)

    customer_writes(fake_meta, client, org, number, "hi")

    assert bot_texts(fake_meta) == ["Hello!"]
    assert BotReply.objects.count() == 1


def test_stop_opts_out_and_is_not_answered(org, number, bot, client, fake_meta):
    services.scenario_create(
        bot=bot, actor=None, trigger="keyword", values=["stop"], reply={"type": "text", "text": "Bye"}
    )

    customer_writes(fake_meta, client, org, number, "STOP")

    assert Contact.objects.get(organization=org, wa_id="966500000001").opted_out is True
    assert bot_texts(fake_meta) == []


def test_an_inactive_bot_answers_nothing(org, number, bot, client, fake_meta):
    services.bot_update(bot=bot, actor=None, is_active=False)

    customer_writes(fake_meta, client, org, number, "hi")

    assert bot_texts(fake_meta) == []
    assert not BotReply.objects.exists()


def test_another_members_api_reply_needs_a_person(org, number, bot, client, fake_meta):
    """A colleague's reply from the inbox socket goes through the same send service: it pauses too."""
    from messaging.services.conversations import message_send

    customer_writes(fake_meta, client, org, number, "hi")
    conversation = conversation_of(org, number)
    colleague = MembershipFactory(organization=org, role=Role.AGENT)

    with TestCase.captureOnCommitCallbacks(execute=True):
        message_send(conversation=conversation, sent_by=colleague.user, content={"type": "text", "text": "On it"})

    assert state(conversation) == (True, "human_reply")
    assert BotConversation.objects.get(conversation=conversation).paused_by_id == colleague.user_id


# --- a flow hands the conversation to a bot ---------------------------------------------------------------------


def test_a_flow_hands_the_conversation_to_its_bot_which_answers_the_latest_message(org, number, bot, client, fake_meta):
    helper = make_bot(org, name="Returns bot")
    services.scenario_create(
        bot=helper, actor=None, trigger="keyword", values=["refund"], reply={"type": "text", "text": "30 days."}
    )
    services.number_automation_set(number=number, actor=None, values={"bot_id": None})
    customer_writes(fake_meta, client, org, number, "refund")  # no bot on the number: nobody answers
    conversation = conversation_of(org, number)

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.bot_take_over(conversation=conversation, bot=helper)
        services.bot_take_over(conversation=conversation, bot=helper)  # twice: still one answer
    customer_writes(fake_meta, client, org, number, "refund")

    assert bot_texts(fake_meta) == ["30 days.", "30 days."]
    row = BotConversation.objects.get(conversation=conversation)
    assert (row.bot_id, row.handed_over_by_flow, row.paused) == (helper.pk, True, False)
    assert [label for _, label, _ in outbound(conversation)] == ["Returns bot", "Returns bot"]


def test_a_flows_bot_leaves_a_conversation_people_hold_to_them(org, number, bot, client, fake_meta, agent_client):
    customer_writes(fake_meta, client, org, number, "hi")
    conversation = conversation_of(org, number)
    committed(agent_client.post, f"/api/v1/conversations/{conversation.pk}/bot/pause")

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.bot_take_over(conversation=conversation, bot=bot)
    customer_writes(fake_meta, client, org, number, "hi")

    assert bot_texts(fake_meta) == ["Hello!"]
    assert state(conversation) == (True, "agent")


def test_a_bot_of_another_organization_cannot_take_over(org, other_org, number, bot, client, fake_meta):
    customer_writes(fake_meta, client, org, number, "hi")

    with pytest.raises(ValueError):
        services.bot_take_over(conversation=conversation_of(org, number), bot=make_bot(other_org))


def test_a_deleted_numbers_bot_answers_nothing(org, number, bot, client, fake_meta):
    customer_writes(fake_meta, client, org, number, "hi")
    inbound = Message.objects.get(direction="inbound")
    BotReply.objects.all().delete()
    number.deleted_at = inbound.created_at
    number.save(update_fields=["deleted_at"])

    assert services.bot_handle_inbound(inbound) is False
    assert not BotReply.objects.exists()
