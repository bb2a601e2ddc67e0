from django.apps import AppConfig
from django.urls import register_converter


class WhatsAppHubConfig(AppConfig):
    name = "whatsapp_hub"

    def ready(self) -> None:
        from messaging import hooks as messaging_hooks
        from whatsapp_hub import (
            aggregates,
            checks,  # noqa: F401  (registers the production checks of `check --deploy`)
        )
        from whatsapp_hub.converters import RowIdConverter
        from whatsapp_hub.ops import metrics

        register_converter(RowIdConverter, "id")
        aggregates.register()  # percentile_cont on SQLite connections
        # Outbound messages' status moves, by status and Meta's error code (GET /metrics).
        messaging_hooks.message_status_changed.connect(metrics.message_statuses_changed)
