"""Celery tasks of messaging (autodiscovered through this package), one module per area."""

from messaging.tasks import delivery, erasure, ingest, media, notifications, numbers, retention  # noqa: F401
