"""Work that waits for the commit: every task enqueue and every after-commit callback goes through here.

Robust by contract. What triggers the work is committed already, so a callback that fails (the broker or the
channel layer is down) is logged and left to the sweepers that re-drive from the database; it never raises into
the request (a client must not retry a send that is stored) and never cancels the callbacks registered after it.
Outside a transaction the work runs at once, with the same guarantee.
"""

import contextvars
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def run_after_commit(callback: Callable[[], object], *, what: str = "") -> None:
    """Call `callback` once the current transaction commits (dropped if it rolls back). `what` names it in the log.
    It runs in the context of its caller as it is now (the request id of the work that wanted it: whatsapp_hub/ops),
    whatever runs the commit."""
    work = partial(_run, callback, what or getattr(callback, "__qualname__", repr(callback)))
    transaction.on_commit(partial(contextvars.copy_context().run, work))


def enqueue_after_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue the Celery `task` with these arguments once the current transaction commits."""
    run_after_commit(partial(task.apply_async, args, kwargs), what=f"enqueue {task.name}")


def _run(callback: Callable[[], object], what: str) -> None:
    try:
        callback()
    except Exception:
        logger.exception("after-commit work failed (%s); the sweepers take it up", what)
