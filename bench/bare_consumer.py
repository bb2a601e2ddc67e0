"""The ws_fanout benchmark's baseline: a Channels consumer on daphne that only joins a group and forwards what is
group_sent to it (no authentication, no database, no filtering)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsapp_hub.settings")
django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402  (after django.setup())
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.urls import path  # noqa: E402


class BareConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add("bench", self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard("bench", self.channel_name)

    async def bench_event(self, event):
        await self.send_json({"n": event["n"]})


application = ProtocolTypeRouter(
    {"http": get_asgi_application(), "websocket": URLRouter([path("", BareConsumer.as_asgi())])}
)
