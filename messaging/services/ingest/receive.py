"""Receiving a verified webhook: the view's hot path. No parsing of messages, one INSERT, processing queued
after commit."""

import hashlib
import json

from django.db import transaction

from messaging.models import WebhookEvent, WhatsAppNumber
from messaging.services.ingest.processor import webhook_events_schedule
from whatsapp_hub.aftercommit import run_after_commit
from whatsapp_hub.ops import context, metrics

WEBHOOK_MAX_BYTES = 3 * 1024 * 1024  # Meta: "Webhook payloads can be up to 3 MB."


def body_dedupe_key(raw: bytes) -> str:
    """The dedupe key of a raw webhook body: Meta redelivers the identical bytes."""
    return hashlib.sha256(raw).hexdigest()


def webhook_event_store(
    *, organization_id: int, source: str, body: dict, dedupe_key: str, number_id: int | None = None
) -> None:
    """Persist a verified raw event (a second one with the same dedupe_key is ignored) and queue its
    processing after commit. Called outside a transaction (the webhook views), it is one statement committed
    on its own: the hot path of every webhook. The event keeps the id of the request storing it."""
    event = WebhookEvent(
        organization_id=organization_id,
        source=source,
        number_id=number_id,
        body=body,
        dedupe_key=dedupe_key,
        request_id=context.first(),
    )
    stored = _insert_unless_duplicate(event)
    metrics.webhook_stored(source, stored=stored)
    if stored:
        run_after_commit(webhook_events_schedule)


def _insert_unless_duplicate(event: WebhookEvent) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; whether a row was added. The model's own INSERT costs twice the CPU
    (its compiler; bulk_create's ignore_conflicts adds BEGIN and COMMIT round trips), and this path runs for
    every webhook."""
    connection = transaction.get_connection()
    fields = [field for field in WebhookEvent._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    values = ", ".join(["%s"] * len(fields))
    params = [field.get_db_prep_save(field.pre_save(event, add=True), connection) for field in fields]
    with connection.cursor() as cursor:
        # Identifiers from the model, values as parameters.
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING", params)  # noqa: S608
        return cursor.rowcount == 1


def sandbox_webhook_store(*, number: WhatsAppNumber, payload: dict) -> None:
    """Store a webhook the sandbox made up for `number` as the webhook view stores Meta's (the same payload twice
    is one event); it is ingested after commit."""
    webhook_event_store(
        organization_id=number.organization_id,
        source=WebhookEvent.Source.SANDBOX,
        body=payload,
        dedupe_key=body_dedupe_key(json.dumps(payload, sort_keys=True).encode()),
        number_id=number.pk,
    )
