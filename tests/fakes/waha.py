"""A fake WAHA (WhatsApp HTTP API, devlikeapro/waha) on 127.0.0.1.

Speaks WAHA's documented formats (reference §7): `X-Api-Key` auth with its 401 body, the sessions API (PUT
replaces a session's whole config and restarts it unless STOPPED) and the STOPPED → STARTING → SCAN_QR_CODE →
WORKING (+FAILED) state machine, QR (PNG / JSON base64 / raw) and pairing code, the send endpoints (201 + an
engine-style body), WAHA's 422 "session status is not as expected", NestJS 404 and unhandled 500 bodies (scripted
with `fail_next`), and `session.status` / `message` / `message.ack` webhooks with `X-Webhook-*` headers and optional
HMAC-SHA512. Deterministic: state moves when a test calls a helper (`scan_qr`), webhooks go out on
`deliver_webhooks()`.

Standalone: `python -m tests.fakes.waha --port 3001 [--api-key K --webhook-url URL --hmac-key H]`
(`--working-session default` creates a WORKING session for demos).
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import mimetypes
import os
import re
import secrets
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from tests.fakes.server import FakeServer, Request, Response, Webhook, WebhookTarget, json_response, waha_hmac

WAHA_VERSION = "2024.10.8"
STOPPED, STARTING, SCAN_QR_CODE, WORKING, FAILED = "STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED"
ACK_NAMES = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}
NOT_WORKING_ERROR = "Session status is not as expected. Try again later or restart the session"
SEND_ENDPOINTS = ("sendText", "sendImage", "sendFile", "sendVoice", "sendVideo", "sendLocation", "sendSeen")
DEFAULT_ME_PHONE = "79111111111"


def _png(size: int = 21) -> bytes:
    """A tiny valid grayscale PNG (a checkerboard standing in for a QR code)."""
    rows = b"".join(b"\x00" + bytes(0 if (x + y) % 2 else 255 for x in range(size)) for y in range(size))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


QR_PNG = _png()
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def ulid(ms: int | None = None) -> str:
    """A lower-case ULID, the form WAHA uses for event ids (`evt_<ulid>`)."""
    ms = int(time.time() * 1000) if ms is None else ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def chat_id(phone_or_chat: str) -> str:
    """`16505551234` / `+1 650…` → `16505551234@c.us`; a chat id (anything with `@`) is kept."""
    if "@" in phone_or_chat:
        return phone_or_chat.replace("@s.whatsapp.net", "@c.us")
    return re.sub(r"\D", "", phone_or_chat) + "@c.us"


def nest_error(status: int, message: str | list[str], error: str) -> Response:
    return json_response(status, {"statusCode": status, "message": message, "error": error})


def not_found(session: str) -> Response:
    return nest_error(
        404,
        f"We didn't find a session with name '{session}'. Please start it first by using "
        f"POST /api/sessions/{session}/start request",
        "Not Found",
    )


def not_working(session: WahaSession, expected: tuple[str, ...] = (WORKING,)) -> Response:
    return json_response(
        422, {"error": NOT_WORKING_ERROR, "session": session.name, "status": session.status, "expected": list(expected)}
    )


@dataclass
class WahaSession:
    name: str
    config: dict | None = None
    status: str = STOPPED
    authenticated: bool = False
    me: dict | None = None
    history: list[dict] = field(default_factory=list)
    qr_value: str = ""
    pairing_phone: str | None = None

    def dto(self, engine: str) -> dict:
        return {
            "name": self.name,
            "status": self.status,
            "config": copy.deepcopy(self.config),
            "me": copy.deepcopy(self.me),
            "engine": {"engine": engine},
        }


@dataclass
class SentWahaMessage:
    id: str  # serialized: true_<chatId>_<id>
    session: str
    chat_id: str
    endpoint: str
    body: dict
    at: float


class FakeWahaServer(FakeServer):
    """The fake WAHA. Sessions are created through the API, or directly with `add_session()` in tests."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = "test-waha-key",
        engine: str = "WEBJS",
        webhook_url: WebhookTarget | None = None,
        hmac_key: str | None = None,
        webhook_events: tuple[str, ...] = ("*",),
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key  # None: no auth (WAHA without WAHA_API_KEY)
        self.engine = engine  # WEBJS | NOWEB | GOWS: picks the shape of send responses
        self.webhook_url = webhook_url  # global webhook (WHATSAPP_HOOK_URL), in addition to session webhooks
        self.hmac_key = hmac_key
        self.webhook_events = webhook_events
        self.auto_advance = True  # start → STARTING → SCAN_QR_CODE (or WORKING when already paired) at once
        self.auto_acks: tuple[int, ...] = (1, 2, 3)
        self.empty_send_body = False  # some 2025.6 WEBJS builds answered 201 with an empty body
        self.pairing_code = "ABCD-ABCD"
        self._init_state()

    def _init_state(self) -> None:
        self.sessions: dict[str, WahaSession] = {}
        self.sent: dict[str, SentWahaMessage] = {}
        self.files: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.events: list[dict] = []  # every event emitted, delivered or not
        self._failures: list[list] = []  # [status, times left, method or None], from fail_next()

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._init_state()

    @property
    def base_url(self) -> str:
        """What the hub is configured with (`WAHA_URL`)."""
        return self.url

    # --- session helpers (tests drive the state machine) -----------------------------------------------

    def add_session(
        self,
        name: str = "default",
        *,
        status: str = WORKING,
        config: dict | None = None,
        phone: str = DEFAULT_ME_PHONE,
        push_name: str = "WAHA",
    ) -> WahaSession:
        """Create a session directly in `status` (no webhooks): the quick way to a WORKING session for send tests."""
        session = WahaSession(name=name, config=config, status=status)
        if status == WORKING:
            session.authenticated = True
            session.me = {"id": f"{phone}@c.us", "pushName": push_name}
        if status == SCAN_QR_CODE:
            session.qr_value = self._qr_value()
        session.history.append({"status": status, "timestamp": self._ms()})
        with self.lock:
            self.sessions[name] = session
        return session

    def session(self, name: str = "default") -> WahaSession:
        return self.sessions[name]

    def fail_next(self, status: int = 500, *, times: int = 1, method: str | None = None) -> None:
        """Answer the next `times` authenticated API requests (of `method`, else any) with WAHA's error body for
        `status` (500: its unhandled-error body; else NestJS's), doing nothing else."""
        with self.lock:
            self._failures.append([status, times, method])

    def _scripted_failure(self, request: Request) -> Response | None:
        with self.lock:
            for failure in self._failures:
                status, times, method = failure
                if method is None or method == request.method:
                    if times <= 1:
                        self._failures.remove(failure)
                    else:
                        failure[1] = times - 1
                    break
            else:
                return None
        if status != 500:
            phrase = HTTPStatus(status).phrase
            return nest_error(status, phrase, phrase)
        return json_response(
            500,
            {
                "statusCode": 500,
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "exception": {"message": "Scripted failure of the fake WAHA", "name": "Error"},
                "request": {"path": request.path, "method": request.method, "query": request.query},
                "version": {"version": WAHA_VERSION, "engine": self.engine, "tier": "CORE"},
            },
        )

    def scan_qr(self, name: str = "default", *, phone: str = DEFAULT_ME_PHONE, push_name: str = "WAHA") -> None:
        """The user scans the QR (or enters the pairing code): SCAN_QR_CODE → WORKING, with a webhook."""
        session = self.sessions[name]
        if session.status != SCAN_QR_CODE:
            raise AssertionError(f"session {name!r} is {session.status}, not SCAN_QR_CODE")
        session.authenticated = True
        session.me = {"id": f"{phone}@c.us", "pushName": push_name}
        self._set_status(session, WORKING)

    enter_pairing_code = scan_qr

    def rotate_qr(self, name: str = "default") -> str:
        """The QR changes: a new value and another SCAN_QR_CODE event (as WAHA issues on every QR update)."""
        session = self.sessions[name]
        session.qr_value = self._qr_value()
        self._set_status(session, SCAN_QR_CODE)
        return session.qr_value

    def fail_session(self, name: str = "default") -> None:
        self._set_status(self.sessions[name], FAILED)

    def set_session_status(self, name: str, status: str) -> None:
        """Force any status (with its webhook)."""
        self._set_status(self.sessions[name], status)

    def advance_session(self, name: str = "default") -> None:
        """With `auto_advance = False`: STARTING → SCAN_QR_CODE (or WORKING if the session is already paired)."""
        session = self.sessions[name]
        if session.status == STARTING:
            if session.authenticated:
                self._set_status(session, WORKING)
            else:
                session.qr_value = self._qr_value()
                self._set_status(session, SCAN_QR_CODE)

    def _boot(self, session: WahaSession) -> dict:
        """STARTING (then on at once with auto_advance); returns the DTO as WAHA answers it: still STARTING."""
        self._set_status(session, STARTING)
        dto = session.dto(self.engine)
        if self.auto_advance:
            self.advance_session(session.name)
        return dto

    def _set_status(self, session: WahaSession, status: str) -> None:
        session.status = status
        session.history.append({"status": status, "timestamp": self._ms()})
        payload = {"status": status, "statuses": session.history[-3:], "data": None}
        self.emit(session, "session.status", payload)

    @staticmethod
    def _qr_value() -> str:
        return "2@" + base64.b64encode(secrets.token_bytes(24)).decode() + ",WAHA-FAKE"

    def _ms(self) -> int:
        return int(self.clock.now() * 1000)

    # --- events ---------------------------------------------------------------------------------------

    def envelope(self, session: WahaSession, event: str, payload: dict) -> dict:
        """WAHA's webhook envelope, with an `evt_<ulid>` id (the idempotency key)."""
        ms = self._ms()
        return {
            "id": f"evt_{ulid(ms)}",
            "timestamp": ms,
            "event": event,
            "session": session.name,
            "metadata": copy.deepcopy((session.config or {}).get("metadata") or {}),
            "me": copy.deepcopy(session.me),
            "payload": payload,
            "engine": self.engine,
            "environment": {"version": WAHA_VERSION, "engine": self.engine, "tier": "CORE", "browser": None},
        }

    def emit(self, session: WahaSession, event: str, payload: dict) -> dict:
        """Queue `event` for every webhook that wants it: the session's `config.webhooks` and the global one."""
        envelope = self.envelope(session, event, payload)
        with self.lock:
            self.events.append(envelope)
        targets = [
            hook
            for hook in (session.config or {}).get("webhooks") or []
            if hook.get("url") and _wants(hook.get("events") or ["*"], event)
        ]
        for hook in targets:
            secret = (hook.get("hmac") or {}).get("key")
            self.queue_webhook(copy.deepcopy(envelope), target=hook["url"], secret=secret)
        if (self.webhook_url is not None or not targets) and _wants(self.webhook_events, event):
            self.queue_webhook(envelope)
        return envelope

    def send_inbound(
        self,
        from_: str,
        body: str = "",
        *,
        session: str = "default",
        media: bytes | None = None,
        mimetype: str | None = None,
        filename: str | None = None,
        reply_to: str | None = None,
        push_name: str = "Test User",
        timestamp: float | None = None,
    ) -> dict:
        """A user sends a message to a WORKING session: queue a `message` event and return its payload.

        With `media`, the file is served at `payload.media.url` (`/api/files/<session>/<id>.<ext>`, X-Api-Key).
        """
        sess = self.sessions[session]
        if sess.status != WORKING:
            raise AssertionError(f"session {session!r} is {sess.status}: it cannot receive messages")
        chat = chat_id(from_)
        raw_id = secrets.token_hex(16).upper()
        message_id = f"false_{chat}_{raw_id}"
        ts = int(self.clock.now() if timestamp is None else timestamp)
        media_obj = None
        if media is not None:
            mimetype = mimetype or "application/octet-stream"
            ext = (mimetypes.guess_extension(mimetype.split(";")[0]) or ".bin").lstrip(".")
            name = f"{raw_id}.{ext}"
            with self.lock:
                self.files[(session, name)] = (media, mimetype)
            media_obj = {
                "url": f"{self.url}/api/files/{session}/{name}",
                "mimetype": mimetype,
                "filename": filename,
                "error": None,
            }
        payload: dict[str, Any] = {
            "id": message_id,
            "timestamp": ts,
            "from": chat,
            "fromMe": False,
            "source": "app",
            "to": (sess.me or {}).get("id"),
            "body": body,
            "hasMedia": media is not None,
            "media": media_obj,
            "ack": 1,
            "ackName": ACK_NAMES[1],
            "vCards": [],
            "replyTo": {"id": reply_to, "participant": None, "body": None} if reply_to else None,
            "_data": self._raw_data(chat, raw_id, from_me=False, body=body, ts=ts, push_name=push_name),
        }
        self.emit(sess, "message", payload)
        return payload

    def queue_ack(self, message_id: str, ack: int) -> dict:
        """Queue one `message.ack` for a message this fake sent (acks only move up; a test may break that)."""
        sent = self.sent[message_id]
        payload = {
            "id": sent.id,
            "from": sent.chat_id,
            "to": sent.chat_id,
            "participant": None,
            "fromMe": True,
            "ack": ack,
            "ackName": ACK_NAMES[ack],
        }
        return self.emit(self.sessions[sent.session], "message.ack", payload)

    def _raw_data(self, chat: str, raw_id: str, *, from_me: bool, body: str, ts: int, push_name: str) -> dict:
        if self.engine == "NOWEB":
            return {
                "key": {"remoteJid": chat.replace("@c.us", "@s.whatsapp.net"), "fromMe": from_me, "id": raw_id},
                "pushName": push_name,
                "messageTimestamp": ts,
                "message": {"conversation": body},
            }
        serialized = f"{'true' if from_me else 'false'}_{chat}_{raw_id}"
        return {
            "id": {"fromMe": from_me, "remote": chat, "id": raw_id, "_serialized": serialized},
            "body": body,
            "type": "chat",
            "t": ts,
            "notifyName": push_name,
        }

    def _prepare_webhook(self, webhook: Webhook) -> tuple[WebhookTarget, bytes, dict[str, str]]:
        target = webhook.target or self.webhook_url
        if target is None:
            raise RuntimeError("FakeWahaServer.webhook_url is not set and the session has no webhooks")
        key = webhook.secret if webhook.target else self.hmac_key
        # Node's JSON.stringify: compact, non-ASCII as is.
        body = json.dumps(webhook.payload, ensure_ascii=False, separators=(",", ":")).encode()
        request_id = webhook.meta.setdefault("request_id", ulid())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"WAHA/{WAHA_VERSION}",
            "X-Webhook-Request-Id": request_id,
            "X-Webhook-Timestamp": str(self._ms()),
        }
        if key:
            headers["X-Webhook-Hmac"] = waha_hmac(body, key)
            headers["X-Webhook-Hmac-Algorithm"] = "sha512"
        return target, body, headers

    # --- inspection -----------------------------------------------------------------------------------

    def sends(self, endpoint: str | None = None, *, chat_id: str | None = None) -> list[dict]:
        """JSON bodies received by the send endpoints (and PUT /api/reaction), oldest first."""
        found = []
        for r in self.find_requests():
            name = r.path.removeprefix("/api/")
            if name not in (*SEND_ENDPOINTS, "reaction") or not isinstance(r.json, dict):
                continue
            if (endpoint is None or name == endpoint) and (chat_id is None or r.json.get("chatId") == chat_id):
                found.append(r.json)
        return found

    # --- HTTP -----------------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.path.startswith("/_fake/"):
            return self._control(request)
        if request.path in ("/ping", "/health"):
            return json_response(200, {"message": "pong"})
        if self.api_key is not None:
            given = request.headers.get("X-Api-Key") or request.query.get("x-api-key")
            if not given or not secrets.compare_digest(given, self.api_key):
                return json_response(401, {"message": "Unauthorized", "statusCode": 401})
        failure = self._scripted_failure(request)
        if failure is not None:
            return failure
        parts = [p for p in request.path.split("/") if p]
        if not parts or parts[0] != "api":
            return self._no_route(request)
        parts = parts[1:]
        method = request.method
        if parts == ["sessions"]:
            if method == "GET":
                return self._list_sessions(request)
            if method == "POST":
                return self._create_session(request)
        if len(parts) >= 2 and parts[0] == "sessions":
            return self._session_route(request, parts[1], parts[2:])
        if len(parts) == 3 and parts[1] == "auth":
            if parts[2] == "qr" and method == "GET":
                return self._qr(request, parts[0])
            if parts[2] == "request-code" and method == "POST":
                return self._request_code(request, parts[0])
        if len(parts) == 1 and parts[0] in SEND_ENDPOINTS and method == "POST":
            return self._send(request, parts[0])
        if parts == ["reaction"] and method == "PUT":
            return self._send(request, "reaction")
        if len(parts) == 3 and parts[0] == "files" and method == "GET":
            stored = self.files.get((parts[1], parts[2]))
            if stored is None:
                return nest_error(404, "File not found", "Not Found")
            return Response(200, stored[0], stored[1])
        return self._no_route(request)

    @staticmethod
    def _no_route(request: Request) -> Response:
        return nest_error(404, f"Cannot {request.method} {request.path}", "Not Found")

    def _list_sessions(self, request: Request) -> Response:
        show_all = request.query.get("all", "").lower() == "true"
        with self.lock:
            items = [s.dto(self.engine) for s in self.sessions.values() if show_all or s.status != STOPPED]
        return json_response(200, items)

    def _create_session(self, request: Request) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        name = body.get("name") or f"session_{secrets.randbelow(10**9):09d}"
        with self.lock:
            if name in self.sessions:
                return nest_error(
                    422, f"Session '{name}' already exists. Use PUT to update it.", "Unprocessable Entity"
                )
            session = WahaSession(name=name, config=body.get("config"))
            session.history.append({"status": STOPPED, "timestamp": self._ms()})
            self.sessions[name] = session
        dto = self._boot(session) if body.get("start", True) else session.dto(self.engine)
        return json_response(201, dto)

    def _session_route(self, request: Request, name: str, rest: list[str]) -> Response:
        method = request.method
        session = self.sessions.get(name)
        if method == "DELETE" and not rest:
            with self.lock:
                self.sessions.pop(name, None)
            return Response(200, b"", "text/plain")
        if session is None:
            return not_found(name)
        if not rest and method == "GET":
            return json_response(200, session.dto(self.engine))
        if not rest and method == "PUT":
            body = request.json if isinstance(request.json, dict) else {}
            session.config = body.get("config")
            dto = self._boot(session) if session.status != STOPPED else session.dto(self.engine)
            return json_response(200, dto)
        if rest == ["me"] and method == "GET":
            return json_response(200, session.me)
        if len(rest) == 1 and method == "POST":
            action = rest[0]
            dto = None
            if action == "start":
                if session.status in (STOPPED, FAILED):
                    dto = self._boot(session)
            elif action == "stop":
                if session.status != STOPPED:
                    self._set_status(session, STOPPED)
            elif action == "restart":
                dto = self._boot(session)
            elif action == "logout":
                session.authenticated, session.me = False, None
                if session.status != STOPPED:
                    dto = self._boot(session)
            else:
                return self._no_route(request)
            return json_response(201, dto or session.dto(self.engine))
        return self._no_route(request)

    def _qr(self, request: Request, name: str) -> Response:
        session = self.sessions.get(name)
        if session is None:
            return not_found(name)
        if session.status != SCAN_QR_CODE:
            return not_working(session, (SCAN_QR_CODE,))
        if request.query.get("format") == "raw":
            return json_response(200, {"value": session.qr_value})
        accept = request.headers.get("Accept", "")
        if "application/json" in accept and request.query.get("format") != "image":
            return json_response(200, {"mimetype": "image/png", "data": base64.b64encode(QR_PNG).decode()})
        return Response(200, QR_PNG, "image/png")

    def _request_code(self, request: Request, name: str) -> Response:
        session = self.sessions.get(name)
        if session is None:
            return not_found(name)
        body = request.json if isinstance(request.json, dict) else {}
        phone = body.get("phoneNumber")
        if not isinstance(phone, str) or not phone:
            return nest_error(400, ["phoneNumber must be a string"], "Bad Request")
        if session.status != SCAN_QR_CODE:
            return not_working(session, (SCAN_QR_CODE,))
        session.pairing_phone = phone
        return json_response(201, {"code": self.pairing_code})

    def _send(self, request: Request, endpoint: str) -> Response:
        body = request.json
        if not isinstance(body, dict):
            return nest_error(400, ["body must be a JSON object"], "Bad Request")
        problems = _validate_send(endpoint, body)
        if problems:
            return nest_error(400, problems, "Bad Request")
        name = body.get("session") or "default"
        session = self.sessions.get(name)
        if session is None:
            return not_found(name)
        if session.status != WORKING:
            return not_working(session)
        if endpoint == "reaction":
            return json_response(200, {})
        if endpoint == "sendSeen":
            return json_response(201, {})
        chat = body["chatId"]
        raw_id = "3EB0" + secrets.token_hex(9).upper()
        serialized = f"true_{chat}_{raw_id}"
        now = self.clock.now()
        with self.lock:
            self.sent[serialized] = SentWahaMessage(serialized, name, chat, endpoint, body, now)
        for ack in self.auto_acks:
            self.queue_ack(serialized, ack)
        if self.empty_send_body:
            return Response(201, b"", "application/json")
        return json_response(201, self._send_response(session, endpoint, body, raw_id, int(now)))

    def _send_response(self, session: WahaSession, endpoint: str, body: dict, raw_id: str, ts: int) -> dict:
        chat = body["chatId"]
        text = body.get("text") or body.get("caption") or ""
        if self.engine == "NOWEB":
            content = (
                {"extendedTextMessage": {"text": text}} if endpoint == "sendText" else {endpoint: {"caption": text}}
            )
            return {
                "key": {"remoteJid": chat.replace("@c.us", "@s.whatsapp.net"), "fromMe": True, "id": raw_id},
                "message": content,
                "messageTimestamp": str(ts),
                "status": "PENDING",
            }
        serialized = f"true_{chat}_{raw_id}"
        if self.engine == "GOWS":
            return {"id": serialized, "timestamp": ts, "from": (session.me or {}).get("id"), "to": chat, "body": text}
        ident = {"fromMe": True, "remote": chat, "id": raw_id, "_serialized": serialized}
        kind = {"sendText": "chat", "sendImage": "image", "sendVideo": "video", "sendVoice": "ptt"}.get(
            endpoint, "document"
        )
        if endpoint == "sendLocation":
            kind = "location"
        return {
            "_data": {
                "id": ident,
                "body": text,
                "type": kind,
                "t": ts,
                "ack": 0,
                "from": (session.me or {}).get("id"),
                "to": chat,
            },
            "id": ident,
            "ack": 0,
            "hasMedia": endpoint in ("sendImage", "sendFile", "sendVoice", "sendVideo"),
            "body": text,
            "type": kind,
            "timestamp": ts,
            "from": (session.me or {}).get("id"),
            "to": chat,
            "fromMe": True,
        }

    # --- control API (standalone mode) ---------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_fake/").strip("/")
        body = request.json if isinstance(request.json, dict) else {}
        try:
            if action == "inbound" and request.method == "POST":
                payload = self.send_inbound(body["from"], body.get("body", ""), session=body.get("session", "default"))
                return json_response(200, payload)
            if action == "scan" and request.method == "POST":
                self.scan_qr(body.get("session", "default"))
                return json_response(200, self.sessions[body.get("session", "default")].dto(self.engine))
            if action == "deliver" and request.method == "POST":
                return json_response(200, {"statuses": [r.status_code for r in self.deliver_webhooks()]})
            if action == "reset" and request.method == "POST":
                self.reset()
                return json_response(200, {"success": True})
            if action == "stats":
                return json_response(
                    200,
                    {"requests": len(self.requests), "sends": len(self.sent), "pending_webhooks": len(self.pending)},
                )
        except (KeyError, AssertionError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(404, {"error": "unknown control action"})


def _wants(events: Any, event: str) -> bool:
    return "*" in events or event in events


def _validate_send(endpoint: str, body: dict) -> list[str]:
    """class-validator style messages, as WAHA's NestJS ValidationPipe gives them."""
    problems = []
    if endpoint == "reaction":
        if not isinstance(body.get("messageId"), str) or not body.get("messageId"):
            problems.append("messageId must be a string")
        if not isinstance(body.get("reaction"), str):
            problems.append("reaction must be a string")
        return problems
    if not isinstance(body.get("chatId"), str) or "@" not in body.get("chatId", ""):
        problems.append("chatId must be a string like 11111111111@c.us")
    if endpoint == "sendText" and not isinstance(body.get("text"), str):
        problems.append("text must be a string")
    if endpoint in ("sendImage", "sendFile", "sendVoice", "sendVideo"):
        file = body.get("file")
        if not isinstance(file, dict) or not (file.get("url") or file.get("data")):
            problems.append("file must have url or data")
    if endpoint == "sendLocation":
        for key in ("latitude", "longitude"):
            if not isinstance(body.get(key), int | float):
                problems.append(f"{key} must be a number")
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake WAHA (WhatsApp HTTP API) for demos and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--api-key", default="test-waha-key", help="required X-Api-Key ('' disables the check)")
    parser.add_argument("--engine", default="WEBJS", choices=("WEBJS", "NOWEB", "GOWS"))
    parser.add_argument("--webhook-url", help="global webhook URL (events are delivered from a thread)")
    parser.add_argument("--hmac-key", help="sign webhooks with HMAC-SHA512")
    parser.add_argument("--working-session", action="append", default=[], help="create this session WORKING")
    args = parser.parse_args(argv)
    fake = FakeWahaServer(
        host=args.host,
        port=args.port,
        api_key=args.api_key or None,
        engine=args.engine,
        webhook_url=args.webhook_url,
        hmac_key=args.hmac_key,
    )
    for name in args.working_session:
        fake.add_session(name)
    fake.start()
    if args.webhook_url:
        fake.start_auto_delivery()
    print(f"Fake WAHA on {fake.base_url} (WAHA_URL); control API under {fake.url}/_fake/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
