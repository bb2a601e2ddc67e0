"""Websocket routes, and who may open a socket at all (whatsapp_hub/asgi.py puts the two together)."""

from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import re_path

from messaging.consumers import EmbedConsumer, InboxConsumer

websocket_urlpatterns = [
    re_path(r"^ws/inbox/?$", InboxConsumer.as_asgi()),
    re_path(r"^ws/embed/?$", EmbedConsumer.as_asgi()),
]


class OriginCheck:
    """Browsers send an Origin with every websocket handshake: it must be one of ALLOWED_HOSTS (Channels'
    AllowedHostsOriginValidator), so that another site's page cannot open a socket riding the user's session
    cookie. A handshake without an Origin comes from no browser (an API client): it goes on with its cookies
    removed, so only a ticket can authenticate it."""

    def __init__(self, application):
        self.application = application
        self.browsers = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        headers = scope.get("headers", [])
        if any(name == b"origin" for name, _ in headers):
            return await self.browsers(scope, receive, send)
        scope = {**scope, "headers": [(name, value) for name, value in headers if name != b"cookie"]}
        return await self.application(scope, receive, send)
