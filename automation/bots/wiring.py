"""What bots plug into messaging, connected once in AutomationConfig.ready(): the hooks that pause a bot where people
take over (messaging/hooks.py), the number's `bot_id` and `flow_id` (messaging/extensions.py: the numbers API and
settings page), the bot control of the inbox's contact panel, and the bots' task."""

from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from whatsapp_hub.serializers import id_field


def _input_fields() -> dict:
    return {
        "bot_id": id_field(
            required=False, allow_null=True, help_text="The bot that answers this number's customers; null: none"
        ),
        "flow_id": id_field(
            required=False, allow_null=True, help_text="The flow run on this number's inbound messages; null: none"
        ),
    }


def _output_fields() -> dict:
    return {
        "bot_id": serializers.IntegerField(read_only=True, allow_null=True, help_text="The number's bot, or null"),
        "flow_id": serializers.IntegerField(read_only=True, allow_null=True, help_text="The number's flow, or null"),
    }


def _read(*, organization_id: int, number_ids: list[int]) -> dict:
    from automation.selectors import bots as selectors

    return selectors.number_automation_values(organization_id=organization_id, number_ids=number_ids)


def _save(*, number, actor, values: dict) -> None:
    from automation.services import bots as services

    services.number_automation_set(number=number, actor=actor, values=values)


def _form_fields(*, organization_id: int) -> dict:
    from automation.selectors import bots as selectors

    def choice(label, none_label, rows, help_text):
        return forms.TypedChoiceField(
            label=label,
            required=False,
            coerce=int,
            empty_value=None,
            choices=[("", none_label), *rows],
            help_text=help_text,
        )

    return {
        "bot_id": choice(
            _("Bot"),
            _("No bot"),
            selectors.bot_choices(organization_id=organization_id),
            _("Answers the customers of this number when no flow does and no person holds the conversation."),
        ),
        "flow_id": choice(
            _("Flow"),
            _("No flow"),
            selectors.flow_choices(organization_id=organization_id),
            _("Runs on this number's inbound messages before the bot."),
        ),
    }


def connect() -> None:
    from automation.bots import tasks  # noqa: F401  (registers the task in workers)
    from messaging import extensions, hooks

    hooks.outbound_message_created.connect(on_outbound_message_created)
    hooks.conversation_assigned.connect(on_conversation_assigned)
    extensions.register_number_extension(
        extensions.NumberExtension(
            name="automation",
            input_fields=_input_fields,
            output_fields=_output_fields,
            read=_read,
            save=_save,
            form_fields=_form_fields,
            form_legend=_("Automation"),
        )
    )
    extensions.register_inbox_panel_section(
        extensions.InboxPanelSection(template="automation/bots_inbox_panel.html", script="js/bots-inbox.js")
    )


def on_outbound_message_created(*, organization_id: int, conversation_id: int, sent_by_id: int | None, **_) -> None:
    """A person replied in the conversation (the inbox, or the API with their token): its bot pauses there."""
    if sent_by_id is None:
        return
    from automation.models import BotConversation
    from automation.services import bots as services

    services.bot_conversation_hold(
        organization_id=organization_id,
        conversation_id=conversation_id,
        reason=BotConversation.PauseReason.HUMAN_REPLY,
        user_id=sent_by_id,
    )


def on_conversation_assigned(
    *, organization_id: int, conversation_id: int, assigned_to_id: int | None, actor_id: int | None, **_
) -> None:
    """The conversation's assignment changed and a person holds it: its bot pauses there (a team alone does not
    pause it)."""
    if assigned_to_id is None:
        return
    from automation.models import BotConversation
    from automation.services import bots as services

    services.bot_conversation_hold(
        organization_id=organization_id,
        conversation_id=conversation_id,
        reason=BotConversation.PauseReason.ASSIGNED,
        user_id=actor_id,
    )
