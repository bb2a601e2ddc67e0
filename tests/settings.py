"""Settings of the test suite: the project's settings with keys made up for this run, so the suite neither reads
nor writes the embedded default's local key file (whatsapp_hub/embedded.py). Keys set in the environment win."""

import os
import secrets
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

from tests.xdist import own_redis_db

# Set in the environment, so that the servers and workers the tests start (daphne, Celery) inherit it. The URL the
# suite was given is kept beside it: a process a test starts loads these settings again and must land on the same
# database, not on the next one down.
os.environ.setdefault("SUITE_REDIS_URL", os.environ.get("REDIS_URL", ""))
os.environ["REDIS_URL"] = own_redis_db(os.environ["SUITE_REDIS_URL"])
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("JWT_SIGNING_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())

from whatsapp_hub.settings import *  # noqa: F403
from whatsapp_hub.settings import DATABASES

# SQLite's test database lives in memory unless it has a name: the browser tests' live server (tests/browser), another
# process, reaches it only through a file. One file per run, so that two runs never share one.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _test_file = Path(tempfile.gettempdir()) / f"whatsapp-hub-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(_test_file)}

# No test reaches Meta: unless the environment names a fake (the browser tests' server), a test that forgets the
# `fake_meta` fixture meets a closed port on loopback (the discard port), not graph.facebook.com.
WHATSAPP_GRAPH_URL = os.environ.get("WHATSAPP_GRAPH_URL", "http://127.0.0.1:9/v23.0")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # no test reaches OpenAI either
