"""The live inbox over a websocket, `/ws/inbox/`, and an inbox embed's, `/ws/embed/` (README: "Live inbox websocket"
documents every frame). LiveConsumer holds what they share; InboxConsumer and EmbedConsumer say who the socket is.

An inbox socket authenticates with the browser's session or a one-time ticket (`?ticket=`, POST auth/ws-ticket),
joins its organization's group (messaging.realtime), its own (member or API key) and its session's
(accounts.sessions: a revoked session closes it), says hello with the organization's current sequence number, then
forwards the organization's events, keeping only the items of the numbers its person sees. Each frame says which
sequence numbers it covers (`first_seq`..`seq`), so a client tells a lost event (catch up over REST) from one this
socket dropped on purpose. Status changes (message.updated) are merged per socket and sent at most every
INBOX_UPDATE_FLUSH_SECONDS; any other event sends them first, then goes at once.

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
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.impersonation import READ_ONLY_DETAIL
from accounts.selectors import Principal
from messaging import realtime
from messaging.models import InboxEmbed
from messaging.selectors import embeds as embed_selectors
from messaging.selectors.conversations import conversation_messages, message_reply_ids
from messaging.selectors.live_inbox import inbox_conversation, socket_number_ids
from messaging.serializers.conversations import message_data
from messaging.serializers.embeds import EMBED_EVENT_FIELDS, embed_item_data
from messaging.serializers.live_inbox import (
    CLIENT_ID_MAX_LENGTH,
    ClientFrameSerializer,
    ConversationFrameSerializer,
    MessageSendFrameSerializer,
)
from messaging.services.conversations import conversation_mark_read, message_send
from messaging.services.embeds import embed_reply
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


def _query_value(scope, name: str) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    values = query.get(name)
    return values[0] if values else None


def _authenticate(scope) -> Principal:
    """The socket's principal: the ticket's when one is given (a bad one is refused, never a fallback to the
    session), else the browser session's. ServiceError 401/403."""
    ticket = _query_value(scope, "ticket")
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


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """What the live sockets share (the inbox's, the embeds'): opening (accept, then authenticate: a refusal is a
    close code), the groups, hello, the forwarding of the organization's events with their sequence accounting and
    merged status changes, closing on `inbox.close` and re-reading on `inbox.access_changed`, and the client's
    frames. A subclass says who the socket is (`_open`), reads it again (`_refresh`), what of an event it sees
    (`_visible`) and which client frames it takes (CLIENT_FRAMES)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.active = False  # open and authenticated: frames still queued after a close are ignored
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

    async def _open(self) -> tuple[int, list[str], dict]:
        """Who the socket is, read from its scope: its organization's id, the groups it joins besides the
        organization's, and what its hello says besides the sequence number. ServiceError 401/403 refuses it."""
        raise NotImplementedError

    async def _refresh(self) -> None:
        """Read who the socket is again (access changed); ServiceError when it may no longer act (closes it)."""
        raise NotImplementedError

    async def _prepare(self, events: list[dict]) -> None:
        """Before `_visible` reads these events (a subclass that needs the database for them reads it here)."""

    def _visible(self, event: dict) -> dict | None:
        raise NotImplementedError

    async def connect(self):
        await self.accept()  # refusals are close codes, which a browser can read (a refused handshake is 1006)
        try:
            organization_id, groups, hello = await self._open()
        except ServiceError as error:
            await self.close(code=4000 + error.status_code)
            return
        self.active = True
        for group in (realtime.org_group(organization_id), *groups):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups.append(group)
        # Read after joining: an event numbered after it reaches this socket.
        seq = await database_sync_to_async(realtime.current_sequence)(organization_id)
        self.hello_seq = self.last = self.through = seq
        await self._send({"type": "hello", "seq": seq, **hello})
        metrics.websocket_opened()
        self.counted = True

    async def disconnect(self, code):
        if self.flush_task is not None:
            self.flush_task.cancel()
        if self.counted:
            self.counted = False
            metrics.websocket_closed()

    async def _close(self, code: int) -> None:
        self.active = False  # frames still queued are ignored
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
        if not self.active:
            return
        await self._prepare(message["events"])
        bundle: list[dict] = []
        for event in message["events"]:
            if not self.active:
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
        if not self.active:
            return
        try:
            await self._refresh()
        except ServiceError as error:
            await self._close(4000 + error.status_code)

    async def inbox_member(self, message):
        """A frame for this socket's person alone (messaging.realtime.member_send: notification.created,
        notification.count), sent as is. Only member groups carry it: an API key's socket never joins one."""
        if self.principal is not None and self.principal.api_key_id is None:
            await self._send(message["frame"])

    async def inbox_close(self, message):
        """Its principal may no longer act (suspension, deactivation, a revoked key, session or embed)."""
        if self.active:
            await self._close(CLOSE_FORBIDDEN)

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
        if not self.updates or not self.active:
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
        if not self.active:
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

    CLIENT_FRAMES = {
        "ping": _ping,
        "conversation.join": _join,
        "conversation.leave": _leave,
    }


class InboxConsumer(LiveConsumer):
    """/ws/inbox/: a member's (or an API key's) live inbox."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.principal: Principal | None = None

    async def _open(self) -> tuple[int, list[str], dict]:
        principal, self.number_ids = await database_sync_to_async(_open)(self.scope)
        self.principal = principal
        organization_id = principal.organization.pk
        groups = [
            realtime.api_key_group(principal.api_key_id)
            if principal.api_key_id is not None
            else realtime.member_group(organization_id, principal.user_id)
        ]
        if principal.session_id is not None:  # its sign-in's session: revoking it closes this socket
            groups.append(realtime.session_group(principal.session_id))
        return organization_id, groups, {"organization_id": organization_id, "user_id": principal.user_id}

    async def _refresh(self) -> None:
        self.principal, self.number_ids = await database_sync_to_async(_view)(self.principal)

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

    async def _read(self, frame) -> None:
        conversation_id = _valid(ConversationFrameSerializer, frame)["conversation_id"]
        await database_sync_to_async(_mark_read)(self.principal, conversation_id)

    async def _send_message(self, frame) -> None:
        data = _valid(MessageSendFrameSerializer, frame)
        message = await database_sync_to_async(_send_message)(self.principal, data["conversation_id"], data["text"])
        await self._send({"type": "message.sent", "client_id": data.get("client_id"), "message": message})

    CLIENT_FRAMES = {
        **LiveConsumer.CLIENT_FRAMES,
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


# --- inbox embeds ----------------------------------------------------------------------------------------------


# The inbox's events an embed hears (none of the organization's other pushes: templates, system log, campaigns).
EMBED_EVENTS = frozenset({"message.created", "message.updated", "conversation.updated"})


def _embed_open(token: str) -> tuple[InboxEmbed, frozenset[int], frozenset[int]]:
    """The active embed the token names (ServiceError 401/403) and its scope: (embed, numbers, teams)."""
    embed = embed_selectors.embed_from_token_or_error(token)
    return (embed, *embed_selectors.embed_scope(embed=embed))


def _embed_send(token: str, conversation_id: int, text: str) -> dict:
    """message.send from an embed, as its page's reply form sends (reply mode only: 403 in read only), the message
    as the embed sees it."""
    embed = embed_selectors.embed_from_token_or_error(token)
    conversation = embed_selectors.embed_conversation_list(embed=embed).filter(pk=conversation_id).first()
    if conversation is None:
        raise ServiceError("Conversation not found.", status_code=404, code="not_found")
    message = embed_reply(embed=embed, conversation=conversation, text=text)
    message = conversation_messages(org=embed.organization, conversation=conversation).get(pk=message.pk)
    return embed_item_data("messages", message_data(message, reply_ids={}))


def _embed_conversation_id(kind: str, item: dict) -> int | None:
    return item.get("id") if kind == "conversations" else item.get("conversation_id")


class EmbedConsumer(LiveConsumer):
    """/ws/embed/?token=: an inbox embed's page, live (messaging.views.embeds). The embed's signed token, already in
    the page's address, is the credential (no cookie reaches a third-party frame). It hears only the inbox's events
    of the embed's scope (its numbers, its teams' conversations), each item cut to what the page shows
    (serializers.embeds.EMBED_EVENT_FIELDS); it may send only in reply mode and never marks read. It closes (4403)
    when the embed is revoked or deleted (group `embed.<id>`), when it expires, and when the organization is
    suspended (the organization's `inbox.close`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.token = ""
        self.team_ids: frozenset[int] = frozenset()
        # Of the push being forwarded: its conversations in scope through their team (_prepare).
        self.team_conversations: set[int] = set()
        self.expiry: asyncio.Task | None = None  # closes the socket as the embed expires

    async def _open(self) -> tuple[int, list[str], dict]:
        self.token = _query_value(self.scope, "token") or ""
        embed = await self._read_embed()
        hello = {"embed_id": embed.pk, "mode": embed.mode}
        return embed.organization_id, [realtime.embed_group(embed.pk)], hello

    async def _refresh(self) -> None:
        await self._read_embed()

    async def _read_embed(self) -> InboxEmbed:
        embed, self.number_ids, self.team_ids = await database_sync_to_async(_embed_open)(self.token)
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        if embed.expires_at is not None:
            delay = max(0.0, (embed.expires_at - timezone.now()).total_seconds())
            self.expiry = asyncio.ensure_future(self._expire_after(delay))
        return embed

    async def _expire_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.expiry = None
        await self.inbox_close({})

    async def disconnect(self, code):
        if self.expiry is not None:
            self.expiry.cancel()
        await super().disconnect(code)

    async def _prepare(self, events: list[dict]) -> None:
        """The conversations of this push in scope through their team only (not their number): conversation items
        say their team; the others are read in one query."""
        self.team_conversations = set()
        if not self.team_ids:
            return
        unknown: set[int] = set()
        for event in events:
            if event["event"] not in EMBED_EVENTS or not isinstance(event.get("number_ids"), list):
                continue
            for kind, items in event["data"].items():
                for item, number_id in zip(items, event["number_ids"], strict=False):
                    if number_id in self.number_ids:
                        continue
                    if kind == "conversations" and item.get("team") in self.team_ids:
                        self.team_conversations.add(item["id"])
                    elif kind == "messages":
                        unknown.add(item.get("conversation_id"))
        unknown -= self.team_conversations
        if unknown:
            self.team_conversations |= await database_sync_to_async(self._team_conversation_ids)(unknown)

    def _team_conversation_ids(self, conversation_ids: set[int]) -> set[int]:
        embed = embed_selectors.embed_from_token(self.token)
        if embed is None:  # ended: the close is on its way
            return set()
        return embed_selectors.embed_team_conversation_ids(
            embed=embed, team_ids=self.team_ids, conversation_ids=conversation_ids
        )

    def _visible(self, event: dict) -> dict | None:
        """The event's items of the embed's scope, as the embed sees them (None: nothing left, or not an inbox
        event)."""
        number_ids = event.get("number_ids")
        data = event["data"]
        if event["event"] not in EMBED_EVENTS or not isinstance(number_ids, list) or len(data) != 1:
            return None
        [(kind, items)] = data.items()
        if kind not in EMBED_EVENT_FIELDS:
            return None
        kept = [
            embed_item_data(kind, item)
            for item, number_id in zip(items, number_ids, strict=True)
            if number_id in self.number_ids or _embed_conversation_id(kind, item) in self.team_conversations
        ]
        return {kind: kept} if kept else None

    async def _read(self, frame) -> None:
        _valid(ConversationFrameSerializer, frame)
        raise ServiceError("An embed does not mark conversations read.", status_code=403, code="permission_denied")

    async def _send_message(self, frame) -> None:
        data = _valid(MessageSendFrameSerializer, frame)
        message = await database_sync_to_async(_embed_send)(self.token, data["conversation_id"], data["text"])
        await self._send({"type": "message.sent", "client_id": data.get("client_id"), "message": message})

    CLIENT_FRAMES = {
        **LiveConsumer.CLIENT_FRAMES,
        "conversation.read": _read,
        "message.send": _send_message,
    }
