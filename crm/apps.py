from django.apps import AppConfig


class CrmConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        # Deal moves are pushed to every role's sockets (every member works the board).
        from accounts.models import Role
        from crm.ads import services as ad_services
        from crm.routing import services as routing
        from messaging import extensions, hooks, realtime

        realtime.event_roles_declare("deal.updated", frozenset({Role.ADMIN, Role.AGENT, Role.MARKETING}))
        # The inbox's contact panel: the contact's business and open deals, a new deal from the conversation.
        extensions.register_inbox_panel_section(
            extensions.InboxPanelSection(template="crm/inbox_panel.html", script="js/crm-inbox.js")
        )
        # Click-to-WhatsApp referrals of stored inbound messages: the ad registry.
        hooks.referral_received.connect(ad_services.on_referral_received)
        # Lead routing deals new conversations, and a team's queue when a conversation closes (crm/routing/).
        hooks.conversation_created.connect(routing.on_conversation_created)
        hooks.conversation_updated.connect(routing.on_conversation_updated)
