"""Safe defaults: the embedded default signs and encrypts with keys of its own (a private local file, made once,
shared by processes starting together), never with a key from the repository; DEBUG refuses public hosts and shows
its debug pages to this machine only.

Settings are read once per process, so the start-up cases run the settings module in a subprocess with a clean
environment (and the key file in a temporary directory: nothing is written into the repository)."""

import json
import multiprocessing
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client

from whatsapp_hub import embedded
from whatsapp_hub.embedded import local_hosts_only, local_keys

BASE_DIR = Path(__file__).resolve().parent.parent.parent
KEY_SETTINGS = ("SECRET_KEY", "JWT_SIGNING_KEY", "FIELD_ENCRYPTION_KEYS")
PRINT_KEYS = (
    "import json; from whatsapp_hub import settings; "
    f"print(json.dumps({{name: getattr(settings, name) for name in {KEY_SETTINGS!r}}}))"
)


def start(key_file: Path, **variables: str) -> subprocess.CompletedProcess:
    """Import the settings as `make run` does (DEBUG unset), with only these variables set."""
    environment = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    environment.update(LOCAL_KEYS_FILE=str(key_file), **variables)
    return subprocess.run(
        [sys.executable, "-c", PRINT_KEYS],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def started_keys(key_file: Path, **variables: str) -> dict:
    result = start(key_file, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the local key file -----------------------------------------------------------------------------------


def test_a_first_run_generates_its_keys_into_a_private_file(tmp_path):
    key_file = tmp_path / "keys.json"

    keys = started_keys(key_file)

    stored = json.loads(key_file.read_text())
    assert sorted(stored) == ["field_encryption_key", "jwt_signing_key", "secret_key"]
    assert keys == {
        "SECRET_KEY": stored["secret_key"],
        "JWT_SIGNING_KEY": stored["jwt_signing_key"],
        "FIELD_ENCRYPTION_KEYS": [stored["field_encryption_key"]],
    }
    assert len(stored["secret_key"]) >= 50
    assert len(stored["jwt_signing_key"]) >= 50
    assert stored["jwt_signing_key"] != stored["secret_key"]
    Fernet(stored["field_encryption_key"])  # a valid key
    assert mode(key_file) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keys.json"]


def test_the_next_run_reuses_the_file(tmp_path):
    key_file = tmp_path / "keys.json"
    first = started_keys(key_file)
    content = key_file.read_text()

    second = started_keys(key_file)

    assert second == first
    assert key_file.read_text() == content


def test_each_installation_gets_keys_of_its_own(tmp_path):
    first, second = local_keys(tmp_path / "one.json"), local_keys(tmp_path / "two.json")

    assert all(first[name] != second[name] for name in embedded.KEY_NAMES)


def test_keys_from_the_environment_win_and_no_file_is_written(tmp_path):
    key_file = tmp_path / "keys.json"
    given = {"SECRET_KEY": "s" * 60, "JWT_SIGNING_KEY": "j" * 60}
    given["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()

    keys = started_keys(key_file, **given)

    assert keys == {
        "SECRET_KEY": given["SECRET_KEY"],
        "JWT_SIGNING_KEY": given["JWT_SIGNING_KEY"],
        "FIELD_ENCRYPTION_KEYS": [given["FIELD_ENCRYPTION_KEY"]],
    }
    assert not key_file.exists()


def test_a_key_missing_from_the_environment_comes_from_the_file(tmp_path):
    key_file = tmp_path / "keys.json"

    keys = started_keys(key_file, SECRET_KEY="s" * 60)

    stored = json.loads(key_file.read_text())
    assert keys["SECRET_KEY"] == "s" * 60
    assert keys["JWT_SIGNING_KEY"] == stored["jwt_signing_key"]
    assert keys["FIELD_ENCRYPTION_KEYS"] == [stored["field_encryption_key"]]


def _load_after(barrier, path: str, results) -> None:
    barrier.wait()
    results.put(local_keys(Path(path)))


def test_processes_starting_together_agree_on_one_file(tmp_path):
    key_file = tmp_path / "keys.json"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(8), context.Queue()
    processes = [context.Process(target=_load_after, args=(barrier, str(key_file), results)) for _ in range(8)]
    for process in processes:
        process.start()

    keys = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0] * 8
    assert keys == [json.loads(key_file.read_text())] * 8
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keys.json"]  # no candidate left behind


def test_a_process_losing_the_race_reads_the_winners_file(tmp_path):
    key_file = tmp_path / "keys.json"
    winner = local_keys(key_file)

    # What the loser does after finding no file: write its candidate, fail to link it, read the winner's.
    assert embedded._create(key_file) == winner
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keys.json"]


def test_a_key_file_readable_by_other_users_is_refused(tmp_path):
    key_file = tmp_path / "keys.json"
    local_keys(key_file)
    key_file.chmod(0o644)

    with pytest.raises(ImproperlyConfigured, match=r"readable by other users: `chmod 600 "):
        local_keys(key_file)


@pytest.mark.parametrize("content", ["", "not json", "[]", '{"secret_key": "x"}'])
def test_a_broken_key_file_stops_start_up_and_stays_as_it_is(tmp_path, content):
    key_file = tmp_path / "keys.json"
    key_file.write_text(content)
    key_file.chmod(0o600)

    result = start(key_file)

    assert result.returncode != 0
    assert f"{key_file} is not a key file of WhatsApp Hub" in result.stderr
    assert key_file.read_text() == content


def test_an_unwritable_key_file_location_stops_start_up_naming_it(tmp_path):
    key_file = tmp_path / "missing-directory" / "keys.json"

    result = start(key_file)

    assert result.returncode != 0
    assert f"Cannot create the local key file {key_file}" in result.stderr


FERNET_LIKE = re.compile(rb"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=")


def test_no_fernet_key_is_in_the_source():
    sources = [
        path
        for path in BASE_DIR.rglob("*.py")
        if not {".venv", "tests", "bench", "node_modules"} & set(path.relative_to(BASE_DIR).parts)
    ]
    found = []
    for path in sources:
        for candidate in FERNET_LIKE.findall(path.read_bytes()):
            try:
                Fernet(candidate)
            except ValueError:
                continue
            found.append(f"{path.relative_to(BASE_DIR)}: {candidate.decode()}")

    assert len(sources) > 50
    assert found == []


# --- DEBUG and public hosts ----------------------------------------------------------------------------------


PUBLIC_HOSTS = ["hub.example.com", "*", ".example.com", "93.184.216.34", "localhost,hub.example.com"]


@pytest.mark.parametrize("hosts", PUBLIC_HOSTS)
def test_debug_refuses_to_start_with_a_public_host(tmp_path, hosts):
    result = start(tmp_path / "keys.json", ALLOWED_HOSTS=hosts)

    assert result.returncode != 0
    public = ", ".join(host for host in hosts.split(",") if host != "localhost")
    assert (
        f"django.core.exceptions.ImproperlyConfigured: DEBUG is on (the default) while ALLOWED_HOSTS names public "
        f"hosts ({public}): a deployment sets DEBUG=0." in result.stderr
    ), result.stderr


def test_debug_starts_with_local_and_private_hosts(tmp_path):
    hosts = "localhost,127.0.0.1,[::1],testserver,hub.localhost,192.168.1.20,10.0.0.5,fe80::1"

    assert start(tmp_path / "keys.json", ALLOWED_HOSTS=hosts).returncode == 0
    assert local_hosts_only(hosts.split(",")) == hosts.split(",")


def test_production_starts_with_a_public_host(tmp_path):
    result = start(
        tmp_path / "keys.json",
        DEBUG="0",
        SECRET_KEY="s" * 60,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="hub.example.com",
        DATABASE_URL="postgres://hub@127.0.0.1:5432/hub",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "keys.json").exists()


# --- debug pages --------------------------------------------------------------------------------------------

REMOTE = "203.0.113.9"


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


def test_a_remote_client_gets_the_json_404_not_the_debug_page(debug, db):
    r = Client(REMOTE_ADDR=REMOTE).get("/webhooks/no-such-page")

    assert (r.status_code, r["Content-Type"], r.json()) == (404, "application/json", {"detail": "Not found."})


def test_a_remote_browser_gets_the_web_app_s_404_page_not_the_debug_page(debug, db):
    r = Client(REMOTE_ADDR=REMOTE).get("/no-such-page")

    assert (r.status_code, r["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert b"Page not found" in r.content
    assert b"URLconf" not in r.content


def test_under_asgi_a_remote_client_gets_the_json_404_too(debug, db):
    # The ASGI scope itself (the client's address is its `client`), as daphne passes it.
    scope = {
        "method": "GET",
        "path": "/webhooks/no-such-page",
        "client": [REMOTE, 40000],
        "headers": [(b"host", b"localhost")],
    }
    r = async_to_sync(AsyncClient().request)(**scope)

    assert (r.status_code, r["Content-Type"], r.json()) == (404, "application/json", {"detail": "Not found."})


def test_a_local_client_gets_the_debug_404(debug, db):
    r = Client().get("/no-such-page")

    assert (r.status_code, r["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert b"Using the URLconf defined in" in r.content


def test_a_remote_client_with_a_bad_host_gets_the_json_400(debug, db):
    r = Client(REMOTE_ADDR=REMOTE).get("/api/v1/docs/", HTTP_HOST="evil.example")

    assert (r.status_code, r["Content-Type"], r.json()) == (400, "application/json", {"detail": "Bad request."})


def test_a_remote_client_claiming_to_be_localhost_gets_no_debug_page(debug, db):
    r = Client(REMOTE_ADDR=REMOTE).get("/webhooks/no-such-page", HTTP_HOST="localhost")

    assert (r.status_code, r.json()) == (404, {"detail": "Not found."})


def test_a_client_behind_a_local_proxy_gets_no_debug_page(debug, db):
    r = Client().get("/webhooks/no-such-page", HTTP_X_FORWARDED_FOR=REMOTE)

    assert (r.status_code, r.json()) == (404, {"detail": "Not found."})


@pytest.mark.urls("tests.security.failing_urls")
def test_a_remote_client_gets_the_500_page_without_the_traceback(debug):
    r = Client(REMOTE_ADDR=REMOTE, raise_request_exception=False).get("/fail/")

    assert (r.status_code, r["Content-Type"]) == (500, "text/html; charset=utf-8")
    assert b"Something went wrong on our side" in r.content
    assert b"Traceback" not in r.content and b"the failing view" not in r.content


@pytest.mark.urls("tests.security.failing_urls")
def test_a_local_client_gets_the_debug_500(debug):
    r = Client(raise_request_exception=False).get("/fail/", HTTP_ACCEPT="text/html")

    assert r.status_code == 500
    assert b"RuntimeError" in r.content
    assert b"the failing view" in r.content


def test_api_errors_stay_as_they_are_for_a_remote_client(debug, db):
    r = Client(REMOTE_ADDR=REMOTE).get("/api/v1/conversations")

    assert (r.status_code, r.json()) == (401, {"detail": "Authentication credentials were not provided."})
