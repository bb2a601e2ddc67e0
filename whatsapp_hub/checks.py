"""Production configuration checks: `manage.py check --deploy` (the `production` tag alone: `--tag production`).

The settings module already stops start-up on a missing required variable (whatsapp_hub/env.py). These checks catch
what a single variable cannot say: values that contradict each other, or a production process about to run on a
development stand-in (SQLite, tasks inline, e-mails printed). Every unit in deploy/systemd runs
`manage.py check --deploy` before it starts its process, so a half-set configuration refuses to start with every
problem listed at once, not a crash at the first request that needs the missing part.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.http.request import validate_host

from whatsapp_hub.env import env

TAG = "production"


def _error(number: int, message: str, hint: str) -> checks.Error:
    return checks.Error(message, hint=hint, id=f"whatsapp_hub.E{number:03d}")


@checks.register(TAG, deploy=True)
def production_configuration(app_configs=None, **kwargs) -> list:
    return [
        *_database(),
        *_celery(),
        *_keys(),
        *_public_address(),
        *_proxy(),
        *_media(),
        *_email(),
    ]


def _database() -> list:
    problems = []
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        problems.append(
            _error(
                1,
                "The database is SQLite.",
                "Set DATABASE_URL to PostgreSQL: the web, websocket and worker processes (on several machines, later) "
                "share one database.",
            )
        )
    pool = (database.get("OPTIONS") or {}).get("pool")
    if isinstance(pool, dict) and pool.get("max_size", 1) < pool.get("min_size", 1):
        problems.append(
            _error(
                2,
                f"DATABASE_POOL_MAX_SIZE ({pool['max_size']}) is below DATABASE_POOL_MIN_SIZE ({pool['min_size']}).",
                "Raise DATABASE_POOL_MAX_SIZE or lower DATABASE_POOL_MIN_SIZE.",
            )
        )
    for name in ("REDIS_URL", "CACHE_REDIS_URL", "CHANNEL_LAYER_REDIS_URL"):
        value = settings.REDIS_URL if name == "REDIS_URL" else env(name)
        scheme = urlsplit(value or "").scheme
        if (value or name == "REDIS_URL") and scheme not in {"redis", "rediss", "unix"}:
            problems.append(
                _error(3, f"{name} is not a Redis URL (scheme {scheme!r}).", "e.g. redis://redis.internal:6379/0.")
            )
    return problems


def _celery() -> list:
    problems = []
    if settings.CELERY_TASK_ALWAYS_EAGER:
        problems.append(
            _error(
                4,
                "CELERY_TASK_ALWAYS_EAGER is on: tasks would run inside web requests, not in the workers.",
                "Unset CELERY_TASK_ALWAYS_EAGER (it is off whenever REDIS_URL is set).",
            )
        )
    hard = settings.CELERY_TASK_TIME_LIMIT
    soft = settings.CELERY_TASK_SOFT_TIME_LIMIT
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    if soft >= hard:
        problems.append(
            _error(
                5,
                f"CELERY_TASK_SOFT_TIME_LIMIT ({soft} s) is not below CELERY_TASK_TIME_LIMIT ({hard} s).",
                "The soft limit lets a task stop cleanly before the hard limit kills it: keep it lower.",
            )
        )
    if visibility <= hard:
        problems.append(
            _error(
                6,
                f"CELERY_VISIBILITY_TIMEOUT ({visibility} s) is not above CELERY_TASK_TIME_LIMIT ({hard} s).",
                "Redis hands an unacknowledged task to another worker after the visibility timeout: a task still "
                "running would run twice. Keep the timeout above the longest task.",
            )
        )
    return problems


def _keys() -> list:
    from whatsapp_hub import encryption

    problems = []
    try:
        encryption._fernet()
    except Exception as exc:  # ImproperlyConfigured naming the bad key
        problems.append(
            _error(
                7,
                str(exc),
                "FIELD_ENCRYPTION_KEY: comma-separated keys from "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.',
            )
        )
    if settings.SIMPLE_JWT["SIGNING_KEY"] == settings.SECRET_KEY:
        problems.append(
            _error(8, "JWT_SIGNING_KEY is SECRET_KEY.", "Give JWT_SIGNING_KEY its own value, or unset it (derived).")
        )
    return problems


def _public_address() -> list:
    if env("PUBLIC_BASE_URL") is None:
        return [
            _error(
                9,
                f"PUBLIC_BASE_URL is not set: links in e-mails (password resets, invitations) would point at "
                f"{settings.PUBLIC_BASE_URL}.",
                "Set PUBLIC_BASE_URL to the address users open, e.g. https://hub.example.com.",
            )
        ]
    url = urlsplit(settings.PUBLIC_BASE_URL)
    host = url.hostname or ""
    problems = []
    if not validate_host(host, settings.ALLOWED_HOSTS):
        problems.append(
            _error(
                10,
                f"The host of PUBLIC_BASE_URL ({host}) is not in ALLOWED_HOSTS.",
                "Add it to ALLOWED_HOSTS: the links the hub sends would be refused (400).",
            )
        )
    if getattr(settings, "SECURE_SSL_REDIRECT", False) and url.scheme != "https":
        problems.append(
            _error(
                11,
                "PUBLIC_BASE_URL is not https while SECURE_SSL_REDIRECT is on.",
                "Use the https:// address.",
            )
        )
    return problems


def _proxy() -> list:
    proxies = settings.REST_FRAMEWORK["NUM_PROXIES"]
    behind_proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is not None
    if behind_proxy and not proxies:
        return [
            _error(
                12,
                "TRUST_X_FORWARDED_PROTO is on (a TLS proxy in front) but NUM_PROXIES is 0.",
                "Behind deploy/nginx set NUM_PROXIES=1: with 0 every client has the proxy's address, so one "
                "client's sign-in attempts throttle everyone's. Without a proxy set TRUST_X_FORWARDED_PROTO=0.",
            )
        ]
    if proxies and not behind_proxy and getattr(settings, "SECURE_SSL_REDIRECT", False):
        return [
            _error(
                13,
                "NUM_PROXIES is set (a proxy in front) but TRUST_X_FORWARDED_PROTO is off while SECURE_SSL_REDIRECT "
                "is on.",
                "Every request through a TLS proxy would look like plain HTTP and be redirected again and again: "
                "set TRUST_X_FORWARDED_PROTO=1 (the proxy sets X-Forwarded-Proto) or SECURE_SSL_REDIRECT=0.",
            )
        ]
    return []


def _media() -> list:
    if settings.MEDIA_STORAGE == "s3":
        options = settings.STORAGES["default"]["OPTIONS"]
        if bool(options["access_key"]) != bool(options["secret_key"]):
            return [
                _error(
                    14,
                    "Only one of S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY is set.",
                    "Set both, or neither (boto3 then takes the AWS_* variables or the machine's role).",
                )
            ]
        return []
    if settings.MEDIA_ROOT.resolve().is_relative_to(settings.BASE_DIR.resolve()):
        return [
            checks.Warning(
                f"Media files are stored in the code checkout ({settings.MEDIA_ROOT}).",
                hint="Set MEDIA_ROOT to a volume of its own (backed up by deploy/backup.sh; shared by every machine "
                "past one), or MEDIA_STORAGE=s3.",
                id="whatsapp_hub.W001",
            )
        ]
    return []


def _email() -> list:
    backend = settings.EMAIL_BACKEND
    if backend.endswith((".console.EmailBackend", ".locmem.EmailBackend", ".dummy.EmailBackend")):
        return [
            checks.Warning(
                f"EMAIL_BACKEND is {backend}: password resets and invitations are not sent.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST.",
                id="whatsapp_hub.W002",
            )
        ]
    if bool(settings.EMAIL_HOST_USER) != bool(settings.EMAIL_HOST_PASSWORD):
        return [
            _error(
                15,
                "Only one of EMAIL_HOST_USER and EMAIL_HOST_PASSWORD is set.",
                "Set both (SMTP authentication), or neither.",
            )
        ]
    return []
