"""Check-then-insert races, made to happen every time on PostgreSQL (tests using it need transactional_db)."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

WAIT_SECONDS = 10.0


def _someone_waits_on_this_transaction() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is read once per transaction otherwise
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
        )
        return cursor.fetchone()[0]


@contextmanager
def committed_meanwhile(write: Callable[[], object]) -> Iterator[None]:
    """Run the block while `write` sits in another connection's uncommitted transaction.

    The block's existence checks cannot see that row yet; its insert of the same unique key waits on the other
    transaction, which commits as soon as it sees a waiter: exactly two concurrent requests where the other one
    commits between this one's check and its insert. Fails when nothing in the block ever waited on the row.
    """
    written, problems = threading.Event(), []

    def other_request() -> None:
        try:
            with transaction.atomic():
                write()
                written.set()
                deadline = time.monotonic() + WAIT_SECONDS
                while not _someone_waits_on_this_transaction():
                    if time.monotonic() > deadline:
                        raise AssertionError("Nothing waited on the concurrent insert: the race did not happen.")
                    time.sleep(0.005)
        except Exception as exc:
            problems.append(exc)
            written.set()
        finally:
            connection.close()

    other = threading.Thread(target=other_request)
    other.start()
    try:
        assert written.wait(WAIT_SECONDS)
        yield
    finally:
        other.join()
    assert problems == []
