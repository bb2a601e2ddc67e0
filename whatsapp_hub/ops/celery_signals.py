"""Celery's side of operations, installed by whatsapp_hub/celery.py (`install(app)`):

- the request id crosses the broker in a message header (`request_id`): a task runs under the id of the request
  (or task) that queued it, a task queued by no one (beat's) under a new one; an eager task under its caller's;
- each worker's main process records a heartbeat in Redis every HEARTBEAT_INTERVAL seconds (a bootstep on the
  worker's timer: the main process answers while the pool processes are busy); the readiness check and the metrics
  read its age;
- beat records when it last ran: at start and each time it sends a scheduled task;
- the worker and beat log through settings.LOGGING (the request-id filter, LOG_FORMAT) instead of Celery's own
  set-up, at the level given on their command line.
"""

import logging
import logging.config
from contextlib import suppress

from celery import bootsteps
from celery.signals import beat_init, before_task_publish, setup_logging, task_postrun, task_prerun

from whatsapp_hub.ops import context, keys

logger = logging.getLogger(__name__)

HEADER = "request_id"
HEARTBEAT_INTERVAL = 10.0
_TOKEN = "_ops_request_id_token"


def install(app) -> None:
    app.steps["worker"].add(WorkerHeartbeat)


# --- the request id ------------------------------------------------------------------------------------------------


class _Beat:
    running = False  # this process is beat


@before_task_publish.connect
def _publishing(sender=None, headers=None, **_kwargs) -> None:
    if headers is not None:
        request_id = context.current()
        if request_id:
            headers.setdefault(HEADER, request_id)
    if _Beat.running:
        _record_beat()


@task_prerun.connect
def _task_starts(task=None, **_kwargs) -> None:
    request = task.request
    request_id = context.well_formed_joined(request.get(HEADER)) if not request.is_eager else context.current()
    setattr(request, _TOKEN, context.bind(request_id or context.new()))


@task_postrun.connect
def _task_ends(task=None, **_kwargs) -> None:
    token = getattr(task.request, _TOKEN, None)
    if token is not None:
        with suppress(ValueError):  # bound in another context: nothing of ours to undo there
            context.unbind(token)


# --- worker heartbeat and beat ---------------------------------------------------------------------------------


class WorkerHeartbeat(bootsteps.StartStopStep):
    """The worker's heartbeat in Redis, from its main process's timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.timer_ref = None

    def start(self, worker):
        self._beat(worker)
        self.timer_ref = worker.timer.call_repeatedly(HEARTBEAT_INTERVAL, self._beat, (worker,), priority=10)

    def stop(self, worker):
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        with suppress(Exception):
            keys.worker_gone(worker.hostname)

    shutdown = stop

    @staticmethod
    def _beat(worker) -> None:
        try:
            keys.worker_heartbeat(worker.hostname)
        except Exception:
            logger.warning("the worker heartbeat could not be recorded in Redis", exc_info=True)


@beat_init.connect
def _beat_starts(**_kwargs) -> None:
    _Beat.running = True
    _record_beat()


def _record_beat() -> None:
    try:
        keys.beat_ran()
    except Exception:
        logger.warning("beat's last run could not be recorded in Redis", exc_info=True)


# --- logging ----------------------------------------------------------------------------------------------------


@setup_logging.connect
def _logging(loglevel=None, logfile=None, **_kwargs) -> None:
    """Connected, this keeps Celery from replacing the root logger's handlers with its own: Django configured them
    from settings.LOGGING at start-up; the command line's level applies (and its --logfile, formatted alike)."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    root = logging.getLogger()
    if loglevel:
        root.setLevel(loglevel)
    if logfile:
        handler = logging.FileHandler(logfile)
        for console in root.handlers[:1]:
            handler.setFormatter(console.formatter)
            handler.filters = list(console.filters)
        root.handlers = [handler]
