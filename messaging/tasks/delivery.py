"""Celery tasks: thin, idempotent wrappers over services."""
