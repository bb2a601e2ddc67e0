from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"

    def ready(self) -> None:
        # Subscriptions to messaging's announcements (messaging never imports automation).
        from automation import dispatch
        from messaging import hooks

        hooks.message_received.connect(dispatch.inbound_dispatch_on_commit)
        # Outbound webhooks: messaging's and campaigns' announcements become events (automation/events.py).
        from accounts.permissions import IsAdmin
        from automation import events
        from automation.services.webhooks import LIVE_EVENT, webhook_deliveries_erase_contact
        from campaigns import hooks as campaign_hooks
        from messaging import realtime

        hooks.message_received.connect(events.on_message_received)
        hooks.message_status_changed.connect(events.on_message_status_changed)
        hooks.conversation_created.connect(events.on_conversation_created)
        hooks.conversation_updated.connect(events.on_conversation_updated)
        hooks.conversation_assigned.connect(events.on_conversation_assigned)
        hooks.contact_created.connect(events.on_contact_created)
        hooks.contact_updated.connect(events.on_contact_updated)
        hooks.contact_opted_out.connect(events.on_contact_opted_out)
        campaign_hooks.campaign_completed.connect(events.on_campaign_completed)
        hooks.contact_deleted.connect(webhook_deliveries_erase_contact)
        realtime.event_roles_declare(LIVE_EVENT, IsAdmin.roles)  # the webhooks page's delivery log
        from automation.bots.wiring import connect as connect_bots  # bots: their hooks, numbers' bot_id, the inbox

        connect_bots()
        # Knowledge bases: an organization's document files go with it.
        from accounts import hooks as account_hooks
        from automation.services import knowledge as knowledge_services

        account_hooks.organization_deleting.connect(knowledge_services.organization_documents_delete_on_commit)
