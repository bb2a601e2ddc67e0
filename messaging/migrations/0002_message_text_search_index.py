from django.db import migrations

from whatsapp_hub.safe_migrations import AddIndexSQLConcurrently


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction (whatsapp_hub/safe_migrations.py).
    atomic = False

    dependencies = [("messaging", "0001_initial")]

    # Full-text search over message text (PostgreSQL only; SQLite searches without an index).
    # The expression matches what SearchVector("text", config="simple") generates.
    operations = [
        AddIndexSQLConcurrently(
            name="messaging_msg_text_fts",
            table="messaging_message",
            definition="USING gin (to_tsvector('simple'::regconfig, COALESCE(text, '')))",
        )
    ]
