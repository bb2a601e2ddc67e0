"""The scenario's clients, talking to nginx only: an HTTP client of the API (an API key or an agent's JWT) that
counts every answer, and a live-inbox websocket client that catches up over REST as the README's "Live inbox
websocket" says a client must (on each hello, and on a gap in the sequence numbers)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlencode

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

# Answers an idempotent request may be retried after: nginx's when an upstream died under it, or was down.
RETRYABLE = {502, 503, 504}


class Api:
    """requests against nginx with one credential. `call()` retries what is safe to retry (reads, and calls marked
    retry=True) after a 502/503/504 or a refused connection, for up to `patience` seconds."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, patience: float = 30) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.patience = patience
        self.answers: Counter[int] = Counter()
        self.lock = threading.Lock()

    def call(self, method: str, path: str, *, json_body=None, retry: bool | None = None, **kwargs) -> requests.Response:
        retry = method == "GET" if retry is None else retry
        url = path if path.startswith("http") else self.base_url + path
        deadline = time.monotonic() + self.patience
        while True:
            try:
                response = self.session.request(method, url, json=json_body, timeout=30, **kwargs)
            except requests.ConnectionError:
                if not retry or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            with self.lock:
                self.answers[response.status_code] += 1
            if retry and response.status_code in RETRYABLE and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            return response

    def ok(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), **kwargs) -> dict:
        response = self.call(method, path, **kwargs)
        if response.status_code not in expect:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else {}

    def pages(self, path: str, **params) -> list[dict]:
        """Every item of a paged list (page numbers or cursors: both answer `results` and `next`)."""
        items: list[dict] = []
        url = f"{path}?{urlencode(params)}" if params else path
        while url:
            page = self.ok("GET", url)
            items.extend(page["results"])
            url = page.get("next")
        return items


class InboxClient(threading.Thread):
    """A live-inbox socket through nginx (`/ws/inbox/?ticket=`, the ticket from `POST auth/ws-ticket`), kept open:
    when the socket drops (its daphne killed) it takes a new ticket and connects again, to whichever daphne nginx
    picks. It knows the ids of the inbound messages it has seen: pushed (`message.created`), or loaded over REST
    (`GET messages/?direction=inbound&created_after=`) after each hello and after each gap in `seq`."""

    def __init__(self, name: str, api: Api, ws_url: str, *, since: str, on_frame: Callable[[dict], None] | None = None):
        super().__init__(name=f"inbox-{name}", daemon=True)
        self.label = name
        self.api = api
        self.ws_url = ws_url
        self.since = since
        self.on_frame = on_frame
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.pushed: set[int] = set()  # inbound message ids received on the socket
        self.loaded: set[int] = set()  # ... loaded over REST
        self.hellos = 0
        self.drops = 0
        self.gaps = 0
        self.catch_ups: list[float] = []  # seconds from a drop to the end of the REST load after the reconnect
        self.sent_answers: dict[str, dict] = {}
        self.connected = threading.Event()
        self.may_reconnect = threading.Event()  # cleared: a dropped socket stays away until it is set
        self.may_reconnect.set()
        self.socket = None
        self.error: BaseException | None = None
        self._dropped_at: float | None = None
        self._last = 0

    # --- what the scenario reads ------------------------------------------------------------------------------

    def known(self) -> set[int]:
        with self.lock:
            return self.pushed | self.loaded

    def send_text(self, conversation_id: int, text: str, client_id: str) -> None:
        """`message.send` on the socket (the answer, `message.sent`, lands in `sent_answers[client_id]`)."""
        frame = {"type": "message.send", "conversation_id": conversation_id, "text": text, "client_id": client_id}
        self.socket.send(json.dumps(frame))

    def stop(self) -> None:
        self.stopping.set()
        if self.socket is not None:
            self.socket.close()

    # --- the loop -------------------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    self._session()
                except (ConnectionClosed, OSError, TimeoutError):
                    if self.stopping.is_set():
                        return
                    self.connected.clear()
                    self.drops += 1
                    self._dropped_at = time.monotonic()
                    while not self.may_reconnect.wait(0.1):
                        if self.stopping.is_set():
                            return
        except BaseException as error:  # reported by the scenario
            self.error = error

    def _session(self) -> None:
        ticket = self.api.ok("POST", "/api/v1/auth/ws-ticket", retry=True)["ticket"]
        # No Origin: an API client, not a browser (the hub then ignores cookies and wants the ticket).
        with connect(f"{self.ws_url}?ticket={ticket}", open_timeout=10, max_size=2**24) as socket:
            self.socket = socket
            hello = json.loads(socket.recv(timeout=10))
            if hello.get("type") != "hello":
                raise AssertionError(f"{self.label}: the first frame is {hello!r}, not hello")
            self.hellos += 1
            self._last = hello["seq"]
            self._load()
            if self._dropped_at is not None:
                self.catch_ups.append(time.monotonic() - self._dropped_at)
                self._dropped_at = None
            self.connected.set()
            while not self.stopping.is_set():
                try:
                    raw = socket.recv(timeout=0.5)
                except TimeoutError:
                    continue
                self._frame(json.loads(raw))

    def _load(self) -> None:
        """The inbound messages since the scenario began, over REST (what the inbox's list refresh does)."""
        items = self.api.pages("/api/v1/messages/", direction="inbound", created_after=self.since, page_size=100)
        with self.lock:
            self.loaded |= {item["id"] for item in items}

    def _frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "message.sent":
            self.sent_answers[frame.get("client_id")] = frame["message"]
            return
        if "seq" not in frame and kind != "events":
            return  # pong, error: no sequence number
        events = frame["events"] if kind == "events" else [frame]
        gap = events[0]["first_seq"] > self._last + 1
        if gap:
            self.gaps += 1
            self._load()
        for event in events:
            self._last = max(self._last, event["seq"])
            if event["type"] == "message.created":
                inbound = {item["id"] for item in event["data"]["messages"] if item["direction"] == "inbound"}
                with self.lock:
                    self.pushed |= inbound
        if self.on_frame is not None:
            self.on_frame(frame)
