"""Encryption at rest for secrets users hand us (WhatsApp tokens, app secrets, LLM keys).

Fernet (AES-CBC + HMAC, authenticated) under a MultiFernet: FIELD_ENCRYPTION_KEY is a
comma-separated list, the first key encrypts, all keys decrypt, and the `rotate_encryption_keys`
command re-encrypts every row under the first key.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models


@cache
def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY holds an invalid Fernet key: {exc}") from None


def _reset_fernet(*, setting, **kwargs):
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernet.cache_clear()


setting_changed.connect(_reset_fernet)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY: a key was removed before rotation."
        ) from None


def mask(value: str | None) -> str | None:
    """What a secret looks like in any response: '...abcd' (never more than the last 4 characters)."""
    if not value:
        return None
    return "..." + value[-4:] if len(value) > 8 else "..."


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees the plain value."""

    def from_db_value(self, value, expression, connection):
        # A blank value stays blank (not None): reading then saving a row must not write NULL.
        return value if value is None or value == "" else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None or value == "" else encrypt(value)
