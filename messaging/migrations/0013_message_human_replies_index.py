# The reports' index on a big table, built concurrently (whatsapp_hub/safe_migrations.py).

from django.db import migrations, models

from whatsapp_hub.safe_migrations import AddIndexConcurrently


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False

    dependencies = [
        ('messaging', '0012_conversation_resolution'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='message',
            index=models.Index(
                condition=models.Q(('direction', 'outbound'), ('sent_by__isnull', False)),
                fields=['organization', 'created_at'],
                name='messaging_msg_human_replies',
            ),
        ),
    ]
