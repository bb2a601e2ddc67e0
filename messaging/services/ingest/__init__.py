"""Inbound webhooks, exactly once: store the raw event before the 200, ingest claimed batches after commit.

receive    the view's hot path: `webhook_event_store` inserts the verified raw event (the same bytes twice,
           or the same WAHA request id, are one row) and queues the processor after commit
processor  claims batches (`FOR UPDATE SKIP LOCKED`), ingests each in one transaction, retries a failing
           batch event by event; the sweeper and the dead letters
meta, waha the providers' payloads parsed into a `batch.Batch`
writers    one batch written with bulk upserts
announce   the batch's pushes and hooks, after commit
"""

from messaging.services.ingest.processor import (
    BATCH_LINGER,
    INTERRUPTED,
    SCHEDULED_KEY,
    interrupted_after,
    webhook_events_drain,
    webhook_events_process_batch,
    webhook_events_replay,
    webhook_events_schedule,
    webhook_events_sweep,
)
from messaging.services.ingest.receive import (
    WEBHOOK_MAX_BYTES,
    body_dedupe_key,
    sandbox_webhook_store,
    webhook_event_store,
)

__all__ = [
    "BATCH_LINGER",
    "INTERRUPTED",
    "SCHEDULED_KEY",
    "WEBHOOK_MAX_BYTES",
    "body_dedupe_key",
    "interrupted_after",
    "sandbox_webhook_store",
    "webhook_event_store",
    "webhook_events_drain",
    "webhook_events_process_batch",
    "webhook_events_replay",
    "webhook_events_schedule",
    "webhook_events_sweep",
]
