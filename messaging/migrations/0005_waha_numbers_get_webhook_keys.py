"""Every WAHA number gets a webhook HMAC key: unsigned WAHA webhooks are refused from now on.

WAHA learns a key when the number's session is synced: run `python manage.py waha_sessions_sync` once after
this migration (until then a session without the key posts unsigned webhooks, which are refused)."""

import secrets

from django.db import migrations


def give_keys(apps, schema_editor):
    WhatsAppNumber = apps.get_model("messaging", "WhatsAppNumber")
    # Blank is stored as "" (EncryptedTextField encrypts only a value).
    for number in WhatsAppNumber.objects.filter(provider="waha", waha_webhook_hmac_key="").only("pk").iterator():
        number.waha_webhook_hmac_key = secrets.token_urlsafe(32)
        number.save(update_fields=["waha_webhook_hmac_key"])


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_message_delivery_attempted_at")]

    operations = [migrations.RunPython(give_keys, migrations.RunPython.noop)]
