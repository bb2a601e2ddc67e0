from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from whatsapp_hub.encryption import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field under the first FIELD_ENCRYPTION_KEY (run after prepending a new key)."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not names:
                continue
            # Platform maintenance across all tenants: reading decrypts with any key, writing
            # encrypts with the first.
            with transaction.atomic():
                rows = model._base_manager.select_for_update().only("pk", *names)
                for row in rows.iterator():
                    model._base_manager.filter(pk=row.pk).update(**{name: getattr(row, name) for name in names})
                    total += 1
        self.stdout.write(f"Re-encrypted {total} rows.")
