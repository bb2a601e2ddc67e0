import gc
import os

from celery import Celery
from celery.signals import worker_process_init

from whatsapp_hub.ops import celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsapp_hub.settings")

app = Celery("whatsapp_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The request id across task messages, the worker heartbeat, beat's last run, logging (whatsapp_hub/ops).
celery_signals.install(app)


@worker_process_init.connect
def freeze_startup_objects(**_kwargs) -> None:
    """In each worker process, once started: the objects of the startup (Django, the models, the URL conf, the
    tasks) move to a generation the garbage collector never walks again. Each full collection walked all of them,
    about 0.1 s of CPU, and a batch of webhooks allocates enough to set off several: they took 0.02-0.14 s of an
    ingest batch of 2,000 messages (0.4-0.55 s), 0.02 s once frozen (bench/ingest_drain.py)."""
    gc.freeze()
