"""Field encryption (whatsapp_hub/encryption.py): Fernet under a MultiFernet, key rotation, masking,
and the rotate_encryption_keys command over the models that use EncryptedTextField."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from messaging.models import WhatsAppNumber
from whatsapp_hub.encryption import EncryptedTextField, decrypt, encrypt, mask

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def keys(settings):
    """Set FIELD_ENCRYPTION_KEYS (the first encrypts, all decrypt) for the rest of the test."""

    def use(*keys: str) -> None:
        settings.FIELD_ENCRYPTION_KEYS = list(keys)

    use(OLD_KEY)
    return use


# --- encrypt / decrypt ---------------------------------------------------------------------------------


def test_encrypt_round_trips_and_hides_the_value(keys):
    secret = "EAABsecret1234-ÿ-العربية"

    token = encrypt(secret)

    assert decrypt(token) == secret
    assert secret not in token
    assert "secret1234" not in token
    assert Fernet(OLD_KEY.encode()).decrypt(token.encode()).decode() == secret


def test_encrypting_twice_gives_different_ciphertexts(keys):
    assert encrypt("same") != encrypt("same")


def test_a_token_under_an_unknown_key_fails_loudly(keys):
    token = Fernet(Fernet.generate_key()).encrypt(b"x").decode()

    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        decrypt(token)


def test_a_tampered_token_fails_loudly(keys):
    token = encrypt("secret")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    with pytest.raises(ImproperlyConfigured):
        decrypt(tampered)


def test_an_invalid_key_in_settings_is_reported(keys):
    keys("not-a-fernet-key")

    with pytest.raises(ImproperlyConfigured, match="invalid Fernet key"):
        encrypt("x")


# --- key rotation --------------------------------------------------------------------------------------


def test_the_old_key_still_decrypts_after_a_new_one_is_prepended(keys):
    old_token = encrypt("EAABold")

    keys(NEW_KEY, OLD_KEY)

    assert decrypt(old_token) == "EAABold"
    # New values are encrypted under the new (first) key only.
    new_token = encrypt("EAABnew")
    assert Fernet(NEW_KEY.encode()).decrypt(new_token.encode()) == b"EAABnew"
    keys(NEW_KEY)
    assert decrypt(new_token) == "EAABnew"


def test_dropping_a_key_before_rotation_makes_its_values_unreadable(keys):
    old_token = encrypt("EAABold")

    keys(NEW_KEY)

    with pytest.raises(ImproperlyConfigured):
        decrypt(old_token)


# --- the field and the rotation command ----------------------------------------------------------------


def _stored(number: WhatsAppNumber, column: str) -> str:
    """The raw column value, as the database holds it."""
    table = connection.ops.quote_name(WhatsAppNumber._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [number.pk])
        return cursor.fetchone()[0]


def test_encrypted_fields_are_stored_encrypted_and_read_in_clear(keys, org):
    number = WhatsAppNumber.objects.create(
        organization=org, display_name="Main", access_token="EAABsecret1234", app_secret=""
    )

    stored = _stored(number, "access_token")
    assert stored != "EAABsecret1234"
    assert "secret1234" not in stored
    assert decrypt(stored) == "EAABsecret1234"
    assert _stored(number, "app_secret") == ""
    fresh = WhatsAppNumber.objects.get(pk=number.pk)
    assert (fresh.access_token, fresh.app_secret) == ("EAABsecret1234", "")


def test_rotate_encryption_keys_re_encrypts_every_row_under_the_first_key(keys, org, other_org):
    encrypted_models = {
        field.model for field in WhatsAppNumber._meta.concrete_fields if isinstance(field, EncryptedTextField)
    }
    assert encrypted_models == {WhatsAppNumber}
    first = WhatsAppNumber.objects.create(
        organization=org, display_name="A", access_token="EAABfirst", app_secret="app-secret-1"
    )
    second = WhatsAppNumber.objects.create(
        organization=other_org, display_name="B", provider="waha", waha_api_key="waha-key-2"
    )
    before = _stored(first, "access_token")
    keys(NEW_KEY, OLD_KEY)

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)

    assert out.getvalue().strip() == "Re-encrypted 2 rows."
    assert _stored(first, "access_token") != before
    keys(NEW_KEY)  # the old key can now be removed
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.access_token, first.app_secret, first.verify_token) == ("EAABfirst", "app-secret-1", "")
    assert (second.waha_api_key, second.access_token) == ("waha-key-2", "")
    assert _stored(second, "access_token") == ""


def test_rotating_with_nothing_to_do_is_harmless(keys, db):
    out = StringIO()

    call_command("rotate_encryption_keys", stdout=out)

    assert out.getvalue().strip() == "Re-encrypted 0 rows."


# --- mask ----------------------------------------------------------------------------------------------


def test_mask_shows_only_the_last_four_characters():
    assert mask("EAABsecret1234") == "...1234"


@pytest.mark.parametrize("value", [None, ""])
def test_mask_of_nothing_is_none(value):
    assert mask(value) is None


@pytest.mark.parametrize("length", range(1, 41))
def test_mask_never_reveals_more_than_the_last_four_characters(length):
    value = "".join(chr(ord("a") + n % 26) for n in range(length))

    masked = mask(value)

    assert masked.startswith("...")
    shown = masked[3:]
    assert len(shown) <= 4
    assert value.endswith(shown)
    if length <= 8:
        # A short secret would be half revealed by its last four characters: show none.
        assert masked == "..."
