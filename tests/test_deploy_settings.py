"""Production settings: `manage.py check --deploy` is clean with the production variables, a missing
required variable stops start-up naming it, and a half-set configuration fails the production checks
(whatsapp_hub/checks.py, run by every unit in deploy/systemd before its process starts). Start-up runs
as subprocesses with a clean environment, since settings are read once at import."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
REQUIRED = ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEY"]


def production_env(**changes: str | None) -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "SYSTEMROOT") if name in os.environ}
    # Complete: the required variables and what the production checks (whatsapp_hub/checks.py) ask for besides.
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="hub.example.com",
        DATABASE_URL="postgres://hub:secret@127.0.0.1:5432/hub",
        REDIS_URL="redis://127.0.0.1:6379/0",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PUBLIC_BASE_URL="https://hub.example.com",
        NUM_PROXIES="1",
        MEDIA_ROOT="/srv/whatsapp-hub/media",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.com",
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "ERRORS" not in output
    assert result.stdout.startswith("System check identified no issues"), output
    assert len(result.stdout.strip().splitlines()) == 1, output


def test_check_deploy_does_report_a_weak_secret_key():
    # The clean run above means something only because the check is live: a weak key is reported.
    result = manage("check", "--deploy", env=production_env(SECRET_KEY="short"))

    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.parametrize("name", REQUIRED)
def test_a_missing_required_variable_stops_start_up_naming_it(name):
    result = manage("check", env=production_env(**{name: None}))

    assert result.returncode != 0
    assert (
        f"django.core.exceptions.ImproperlyConfigured: The environment variable {name} is required in production "
        "(DEBUG=0)." in result.stderr
    ), result.stderr


def test_an_empty_required_variable_counts_as_missing():
    result = manage("check", env=production_env(SECRET_KEY=""))

    assert result.returncode != 0
    assert "The environment variable SECRET_KEY is required in production (DEBUG=0)." in result.stderr


# (variables changed from the complete production set, the check that must fail)
HALF_SET = [
    ({"DATABASE_URL": "sqlite:////tmp/hub.sqlite3"}, "whatsapp_hub.E001"),
    ({"DATABASE_POOL_MIN_SIZE": "8", "DATABASE_POOL_MAX_SIZE": "4"}, "whatsapp_hub.E002"),
    ({"REDIS_URL": "http://127.0.0.1:6379/0"}, "whatsapp_hub.E003"),
    ({"CHANNEL_LAYER_REDIS_URL": "127.0.0.1:6380"}, "whatsapp_hub.E003"),
    ({"CELERY_TASK_ALWAYS_EAGER": "1"}, "whatsapp_hub.E004"),
    ({"CELERY_TASK_SOFT_TIME_LIMIT": "300"}, "whatsapp_hub.E005"),
    ({"CELERY_VISIBILITY_TIMEOUT": "300"}, "whatsapp_hub.E006"),
    ({"FIELD_ENCRYPTION_KEY": f"{Fernet.generate_key().decode()},not-a-key"}, "whatsapp_hub.E007"),
    ({"SECRET_KEY": "k" * 60, "JWT_SIGNING_KEY": "k" * 60}, "whatsapp_hub.E008"),
    ({"PUBLIC_BASE_URL": None}, "whatsapp_hub.E009"),
    ({"PUBLIC_BASE_URL": "https://other.example.com"}, "whatsapp_hub.E010"),
    ({"PUBLIC_BASE_URL": "http://hub.example.com"}, "whatsapp_hub.E011"),
    ({"NUM_PROXIES": None}, "whatsapp_hub.E012"),
    ({"TRUST_X_FORWARDED_PROTO": "0"}, "whatsapp_hub.E013"),
    ({"MEDIA_STORAGE": "s3", "S3_BUCKET": "hub-media", "S3_ACCESS_KEY_ID": "AKIA0000"}, "whatsapp_hub.E014"),
    ({"EMAIL_HOST_USER": "hub"}, "whatsapp_hub.E015"),
]


def _check_ids(output: str) -> list[str]:
    return sorted(re.findall(r"\((whatsapp_hub\.[EW]\d{3})\)", output))


@pytest.mark.parametrize(("changes", "check_id"), HALF_SET, ids=[check_id for _, check_id in HALF_SET])
def test_a_half_set_configuration_fails_the_deploy_check(changes, check_id):
    result = manage("check", "--deploy", "--tag", "production", env=production_env(**changes))

    assert result.returncode == 1, result.stdout + result.stderr
    assert _check_ids(result.stderr) == [check_id], result.stderr


def test_the_deploy_check_lists_every_problem_at_once():
    result = manage(
        "check", "--deploy", env=production_env(NUM_PROXIES=None, PUBLIC_BASE_URL=None, CELERY_TASK_ALWAYS_EAGER="1")
    )

    assert result.returncode == 1
    assert result.stderr.startswith("SystemCheckError: System check identified some issues:"), result.stderr
    assert _check_ids(result.stderr) == ["whatsapp_hub.E004", "whatsapp_hub.E009", "whatsapp_hub.E012"]


@pytest.mark.parametrize(
    ("changes", "check_id"),
    [({"MEDIA_ROOT": None}, "whatsapp_hub.W001"), ({"EMAIL_BACKEND": None}, "whatsapp_hub.W002")],
)
def test_a_development_stand_in_is_a_warning(changes, check_id):
    result = manage("check", "--deploy", "--tag", "production", env=production_env(**changes))

    assert result.returncode == 0, result.stderr
    assert _check_ids(result.stderr) == [check_id], result.stderr


def test_the_cache_and_the_channel_layer_may_have_a_redis_of_their_own():
    probe = (
        "from django.conf import settings; "
        "print(settings.CELERY_BROKER_URL, settings.CACHES['default']['LOCATION'], "
        "settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]['address'])"
    )
    split = production_env(CACHE_REDIS_URL="redis://cache:6379/0", CHANNEL_LAYER_REDIS_URL="redis://push:6379/0")

    assert manage("shell", "-c", probe, env=split).stdout.split()[-3:] == [
        "redis://127.0.0.1:6379/0",
        "redis://cache:6379/0",
        "redis://push:6379/0",
    ]
    assert manage("shell", "-c", probe, env=production_env()).stdout.split()[-3:] == ["redis://127.0.0.1:6379/0"] * 3
