"""Aggregates the ORM lacks: continuous percentiles (the median) computed by the database.

PostgreSQL has `percentile_cont(f) WITHIN GROUP (ORDER BY x)` (numbers and intervals). SQLite (the embedded default)
has none, so `percentile_cont(x, f)` is registered on each SQLite connection as an aggregate function with the same
answer: linear interpolation between the two nearest ranks (the p-th percentile of n sorted values sits at rank
1 + p(n - 1)), NULLs ignored, NULL for no rows. Either way callers group and filter in SQL as with Count or Sum:

    Ad.objects.values("id").annotate(median=Percentile(F("reply_at") - F("at"), 0.5, output_field=DurationField()))

or, in raw SQL (the reports), `grouped_percentiles_sql`.
"""

import sqlite3
from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField, Value


def _checked(fraction: float) -> float:
    if not 0 <= fraction <= 1:
        raise ValueError(f"A percentile's fraction is between 0 and 1, not {fraction!r}")
    return float(fraction)


class Percentile(Aggregate):
    """The continuous percentile `fraction` (0..1) of `expression` over the group (percentile_cont)."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression, fraction: float, **extra):
        self.fraction = _checked(fraction)
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, fraction=repr(self.fraction), **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        # The registered aggregate takes the fraction as its second argument.
        expression, *_, condition = self.get_source_expressions()
        clone = self.copy()
        clone.set_source_expressions([expression, Value(self.fraction, FloatField()), condition])
        clone.template = "%(function)s(%(expressions)s)"
        return super(Percentile, clone).as_sql(compiler, connection, **extra_context)


class Median(Percentile):
    name = "Median"

    def __init__(self, expression, **extra):
        super().__init__(expression, 0.5, **extra)


def grouped_percentiles_sql(*, connection: BaseDatabaseWrapper, source: str, fractions: Sequence[float]) -> str:
    """SQL answering `key, n, p0, p1, ...` per distinct `key` of `source`, a query whose rows have the columns `key`
    and `value` (a number, never NULL): how many rows, and the continuous percentile of `value` for each of
    `fractions` (code constants, never user input: they are written into the SQL). NULL keys form one group."""
    fractions = [_checked(fraction) for fraction in fractions]
    if connection.vendor == "postgresql":
        columns = ", ".join(
            f"percentile_cont({f!r}) WITHIN GROUP (ORDER BY value) AS p{i}" for i, f in enumerate(fractions)
        )
    else:
        columns = ", ".join(f"percentile_cont(value, {f!r}) AS p{i}" for i, f in enumerate(fractions))
    return f"SELECT key, COUNT(*) AS n, {columns} FROM ({source}) AS source GROUP BY key"  # noqa: S608


def seconds_between_sql(*, connection: BaseDatabaseWrapper, start: str, end: str) -> str:
    """SQL of the seconds from the timestamp expression `start` to `end` (a float)."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    # SQLite stores Django's datetimes as UTC text; julianday() reads it (to about a tenth of a millisecond).
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont over already collected values (what the SQLite aggregate answers)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


class _SqlitePercentile:
    def __init__(self):
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction):
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return percentile_cont(self.values, self.fraction)


def sqlite_register(connection: sqlite3.Connection) -> None:
    """Give a SQLite connection the `percentile_cont(value, fraction)` aggregate."""
    connection.create_aggregate("percentile_cont", 2, _SqlitePercentile)


def _register_sqlite(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        sqlite_register(connection.connection)


def register() -> None:
    """Called once from the app's ready(): every new SQLite connection gets percentile_cont."""
    connection_created.connect(_register_sqlite, dispatch_uid="whatsapp_hub.aggregates.percentile_cont")
