"""The request id that follows a piece of work through the processes.

An HTTP request takes the proxy's `X-Request-ID` when it is well formed (nginx's `$request_id`, a UUID, ...),
else a new one (middleware.request_id). It is bound to the request's context for as long as the request runs, so
that every log line of the request names it (logs.RequestIdFilter), the Celery tasks queued meanwhile carry it in a
message header (celery.py), and the webhook events stored meanwhile keep it (WebhookEvent.request_id). A drain that
ingests a batch binds the ids of the batch's events (`joined`), so its log lines and the pushes of the batch name
the webhooks the messages came in with.
"""

import contextvars
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

HEADER = "X-Request-ID"
MAX_LENGTH = 128
# What a proxy's id may look like: letters, digits and a few separators, nothing that could forge a log line or a
# header (no spaces, no commas: `joined` separates ids with commas).
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")
# A drain's batch names at most this many request ids in its log lines (a batch holds up to 200 events).
JOINED_MAX = 200

_JOINED = re.compile(rf"{_WELL_FORMED.pattern}(?:,{_WELL_FORMED.pattern}){{0,{JOINED_MAX - 1}}}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def well_formed(value: object) -> str:
    """`value` when it is a well-formed request id, else ""."""
    return value if isinstance(value, str) and _WELL_FORMED.fullmatch(value) else ""


def well_formed_joined(value: object) -> str:
    """`value` when it is a well-formed request id or several `joined` ones (a task message's header), else ""."""
    return value if isinstance(value, str) and _JOINED.fullmatch(value) else ""


def new() -> str:
    return uuid.uuid4().hex


def current() -> str:
    """The request id of the work in progress ("" outside any): one, or several `joined`."""
    return _current.get()


def first() -> str:
    """The request id of the work in progress, the first one when several are joined: what a row keeps."""
    return _current.get().split(",", 1)[0]


def bind(request_id: str) -> contextvars.Token:
    """Bind `request_id` until `unbind(token)` (Celery's prerun and postrun signals); prefer `bound`."""
    return _current.set(request_id)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def bound(request_id: str) -> Iterator[None]:
    """The work inside runs under `request_id` (the previous one comes back after)."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


def joined(request_ids: Iterable[str]) -> str:
    """The distinct non-blank ids, in order, comma-separated: the request id of work done for several requests at
    once (an ingest batch)."""
    distinct = dict.fromkeys(request_id for request_id in request_ids if request_id)
    return ",".join(list(distinct)[:JOINED_MAX])
