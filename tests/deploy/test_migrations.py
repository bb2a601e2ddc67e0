"""Migrations are safe on large live tables: no index is built on a big table with a plain CREATE INDEX (which holds
writes for as long as it reads the table), and the concurrent operations are idempotent where they run for real."""

import pytest
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from tests.deploy.migration_scan import unsafe_operations
from whatsapp_hub import safe_migrations


def _full_plan() -> list[tuple[str, migrations.Migration]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    seen: set[tuple[str, str]] = set()
    plan = []
    for leaf in sorted(loader.graph.leaf_nodes()):
        for node in loader.graph.forwards_plan(leaf):
            if node not in seen:
                seen.add(node)
                plan.append((node[0], loader.graph.nodes[node]))
    return plan


def _migration(app_label: str, name: str, operations: list) -> tuple[str, migrations.Migration]:
    migration = migrations.Migration(name, app_label)
    migration.operations = operations
    return app_label, migration


def _messages_table() -> tuple[str, migrations.Migration]:
    return _migration(
        "messaging",
        "0001_fake",
        [
            migrations.CreateModel(
                name="Message",
                fields=[("id", models.BigAutoField(primary_key=True)), ("text", models.TextField())],
            ),
            # Created in the same migration: the table is empty, a plain index is fine.
            migrations.AddIndex(model_name="message", index=models.Index(fields=["text"], name="msg_text_1")),
        ],
    )


def test_no_migration_builds_an_index_on_a_big_table_without_concurrently():
    plan = _full_plan()
    assert ("messaging", "0004_message_delivery_attempted_at") in {(app, m.name) for app, m in plan}

    assert unsafe_operations(plan) == []


def test_the_scan_reports_each_way_of_locking_a_big_table():
    def create_index(apps, schema_editor):
        schema_editor.execute("CREATE INDEX IF NOT EXISTS msg_fts ON messaging_message USING gin (text)")

    plan = [
        _messages_table(),
        _migration(
            "messaging",
            "0002_fake",
            [
                migrations.AddIndex(model_name="message", index=models.Index(fields=["id"], name="msg_id_2")),
                migrations.RemoveIndex(model_name="message", name="msg_text_1"),
                migrations.AddConstraint(
                    model_name="message", constraint=models.UniqueConstraint(fields=["text"], name="msg_text_unique")
                ),
                migrations.AddField(
                    model_name="message", name="wamid", field=models.CharField(max_length=9, unique=True)
                ),
                migrations.AlterField(model_name="message", name="text", field=models.TextField(db_index=True)),
                migrations.RunSQL("CREATE INDEX msg_x ON messaging_message (id)"),
                migrations.RunPython(create_index),
            ],
        ),
    ]

    assert unsafe_operations(plan) == [
        "messaging.0002_fake: AddIndex msg_id_2 (use safe_migrations.AddIndexConcurrently) on messaging.message",
        "messaging.0002_fake: RemoveIndex msg_text_1 (use safe_migrations.RemoveIndexConcurrently) "
        "on messaging.message",
        "messaging.0002_fake: AddConstraint msg_text_unique (a unique constraint: "
        "safe_migrations.AddUniqueConstraintConcurrently; a check: add it NOT VALID and validate apart) "
        "on messaging.message",
        "messaging.0002_fake: AddField wamid with an index, a unique or a foreign key on messaging.message",
        "messaging.0002_fake: AlterField text adding an index, a unique or a foreign key on messaging.message",
        "messaging.0002_fake: RunSQL running CREATE INDEX without CONCURRENTLY on messaging.?",
        "messaging.0002_fake: RunPython running CREATE INDEX without CONCURRENTLY on messaging.?",
    ]


def test_the_scan_accepts_the_concurrent_operations_and_small_tables():
    plan = [
        _messages_table(),
        _migration(
            "messaging",
            "0002_fake",
            [
                safe_migrations.AddIndexConcurrently(
                    model_name="message", index=models.Index(fields=["id"], name="msg_id_2")
                ),
                safe_migrations.RemoveIndexConcurrently(model_name="message", name="msg_text_1"),
                safe_migrations.AddUniqueConstraintConcurrently(
                    model_name="message", constraint=models.UniqueConstraint(fields=["text"], name="msg_text_unique")
                ),
                safe_migrations.AddIndexSQLConcurrently(
                    name="msg_fts", table="messaging_message", definition="USING gin (text)"
                ),
                migrations.RunSQL("CREATE INDEX CONCURRENTLY msg_x ON messaging_message (id)"),
                migrations.AddField(model_name="message", name="note", field=models.TextField(default="")),
            ],
        ),
        # Not a big table: the organizations.
        _migration(
            "accounts",
            "0001_fake",
            [migrations.CreateModel(name="Organization", fields=[("id", models.BigAutoField(primary_key=True))])],
        ),
        _migration(
            "accounts",
            "0002_fake",
            [migrations.AddIndex(model_name="organization", index=models.Index(fields=["id"], name="org_id"))],
        ),
    ]

    assert unsafe_operations(plan) == []


def test_migrations_with_concurrent_operations_are_not_atomic():
    # PostgreSQL refuses CREATE INDEX CONCURRENTLY in a transaction.
    concurrent = (
        safe_migrations.AddIndexConcurrently,
        safe_migrations.RemoveIndexConcurrently,
        safe_migrations.AddUniqueConstraintConcurrently,
        safe_migrations.AddIndexSQLConcurrently,
    )
    using = {
        f"{app}.{migration.name}": migration.atomic
        for app, migration in _full_plan()
        if any(isinstance(operation, concurrent) for operation in migration.operations)
    }

    assert using == {
        "messaging.0002_message_text_search_index": False,
        "messaging.0003_contacts_plain_unique_for_upserts": False,
        "messaging.0004_message_delivery_attempted_at": False,
        "messaging.0007_media_fetch_attempts": False,
        "messaging.0013_message_human_replies_index": False,
        "messaging.0016_media_library": False,
    }


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="CONCURRENTLY is PostgreSQL's")


def _index(name: str) -> tuple[bool, str] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
            [name],
        )
        return cursor.fetchone()


def _migration_state(app_label: str, name: str) -> ProjectState:
    return MigrationLoader(connection).project_state((app_label, name), at_end=True)


def _run(operation, *, app_label: str = "messaging", state: ProjectState, backwards: bool = False) -> None:
    after = state.clone()
    operation.state_forwards(app_label, after)
    with connection.schema_editor(atomic=False) as editor:
        if backwards:
            operation.database_backwards(app_label, editor, after, state)
        else:
            operation.database_forwards(app_label, editor, state, after)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_index_left_invalid_by_an_interrupted_build_is_built_again():
    migration = MigrationLoader(None).graph.nodes["messaging", "0004_message_delivery_attempted_at"]
    operation = migration.operations[0]
    state = _migration_state("messaging", "0003_contacts_plain_unique_for_upserts")
    definition = _index("messaging_msg_undelivered")[1]
    # What a CREATE INDEX CONCURRENTLY killed halfway leaves behind.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'messaging_msg_undelivered'::regclass"
        )

    _run(operation, state=state)

    assert _index("messaging_msg_undelivered") == (True, definition)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_running_an_index_migration_again_keeps_the_valid_index():
    operation = MigrationLoader(None).graph.nodes["messaging", "0004_message_delivery_attempted_at"].operations[0]
    state = _migration_state("messaging", "0003_contacts_plain_unique_for_upserts")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'messaging_msg_undelivered'::regclass::oid")
        oid = cursor.fetchone()[0]

    _run(operation, state=state)

    with connection.cursor() as cursor:
        cursor.execute("SELECT 'messaging_msg_undelivered'::regclass::oid")
        assert cursor.fetchone()[0] == oid


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_replaced_unique_constraint_is_rebuilt_concurrently_and_attached():
    # messaging 0003: partial unique indexes replaced by plain unique constraints of the same names.
    operation = MigrationLoader(None).graph.nodes["messaging", "0003_contacts_plain_unique_for_upserts"].operations[0]
    before = _migration_state("messaging", "0002_message_text_search_index")
    _run(operation, state=before, backwards=True)
    assert _index("messaging_contact_wa_id_unique")[1].endswith("WHERE (wa_id IS NOT NULL)")

    _run(operation, state=before)

    assert _index("messaging_contact_wa_id_unique") == (
        True,
        "CREATE UNIQUE INDEX messaging_contact_wa_id_unique ON public.messaging_contact "
        "USING btree (organization_id, wa_id)",
    )
    assert _index("messaging_contact_wa_id_unique_new") is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT contype FROM pg_constraint WHERE conname = 'messaging_contact_wa_id_unique'")
        assert cursor.fetchall() == [("u",)]
