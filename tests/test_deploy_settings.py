"""Production settings: `manage.py check --deploy` is clean with the production variables, and a
missing required variable stops start-up naming it. Run as subprocesses with a clean environment,
since settings are read once at import."""

import os
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
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="hub.example.com",
        DATABASE_URL="postgres://hub:secret@127.0.0.1:5432/hub",
        REDIS_URL="redis://127.0.0.1:6379/0",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
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
