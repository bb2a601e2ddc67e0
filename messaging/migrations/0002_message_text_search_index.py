from django.db import migrations

INDEX = "messaging_msg_text_fts"


def create_index(apps, schema_editor):
    # Full-text search over message text (PostgreSQL only; SQLite searches without an index).
    # The expression matches what SearchVector("text", config="simple") generates.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON messaging_message "
            "USING gin (to_tsvector('simple'::regconfig, COALESCE(text, '')))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
