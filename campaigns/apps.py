from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        # Subscriptions to messaging's announcements (messaging never imports campaigns).
        from accounts.permissions import IsMarketing
        from campaigns import selectors, services
        from messaging import extensions, hooks, realtime

        hooks.message_status_changed.connect(services.recipients_follow_messages)
        hooks.message_received.connect(services.recipients_mark_replied)
        # Its creator is notified when a campaign finishes (messaging's notification centre).
        from campaigns import hooks as campaign_hooks

        campaign_hooks.campaign_completed.connect(services.campaign_completed_notify)
        extensions.register_daily_figures(
            extensions.DailyFigures(metric="broadcasts", read=selectors.broadcast_daily_figures)
        )
        # Campaign progress is for the campaigns' roles (the API's), not the inbox's.
        realtime.event_roles_declare("campaign.updated", IsMarketing.roles)
