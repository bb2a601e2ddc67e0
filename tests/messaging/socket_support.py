"""Helpers of the live-inbox socket tests: sockets on the real ASGI application (whatsapp_hub.asgi: the Origin
check, the session middleware, the routing), opened with a browser's session cookie or a ticket.

A test runs its socket work as one scenario in one event loop (`run`); its database work, from inside the scenario,
through `db` (sync_to_async: the test's own thread and connection). The tests are transactional: the consumer's
reads happen through database_sync_to_async, which closes the connections of an open transaction, and the
services' after-commit work (pushes, deliveries) runs as in production.
"""

import contextlib

from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from whatsapp_hub.asgi import application

ORIGIN = "http://testserver"
# Seconds to wait for a frame that must come.
WAIT = 5


# The sockets of the running scenario, ended with it (a failed assertion leaves no consumer running into the next).
_sockets: list[WebsocketCommunicator] = []


def run(scenario):
    """Run the coroutine function `scenario`; its result."""

    async def guarded():
        try:
            return await scenario()
        finally:
            for socket in _sockets:
                if not socket.future.done():
                    with contextlib.suppress(Exception):
                        await socket.disconnect()
            _sockets.clear()

    return async_to_sync(guarded)()


def db(function):
    """`function` callable from a scenario, run in the test's thread (its database connection)."""
    return sync_to_async(function)


def session_cookie(user) -> str:
    """The Cookie header of a browser signed in as `user`."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def ticket_for(client) -> str:
    """A ticket from POST auth/ws-ticket with this API client's credential."""
    response = client.post("/api/v1/auth/ws-ticket")
    assert response.status_code == 201, response.json()
    return response.json()["ticket"]


async def open_socket(
    *, cookie: str | None = None, ticket: str | None = None, origin: str | None = ORIGIN, path: str | None = None
):
    """A socket whose handshake the server accepted (a refusal comes next, as a close code: `closed_with`). `path`:
    another socket than the inbox's (an embed's)."""
    path = path or "/ws/inbox/" + (f"?ticket={ticket}" if ticket is not None else "")
    headers = [(b"origin", origin.encode())] if origin is not None else []
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    socket = WebsocketCommunicator(application, path, headers=headers)
    _sockets.append(socket)
    connected, _ = await socket.connect(timeout=WAIT)
    assert connected, "the handshake was refused"
    return socket


async def open_inbox(**credentials) -> tuple[WebsocketCommunicator, dict]:
    """An authenticated socket and its hello."""
    socket = await open_socket(**credentials)
    hello = await socket.receive_json_from(timeout=WAIT)
    assert hello["type"] == "hello", hello
    return socket, hello


async def open_embed(token: str) -> tuple[WebsocketCommunicator, dict]:
    """An inbox embed's socket (/ws/embed/?token=) and its hello."""
    socket = await open_socket(path=f"/ws/embed/?token={token}")
    hello = await socket.receive_json_from(timeout=WAIT)
    assert hello["type"] == "hello", hello
    return socket, hello


async def closed_with(socket) -> int:
    """The close code the server ended the socket with."""
    output = await socket.receive_output(timeout=WAIT)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def frames(socket, count: int) -> list[dict]:
    """The next `count` frames, a bundle's (`events`) one by one, as a client reads them."""
    received: list[dict] = []
    while len(received) < count:
        frame = await socket.receive_json_from(timeout=WAIT)
        received += frame["events"] if frame["type"] == "events" else [frame]
    return received
