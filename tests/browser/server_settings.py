"""Settings of the live server the browser tests start (tests/browser/conftest.py, `daphne_server`): the test
settings on the test database the pytest process created, with what the tests need to see from outside the process:
e-mails written as files (`read_outbox`) and Celery tasks run inline, also when REDIS_URL is set (no worker runs)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["BROWSER_TEST_DATABASE"]
# The hasher of the passwords the tests set (tests/conftest.py), so that the people they create can sign in.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["BROWSER_TEST_EMAIL_DIR"]
CELERY_TASK_ALWAYS_EAGER = True
