"""The embedded default (`make run`: SQLite, tasks inline, the in-memory channel layer) as a newcomer gets it: a fresh
database migrates, the demo seeds, and every page and API list the demo's admin can open answers without a server
error. The suite itself runs on PostgreSQL (CI), so this is where SQLite-only breakage shows: a PostgreSQL-only column
type in a migration, SQL that only PostgreSQL speaks."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WALK = r"""
import json, re
import django
django.setup()
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from accounts.models import User
from whatsapp_hub.demo import DEMO_PEOPLE

SKIPPED = ("admin/", "webhooks/", "ws/", "static/", "media/")


def routes(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            path = (prefix + str(entry.pattern)).replace("^", "").replace("$", "").replace("\\Z", "")
            if "<" in path or "(" in path or path.startswith(SKIPPED) or re.search("logout|sign-out", path):
                continue
            yield "/" + path.replace("/?", "/")


admin = next(email for email, _, role, _ in DEMO_PEOPLE if role == "admin")
client = Client(HTTP_HOST="localhost")
client.force_login(User.objects.get(email=admin))
answers = {path: client.get(path).status_code for path in sorted(set(routes(get_resolver().url_patterns)))}
# The reports within business hours: SQL of the local weekday and time of day (Django's functions on SQLite).
from accounts.services import organization_update
user = User.objects.get(email=admin)
hours = {"mon": ["09:00", "17:00"], "sun": ["10:00", "14:00"]}
organization_update(
    organization=user.memberships.get().organization,
    actor=user,
    settings={"timezone": "America/New_York", "business_hours": hours},
)
for path in ("/reports/", "/api/v1/reports/agents", "/api/v1/reports/teams/export"):
    answers[path + "?business_hours=true"] = client.get(path, {"business_hours": "true"}).status_code
print(json.dumps(answers))
"""


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_a_fresh_sqlite_database_migrates_seeds_and_serves_every_page_and_list(tmp_path):
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL", "SUITE_REDIS_URL", "CACHE_REDIS_URL", "CHANNEL_LAYER_REDIS_URL")
    }
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media"))

    migrated = _manage("manage.py", "migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    seeded = _manage("manage.py", "seed_demo", "--force", env=env)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    walked = _manage("-c", WALK, env=env)
    assert walked.returncode == 0, walked.stderr[-3000:]

    answers = json.loads(walked.stdout.strip().splitlines()[-1])
    assert len(answers) > 50
    assert {path: status for path, status in answers.items() if status >= 500} == {}
    assert answers["/api/v1/reports/agents?business_hours=true"] == 200
