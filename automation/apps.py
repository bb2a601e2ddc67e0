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
