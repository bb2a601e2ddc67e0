"""Websocket routes. Apps add their consumers here as they gain them."""

websocket_urlpatterns: list = []
