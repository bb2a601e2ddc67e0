"""deploy/env.example documents every variable the hub reads, and nothing it does not read."""

import ast
import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
READERS = {"env", "env_bool", "env_int", "env_list", "env_required"}
# Shell and systemd names in the scripts that are not configuration.
NOT_CONFIGURATION = {"PGOPTIONS", "PIPESTATUS", "MAINPID", "PYTHON"}


def _settings_reads() -> dict[str, str]:
    """{variable: reader} for every env reader called with a literal name in whatsapp_hub/."""
    found = {}
    for path in (BASE_DIR / "whatsapp_hub").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in READERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.setdefault(node.args[0].value, node.func.id)
                if node.func.id == "env_required":
                    found[node.args[0].value] = "env_required"
    return found


def _process_reads() -> set[str]:
    names = set()
    files = [BASE_DIR / "Procfile", *(BASE_DIR / "deploy").glob("*.sh"), *(BASE_DIR / "deploy" / "systemd").iterdir()]
    for path in files:
        names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", path.read_text()))
    names |= set(
        re.findall(r'os\.environ\.get\("([A-Z0-9_]+)"', (BASE_DIR / "deploy" / "gunicorn.conf.py").read_text())
    )
    return names - NOT_CONFIGURATION


def _documented() -> dict[str, bool]:
    """{variable: set (uncommented)} in deploy/env.example."""
    documented = {}
    for line in (BASE_DIR / "deploy" / "env.example").read_text().splitlines():
        match = re.match(r"^(# )?([A-Z][A-Z0-9_]*)=", line)
        if match:
            documented[match.group(2)] = match.group(1) is None
    return documented


def test_every_variable_the_settings_read_is_documented():
    reads = _settings_reads()
    assert {"DATABASE_URL", "MEDIA_STORAGE", "S3_BUCKET", "NUM_PROXIES", "PUBLIC_BASE_URL"} <= set(reads)

    assert sorted(set(reads) - set(_documented())) == []


def test_every_process_variable_is_documented():
    assert {"WEB_CONCURRENCY", "CELERY_CONCURRENCY", "BACKUP_DIR", "MIGRATION_LOCK_TIMEOUT"} <= _process_reads()

    assert sorted(_process_reads() - set(_documented())) == []


def test_nothing_documented_is_unread():
    assert sorted(set(_documented()) - set(_settings_reads()) - _process_reads()) == []


def test_required_variables_are_set_in_the_example():
    documented = _documented()
    required = [name for name, reader in _settings_reads().items() if reader == "env_required" and name != "S3_BUCKET"]

    assert sorted(required) == ["ALLOWED_HOSTS", "DATABASE_URL", "FIELD_ENCRYPTION_KEY", "REDIS_URL", "SECRET_KEY"]
    assert [name for name in required if not documented[name]] == []
