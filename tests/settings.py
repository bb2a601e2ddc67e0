"""Settings of the test suite: the project's settings with keys made up for this run, so the suite neither reads
nor writes the embedded default's local key file (whatsapp_hub/embedded.py). Keys set in the environment win."""

import os
import secrets

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("JWT_SIGNING_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())

from whatsapp_hub.settings import *  # noqa: F403
