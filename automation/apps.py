from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"

    def ready(self) -> None:
        # Subscriptions to messaging's announcements (messaging never imports automation).
        from automation import dispatch
        from messaging import hooks

        hooks.message_received.connect(dispatch.inbound_dispatch_on_commit)
        from automation.bots.wiring import connect as connect_bots  # bots: their hooks, numbers' bot_id, the inbox

        connect_bots()
        # Knowledge bases: an organization's document files go with it.
        from accounts import hooks as account_hooks
        from automation.services import knowledge as knowledge_services

        account_hooks.organization_deleting.connect(knowledge_services.organization_documents_delete_on_commit)
