"""Query counts that must not grow with the number of sessions booked or listed."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.models import Session, TreatmentRecord
from tests.factories import ClientFactory, PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def series_booking(api_est, esthetician, working_hours, room, device):
    """Book a series for a client born on ``born`` at ``time``; answer the response and
    the number of queries it ran."""

    def book(born: date, time: str):
        client = ClientFactory(date_of_birth=born)
        screen(client)
        plan = PlanFactory(client=client, start_date=MONDAY, created_by=esthetician)
        body = {
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
            "time": time,
            "weekdays": [0, 2, 4],
        }
        with CaptureQueriesContext(connection) as queries:
            response = api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")
        assert response.status_code == 201, response.json()
        return response, len(queries)

    return book


def test_booking_15_sessions_runs_as_many_queries_as_booking_5(series_booking):
    five, five_queries = series_booking(date(2000, 1, 1), "10:00")  # Under 35
    fifteen, fifteen_queries = series_booking(date(1960, 1, 1), "14:00")  # Over 50

    assert len(five.json()["sessions"]) == 5
    assert len(fifteen.json()["sessions"]) == 15
    assert fifteen_queries == five_queries


def test_booking_a_series_runs_a_small_fixed_number_of_queries(series_booking):
    _, queries = series_booking(date(1960, 1, 1), "10:00")

    # Plan, esthetician, room, device; the plan's row again, locked (booked once);
    # eligibility (3); "already booked?"; the diary (sessions, hours, days off, closed
    # days); one bulk insert; the answer's one list; savepoints; the reminders: one bulk
    # insert and one update ending any maintenance cycle; the request's own transaction,
    # which also covers the answer (a savepoint here, inside the test's transaction).
    # 23: the days off (issue 13) are one query more than before.
    assert queries <= 23


def test_a_series_clash_answer_runs_as_many_queries_for_15_as_for_5(
    api_est, esthetician, working_hours, room, device
):
    """Every date clashing (and each one's alternative searched) costs no extra query."""

    def clash(born, sessions):
        client = ClientFactory(date_of_birth=born)
        screen(client)
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
        assert response.status_code == 409
        clashing_dates = {c["wished_start"] for c in response.json()["clashes"]}
        assert len(clashing_dates) == sessions
        return len(queries)

    # Fill every Mon/Wed/Fri 10:00 for seven weeks with another client's sessions.
    other = ClientFactory()
    for week in range(7):
        for weekday in (0, 2, 4):
            day = MONDAY + timedelta(weeks=week, days=weekday)
            SessionFactory(
                client=other,
                esthetician=esthetician,
                room=room,
                device=device,
                start=at(day, "10:00"),
            )

    assert clash(date(1960, 1, 1), 15) == clash(date(2000, 1, 1), 5)


def make_sessions(count: int):
    """``count`` sessions, one a day, a third of them completed with a treatment record."""
    sessions = []
    for n in range(count):
        session = SessionFactory(start=at(MONDAY + timedelta(days=n), "10:00"))
        if n % 3 == 0:
            Session.objects.filter(pk=session.pk).update(status=Session.Status.COMPLETED)
            TreatmentRecord.objects.create(
                session=session,
                modality="static",
                intensity_microamps=200,
                frequency_hz=1,
                duration_minutes=45,
                recorded_by=session.esthetician,
            )
        sessions.append(session)
    return sessions


def list_queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/sessions/")
    assert response.status_code == 200
    return len(queries)


def test_session_list_runs_as_many_queries_for_50_sessions_as_for_5(api_est):
    make_sessions(5)
    five = list_queries(api_est)
    make_sessions(45)

    fifty = list_queries(api_est)

    assert fifty == five


def test_session_list_runs_a_small_fixed_number_of_queries(api_est, django_assert_max_num_queries):
    make_sessions(30)

    with django_assert_max_num_queries(4):
        response = api_est.get("/api/sessions/")

    assert response.json()["count"] == 30
    assert len(response.json()["results"]) == 25
