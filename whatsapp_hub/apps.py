from django.apps import AppConfig
from django.urls import register_converter


class WhatsAppHubConfig(AppConfig):
    name = "whatsapp_hub"

    def ready(self) -> None:
        from whatsapp_hub import checks  # noqa: F401  (registers the production checks of `check --deploy`)
        from whatsapp_hub.converters import RowIdConverter

        register_converter(RowIdConverter, "id")
