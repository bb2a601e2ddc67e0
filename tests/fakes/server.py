"""Plumbing shared by the fake servers: a threaded HTTP server on 127.0.0.1, a settable clock, a webhook outbox.

No Django here: the fakes also run standalone (`python -m tests.fakes.meta --port 8081`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

# --- signatures -------------------------------------------------------------------------------------


def meta_signature(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header value Meta sends: `sha256=<lowercase hex HMAC-SHA256 of the raw body>`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def waha_hmac(body: bytes, key: str) -> str:
    """The `X-Webhook-Hmac` header value WAHA sends: hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


# --- requests and responses -----------------------------------------------------------------------------


@dataclass
class Request:
    """One HTTP request a fake received (everything a test may want to assert on)."""

    method: str
    path: str
    query: dict[str, str]
    headers: CaseInsensitiveDict
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    at: float = 0.0  # the fake's clock when it arrived


@dataclass
class UploadedFile:
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), "application/json; charset=utf-8", headers or {})


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split a multipart/form-data body into plain fields and files (enough for what requests sends)."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return {}, {}
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, _, data = chunk.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            files[name] = UploadedFile(disposition["filename"], headers.get("content-type"), data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


def _header_params(value: str) -> dict[str, str]:
    params = {}
    for part in value.split(";")[1:]:
        key, _, val = part.strip().partition("=")
        params[key.lower()] = val.strip('"')
    return params


# --- clock ------------------------------------------------------------------------------------------


class FakeClock:
    """Wall-clock time unless a test sets it; `advance()` moves it either way."""

    def __init__(self) -> None:
        self._frozen: float | None = None
        self._offset = 0.0

    def now(self) -> float:
        return self._frozen if self._frozen is not None else time.time() + self._offset

    def set(self, when: float | datetime) -> None:
        """Freeze the clock at `when` (unix seconds or an aware datetime)."""
        self._frozen = when.timestamp() if isinstance(when, datetime) else float(when)

    def advance(self, seconds: float) -> None:
        if self._frozen is not None:
            self._frozen += seconds
        else:
            self._offset += seconds

    def reset(self) -> None:
        self._frozen, self._offset = None, 0.0


# --- webhook outbox ---------------------------------------------------------------------------------

WebhookTarget = str | Callable[[bytes, dict[str, str]], Any]


@dataclass
class Webhook:
    """A webhook waiting to be delivered. `payload` may be edited by a test before delivery."""

    payload: dict
    target: WebhookTarget | None = None  # None: the fake's default target
    secret: str | None = None  # per-target signing key (WAHA session webhooks)
    attempts: int = 0
    next_attempt: float = 0.0
    meta: dict = field(default_factory=dict)


@dataclass
class Delivery:
    """One webhook POST the fake made, kept for assertions."""

    target: str
    body: bytes
    headers: dict[str, str]
    status_code: int | None
    error: str | None = None

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


def django_client_target(client: Any, path: str) -> Callable[[bytes, dict[str, str]], Any]:
    """A webhook target that posts into a Django test client (no live server needed).

    `fake_meta.webhook_url = django_client_target(client, "/webhooks/meta/<org>/")`
    """

    def post(body: bytes, headers: dict[str, str]) -> Any:
        extra = {
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in headers.items()
            if name.lower() not in ("content-type", "content-length")
        }
        return client.post(path, data=body, content_type=headers.get("Content-Type", "application/json"), **extra)

    return post


# --- the server ---------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up before its answer (a worker killed mid-request) is no error of the server.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a pooled client does not reconnect per request
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, 40 ms delayed-ACK stalls
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        headers = CaseInsensitiveDict(self.headers.items())
        request = Request(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=headers,
            body=body,
        )
        content_type = headers.get("Content-Type", "")
        if body and "json" in content_type:
            with contextlib.suppress(ValueError):
                request.json = json.loads(body)
        elif body and content_type.startswith("multipart/form-data"):
            request.form, request.files = parse_multipart(body, content_type)
        elif body and content_type.startswith("application/x-www-form-urlencoded"):
            request.form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        try:
            response = self.server.fake.handle(request)
        except Exception as exc:  # a bug in the fake: say so loudly instead of hanging the client
            response = json_response(500, {"fake_server_error": repr(exc)})
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch


class FakeServer:
    """A real HTTP server on 127.0.0.1 (port 0 = ephemeral) in a background thread.

    Subclasses implement `route(request) -> Response` and `_prepare_webhook(webhook)`. Everything received is in
    `self.requests`; webhooks queue in `self.pending` and go out when a test calls `deliver_webhooks()`.
    """

    user_agent = "fake"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.clock = FakeClock()
        self.lock = threading.RLock()
        self.webhook_url: WebhookTarget | None = None
        self.requests: list[Request] = []
        self.pending: list[Webhook] = []
        self.deliveries: list[Delivery] = []
        self.max_webhook_attempts = 10
        self._delays: list[tuple[float, int, str | None]] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._auto_thread: threading.Thread | None = None
        self._auto_stop = threading.Event()
        self._http = requests.Session()

    # lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> FakeServer:
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.fake = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._auto_stop.set()
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._httpd.connections_lock:
            for conn in list(self._httpd.open_connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._httpd = None
        self._http.close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Scheme, host and port, no trailing slash."""
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every request, pending webhook, delivery and scripted behaviour; the clock runs free again."""
        with self.lock:
            self.requests.clear()
            self.pending.clear()
            self.deliveries.clear()
            self._delays.clear()
            self.clock.reset()

    # requests ----------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        request.at = self.clock.now()
        if not request.path.startswith("/_fake/"):
            with self.lock:
                self.requests.append(request)
                delay = self._take_delay(request)
            if delay:
                time.sleep(delay)
        return self.route(request)

    def route(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def delay_next(self, seconds: float, *, times: int = 1, path_contains: str | None = None) -> None:
        """Answer the next `times` requests (whose path contains `path_contains`) only after `seconds` (real time)."""
        with self.lock:
            self._delays.append((seconds, times, path_contains))

    def _take_delay(self, request: Request) -> float:
        for index, (seconds, times, needle) in enumerate(self._delays):
            if needle is None or needle in request.path:
                if times <= 1:
                    del self._delays[index]
                else:
                    self._delays[index] = (seconds, times - 1, needle)
                return seconds
        return 0.0

    def find_requests(
        self, *, method: str | None = None, path: str | None = None, path_endswith: str | None = None
    ) -> list[Request]:
        """Requests received, filtered by exact method/path or path suffix, oldest first."""
        with self.lock:
            found = list(self.requests)
        return [
            r
            for r in found
            if (method is None or r.method == method)
            and (path is None or r.path == path)
            and (path_endswith is None or r.path.endswith(path_endswith))
        ]

    # webhooks ----------------------------------------------------------------------------------------

    def queue_webhook(
        self, payload: dict, *, target: WebhookTarget | None = None, secret: str | None = None
    ) -> Webhook:
        """Queue a raw payload exactly as given (for shapes the helpers do not build)."""
        webhook = Webhook(payload=payload, target=target, secret=secret)
        with self.lock:
            self.pending.append(webhook)
        return webhook

    @property
    def pending_payloads(self) -> list[dict]:
        with self.lock:
            return [w.payload for w in self.pending]

    def _prepare_webhook(self, webhook: Webhook) -> tuple[WebhookTarget, bytes, dict[str, str]]:
        raise NotImplementedError  # pragma: no cover

    def _merge_batch(self, webhooks: list[Webhook]) -> list[Webhook]:
        return webhooks

    def deliver_webhooks(self, *, batch: bool = False, duplicate: bool = False, reverse: bool = False) -> list[Any]:
        """POST every pending webhook now, in queue order, and return the responses (one per POST).

        batch: merge what can share one POST (Meta: messages and statuses of one number); duplicate: send each
        POST twice (as Meta's retries do); reverse: newest first (out-of-order statuses). A delivery that does not
        answer 200 stays queued for the next call (Meta retries), up to `max_webhook_attempts`.
        A connection error is raised after re-queuing.
        """
        with self.lock:
            webhooks, self.pending = self.pending, []
        if batch:
            webhooks = self._merge_batch(webhooks)
        if reverse:
            webhooks.reverse()
        responses: list[Any] = []
        failed: list[Webhook] = []
        error: Exception | None = None
        for webhook in webhooks:
            if error is not None:
                failed.append(webhook)
                continue
            try:
                for _ in range(2 if duplicate else 1):
                    response = self._post_webhook(webhook)
                    responses.append(response)
                if response.status_code != 200:
                    failed.append(webhook)
            except requests.RequestException as exc:
                error = exc
                failed.append(webhook)
        with self.lock:
            retry = [w for w in failed if w.attempts < self.max_webhook_attempts]
            self.pending[:0] = retry
        if error is not None:
            raise error
        return responses

    def _post_webhook(self, webhook: Webhook) -> Any:
        target, body, headers = self._prepare_webhook(webhook)
        webhook.attempts += 1
        label = target if isinstance(target, str) else getattr(target, "__qualname__", "callable")
        try:
            if isinstance(target, str):
                response = self._http.post(target, data=body, headers=headers, timeout=(3, 30))
            else:
                response = target(body, headers)
        except requests.RequestException as exc:
            self.deliveries.append(Delivery(label, body, headers, None, repr(exc)))
            raise
        self.deliveries.append(Delivery(label, body, headers, response.status_code))
        return response

    def start_auto_delivery(self, interval: float = 0.2) -> None:
        """Standalone mode: deliver webhooks from a thread, retrying failures with (compressed) backoff."""
        self._auto_stop.clear()

        def loop() -> None:
            while not self._auto_stop.wait(interval):
                now = time.time()
                with self.lock:
                    due = [w for w in self.pending if w.next_attempt <= now]
                    self.pending = [w for w in self.pending if w.next_attempt > now]
                for webhook in due:
                    try:
                        ok = self._post_webhook(webhook).status_code == 200
                    except requests.RequestException:
                        ok = False
                    if not ok and webhook.attempts < self.max_webhook_attempts:
                        webhook.next_attempt = time.time() + min(0.5 * 2**webhook.attempts, 60)
                        with self.lock:
                            self.pending.append(webhook)

        self._auto_thread = threading.Thread(target=loop, name=f"{type(self).__name__}-webhooks", daemon=True)
        self._auto_thread.start()


class WebhookReceiver(FakeServer):
    """A stand-in for the hub's webhook endpoint: records every request and answers `status` (200 by default).

    `receiver.url` is the target to give a fake's `webhook_url`; `receiver.requests` holds what arrived.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, status: int = 200) -> None:
        super().__init__(host=host, port=port)
        self.status = status

    def route(self, request: Request) -> Response:
        if request.method == "GET" and "hub.challenge" in request.query:
            return Response(200, request.query["hub.challenge"].encode(), "text/plain")
        return Response(self.status, b"", "text/plain")


class ScriptedServer(FakeServer):
    """A server that answers what a test scripts: the broken or hostile upstream a tenant may point the hub at (an
    internal service, a redirector, a look-alike of WAHA answering HTML). `answer(path, response)` for one path,
    `default` for every other (404 unless set); `requests` holds what arrived.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.answers: dict[str, Response] = {}
        self.default = Response(404, b"", "text/plain")

    def answer(self, path: str, response: Response) -> None:
        with self.lock:
            self.answers[path] = response

    def route(self, request: Request) -> Response:
        with self.lock:
            return self.answers.get(request.path, self.default)
