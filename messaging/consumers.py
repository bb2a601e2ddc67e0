"""The live inbox over a websocket, `/ws/inbox/` (README: "Live inbox websocket" documents every frame).

A socket authenticates with the browser's session or a one-time ticket (`?ticket=`, POST auth/ws-ticket), joins its
organization's group (messaging.realtime) and its own (member or API key), says hello with the organization's
current sequence number, then forwards the organization's events, keeping only the items of the numbers its person
sees. Each frame says which sequence numbers it covers (`first_seq`..`seq`), so a client tells a lost event (catch
up over REST) from one this socket dropped on purpose. Status changes (message.updated) are merged per socket and
sent at most every INBOX_UPDATE_FLUSH_SECONDS; any other event sends them first, then goes at once.

The client may send messages, mark conversations read and say which conversations it is looking at; sends and
reads go through the API's services with the API's permissions, checked again on each frame.
"""

import asyncio
import contextlib
import json
import logging
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.impersonation import READ_ONLY_DETAIL
from accounts.selectors import Principal
from messaging import realtime
from messaging.selectors.conversations import conversation_messages, message_reply_ids
from messaging.selectors.live_inbox import inbox_conversation, socket_number_ids
from messaging.serializers.conversations import message_data
from messaging.serializers.live_inbox import (
    CLIENT_ID_MAX_LENGTH,
    ClientFrameSerializer,
    ConversationFrameSerializer,
    MessageSendFrameSerializer,
)
from messaging.services.conversations import conversation_mark_read, message_send
from whatsapp_hub.errors import ServiceError, invalid_input
from whatsapp_hub.ops import context, metrics

logger = logging.getLogger(__name__)

# Close codes: 4000 + the HTTP status the API would answer.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# Client frames larger than this are refused unread (a message's text is at most 4096 characters).
MAX_FRAME_CHARACTERS = 64 * 1024
# Conversations a socket may have in focus at once.
MAX_FOCUS = 100


def _ticket(scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    values = query.get("ticket")
    return values[0] if values else None


def _authenticate(scope) -> Principal:
    """The socket's principal: the ticket's when one is given (a bad one is refused, never a fallback to the
    session), else the browser session's. ServiceError 401/403."""
    ticket = _ticket(scope)
    if ticket is not None:
        return account_services.ws_ticket_claim(ticket=ticket)
    return account_selectors.session_principal(user=scope["user"], session=scope["session"])


def _current(principal: Principal) -> Principal:
    """The principal as it stands now (role changed, deactivated: ServiceError 403). Staff impersonating the
    organization (read_only) have no membership to read again: the socket keeps their read-only view."""
    if principal.read_only:
        return principal
    return account_selectors.principal_current(
        organization_id=principal.organization.pk, user_id=principal.user_id, api_key_id=principal.api_key_id
    )


def _number_ids(principal: Principal) -> frozenset[int] | None:
    return socket_number_ids(org=principal.organization, user_id=principal.user_id, role=principal.role)


def _open(scope) -> tuple[Principal, frozenset[int] | None]:
    """The socket's principal and the numbers it sees."""
    principal = _authenticate(scope)
    return principal, _number_ids(principal)


def _view(principal: Principal) -> tuple[Principal, frozenset[int] | None]:
    """The principal as it stands now and the numbers it sees."""
    principal = _current(principal)
    return principal, _number_ids(principal)


def _conversation(principal: Principal, conversation_id: int):
    principal = _current(principal)
    return principal, inbox_conversation(
        org=principal.organization, user_id=principal.user_id, role=principal.role, conversation_id=conversation_id
    )


def _refuse_read_only(principal: Principal) -> None:
    if principal.read_only:
        raise ServiceError(READ_ONLY_DETAIL, status_code=403, code="impersonation_read_only")


def _send_message(principal: Principal, conversation_id: int, text: str) -> dict:
    """message.send, as POST conversations/{id}/messages with `{"type": "text", "text": ...}`: the message as the
    API answers it. Refused (403) to a read-only principal (impersonation)."""
    _refuse_read_only(principal)
    principal, conversation = _conversation(principal, conversation_id)
    message = message_send(conversation=conversation, sent_by=principal.user, content={"type": "text", "text": text})
    org = principal.organization
    message = conversation_messages(org=org, conversation=conversation).get(pk=message.pk)
    return message_data(message, reply_ids=message_reply_ids(org=org, messages=[message]))


def _mark_read(principal: Principal, conversation_id: int) -> None:
    """conversation.read, as POST conversations/{id}/read (refused to a read-only principal)."""
    _refuse_read_only(principal)
    _, conversation = _conversation(principal, conversation_id)
    conversation_mark_read(conversation=conversation)


class InboxConsumer(AsyncJsonWebsocketConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.principal: Principal | None = None
        self.number_ids: frozenset[int] | None = frozenset()
        self.focus: set[int] = set()
        # Sequence accounting. `last`: the client's last (hello's seq, then the highest seq of a frame sent).
        # `through`: every seq up to it was sent or dropped here (or came before hello); `dropped`: seqs dropped
        # here beyond a hole, waiting for it to fill.
        self.hello_seq = 0
        self.last = 0
        self.through = 0
        self.dropped: set[int] = set()
        # message.updated waiting for its flush: the seqs it covers and its items by message id (latest wins).
        self.updates: dict[int, dict] = {}
        self.updates_first = 0
        self.updates_seq = 0
        self.flush_task: asyncio.Task | None = None
        self.flushed_at = 0.0
        # Frames go out in the order they were made: the flush timer and the handlers take turns.
        self.sending = asyncio.Lock()
        self.counted = False  # in the open-sockets gauge (whatsapp_hub/ops/metrics.py)

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler, through its one shared thread: for a
        # pushed event, that hop would be the cost of the push on each socket. The handlers that use the database
        # go through database_sync_to_async, which closes stale connections itself.
        await getattr(self, get_handler_name(message))(message)

    # --- connection ------------------------------------------------------------------------------------

    async def connect(self):
        await self.accept()  # refusals are close codes, which a browser can read (a refused handshake is 1006)
        try:
            principal, self.number_ids = await database_sync_to_async(_open)(self.scope)
        except ServiceError as error:
            await self.close(code=4000 + error.status_code)
            return
        self.principal = principal
        organization_id = principal.organization.pk
        own = (
            realtime.api_key_group(principal.api_key_id)
            if principal.api_key_id is not None
            else realtime.member_group(organization_id, principal.user_id)
        )
        for group in (realtime.org_group(organization_id), own):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups.append(group)
        # Read after joining: an event numbered after it reaches this socket.
        seq = await database_sync_to_async(realtime.current_sequence)(organization_id)
        self.hello_seq = self.last = self.through = seq
        hello = {"type": "hello", "seq": seq, "organization_id": organization_id, "user_id": principal.user_id}
        await self._send(hello)
        metrics.websocket_opened()
        self.counted = True

    async def disconnect(self, code):
        if self.flush_task is not None:
            self.flush_task.cancel()
        if self.counted:
            self.counted = False
            metrics.websocket_closed()

    async def _close(self, code: int) -> None:
        self.principal = None  # frames still queued are ignored
        async with self.sending:
            await self.close(code=code)

    # --- from the organization (channel layer) ---------------------------------------------------------------

    async def inbox_events(self, message):
        """A push's events (messaging.realtime.publish), in order, under the request id they came with. Its frames
        go out together, as one `events` frame when there are several (an inbound message's message.created and
        conversation.updated: half the frames for every socket); status changes wait to be merged (after the frames
        before them are out)."""
        with context.bound(message.get("request_id") or ""):
            await self._forward(message)

    async def _forward(self, message) -> None:
        bundle: list[dict] = []
        for event in message["events"]:
            if self.principal is None:
                return
            seq = event["seq"]
            if seq <= self.hello_seq:  # numbered before hello: the client's REST load after hello shows it
                continue
            data = self._visible(event)
            if data is None:
                self._drop(seq)
                continue
            first = self.last + 1 if seq == self.through + 1 else seq
            self._cover(seq)
            if event["event"] == "message.updated":
                await self._send_frames(bundle)
                bundle = []
                await self._buffer_updates(first, seq, data["messages"])
            else:
                bundle.append({"type": event["event"], "seq": seq, "first_seq": first, "data": data})
        await self._send_frames(bundle)
        if logger.isEnabledFor(logging.DEBUG):
            seqs = [event["seq"] for event in message["events"]]
            logger.debug("socket %s: events %d-%d received", self.channel_name, seqs[0], seqs[-1])

    async def _send_frames(self, frames: list[dict]) -> None:
        """The waiting status changes, then these frames in one websocket message."""
        if not frames:
            return
        async with self.sending:
            await self._flush_updates()
            await self.send_json(frames[0] if len(frames) == 1 else {"type": "events", "events": frames})

    async def inbox_access_changed(self, message):
        if self.principal is None:
            return
        try:
            self.principal, self.number_ids = await database_sync_to_async(_view)(self.principal)
        except ServiceError as error:
            await self._close(4000 + error.status_code)

    async def inbox_member(self, message):
        """A frame for this socket's person alone (messaging.realtime.member_send: notification.created,
        notification.count), sent as is. Only member groups carry it: an API key's socket never joins one."""
        if self.principal is not None and self.principal.api_key_id is None:
            await self._send(message["frame"])

    async def inbox_close(self, message):
        if self.principal is not None:
            await self._close(CLOSE_FORBIDDEN)

    def _visible(self, message) -> dict | None:
        """The event's data with only the items of the numbers this socket sees (None: nothing left, or an event
        its person's role does not hear). An event about no number (ORGANIZATION_WIDE) reaches every socket of the
        roles that hear it; one without its items' numbers only those who see every number."""
        data = message["data"]
        if self.principal.role not in realtime.event_roles(message["event"]):
            return None
        number_ids = message.get("number_ids")
        if self.number_ids is None or number_ids == realtime.ORGANIZATION_WIDE:
            return data
        if number_ids is None or len(data) != 1:
            return None
        [(key, items)] = data.items()
        kept = [item for item, number_id in zip(items, number_ids, strict=True) if number_id in self.number_ids]
        if not kept:
            return None
        return data if len(kept) == len(items) else {key: kept}

    def _cover(self, seq: int) -> None:
        """A frame covers `seq` (sent, or waiting in the updates)."""
        self.last = max(self.last, seq)
        if seq > self.through:
            self.through = seq
            self.dropped = {dropped for dropped in self.dropped if dropped > seq}
            self._advance()

    def _drop(self, seq: int) -> None:
        """Nothing of event `seq` is for this socket: the next frame covers it, unless an event before it is
        missing (then the client must see the gap)."""
        if seq == self.through + 1:
            self.through = seq
            self._advance()
        elif seq > self.through:
            self.dropped.add(seq)

    def _advance(self) -> None:
        while self.through + 1 in self.dropped:
            self.through += 1
            self.dropped.remove(self.through)

    # --- merged status changes -----------------------------------------------------------------------------

    async def _buffer_updates(self, first: int, seq: int, items: list[dict]) -> None:
        if self.updates and first != self.updates_seq + 1:  # a gap, or a late event: not mergeable
            async with self.sending:
                await self._flush_updates()
        if not self.updates:
            self.updates_first = first
        self.updates_seq = seq
        for item in items:
            self.updates[item["id"]] = item
        if self.flush_task is None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, self.flushed_at + settings.INBOX_UPDATE_FLUSH_SECONDS - loop.time())
            self.flush_task = asyncio.ensure_future(self._flush_later(delay))

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.flush_task = None
        async with self.sending:
            await self._flush_updates()

    async def _flush_updates(self) -> None:
        """Send the waiting status changes as one frame. Call holding `sending`."""
        if not self.updates or self.principal is None:
            return
        frame = {
            "type": "message.updated",
            "seq": self.updates_seq,
            "first_seq": self.updates_first,
            "data": {"messages": list(self.updates.values())},
        }
        self.updates = {}
        self.flushed_at = asyncio.get_running_loop().time()
        await self.send_json(frame)

    # --- from the client ---------------------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.principal is None:
            return
        frame = None
        if text_data is not None and len(text_data) <= MAX_FRAME_CHARACTERS:
            with contextlib.suppress(ValueError):
                frame = json.loads(text_data)
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            detail = "A frame is a JSON object with a type (at most 64 KiB of text)."
            await self._error(frame, ServiceError(detail, code="malformed_frame"))
            return
        handler = self.CLIENT_FRAMES.get(frame["type"])
        if handler is None:
            known = ", ".join(sorted(self.CLIENT_FRAMES))
            await self._error(frame, ServiceError(f"Unknown frame type: one of {known}.", code="unknown_type"))
            return
        try:
            await handler(self, frame)
        except ServiceError as error:
            await self._error(frame, error)

    async def _error(self, frame, error: ServiceError) -> None:
        await self._send(
            {
                "type": "error",
                "client_id": _client_id(frame),
                "code": error.code,
                "detail": error.detail,
                "errors": error.errors or {},
            }
        )

    async def _send(self, frame: dict) -> None:
        async with self.sending:
            await self.send_json(frame)

    async def _ping(self, frame) -> None:
        _valid(ClientFrameSerializer, frame)
        await self._send({"type": "pong"})

    async def _join(self, frame) -> None:
        conversation_id = _valid(ConversationFrameSerializer, frame)["conversation_id"]
        if conversation_id not in self.focus and len(self.focus) >= MAX_FOCUS:
            raise ServiceError(f"At most {MAX_FOCUS} conversations in focus: leave one first.", code="too_many")
        self.focus.add(conversation_id)

    async def _leave(self, frame) -> None:
        self.focus.discard(_valid(ConversationFrameSerializer, frame)["conversation_id"])

    async def _read(self, frame) -> None:
        conversation_id = _valid(ConversationFrameSerializer, frame)["conversation_id"]
        await database_sync_to_async(_mark_read)(self.principal, conversation_id)

    async def _send_message(self, frame) -> None:
        data = _valid(MessageSendFrameSerializer, frame)
        message = await database_sync_to_async(_send_message)(self.principal, data["conversation_id"], data["text"])
        await self._send({"type": "message.sent", "client_id": data.get("client_id"), "message": message})

    CLIENT_FRAMES = {
        "ping": _ping,
        "conversation.join": _join,
        "conversation.leave": _leave,
        "conversation.read": _read,
        "message.send": _send_message,
    }


def _valid(serializer_class, frame: dict) -> dict:
    serializer = serializer_class(data=frame)
    if not serializer.is_valid():
        raise invalid_input(serializer.errors)
    return serializer.validated_data


def _client_id(frame) -> str | None:
    """The frame's client_id, to echo in its answer (None when it has none fit to echo)."""
    client_id = frame.get("client_id") if isinstance(frame, dict) else None
    return client_id if isinstance(client_id, str) and len(client_id) <= CLIENT_ID_MAX_LENGTH else None
