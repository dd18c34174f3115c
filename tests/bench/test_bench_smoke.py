"""The bench's own parts at a toy scale (``make bench`` itself is not part of the tests):
the data builder gives the shape docs/benchmarks.md describes, and the table code turns
rounds into the issue's measures. No gunicorn, no wrk."""

import pytest
from django.db import connection

from bench import report
from bench.data import Builder
from bench.shape import Shape
from clients.models import Client, Screening
from clients.selectors import client_eligibility
from sessions_app.models import Reminder, Session, TreatmentRecord

pytestmark = pytest.mark.django_db


def test_builder_loads_the_bench_shape_and_leaves_the_schema_whole():
    shape = Shape(clients=60, rooms=2, slots=4, days_ahead_max=3)
    manifest = Builder(shape).build()

    # Every lane has a session every day; a day holds rooms x slots sessions.
    assert Session.objects.count() == manifest.sessions == shape.days * shape.lanes
    assert Client.objects.count() == 60
    assert not Client.objects.filter(screenings__isnull=True).exists()
    completed = Session.objects.filter(status="completed")
    assert completed.exists()
    assert TreatmentRecord.objects.count() == completed.count()
    assert Reminder.objects.filter(kind="hydration_before").count() == manifest.sessions
    assert Screening.objects.filter(recorded_by__isnull=False).count() == Screening.objects.count()
    # The indexes and constraints dropped for the load are back (the four overlap guards).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_constraint WHERE conname LIKE 'session_no_overlap_%%'"
        )
        assert cursor.fetchone()[0] == 4
    # The clients handed to the booking rounds are eligible by the app's own selector.
    assert manifest.bookable
    for pk in manifest.bookable:
        assert client_eligibility(client=Client.objects.get(pk=pk)).outcome == "eligible"
    # Sequences moved past the given ids: the app can add rows.
    new = Client.objects.create(
        first_name="New", last_name="Client", email="n@example.com", date_of_birth="1980-01-01"
    )
    assert new.pk == 61


def _round(case, number, rps, floor_rps, p50=10.0):
    return report.Round(case, number, rps, p50, p50 * 2, 100, 0, floor_rps)


def test_table_computes_ratios_per_round_against_the_round_s_floor(tmp_path):
    rounds = []
    for n in (1, 2, 3):
        rounds += [
            _round("floor.big", n, 200, 200),
            _round("elig.big", n, 100 + n, 200),  # 0.505, 0.51, 0.515: median 0.51
            _round("list.big", n, 50, 200),
            _round("list.small", n, 100, 200),  # 100k over 1k: 0.25 / 0.5 = 0.5
            _round("day.big", n, 80, 200),  # 0.4x the floor, but too many queries
            _round("avail.big", n, 100, 200),
            _round("peer.slots", n, 10, 400),  # ours 10x theirs
        ]
    res = report.Results(
        rounds,
        {"elig.big": 4, "day.big": 13, "floor.big": 1},
        {"ours": {"sent": 16, "stored": 1}, "peer": {"sent": 16, "stored": 16}},
        {"big": 100_000, "small": 1_000},
    )
    by_measure = {row.measure.split(" `")[0].split(",")[0]: row for row in report.rows(res)}
    assert by_measure["P1 eligibility"].now == "0.51× floor"
    assert by_measure["P1 eligibility"].met is True
    assert by_measure["P2 client list"].now == "0.500"
    assert by_measure["P2 client list"].met is False
    assert by_measure["P5 front desk's day"].met is False  # 13 queries > 12
    p6 = next(row for row in report.rows(res) if row.measure.startswith("P6 our `GET"))
    assert p6.now == "10.00× its speed"
    assert p6.met is True
    race = next(row for row in report.rows(res) if "race" in row.measure)
    assert race.now == "ours 1, django-appointment 16"
    assert race.met is True

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nOlder sections stay.\n")
    report.docs_write(doc, "## run one\n" + report.table(res))
    report.docs_write(doc, "## run two\n" + report.table(res))
    text = doc.read_text()
    assert "Older sections stay." in text
    assert "run one" not in text
    assert text.count(report.BEGIN) == 1
    assert "## run two" in text
