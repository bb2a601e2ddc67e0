"""deploy/backup.sh and deploy/restore.sh: data and media backed up from the test database are found again in a
fresh database made with createdb, and its media directory; old backups are pruned; restore refuses to overwrite."""

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.factories import OrganizationFactory
from tests.messaging.factories import ContactFactory, ConversationFactory, MediaFactory, MessageFactory

BASE_DIR = Path(__file__).resolve().parents[2]
TOOLS = ("pg_dump", "pg_restore", "psql", "createdb", "dropdb")

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="backups are of PostgreSQL"),
    pytest.mark.skipif(not all(shutil.which(tool) for tool in TOOLS), reason="PostgreSQL's client tools are missing"),
    pytest.mark.django_db(transaction=True),  # the rows must be committed for pg_dump to see them
]


def _url(database: str) -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{database}"


def _client_args() -> list[str]:
    settings = connection.settings_dict
    return ["-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432), "-U", settings["USER"]]


def _env(**extra: str) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    if connection.settings_dict["PASSWORD"]:
        env["PGPASSWORD"] = connection.settings_dict["PASSWORD"]
    env.update(extra)
    return env


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=_env(**env), capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def fresh_database():
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", *_client_args(), name], env=_env(), check=True, capture_output=True)
    yield name
    subprocess.run(["dropdb", *_client_args(), "--if-exists", "--force", name], env=_env(), check=True)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def backup(media_root: Path, backup_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return run(
        str(BASE_DIR / "deploy" / "backup.sh"),
        DATABASE_URL=_url(connection.settings_dict["NAME"]),
        MEDIA_ROOT=str(media_root),
        BACKUP_DIR=str(backup_dir),
        **env,
    )


def test_a_backup_restores_into_a_fresh_database_with_its_media(media_root, tmp_path, fresh_database):
    organization = OrganizationFactory(name="Backed-up Org")
    conversation = ConversationFactory(organization=organization, contact=ContactFactory(organization=organization))
    message = MessageFactory(organization=organization, conversation=conversation, text="Is my order ready? 🚚")
    media = MediaFactory(organization=organization, message=message)
    stored = media_root / media.file.name
    content = stored.read_bytes()

    made = backup(media_root, tmp_path / "backups")

    assert made.returncode == 0, made.stderr
    path = Path(made.stdout.strip())
    assert path.parent == tmp_path / "backups" and path.name.startswith("whatsapp-hub-")
    assert sorted(item.name for item in path.iterdir()) == ["MANIFEST", "SHA256SUMS", "database.dump", "media.tar.gz"]

    restored_media = tmp_path / "restored-media"
    restored = run(str(BASE_DIR / "deploy" / "restore.sh"), str(path), _url(fresh_database), str(restored_media))

    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines() == [
        "organizations 1",
        "contacts 1",
        "messages 1",
        "media 1",
        "campaigns 0",
        "media files 1",
    ]
    with psycopg.connect(_url(fresh_database)) as copy:
        assert copy.execute(
            "SELECT o.name, m.text FROM messaging_message m JOIN accounts_organization o ON o.id = m.organization_id "
            "WHERE m.id = %s",
            [message.pk],
        ).fetchone() == ("Backed-up Org", "Is my order ready? 🚚")
        [file_name] = copy.execute("SELECT file FROM messaging_media WHERE id = %s", [media.pk]).fetchone()
        # The migrations are the backup's: the restored database needs none.
        assert copy.execute(
            "SELECT count(*) FROM django_migrations "
            "WHERE app = 'messaging' AND name = '0004_message_delivery_attempted_at'"
        ).fetchone() == (1,)
    assert file_name == media.file.name
    assert (restored_media / file_name).read_bytes() == content


def test_restore_refuses_a_database_that_has_tables(media_root, tmp_path):
    made = backup(media_root, tmp_path / "backups")
    assert made.returncode == 0, made.stderr

    refused = run(str(BASE_DIR / "deploy" / "restore.sh"), made.stdout.strip(), _url(connection.settings_dict["NAME"]))

    assert refused.returncode == 1
    assert "tables: restore into a new one (createdb)" in refused.stderr


def test_restore_refuses_a_damaged_backup(media_root, tmp_path, fresh_database):
    made = backup(media_root, tmp_path / "backups")
    path = Path(made.stdout.strip())
    with (path / "database.dump").open("ab") as dump:
        dump.write(b"\0")

    refused = run(str(BASE_DIR / "deploy" / "restore.sh"), str(path), _url(fresh_database))

    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("is damaged: its checksums do not match")


def test_backups_older_than_the_retention_are_deleted(media_root, tmp_path):
    backups = tmp_path / "backups"
    old, recent = backups / "whatsapp-hub-20250101T000000Z", backups / "whatsapp-hub-20250110T000000Z"
    for directory, age_days in ((old, 8), (recent, 2)):
        directory.mkdir(parents=True)
        then = time.time() - age_days * 86400
        os.utime(directory, (then, then))

    made = backup(media_root, backups, BACKUP_KEEP_DAYS="5")

    assert made.returncode == 0, made.stderr
    assert sorted(item.name for item in backups.iterdir() if not item.name.startswith(".")) == [
        recent.name,
        Path(made.stdout.strip()).name,
    ]
