"""The topology's processes on loopback: nginx in front of two gunicorns (HTTP) and two daphnes (/ws/), two Celery
workers and beat, on a PostgreSQL database and a Redis database of their own. Every process runs in a session of
its own (its process group: a gunicorn with its workers, a Celery worker with its pool), so that one can be killed
whole with SIGKILL and started again on the same port; `stop()` ends every group it started, whatever happened.

Nothing here knows the scenario (scenario.py) or Django: the hub is started as production starts it, from the
environment (`env()`), with the repository's deploy artefacts (deploy/render.py's nginx, deploy/gunicorn.conf.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from celery import Celery
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
# What a process answers once it serves requests (gunicorn and daphne, directly; nginx, through them): the liveness
# probe (no database, no Redis).
LIVENESS_PATH = "/api/v1/health"


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the process that started it dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG), so that nothing outlives a runner killed without its finally blocks."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice of an ephemeral one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.05) -> object:
    """Wait for `condition()` to be truthy (its value is returned); TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def with_database(url: str, name: str) -> str:
    """`url` (postgres://…/any) naming the database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Process:
    """One process (group) of the topology: its command, its port (if it listens), its log and its starts."""

    name: str
    kind: str  # nginx, gunicorn, daphne, worker, beat
    command: list[str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen | None = None
    starts: int = 0
    kills: list[float] = field(default_factory=list)  # time.time() of each SIGKILL

    @property
    def address(self) -> str | None:
        return f"127.0.0.1:{self.port}" if self.port else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Topology:
    """Build with the PostgreSQL server (DATABASE_URL: its database name is replaced by `database`) and the Redis
    database (REDIS_URL, flushed: it must be the topology's own), then `prepare()`, `start()`, …, `stop()`."""

    def __init__(
        self,
        *,
        database_url: str,
        database: str,
        redis_url: str,
        workdir: Path,
        graph_url: str,
        egress_allowed: list[str],
        gunicorns: int = 2,
        daphnes: int = 2,
        workers: int = 2,
        web_concurrency: int = 2,
        worker_concurrency: int = 2,
        log: Callable[[str], None] = print,
    ) -> None:
        if NGINX is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
        self.database = database
        self.database_url = with_database(database_url, database)
        self.server_url = with_database(database_url, "postgres")
        self.redis_url = redis_url
        self.workdir = workdir
        self.graph_url = graph_url
        self.egress_allowed = egress_allowed
        self.web_concurrency = web_concurrency
        self.worker_concurrency = worker_concurrency
        self.say = log
        self.hostname = socket.gethostname()
        self.nginx_port = free_port()
        self.processes: dict[str, Process] = {}
        self.secret_key = secrets.token_urlsafe(50)
        self.field_key = Fernet.generate_key().decode()
        self.prefix = workdir / "nginx"
        self.static_root = workdir / "static"
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.metrics_token = secrets.token_urlsafe(24)
        self._database_created = False
        self._celery: Celery | None = None
        for index in range(1, gunicorns + 1):
            self._add(f"gunicorn-{index}", "gunicorn", port=free_port())
        for index in range(1, daphnes + 1):
            self._add(f"daphne-{index}", "daphne", port=free_port())
        for index in range(1, workers + 1):
            self._add(f"worker-{index}", "worker")
        self._add("beat", "beat")
        self._add("nginx", "nginx", port=self.nginx_port)

    # --- configuration ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """nginx: the only address the scenario talks to."""
        return f"http://127.0.0.1:{self.nginx_port}"

    def of_kind(self, kind: str) -> list[Process]:
        return [process for process in self.processes.values() if process.kind == kind]

    def env(self) -> dict[str, str]:
        """The hub's production configuration on loopback (deploy/env.example documents each variable)."""
        inherited = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")  # nothing of the caller's hub configuration
        return {
            **{name: os.environ[name] for name in inherited if name in os.environ},
            "DJANGO_SETTINGS_MODULE": "whatsapp_hub.settings",
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "FIELD_ENCRYPTION_KEY": self.field_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "PUBLIC_BASE_URL": self.url,
            "DATABASE_URL": self.database_url,
            # Eleven processes (and the other engineers' tests) share PostgreSQL's 100 connections.
            "DATABASE_POOL_MAX_SIZE": "4",
            "REDIS_URL": self.redis_url,
            # nginx in front, plain HTTP on loopback: no redirect to https, the client address from nginx.
            "SECURE_SSL_REDIRECT": "0",
            "TRUST_X_FORWARDED_PROTO": "1",
            "NUM_PROXIES": "1",
            "STATIC_ROOT": str(self.static_root),
            "MEDIA_ROOT": str(self.workdir / "media"),
            "WHATSAPP_GRAPH_URL": self.graph_url,
            # Tenant-chosen addresses: the fakes only. WAHA's and OpenAI's defaults point at a closed port.
            "EGRESS_ALLOWED_HOSTS": ",".join(self.egress_allowed),
            "WAHA_URL": "http://127.0.0.1:9",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            # The sweeper takes back a batch left in processing by a killed worker after the hard time limit (and at
            # least a minute): a minute here, not the default five, so that a kill mid-batch costs the run at most
            # two minutes (the next beat tick). No task of the scenario runs longer than a few seconds.
            "CELERY_TASK_TIME_LIMIT": "60",
            "CELERY_TASK_SOFT_TIME_LIMIT": "50",
            "WEB_CONCURRENCY": str(self.web_concurrency),
            # GET /metrics with this token: what every process counted (flushed to Redis every second).
            "METRICS_TOKEN": self.metrics_token,
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }

    def _add(self, name: str, kind: str, *, port: int | None = None) -> None:
        self.processes[name] = Process(name, kind, [], self.logs / f"{name}.log", port=port)

    def _command(self, process: Process) -> list[str]:
        if process.kind == "gunicorn":
            return [
                str(BIN / "gunicorn"),
                "whatsapp_hub.wsgi",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                process.address,
            ]
        if process.kind == "daphne":
            return [
                str(BIN / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(process.port),
                "--proxy-headers",
                "whatsapp_hub.asgi:application",
            ]
        if process.kind == "worker":
            return [
                str(BIN / "celery"),
                "-A",
                "whatsapp_hub",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={self.worker_concurrency}",
                f"--hostname={self.worker_name(process)}",
            ]
        if process.kind == "beat":
            return [
                str(BIN / "celery"),
                "-A",
                "whatsapp_hub",
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.workdir / 'celerybeat-schedule'}",
            ]
        conf, errors = self.prefix / "nginx.conf", self.prefix / "error.log"
        return [NGINX, "-p", str(self.prefix), "-c", str(conf), "-e", str(errors), "-g", "daemon off;"]

    def worker_name(self, process: Process) -> str:
        return f"topology-{process.name}@{self.hostname}"

    # --- preparation ----------------------------------------------------------------------------------------

    def manage(self, *args: str, stdin: str | None = None, module: str | None = None) -> str:
        """`manage.py <args>` (or `python -m <module>`) with the topology's environment; its standard output."""
        command = [sys.executable, "-m", module] if module else [sys.executable, "manage.py", *args]
        result = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
            command, cwd=ROOT, env=self.env(), input=stdin, capture_output=True, text=True
        )
        if result.returncode:
            raise RuntimeError(f"{' '.join(command[1:])} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def prepare(self) -> None:
        """A fresh database, migrated; the Redis database emptied; the static files collected; the production
        configuration checked (`check --deploy`, as the Procfile and the units do before each process); nginx's
        configuration rendered by deploy/render.py."""
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.database}"')
        self._database_created = True
        self.flush_redis()
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        self.manage("check", "--deploy", "--fail-level", "ERROR")
        variables = {
            "PREFIX": str(self.prefix),
            "TLS": "off",
            "LISTEN": f"127.0.0.1:{self.nginx_port}",
            "SERVER_NAME": "127.0.0.1",
            "GUNICORN": ",".join(process.address for process in self.of_kind("gunicorn")),
            "DAPHNE": ",".join(process.address for process in self.of_kind("daphne")),
            "STATIC_ROOT": str(self.static_root),
            "WORKER_PROCESSES": "1",
        }
        if os.geteuid() == 0:
            # nginx started by root runs its workers as nobody, who may not read this user's temporary directory.
            variables["WORKER_USER"] = pwd.getpwuid(os.geteuid()).pw_name
        subprocess.run(  # noqa: S603 (this interpreter, the repository's script)
            [
                sys.executable,
                str(ROOT / "deploy" / "render.py"),
                "standalone",
                *(f"--set={name}={value}" for name, value in variables.items()),
                "-o",
                str(self.prefix / "nginx.conf"),
            ],
            check=True,
            env={"PATH": os.environ.get("PATH", "")},
        )

    def flush_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()

    # --- processes ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Every process, then wait until each serves (or answers Celery's ping)."""
        for process in self.processes.values():
            self.launch(process)
        for process in self.processes.values():
            self.wait_ready(process)

    def launch(self, process: Process) -> None:
        process.command = self._command(process)
        with process.log.open("a") as log:
            log.write(f"--- start {process.starts + 1}: {' '.join(process.command)}\n")
            log.flush()
            process.popen = subprocess.Popen(  # noqa: S603 (the topology's own commands)
                process.command,
                cwd=ROOT,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed whole, never another's
                preexec_fn=_die_with_parent,  # started from the main thread only (the signal follows the thread)
            )
        process.starts += 1

    def wait_ready(self, process: Process, timeout: float = 60) -> None:
        what = f"{process.name} to be ready (log: {process.log})"

        def ready() -> bool:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited with {process.popen.returncode}: see {process.log}")
            if process.kind in ("gunicorn", "daphne", "nginx"):
                return self._answers(f"http://{process.address}{LIVENESS_PATH}")
            if process.kind == "worker":
                return bool(self.celery().control.ping(destination=[self.worker_name(process)], timeout=0.5))
            return "beat: Starting..." in process.log.read_text(errors="replace")

        until(ready, timeout=timeout, what=what, interval=0.1)

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return requests.get(url, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def celery(self) -> Celery:
        """A client of the workers' broker (not the hub's app: this process has no Django)."""
        if self._celery is None:
            self._celery = Celery(broker=self.redis_url, set_as_current=False)
        return self._celery

    def kill(self, process: Process) -> float:
        """SIGKILL the whole process group, as the kernel's OOM killer or a lost machine would; when it happened."""
        at = time.time()
        os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)
        process.kills.append(at)
        with process.log.open("a") as log:
            log.write(f"--- killed with SIGKILL at {at:.3f}\n")
        return at

    def restart(self, process: Process) -> float:
        """Start it again (same port, same name) and wait until it is ready; how long that took."""
        started = time.monotonic()
        self.launch(process)
        self.wait_ready(process)
        return time.monotonic() - started

    def connections_to(self, process: Process) -> int:
        """Established TCP connections to the process's port (nginx's upstream connections: for daphne, the
        websockets it holds), from /proc/net/tcp."""
        count = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == "01" and int(local.split(":")[1], 16) == process.port:
                count += 1
        return count

    def database_connections(self) -> int:
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            return connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.database]
            ).fetchone()[0]

    def stop(self, *, drop: bool = True) -> None:
        """End every process started (SIGTERM to each, then SIGKILL to its group after 10 s), drop the database and
        empty the Redis database. Safe to call twice, and after a failure anywhere."""
        running = [process for process in self.processes.values() if process.alive()]
        for process in running:
            # The group's leader: gunicorn's master, Celery's main process stop their children themselves.
            process.popen.terminate()
        deadline = time.monotonic() + 10
        for process in running:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait(timeout=10)
        # A group's stragglers (a pool process whose parent went first) get SIGKILL too.
        for process in self.processes.values():
            if process.popen is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
        if self._celery is not None:
            self._celery.close()
            self._celery = None
        if drop and self._database_created:
            with psycopg.connect(self.server_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self._database_created = False
            self.flush_redis()
