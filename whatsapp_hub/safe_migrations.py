"""Migration operations that are safe on large live tables.

A plain `CREATE INDEX` holds a SHARE lock on its table while it reads every row: on a million messages, every
webhook's INSERT and every status UPDATE waits seconds behind it. `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE` is
worse (ACCESS EXCLUSIVE: reads wait too). On PostgreSQL these operations build the index with
`CREATE [UNIQUE] INDEX CONCURRENTLY` instead (writes go on; the build waits for older transactions, never blocks
new ones), and only attach it with a catalog-only statement. Elsewhere (SQLite, the embedded default) they do what
Django's own operations do.

Use them in a migration with `atomic = False` (PostgreSQL refuses CONCURRENTLY inside a transaction). On
PostgreSQL each one is idempotent, so a migration interrupted halfway (a timeout, a killed deploy) is run again as
it is: an index a killed `CREATE INDEX CONCURRENTLY` left INVALID is dropped and built again, a valid one is kept.
The build itself runs with `lock_timeout` and `statement_timeout` off: it may wait as long as it needs for older
transactions without holding up anyone (deploy/release.sh runs migrate with a short lock_timeout for the
statements that do take strong locks).

tests/deploy/test_migrations.py fails when a migration adds an index to a big table any other way.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import NotSupportedError, migrations, models, transaction
from django.db.migrations.operations.base import Operation

# bench/migration_locks.py sets this to False for its baseline: the same migrations with plain CREATE INDEX (what
# they did before), everything else equal.
CONCURRENTLY = True


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _ensure_not_in_transaction(schema_editor, operation: Operation) -> None:
    if schema_editor.connection.in_atomic_block:
        raise NotSupportedError(
            f"{operation.__class__.__name__} cannot run in a transaction: set `atomic = False` on the migration."
        )


def index_validity(schema_editor, name: str) -> bool | None:
    """True for a valid index called `name` in the current schema, False for an invalid one, None when none (and
    always None for `sqlmigrate`, which shows every statement)."""
    if schema_editor.collect_sql:
        return None
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = %s AND n.nspname = current_schema()",
            [name],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def _constraint_exists(schema_editor, table: str, name: str) -> bool:
    if schema_editor.collect_sql:
        return False
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
            [name, schema_editor.quote_name(table)],
        )
        return cursor.fetchone() is not None


@contextmanager
def _unbounded_waits(schema_editor):
    """No lock_timeout or statement_timeout for a concurrent build: it may wait for older transactions as long as it
    needs (nobody waits for it), and a long table must not be cut short. The session's own values come back after."""
    schema_editor.execute("SET lock_timeout = 0")
    schema_editor.execute("SET statement_timeout = 0")
    try:
        yield
    finally:
        schema_editor.execute("RESET lock_timeout")
        schema_editor.execute("RESET statement_timeout")


def build_index(schema_editor, *, name: str, create_sql: str) -> None:
    """Run `create_sql` (a CREATE INDEX CONCURRENTLY statement for the index `name`) unless a valid index of that name
    exists; an invalid one (left by an interrupted build) is dropped first."""
    validity = index_validity(schema_editor, name)
    if validity:
        return
    quoted = schema_editor.quote_name(name)
    with _unbounded_waits(schema_editor):
        if validity is False:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quoted}")
        if not CONCURRENTLY:
            create_sql = create_sql.replace(" INDEX CONCURRENTLY ", " INDEX ", 1)
        schema_editor.execute(create_sql, params=None)


def drop_index(schema_editor, *, name: str) -> None:
    quoted = schema_editor.quote_name(name)
    with _unbounded_waits(schema_editor):
        schema_editor.execute(f"DROP INDEX {'CONCURRENTLY ' if CONCURRENTLY else ''}IF EXISTS {quoted}")


class AddIndexConcurrently(migrations.AddIndex):
    """AddIndex, built with CREATE INDEX CONCURRENTLY on PostgreSQL (idempotent); a plain AddIndex elsewhere."""

    atomic = False

    def describe(self) -> str:
        return f"Create index {self.index.name} on {self.model_name} (concurrently on PostgreSQL)"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        _ensure_not_in_transaction(schema_editor, self)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            sql = str(self.index.create_sql(model, schema_editor, concurrently=True))
            build_index(schema_editor, name=self.index.name, create_sql=sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgres(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        _ensure_not_in_transaction(schema_editor, self)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            drop_index(schema_editor, name=self.index.name)


class RemoveIndexConcurrently(migrations.RemoveIndex):
    """RemoveIndex, with DROP INDEX CONCURRENTLY on PostgreSQL; a plain RemoveIndex elsewhere."""

    atomic = False

    def describe(self) -> str:
        return f"Remove index {self.name} from {self.model_name} (concurrently on PostgreSQL)"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        _ensure_not_in_transaction(schema_editor, self)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            drop_index(schema_editor, name=self.name)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgres(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        _ensure_not_in_transaction(schema_editor, self)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            build_index(
                schema_editor,
                name=index.name,
                create_sql=str(index.create_sql(model, schema_editor, concurrently=True)),
            )


class AddUniqueConstraintConcurrently(migrations.AddConstraint):
    """AddConstraint for a UniqueConstraint over fields (with or without a condition), optionally replacing the
    constraint named `replaces` (which may have the same name), without an exclusive lock while the index is built.

    PostgreSQL: CREATE UNIQUE INDEX CONCURRENTLY under a temporary name, then one short transaction drops the
    replaced constraint and attaches the new index (ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX, or a
    rename for a conditional constraint, which PostgreSQL keeps as a unique index). Uniqueness holds throughout: the
    old constraint goes only once the new index exists. Elsewhere: RemoveConstraint(replaces) + AddConstraint.
    """

    atomic = False

    def __init__(self, model_name: str, constraint: models.UniqueConstraint, replaces: str | None = None):
        if not isinstance(constraint, models.UniqueConstraint) or not constraint.fields:
            raise ValueError("AddUniqueConstraintConcurrently takes a UniqueConstraint over fields.")
        if constraint.expressions or constraint.include or constraint.opclasses or constraint.deferrable:
            raise ValueError("AddUniqueConstraintConcurrently takes plain fields (with an optional condition).")
        super().__init__(model_name, constraint)
        self.replaces = replaces

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        if self.replaces:
            kwargs["replaces"] = self.replaces
        return name, args, kwargs

    def describe(self) -> str:
        replacing = f" replacing {self.replaces}" if self.replaces else ""
        return f"Create constraint {self.constraint.name}{replacing} on {self.model_name} (concurrently on PostgreSQL)"

    def state_forwards(self, app_label, state):
        if self.replaces:
            state.remove_constraint(app_label, self.model_name_lower, self.replaces)
        super().state_forwards(app_label, state)

    def _temporary_name(self) -> str:
        return f"{self.constraint.name[:58]}_new"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        old = self._replaced(app_label, from_state)
        if not _postgres(schema_editor):
            # As RemoveConstraint then AddConstraint would (SQLite remakes the table from the model of each step).
            if old is not None:
                schema_editor.remove_constraint(
                    self._between(app_label, from_state).apps.get_model(app_label, self.model_name), old
                )
            schema_editor.add_constraint(model, self.constraint)
            return
        _ensure_not_in_transaction(schema_editor, self)
        table = model._meta.db_table
        name = self.constraint.name
        conditional = self.constraint.condition is not None
        # Done already (a run interrupted after the attach): a plain constraint is in pg_constraint; a conditional one
        # is an index of its name, which is not the one it replaces.
        if not conditional and _constraint_exists(schema_editor, table, name):
            return
        if conditional and index_validity(schema_editor, name) and self.replaces != name:
            return
        temporary = self._temporary_name()
        index = models.Index(fields=list(self.constraint.fields), name=temporary, condition=self.constraint.condition)
        sql = str(index.create_sql(model, schema_editor, concurrently=True)).replace(
            "CREATE INDEX", "CREATE UNIQUE INDEX", 1
        )
        build_index(schema_editor, name=temporary, create_sql=sql)
        with transaction.atomic(using=schema_editor.connection.alias):
            if old is not None:
                schema_editor.remove_constraint(model, old)
            if conditional:
                schema_editor.execute(
                    f"ALTER INDEX {schema_editor.quote_name(temporary)} RENAME TO {schema_editor.quote_name(name)}"
                )
            else:
                schema_editor.execute(
                    f"ALTER TABLE {schema_editor.quote_name(table)} ADD CONSTRAINT {schema_editor.quote_name(name)} "
                    f"UNIQUE USING INDEX {schema_editor.quote_name(temporary)}"
                )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Undoing is rare and done in maintenance: Django's own (locking) statements.
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        between = self._between(app_label, to_state).apps.get_model(app_label, self.model_name)
        schema_editor.remove_constraint(between, self.constraint)
        old = self._replaced(app_label, to_state)
        if old is not None:
            schema_editor.add_constraint(model, old)

    def _between(self, app_label: str, before):
        """The state between removing the replaced constraint and adding the new one."""
        state = before.clone()
        if self.replaces:
            state.remove_constraint(app_label, self.model_name_lower, self.replaces)
        return state

    def _replaced(self, app_label: str, state) -> models.UniqueConstraint | None:
        if not self.replaces:
            return None
        return state.models[app_label, self.model_name_lower].get_constraint_by_name(self.replaces)


class AddIndexSQLConcurrently(Operation):
    """A PostgreSQL-only index Django's models cannot express (e.g. a GIN over an expression), built with
    CREATE INDEX CONCURRENTLY (idempotent). Nothing on other databases; nothing in the migration state.

    `definition` follows `ON <table>`: e.g. "USING gin (to_tsvector('simple'::regconfig, COALESCE(text, '')))".
    """

    atomic = False
    reversible = True

    def __init__(self, name: str, table: str, definition: str):
        self.name = name
        self.table = table
        self.definition = definition

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"name": self.name, "table": self.table, "definition": self.definition},
        )

    def describe(self) -> str:
        return f"Create index {self.name} on {self.table} (PostgreSQL, concurrently)"

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgres(schema_editor):
            return
        _ensure_not_in_transaction(schema_editor, self)
        sql = (
            f"CREATE INDEX CONCURRENTLY {schema_editor.quote_name(self.name)} "
            f"ON {schema_editor.quote_name(self.table)} {self.definition}"
        )
        build_index(schema_editor, name=self.name, create_sql=sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _postgres(schema_editor):
            return
        _ensure_not_in_transaction(schema_editor, self)
        drop_index(schema_editor, name=self.name)


class InOneTransaction(Operation):
    """Several operations run in one transaction inside a non-atomic migration (`atomic = False`), so that an
    interruption leaves all of them done or none: with the idempotent index operations above, a migration stopped
    anywhere is simply run again. (DDL is transactional on PostgreSQL and SQLite.)"""

    atomic = True
    reversible = True

    def __init__(self, operations: list[Operation]):
        self.operations = operations

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operations], {})

    def describe(self) -> str:
        return "In one transaction: " + "; ".join(operation.describe() for operation in self.operations)

    def state_forwards(self, app_label, state):
        for operation in self.operations:
            operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        state = from_state.clone()
        for operation in self.operations:
            before = state.clone()
            operation.state_forwards(app_label, state)
            operation.database_forwards(app_label, schema_editor, before, state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Backwards, from_state is the state after these operations and to_state the one before them.
        states = [to_state.clone()]
        for operation in self.operations[:-1]:
            state = states[-1].clone()
            operation.state_forwards(app_label, state)
            states.append(state)
        after = from_state
        for operation, before in zip(reversed(self.operations), reversed(states), strict=True):
            operation.database_backwards(app_label, schema_editor, after, before)
            after = before
