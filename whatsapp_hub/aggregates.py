"""Aggregates the ORM lacks: a percentile (the median) computed by the database.

PostgreSQL has `percentile_cont(f) WITHIN GROUP (ORDER BY x)` (numbers and intervals). SQLite (the embedded default)
has none, so `percentile_cont(x, f)` is registered on each SQLite connection as an aggregate function with the same
answer: linear interpolation between the two nearest ranks, NULLs ignored, NULL for no rows. The rows never leave the
database query either way: callers group and filter in SQL as with Count or Sum.

    Ad.objects.values("id").annotate(median=Percentile(F("reply_at") - F("at"), 0.5, output_field=DurationField()))
"""

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField, Value


class Percentile(Aggregate):
    """The continuous percentile `fraction` (0..1) of `expression` over the group (percentile_cont)."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        self.fraction = float(fraction)
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


def _register_sqlite(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("percentile_cont", 2, _SqlitePercentile)


def register() -> None:
    """Called once from the app's ready(): every new SQLite connection gets percentile_cont."""
    connection_created.connect(_register_sqlite, dispatch_uid="whatsapp_hub.aggregates.percentile_cont")
