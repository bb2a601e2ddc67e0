"""WhatsApp providers behind one interface (`base.Provider`): Meta Cloud API, WAHA, and a no-network sandbox.

`build_provider(config)` picks the implementation from the config's type; `provider_for(number)` builds the
config from a `WhatsAppNumber` row (the services' entry point).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from messaging.providers.base import MediaContent, Provider, ProviderError, SendResult, TemplatePage
from messaging.providers.cloud import CloudConfig, CloudProvider
from messaging.providers.sandbox import (
    SANDBOX_WABA_ID,
    SandboxConfig,
    SandboxProvider,
    status_webhooks_for,
    template_status_webhook_for,
)
from messaging.providers.waha import WahaConfig, WahaProvider

if TYPE_CHECKING:
    from messaging.models import WhatsAppNumber

ProviderConfig = CloudConfig | WahaConfig | SandboxConfig


def build_provider(config: ProviderConfig) -> Provider:
    """The provider for this config (a new light object each call; the HTTP pool is shared per process)."""
    if isinstance(config, CloudConfig):
        return CloudProvider(config)
    if isinstance(config, WahaConfig):
        return WahaProvider(config)
    if isinstance(config, SandboxConfig):
        return SandboxProvider(config)
    raise TypeError(f"Unknown provider config: {type(config).__name__}")


def provider_for(number: WhatsAppNumber) -> Provider:
    """The provider of a number: its Cloud API credentials (base URL `settings.WHATSAPP_GRAPH_URL`), its WAHA
    session (its own server and key, else `settings.WAHA_URL`), or the sandbox."""
    if number.provider == "cloud":
        config: ProviderConfig = CloudConfig(
            phone_number_id=number.phone_number_id,
            waba_id=number.waba_id,
            access_token=number.access_token,
            graph_url=settings.WHATSAPP_GRAPH_URL,
            app_id=settings.WHATSAPP_APP_ID,
        )
    elif number.provider == "waha":
        config = WahaConfig(
            session=number.waha_session or "default",
            api_key=number.waha_api_key,
            base_url=number.waha_base_url or settings.WAHA_URL,
        )
    else:
        config = SandboxConfig(phone_number_id=number.phone_number_id or "sandbox")
    return build_provider(config)


__all__ = [
    "SANDBOX_WABA_ID",
    "CloudConfig",
    "CloudProvider",
    "MediaContent",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "SandboxConfig",
    "SandboxProvider",
    "SendResult",
    "TemplatePage",
    "WahaConfig",
    "WahaProvider",
    "build_provider",
    "provider_for",
    "status_webhooks_for",
    "template_status_webhook_for",
]
