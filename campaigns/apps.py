from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        # Subscriptions to messaging's announcements (messaging never imports campaigns).
        from campaigns import services
        from messaging import hooks

        hooks.message_status_changed.connect(services.recipients_follow_messages)
        hooks.message_received.connect(services.recipients_mark_replied)
