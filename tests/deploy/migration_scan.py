"""Which migration operations would lock a big table while they read all of it.

Walks a migration plan in order with the project state as it grows, and reports every operation that builds an
index or validates a constraint on one of BIG_TABLES (created by an earlier migration) without
whatsapp_hub/safe_migrations.py: AddIndex, RemoveIndex, AddConstraint (unique, exclusion or check), AddField or
AlterField adding an index, a unique or a foreign key, unique_together / index_together, and raw SQL (RunSQL, or
the source of a RunPython function) that says CREATE INDEX without CONCURRENTLY. A table created in the same
migration is empty: anything goes there.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable

from django.db import migrations, models
from django.db.migrations.state import ProjectState

from whatsapp_hub import safe_migrations

# The tables that grow with traffic: a message per message, a webhook event per webhook, a recipient per campaign
# send, a contact per customer, a conversation per customer and number, a media row per file.
BIG_TABLES = frozenset(
    {
        ("messaging", "message"),
        ("messaging", "webhookevent"),
        ("messaging", "contact"),
        ("messaging", "conversation"),
        ("messaging", "media"),
        ("campaigns", "campaignrecipient"),
    }
)

SAFE = (
    safe_migrations.AddIndexConcurrently,
    safe_migrations.RemoveIndexConcurrently,
    safe_migrations.AddUniqueConstraintConcurrently,
    safe_migrations.AddIndexSQLConcurrently,
)
PLAIN_CREATE_INDEX = re.compile(r"CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)", re.IGNORECASE)


def _indexed(field: models.Field | None) -> bool:
    """Whether the column of `field` has an index or a constraint Django builds with it."""
    if field is None or field.many_to_many:  # a many-to-many field is a table of its own
        return False
    return bool(field.db_index or field.unique or field.primary_key or field.remote_field)


def _flatten(operations: Iterable[migrations.operations.base.Operation]):
    for operation in operations:
        if isinstance(operation, migrations.SeparateDatabaseAndState):
            yield from _flatten(operation.database_operations)
        elif isinstance(operation, safe_migrations.InOneTransaction):
            yield from _flatten(operation.operations)
        else:
            yield operation


def _raw_sql(operation) -> str:
    if isinstance(operation, migrations.RunSQL):
        sql = operation.sql
        return sql if isinstance(sql, str) else " ".join(str(part) for part in sql)
    if isinstance(operation, migrations.RunPython):
        try:
            return inspect.getsource(operation.code)
        except (OSError, TypeError):
            return ""
    return ""


def unsafe_operations(plan: Iterable[tuple[str, migrations.Migration]]) -> list[str]:
    """`plan`: (app_label, migration) pairs in the order they apply. Returns one line per unsafe operation."""
    big_db_tables: set[str] = set()
    problems: list[str] = []
    state = ProjectState()
    for app_label, migration in plan:
        created_here: set[tuple[str, str]] = set()
        where = f"{app_label}.{migration.name}"
        for operation in _flatten(migration.operations):
            model_name = getattr(operation, "model_name_lower", None) or getattr(operation, "name_lower", None)
            key = (app_label, model_name)
            if isinstance(operation, migrations.CreateModel):
                created_here.add(key)
            big = key in BIG_TABLES and key not in created_here and not isinstance(operation, migrations.CreateModel)
            problem = None
            if isinstance(operation, SAFE):
                pass
            elif big and isinstance(operation, migrations.AddIndex):
                problem = f"AddIndex {operation.index.name} (use safe_migrations.AddIndexConcurrently)"
            elif big and isinstance(operation, migrations.RemoveIndex):
                problem = f"RemoveIndex {operation.name} (use safe_migrations.RemoveIndexConcurrently)"
            elif big and isinstance(operation, migrations.AddConstraint):
                problem = (
                    f"AddConstraint {operation.constraint.name} (a unique constraint: "
                    "safe_migrations.AddUniqueConstraintConcurrently; a check: add it NOT VALID and validate apart)"
                )
            elif big and isinstance(operation, migrations.AddField) and _indexed(operation.field):
                problem = f"AddField {operation.name} with an index, a unique or a foreign key"
            elif big and isinstance(operation, migrations.AlterField) and _indexed(operation.field):
                before = state.models[key].fields.get(operation.name)
                if not _indexed(before) or (operation.field.unique and not before.unique):
                    problem = f"AlterField {operation.name} adding an index, a unique or a foreign key"
            elif big and isinstance(operation, migrations.AlterUniqueTogether | migrations.AlterIndexTogether):
                if operation.option_value:
                    problem = f"{operation.__class__.__name__} {sorted(operation.option_value)}"
            elif isinstance(operation, migrations.RunSQL | migrations.RunPython):
                sql = _raw_sql(operation)
                if PLAIN_CREATE_INDEX.search(sql) and any(table in sql for table in big_db_tables):
                    problem = f"{operation.__class__.__name__} running CREATE INDEX without CONCURRENTLY"
            if problem:
                problems.append(f"{where}: {problem} on {app_label}.{model_name or '?'}")
            operation.state_forwards(app_label, state)
            for table_key in BIG_TABLES & set(state.models):
                model_state = state.models[table_key]
                big_db_tables.add(model_state.options.get("db_table") or f"{table_key[0]}_{table_key[1]}")
    return problems
