"""A Celery worker process's setup (whatsapp_hub/celery.py)."""

import gc

import pytest
from celery.signals import worker_process_init


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_started_worker_process_puts_its_startup_objects_out_of_the_collectors_way(unfrozen):
    tracked = len(gc.get_objects())

    worker_process_init.send(sender=None)

    assert tracked > 50_000  # Django, the apps, the tests: what every full collection walked
    assert gc.get_freeze_count() >= tracked - 1_000
    assert len(gc.get_objects()) < 1_000
