# The media library's index on a big table, built concurrently (whatsapp_hub/safe_migrations.py).

from django.db import migrations, models

from whatsapp_hub.safe_migrations import AddIndexConcurrently


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False

    dependencies = [
        ('messaging', '0015_inbox_embed'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='media',
            index=models.Index(fields=['organization', '-created_at', '-id'], name='messaging_media_library'),
        ),
    ]
