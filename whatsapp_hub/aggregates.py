"""Aggregates Django's ORM lacks, in SQL for PostgreSQL and for SQLite (the embedded default).

Percentiles are continuous (interpolated between the two nearest ranks, as PostgreSQL's `percentile_cont`): the
p-th percentile of n sorted values x1..xn sits at rank r = 1 + p(n - 1), and is x⌊r⌋ + (r - ⌊r⌋)(x⌊r⌋+1 - x⌊r⌋).
PostgreSQL computes it with `percentile_cont(p) WITHIN GROUP (ORDER BY value)`; elsewhere the rows are ranked with
window functions (SQLite 3.25+) and the two ranks around r weighted, so no value leaves the database either way.
"""

from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper


def _generic_percentile(fraction: float) -> str:
    rank = f"(1 + {fraction!r} * (n - 1))"
    floor = f"CAST({rank} AS INTEGER)"  # ranks are positive: truncation is the floor
    weight = f"({rank} - {floor})"
    return (
        f"SUM(CASE WHEN rn = {floor} THEN value * (1 - {weight}) "
        f"WHEN rn = {floor} + 1 THEN value * {weight} ELSE 0 END)"
    )


def grouped_percentiles_sql(*, connection: BaseDatabaseWrapper, source: str, fractions: Sequence[float]) -> str:
    """SQL answering `key, n, p0, p1, ...` per distinct `key` of `source`, a query whose rows have the columns `key`
    and `value` (a number, never NULL): how many rows, and the continuous percentile of `value` for each of
    `fractions` (between 0 and 1; code constants, never user input: they are written into the SQL). NULL keys form
    one group."""
    for fraction in fractions:
        if not 0 <= fraction <= 1:
            raise ValueError(f"A percentile's fraction is between 0 and 1, not {fraction!r}")
    if connection.vendor == "postgresql":
        columns = ", ".join(
            f"percentile_cont({float(f)!r}) WITHIN GROUP (ORDER BY value) AS p{i}" for i, f in enumerate(fractions)
        )
        return f"SELECT key, COUNT(*) AS n, {columns} FROM ({source}) AS source GROUP BY key"  # noqa: S608
    columns = ", ".join(f"{_generic_percentile(float(f))} AS p{i}" for i, f in enumerate(fractions))
    window = "ROW_NUMBER() OVER (PARTITION BY key ORDER BY value) AS rn, COUNT(*) OVER (PARTITION BY key) AS n"
    ranked = f"SELECT key, value, {window} FROM ({source}) AS source"  # noqa: S608
    return f"SELECT key, MAX(n) AS n, {columns} FROM ({ranked}) AS ranked GROUP BY key"  # noqa: S608


def seconds_between_sql(*, connection: BaseDatabaseWrapper, start: str, end: str) -> str:
    """SQL of the seconds from the timestamp expression `start` to `end` (a float)."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    # SQLite stores Django's datetimes as UTC text; julianday() reads it (to about a tenth of a millisecond).
    return f"((julianday({end}) - julianday({start})) * 86400.0)"
