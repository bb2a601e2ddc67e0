"""whatsapp_hub.aggregates: Percentile and Median answer what PostgreSQL's percentile_cont answers, on PostgreSQL
and on SQLite (the embedded default, where the aggregate is registered on each connection)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, models
from django.db.backends.sqlite3.base import DatabaseWrapper as SqliteWrapper
from django.db.models import DurationField, ExpressionWrapper, F

from whatsapp_hub.aggregates import Median, Percentile, percentile_cont

# (group, value, seconds waited): group 1 has an even count (interpolated median), group 2 an odd one and a NULL.
ROWS = [(1, 4.0, 120), (1, 1.0, 600), (1, 10.0, 30), (1, 2.0, 45), (2, 7.0, None), (2, 3.0, 5), (2, 5.0, 1)]
START = datetime(2026, 3, 1, tzinfo=UTC)


class Sample(models.Model):
    group = models.IntegerField()
    value = models.FloatField(null=True)
    at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "whatsapp_hub"  # a table of this test only
        db_table = "aggregates_sample"
        managed = False

    def __str__(self) -> str:
        return f"{self.group}: {self.value}"


def _query():
    waited = ExpressionWrapper(F("answered_at") - F("at"), output_field=DurationField())
    return (
        Sample.objects.values("group")
        .annotate(
            median=Median("value"),
            p90=Percentile("value", 0.9),
            waited=Median(waited, output_field=DurationField()),
            big=Median("value", filter=models.Q(value__gt=3)),
        )
        .order_by("group")
    )


def _values(group: int) -> list[float]:
    return [value for g, value, _ in ROWS if g == group]


def _expected() -> list[tuple]:
    rows = []
    for group in (1, 2):
        waits = [seconds for g, _, seconds in ROWS if g == group and seconds is not None]
        rows.append(
            (
                group,
                percentile_cont(_values(group), 0.5),
                percentile_cont(_values(group), 0.9),
                timedelta(seconds=percentile_cont(waits, 0.5)),
                percentile_cont([v for v in _values(group) if v > 3], 0.5),
            )
        )
    return rows


def _fill(db, table_sql: str) -> None:
    """The sample table on connection `db`, with ROWS."""
    with db.cursor() as cursor:
        cursor.execute(table_sql)
        for pk, (group, value, seconds) in enumerate(ROWS, 1):
            answered = None if seconds is None else START + timedelta(seconds=seconds)
            cursor.execute(
                "INSERT INTO aggregates_sample VALUES (%s, %s, %s, %s, %s)",
                [pk, group, value, db.ops.adapt_datetimefield_value(START), db.ops.adapt_datetimefield_value(answered)],
            )


def _check(rows: list[tuple]) -> None:
    assert [row[0] for row in rows] == [1, 2]
    for got, expected in zip(rows, _expected(), strict=True):
        assert got[1:3] == pytest.approx(expected[1:3])
        assert got[3] == expected[3]
        assert got[4] == pytest.approx(expected[4])


def test_the_helper_interpolates_as_postgresql_does():
    assert percentile_cont([4.0, 1.0, 10.0, 2.0], 0.5) == 3.0
    assert percentile_cont([7.0, 3.0, 5.0], 0.5) == 5.0
    assert percentile_cont([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == pytest.approx(4.6)
    assert percentile_cont([], 0.5) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own percentile_cont")
def test_postgresql_answers_the_figures(db):
    _fill(
        connection,
        'CREATE TEMPORARY TABLE aggregates_sample (id int, "group" int, value float, at timestamptz, answered_at '
        "timestamptz)",
    )
    _check([tuple(row.values()) for row in _query()])


def test_sqlite_answers_the_same_figures(django_db_blocker):
    settings = {**connection.settings_dict, "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "OPTIONS": {}}
    sqlite = SqliteWrapper(settings)
    with django_db_blocker.unblock():  # a connection of its own, to a database in memory
        _sqlite_figures(sqlite)


def _sqlite_figures(sqlite) -> None:
    sqlite.ensure_connection()  # fires connection_created: percentile_cont is registered
    try:
        _fill(
            sqlite,
            'CREATE TABLE aggregates_sample (id integer, "group" integer, value real, at datetime, '
            "answered_at datetime)",
        )
        compiler = _query().query.get_compiler(connection=sqlite)
        assert "WITHIN GROUP" not in compiler.as_sql()[0]
        rows = list(compiler.results_iter())  # with the backend's converters (durations in microseconds)
    finally:
        sqlite.close()
    _check(rows)
