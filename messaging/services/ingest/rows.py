"""Many rows written in one statement, for the ingest's hot path. The rows travel as one JSON array (a single
parameter) that the database unpacks (`jsonb_array_elements` on PostgreSQL, `json_each` on SQLite); each
statement is built once from the model's metadata.

Why the ingest leaves the ORM here: for a batch of 2,000 messages, bulk_create spent most of the drain's CPU
building SQL (a prepared value per field per row) and adapting parameters client-side (psycopg quotes a list
parameter element by element in Python), and read the new ids back in another query. One JSON string is
serialised in C and parsed by the server: inserting 2,000 message rows costs the worker about 20 ms of CPU
this way, against 100-180 ms through arrays or VALUES lists (and more through bulk_create).

Values are Python values: dicts (and lists) for JSON fields, aware datetimes, and JSON-native values (str,
int, bool, None) for every other field. Fields not given are filled with the model's default, the same for
every row (`timezone.now` once per statement, as for auto_now fields).
"""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache

from django.db import connection
from django.db.models import DateTimeField, Field, JSONField, Model
from django.utils import timezone


def insert(
    model: type[Model],
    fields: Sequence[str],
    rows: Iterable[Sequence],
    *,
    constants: dict[str, object] | None = None,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple]:
    """INSERT one row per item of `rows` (values in `fields` order), in their order; the other fields take
    `constants` (by field name) or their default. With `conflict` (the fields of a unique constraint), a row
    that conflicts updates the `update` fields from the new row, or, without `update`, is skipped (ON CONFLICT
    DO NOTHING). Returns the `returning` fields (columns with plain values: ids, strings) of the rows inserted
    or updated, not of the rows skipped. Must run inside a transaction: the statement is one of the batch."""
    constants = {**(constants or {})}
    for field in _defaulted(model, (*fields, *constants)):
        constants[field.name] = _default(field)
    sql, datetimes = _insert_sql(
        connection.vendor, model, tuple(fields), tuple(constants), tuple(conflict), tuple(update), tuple(returning)
    )
    # The constants are selected beside the document's columns: their parameters come first.
    params = [model._meta.get_field(name).get_db_prep_save(value, connection) for name, value in constants.items()]
    params.append(_document(rows, datetimes))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def update(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence]) -> None:
    """UPDATE the rows whose primary key is the first value of each item of `rows`, setting the other `fields`
    to its other values. Must run inside a transaction, the rows locked (the batch holds them)."""
    sql, datetimes = _update_sql(connection.vendor, model, tuple(fields))
    with connection.cursor() as cursor:
        cursor.execute(sql, [_document(rows, datetimes)])


def instances(
    model: type[Model], fields: Sequence[str], rows: Iterable[Sequence], *, constants: dict[str, object] | None = None
) -> list[Model]:
    """Instances of `model` for rows as they were written: the values of `fields` (the primary key among them),
    `constants` by field name, every other field its default. Built as a query builds them (Model.from_db, with
    positional values): keyword arguments would cost about twice as much, a lookup per field."""
    constants = constants or {}
    position = {model._meta.get_field(name).attname: index for index, name in enumerate(fields)}
    fixed = {model._meta.get_field(name).attname: value for name, value in constants.items()}
    plan = []  # per concrete field: (position in the row, or None and its value, or None and a callable default)
    for field in model._meta.concrete_fields:
        if field.attname in position:
            plan.append((position[field.attname], None, None))
        elif field.attname in fixed:
            plan.append((None, fixed[field.attname], None))
        elif field.has_default() and callable(field.default):
            plan.append((None, None, field.default))  # a fresh one per row (a dict is never shared)
        else:
            plan.append((None, field.get_default(), None))
    names = [field.attname for field in model._meta.concrete_fields]
    return [
        model.from_db(
            connection.alias,
            names,
            [
                row[index] if index is not None else (value if default is None else default())
                for index, value, default in plan
            ],
        )
        for row in rows
    ]


# --- the statements, built once per database vendor, model and fields -----------------------------------------


def _document(rows: Iterable[Sequence], datetimes: tuple[int, ...]) -> str:
    """The rows as one JSON array of arrays: the values at the `datetimes` positions as the database takes them,
    JSON fields embedded as they are."""
    if not datetimes:
        return json.dumps(list(rows), separators=(",", ":"))
    adapt = connection.ops.adapt_datetimefield_value  # PostgreSQL: the datetime itself; SQLite: its text
    encoded = []
    for row in rows:
        row = list(row)
        for index in datetimes:
            if row[index] is not None:
                value = adapt(row[index])
                row[index] = value.isoformat() if isinstance(value, datetime) else value
        encoded.append(row)
    return json.dumps(encoded, separators=(",", ":"))


def _source(model: type[Model], names: tuple[str, ...], constants: tuple[str, ...] = ()) -> tuple[str, tuple[int, ...]]:
    """A SELECT of the JSON document's rows as columns named like the fields' columns, in the document's order,
    with the `constants` (a parameter each, before the document's); and the positions of the datetime fields."""
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    postgresql = connection.vendor == "postgresql"
    columns = []
    for name in constants:
        field = model._meta.get_field(name)
        value = f"CAST(%s AS {_base_type(field)})" if postgresql else "%s"
        columns.append(f"{value} AS {quote(field.column)}")
    for index, field in enumerate(fields):
        if isinstance(field, JSONField):
            # A JSON null is SQL NULL, as Django stores None.
            value = f"NULLIF(r.value -> {index}, 'null'{'::jsonb' if postgresql else ''})"
        elif postgresql:
            value = f"(r.value ->> {index})::{_base_type(field)}"
        else:
            value = f"r.value ->> {index}"
        columns.append(f"{value} AS {quote(field.column)}")
    if postgresql:
        rows = "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(value, position) ORDER BY r.position"
    else:
        rows = "json_each(%s) AS r ORDER BY r.key"
    # Identifiers from the model, values as parameters.
    sql = f"SELECT {', '.join(columns)} FROM {rows}"  # noqa: S608
    return sql, tuple(index for index, field in enumerate(fields) if isinstance(field, DateTimeField))


def _base_type(field: Field) -> str:
    """The column's type without its length (varchar, not varchar(255)): an explicit cast would cut a long value,
    the assignment to the column refuses it as the ORM's INSERT does."""
    return field.db_type(connection).split("(")[0]


def _defaulted(model: type[Model], given: tuple[str, ...]) -> list[Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.name not in given and field.attname not in given
    ]


def _default(field: Field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()


@cache
def _insert_sql(
    vendor: str,
    model: type[Model],
    fields: tuple[str, ...],
    constants: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    returning: tuple[str, ...],
) -> tuple[str, tuple[int, ...]]:
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(model._meta.get_field(name).column)

    source, datetimes = _source(model, fields, constants)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(column(name) for name in (*constants, *fields))}) "
    sql += source
    if conflict:
        sql += f" ON CONFLICT ({', '.join(column(name) for name in conflict)})"
        if update:
            sql += " DO UPDATE SET " + ", ".join(f"{column(name)} = EXCLUDED.{column(name)}" for name in update)
        else:
            sql += " DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(column(name) for name in returning)}"
    return sql, datetimes


@cache
def _update_sql(vendor: str, model: type[Model], fields: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    source, datetimes = _source(model, fields)
    key, *columns = (quote(model._meta.get_field(name).column) for name in fields)
    assignments = ", ".join(f"{column} = new.{column}" for column in columns)
    sql = f"UPDATE {table} SET {assignments} FROM ({source}) AS new WHERE {table}.{key} = new.{key}"  # noqa: S608
    return sql, datetimes
