"""Celery tasks of WhatsApp numbers: WAHA session housekeeping after a number is created or deleted.

Thin and idempotent. Neither retries: a session missing on WAHA is created by the number's first start anyway,
and a failure is logged for the operator.
"""

import logging

from celery import shared_task

from messaging.providers import ProviderError
from messaging.services import numbers as services

logger = logging.getLogger(__name__)


@shared_task
def waha_session_create(*, organization_id: int, number_id: int) -> None:
    """Create a new WAHA number's session on WAHA (not started), with the hub's webhook."""
    try:
        services.waha_session_prepare(organization_id=organization_id, number_id=number_id)
    except ProviderError as exc:
        logger.warning("WAHA session of number %s not created (the first start will): %r", number_id, exc)


@shared_task
def waha_session_discard(*, organization_id: int, number_id: int) -> None:
    """Delete a deleted number's session on WAHA."""
    try:
        services.waha_session_discard(organization_id=organization_id, number_id=number_id)
    except ProviderError as exc:
        logger.warning("WAHA session of deleted number %s not deleted: %r", number_id, exc)
