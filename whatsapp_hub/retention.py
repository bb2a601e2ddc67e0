"""Retention's one way of deleting: old rows go in short batches, never in one huge DELETE (which would hold its locks
and bloat the write-ahead log for as long as it runs)."""

from django.db import transaction
from django.db.models import QuerySet


def delete_in_batches(expired: QuerySet, *, batch_size: int, max_batches: int) -> int:
    """Delete the rows of `expired` in batches of `batch_size`, one short transaction each, at most `max_batches` of
    them (a run stays well inside a task's time limit; the next run goes on). Returns how many rows were deleted
    (cascades not counted). Safe to run twice at once."""
    model = expired.model
    expired = expired.order_by()
    total = 0
    for _ in range(max_batches):
        with transaction.atomic():
            _, by_model = model.objects.filter(pk__in=expired.values("pk")[:batch_size]).delete()
        rows = by_model.get(model._meta.label, 0)
        total += rows
        if rows < batch_size:
            break
    return total
