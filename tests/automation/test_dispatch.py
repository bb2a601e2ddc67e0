"""automation.dispatch: an inbound message is offered to the handlers (a task each) only in an organization where
one could take it."""

from automation import tasks
from automation.models import Bot
from messaging.models import Message
from tests.automation.bots_support import bot_number, customer_writes, make_bot


def test_a_task_is_queued_per_inbound_message_only_where_a_bot_or_a_flow_could_answer(
    org, client, fake_meta, monkeypatch
):
    queued = []
    monkeypatch.setattr(tasks.handle_inbound, "delay", lambda *args: queued.append(args))
    number = bot_number(org)

    customer_writes(fake_meta, client, org, number, "no bot yet")
    assert queued == []

    bot = make_bot(org, number=number)
    customer_writes(fake_meta, client, org, number, "a bot now")
    assert queued == [(org.pk, Message.objects.get(text="a bot now").pk)]

    Bot.objects.filter(pk=bot.pk).update(is_active=False)
    customer_writes(fake_meta, client, org, number, "the bot is off")
    assert len(queued) == 1
