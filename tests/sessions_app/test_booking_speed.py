"""Booking and availability stay fast however long the clinic's history (issue 14, P3 and
P6): every time-range read of the diary is bounded on both ends of ``start`` and served by
an index, and a booking, a series and the free times run the same queries, reading the
same rows, with years of past sessions as with none.

The EXPLAIN tests run on PostgreSQL with real rows, not ``enable_seqscan = off``: a few
thousand sessions of history and a fresh ANALYZE, so the planner's own choice is tested.
"""

import importlib
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from clinic import dataversion
from sessions_app.availability import LONGEST_SESSION, Diary
from sessions_app.models import Session
from sessions_app.rules import SESSION_MINUTES
from tests.factories import ClientFactory, PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)
HISTORY = 3000  # days of past sessions: over eight years, one a day
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="EXPLAIN and constraints of PostgreSQL"
)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def add_history(*, client, esthetician, room, device, days: int = HISTORY) -> None:
    """One completed session a day for ``days`` days before now, holding the very
    client, esthetician, room and device a booking asks about; then ANALYZE, so the
    planner knows the table is big."""
    rows = [
        Session(
            client=client,
            esthetician=esthetician,
            room=room,
            device=device,
            start=NOW - timedelta(days=n, hours=3),
            end=NOW - timedelta(days=n, hours=3) + timedelta(minutes=45),
            status=Session.Status.COMPLETED,
            booked_by=esthetician,
        )
        for n in range(1, days + 1)
    ]
    Session.objects.bulk_create(rows, batch_size=1000)
    analyze()


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Session._meta.db_table}")


def diary_queries(queries) -> list[str]:
    """The diary's reads of sessions by time (the clash check and the free times)."""
    table = Session._meta.db_table
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"] and '"end" >' in q["sql"]
    ]


def session_scans(sql: str) -> list[dict]:
    """The plan nodes of EXPLAIN ANALYZE that read the sessions table."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (plan,) = cursor.fetchone()[0]
    found, stack = [], [plan["Plan"]]
    while stack:
        node = stack.pop()
        stack.extend(node.get("Plans", []))
        if node.get("Relation Name") == Session._meta.db_table or node.get(
            "Index Name", ""
        ).startswith("sessions_ap"):
            found.append(node)
    return found


def rows_read(nodes: list[dict]) -> int:
    """Rows the scans of the sessions table touched: kept, filtered out or rechecked away."""
    return sum(
        (n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0)) * n.get("Actual Loops", 1)
        + n.get("Rows Removed by Index Recheck", 0)
        for n in nodes
        if "Relation Name" in n
    )


def assert_bounded_index_read(sql: str) -> list[dict]:
    nodes = session_scans(sql)
    assert nodes, sql
    assert all(n["Node Type"] != "Seq Scan" for n in nodes), nodes
    conditions = " ".join(n.get("Index Cond", "") for n in nodes)
    # Both ends of start in the index condition: the history before the span is not read.
    assert "start <" in conditions, conditions
    assert "start >" in conditions, conditions
    return nodes


@pytest.fixture
def book_single(api_est, slot_payload):
    def book(start: datetime, **overrides):
        with CaptureQueriesContext(connection) as queries:
            response = api_est.post(
                "/api/sessions/", slot_payload(start=start, **overrides), format="json"
            )
        assert response.status_code == 201, response.json()
        return queries

    return book


# The rule the lower bound rests on ------------------------------------------------------
@postgres_only
def test_the_database_refuses_a_session_longer_than_the_longest_the_rules_book(
    bookable, esthetician, room, device
):
    assert timedelta(minutes=SESSION_MINUTES.high) == LONGEST_SESSION
    start = at(MONDAY, "09:00")
    SessionFactory(
        client=bookable,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        end=start + LONGEST_SESSION,
    )
    with pytest.raises(IntegrityError, match="session_at_most_180_minutes"), transaction.atomic():
        SessionFactory(
            client=bookable,
            esthetician=esthetician,
            room=room,
            device=device,
            start=start + timedelta(days=1),
            end=start + timedelta(days=1) + LONGEST_SESSION + timedelta(minutes=1),
        )


@postgres_only
def test_the_migration_names_sessions_too_long_for_the_bound_instead_of_failing_bare(
    bookable, esthetician, room, device
):
    """A database holding a session booked when 240 minutes were allowed: the migration
    stops and names it (rolled back with the test's transaction)."""
    from django.apps import apps

    migration = importlib.import_module("sessions_app.migrations.0010_session_length_bound")
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE sessions_app_session DROP CONSTRAINT {migration.CONSTRAINT}")
    start = at(MONDAY, "09:00")
    long_one = SessionFactory(
        client=bookable,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        end=start + timedelta(minutes=240),
    )
    with connection.schema_editor() as editor, pytest.raises(RuntimeError) as refused:
        migration.add_length_bound(apps, editor)
    assert f"session {long_one.pk} at 2027-03-01" in str(refused.value)
    assert "Shorten or split them" in str(refused.value)


@postgres_only
def test_the_constraint_names_the_rules_longest_session():
    """Raising SESSION_MINUTES.high needs a migration that raises the constraint too."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'session_at_most_180_minutes'"
        )
        (definition,) = cursor.fetchone()
    assert f"{SESSION_MINUTES.high // 60:02d}:00:00" in definition, definition


def test_a_longest_session_that_began_hours_before_still_clashes(
    bookable, other_bookable, esthetician, working_hours, room, device
):
    """The bounded read still finds a session that starts the longest length before the
    slot, also from the day before across midnight."""
    SessionFactory(
        client=other_bookable,
        esthetician=esthetician,
        room=room,
        device=device,
        start=at(MONDAY, "09:00"),
        end=at(MONDAY, "09:00") + LONGEST_SESSION,
    )
    SessionFactory(
        client=other_bookable,
        esthetician=esthetician,
        room=room,
        device=device,
        start=at(MONDAY, "23:00"),
        end=at(MONDAY, "23:00") + LONGEST_SESSION,
    )
    tuesday = MONDAY + timedelta(days=1)

    def clashes(start: datetime, minutes: int = 45):
        diary = Diary(
            client=bookable,
            esthetician=esthetician,
            room=room,
            device=device,
            span_start=start,
            span_end=start + timedelta(minutes=minutes),
        )
        return {c.resource for c in diary.clashes(start, start + timedelta(minutes=minutes))}

    assert clashes(at(MONDAY, "11:15")) == {"esthetician", "room", "device"}
    assert clashes(at(MONDAY, "12:00")) == set()  # touching its end
    assert clashes(at(tuesday, "01:30")) == {"esthetician", "room", "device"}
    assert clashes(at(tuesday, "02:00")) == set()


# EXPLAIN: bounded and indexed -----------------------------------------------------------
@postgres_only
def test_the_clash_check_reads_only_its_day_through_an_index(
    book_single, bookable, esthetician, room, device
):
    add_history(client=bookable, esthetician=esthetician, room=room, device=device)

    queries = book_single(at(MONDAY, "10:00"))

    (sql,) = diary_queries(queries)
    nodes = assert_bounded_index_read(sql)
    # Eight years of the same client, esthetician, room and device: none of it is read.
    assert rows_read(nodes) <= 2


@postgres_only
def test_the_free_times_read_only_their_days_through_an_index(
    api_est, bookable, esthetician, working_hours, room, device
):
    add_history(client=bookable, esthetician=esthetician, room=room, device=device)
    SessionFactory(
        client=bookable,
        esthetician=esthetician,
        room=room,
        device=device,
        start=at(MONDAY, "10:00"),
    )
    analyze()

    with CaptureQueriesContext(connection) as queries:
        response = api_est.get(
            "/api/availability/",
            {"date_from": MONDAY, "date_to": MONDAY + timedelta(days=6), "minutes": 45},
        )
    assert response.status_code == 200
    assert len(response.json()) > 0

    (sql,) = diary_queries(queries)
    nodes = assert_bounded_index_read(sql)
    assert rows_read(nodes) <= 2  # the one session of the week, not the 3,000 before


# Query counts that stay flat as history grows -------------------------------------------
def test_a_single_booking_runs_the_same_queries_with_years_of_history(
    book_single, bookable, esthetician, room, device
):
    before = book_single(at(MONDAY, "10:00"))
    add_history(client=bookable, esthetician=esthetician, room=room, device=device)

    after = book_single(at(MONDAY + timedelta(days=1), "10:00"))

    assert len(after) == len(before)
    # The request's transaction and the client, esthetician, room and device; the
    # booking's savepoint; eligibility (3); the diary (sessions, shifts, days off, closed
    # days); the insert under its own savepoint (a clash is named from a fresh diary);
    # the reminders: one insert and the maintenance cycle's update. Nothing more for the
    # answer: a new session has no treatment record to look up.
    assert len(after) <= 20


@postgres_only
def test_a_single_booking_reads_the_same_rows_with_years_of_history(
    book_single, bookable, esthetician, room, device
):
    analyze()
    (before,) = diary_queries(book_single(at(MONDAY, "10:00")))
    read_before = rows_read(session_scans(before))
    add_history(client=bookable, esthetician=esthetician, room=room, device=device)

    (after,) = diary_queries(book_single(at(MONDAY + timedelta(days=1), "10:00")))

    assert rows_read(session_scans(after)) == read_before


def test_a_series_runs_the_same_queries_with_years_of_history(
    api_est, esthetician, working_hours, room, device
):
    def book_series(client) -> int:
        plan = PlanFactory(client=client, start_date=MONDAY, created_by=esthetician)
        body = {
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
            "time": "10:00",
            "weekdays": [0, 2, 4],
        }
        with CaptureQueriesContext(connection) as queries:
            response = api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")
        assert response.status_code == 201, response.json()
        return len(queries)

    first, second = (
        ClientFactory(date_of_birth=date(1960, 1, 1)),
        ClientFactory(date_of_birth=date(1960, 1, 1)),
    )
    screen(first)
    screen(second)
    before = book_series(first)
    # Cancel the first series so the second can take the same slots.
    Session.objects.filter(client=first).update(status=Session.Status.CANCELLED)
    add_history(client=second, esthetician=esthetician, room=room, device=device)

    assert book_series(second) == before
    # As a single booking, plus the plan's row read again under its lock, "already
    # booked?", and no read-back of the sessions booked for the answer.
    assert before <= 22


def test_the_free_times_run_the_same_queries_with_years_of_history(
    api_est, bookable, esthetician, working_hours, room, device
):
    def free_times() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = api_est.get(
                "/api/availability/",
                {
                    "date_from": MONDAY,
                    "date_to": MONDAY + timedelta(days=6),
                    "minutes": 45,
                    "esthetician": esthetician.pk,
                    "client": bookable.pk,
                },
            )
        assert response.status_code == 200
        assert len(response.json()) > 0
        return len(queries)

    before = free_times()
    add_history(client=bookable, esthetician=esthetician, room=room, device=device)

    assert free_times() == before


# The free times kept on the data version ------------------------------------------------
cached_only = pytest.mark.skipif(
    not dataversion.enabled(), reason="the page cache needs a shared cache (REDIS_URL)"
)
ASK = {"date_from": MONDAY, "date_to": MONDAY, "minutes": 45}


@pytest.fixture
def free_monday(transactional_db, api_est, esthetician, working_hours, room, device):
    def ask() -> tuple[list[dict], int]:
        with CaptureQueriesContext(connection) as queries:
            response = api_est.get("/api/availability/", {**ASK, "esthetician": esthetician.pk})
        assert response.status_code == 200
        return response.json(), len(queries)

    return ask


@cached_only
def test_the_same_free_times_asked_again_come_from_the_cache(free_monday):
    first, first_queries = free_monday()
    again, again_queries = free_monday()

    assert again == first
    # Not even the esthetician asked about is read: the question was checked when the
    # answer was computed, and the answer is kept under the question as asked.
    assert first_queries > 0
    assert again_queries == 0


@cached_only
def test_a_bad_question_is_a_400_each_time_and_is_never_kept(free_monday, api_est, esthetician):
    free_monday()
    for _ in range(2):
        answer = api_est.get("/api/availability/", {**ASK, "esthetician": 999_999})
        assert answer.status_code == 400
        assert "esthetician" in answer.json()
    # Another spelling of a good question is checked and answered like the first.
    again = api_est.get("/api/availability/", {**ASK, "esthetician": f"0{esthetician.pk}"})
    assert again.status_code == 200
    assert again.json() == free_monday()[0]


@cached_only
def test_a_booking_takes_its_start_out_of_the_cached_free_times_at_once(
    free_monday, api_est, slot_payload
):
    offered, _ = free_monday()
    free_monday()  # now from the cache
    taken = offered[0]["start"]

    booked = api_est.post("/api/sessions/", slot_payload(start=taken), format="json")
    assert booked.status_code == 201, booked.json()

    assert taken not in {free["start"] for free in free_monday()[0]}


@cached_only
def test_a_start_that_has_passed_is_not_served_from_the_cache(free_monday):
    offered, _ = free_monday()
    free_monday()  # now from the cache
    first = datetime.fromisoformat(offered[0]["start"])

    with time_machine.travel(first + timedelta(minutes=1), tick=False):
        later, _ = free_monday()

    assert offered[0]["start"] not in {free["start"] for free in later}
    assert later[0]["start"] == offered[1]["start"]
