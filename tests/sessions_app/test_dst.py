"""Daylight-saving time (issue 9, rule 7): a clinic time the clocks skip is a 400 naming
it; a session lasts its length in real minutes across a change; a time that happens
twice is its first occurrence. Real zoneinfo data throughout, no mocks.

The clinic is in America/Los_Angeles: in 2027 the clocks spring forward from 02:00 to
03:00 on Sunday March 14 and fall back from 02:00 to 01:00 on Sunday November 7.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from clinic import clinic_time
from clinic.errors import RuleViolation
from clinic.roles import Role
from sessions_app.models import Session
from sessions_app.services import series_book, session_book, session_reschedule
from tests.factories import PlanFactory, WorkingHoursFactory
from tests.sessions_app.helpers import LA

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=LA)
SPRING = date(2027, 3, 14)
FALL = date(2027, 11, 7)
# Three sessions over three weeks: one a Sunday from March 7 lands on the change.
THREE_WEEKS = {"sessions_min": 3, "weeks_min": 3, "weeks_max": 3}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def night_shift(esthetician):
    """The esthetician works 00:00-23:45 every day, so the small hours are bookable."""
    return [
        WorkingHoursFactory(
            esthetician=esthetician, weekday=d, starts_at=time(0), ends_at=time(23, 45)
        )
        for d in range(7)
    ]


@pytest.fixture
def where(bookable, esthetician, room, device, night_shift):
    return {"client": bookable, "esthetician": esthetician, "room": room, "device": device}


def minutes(session: Session) -> float:
    session.refresh_from_db()
    return (session.end - session.start).total_seconds() / 60


# The helpers themselves ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "at", "exists"),
    [
        pytest.param(SPRING, time(1, 59), True, id="spring-before-gap"),
        pytest.param(SPRING, time(2, 0), False, id="spring-gap-start"),
        pytest.param(SPRING, time(2, 30), False, id="spring-in-gap"),
        pytest.param(SPRING, time(3, 0), True, id="spring-after-gap"),
        pytest.param(FALL, time(1, 30), True, id="fall-ambiguous"),
        pytest.param(date(2027, 3, 15), time(2, 30), True, id="ordinary-day"),
    ],
)
def test_clinic_time_knows_which_wall_times_exist(day, at, exists):
    assert clinic_time.exists(day, at) is exists


def test_a_skipped_time_is_a_rule_violation_naming_the_field():
    with pytest.raises(RuleViolation) as caught:
        clinic_time.local_datetime(SPRING, time(2, 30), field="start_time")

    assert caught.value.field == "start_time"
    assert "02:30" in caught.value.message
    assert "spring forward" in caught.value.message


def test_an_ambiguous_time_is_its_first_occurrence():
    first = clinic_time.local_datetime(FALL, time(1, 30))

    assert first.astimezone(UTC) == datetime(2027, 11, 7, 8, 30, tzinfo=UTC)  # PDT, -7


def test_plus_counts_real_minutes_across_the_spring_gap():
    start = clinic_time.local_datetime(SPRING, time(1, 30))

    end = clinic_time.plus(start, timedelta(minutes=90))

    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=90)
    assert (end.hour, end.minute) == (4, 0)


def test_a_day_whose_midnight_is_skipped_starts_at_its_first_instant(settings):
    settings.CLINIC_TIME_ZONE = "America/Havana"  # 00:00 -> 01:00 on 2027-03-14

    start = clinic_time.day_start(SPRING)

    assert start.astimezone(ZoneInfo("America/Havana")).time() == time(1, 0)
    assert clinic_time.local_datetime(SPRING, time.min) == start


# Booking through the services -----------------------------------------------------------


def test_a_90_minute_session_across_the_spring_gap_lasts_90_real_minutes(where, esthetician):
    start = clinic_time.local_datetime(SPRING, time(1, 30))

    session = session_book(**where, start=start, minutes=90, by=esthetician)

    assert minutes(session) == 90
    assert clinic_time.local(session.end).time() == time(4, 0)


def test_a_session_in_the_fall_back_hour_is_its_first_occurrence_and_45_minutes(where, esthetician):
    start = clinic_time.local_datetime(FALL, time(1, 30))

    session = session_book(**where, start=start, by=esthetician)

    session.refresh_from_db()
    assert session.start == datetime(2027, 11, 7, 8, 30, tzinfo=UTC)
    assert minutes(session) == 45


def test_rescheduling_across_the_spring_gap_keeps_the_real_length(where, esthetician):
    session = session_book(
        **where,
        start=clinic_time.local_datetime(date(2027, 3, 10), time(10)),
        minutes=90,
        by=esthetician,
    )

    session_reschedule(
        session=session, start=clinic_time.local_datetime(SPRING, time(1, 30)), by=esthetician
    )

    assert minutes(session) == 90


def test_a_series_across_the_spring_gap_keeps_every_session_its_real_length(
    where, bookable, esthetician, room, device
):
    plan = PlanFactory(
        client=bookable, start_date=date(2027, 3, 7), **THREE_WEEKS, session_minutes=90
    )

    booked = series_book(
        plan=plan,
        esthetician=esthetician,
        room=room,
        device=device,
        at=time(1, 30),
        weekdays=[6],
        sessions=3,
        weeks=3,
        by=esthetician,
    )

    assert [clinic_time.localdate(s.start) for s in booked] == [
        date(2027, 3, 7),
        SPRING,
        date(2027, 3, 21),
    ]
    assert [minutes(s) for s in booked] == [90, 90, 90]


# Through the API and the pages ----------------------------------------------------------


def test_series_at_a_skipped_time_is_a_400_naming_the_time(api_est, where, bookable):
    plan = PlanFactory(client=bookable, start_date=date(2027, 3, 7), **THREE_WEEKS)
    body = {
        "esthetician": where["esthetician"].pk,
        "room": where["room"].pk,
        "device": where["device"].pk,
        "time": "02:30",
        "weekdays": [6],
        "sessions": 3,
        "weeks": 3,
    }

    response = api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")

    assert response.status_code == 400, response.json()
    assert "02:30" in response.json()["time"][0]
    assert not Session.objects.exists()


def test_series_at_a_skipped_time_still_books_when_no_session_falls_on_that_night(
    api_est, where, bookable
):
    """Only the days the series lands on matter: Mondays never meet a Sunday change."""
    plan = PlanFactory(client=bookable, start_date=date(2027, 3, 7), **THREE_WEEKS)
    body = {
        "esthetician": where["esthetician"].pk,
        "room": where["room"].pk,
        "device": where["device"].pk,
        "time": "02:30",
        "weekdays": [0],
        "sessions": 3,
        "weeks": 3,
    }

    response = api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")

    assert response.status_code == 201, response.json()
    assert Session.objects.count() == 3


def test_api_session_at_a_naive_skipped_time_is_a_400_naming_start(api_est, where):
    body = {name: obj.pk for name, obj in where.items()} | {"start": "2027-03-14T02:30:00"}

    response = api_est.post("/api/sessions/", body, format="json")

    assert response.status_code == 400
    assert "start" in response.json()
    assert not Session.objects.exists()


def test_api_90_minute_session_across_the_gap_answers_its_real_end(api_est, where):
    body = {name: obj.pk for name, obj in where.items()} | {
        "start": "2027-03-14T01:30:00-08:00",
        "minutes": 90,
    }

    response = api_est.post("/api/sessions/", body, format="json")

    assert response.status_code == 201, response.json()
    end = datetime.fromisoformat(response.json()["end"])
    assert end == datetime(2027, 3, 14, 4, 0, tzinfo=LA)
    assert minutes(Session.objects.get()) == 90


def test_booking_page_at_a_skipped_time_names_the_time(page_as, where, bookable):
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:book", args=[bookable.pk]),
        {
            "kind": "single",
            "date": SPRING.isoformat(),
            "time": "02:30",
            "minutes": 45,
            "esthetician": where["esthetician"].pk,
            "room": where["room"].pk,
            "device": where["device"].pk,
        },
    )

    assert response.status_code == 200
    assert "02:30 does not exist" in response.context["form"].errors["time"][0]
    assert not Session.objects.exists()


def test_booking_page_in_the_fall_back_hour_books_the_first_occurrence(page_as, where, bookable):
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:book", args=[bookable.pk]),
        {
            "kind": "single",
            "date": FALL.isoformat(),
            "time": "01:30",
            "minutes": 45,
            "esthetician": where["esthetician"].pk,
            "room": where["room"].pk,
            "device": where["device"].pk,
        },
    )

    assert response.status_code == 302
    session = Session.objects.get()
    assert session.start == datetime(2027, 11, 7, 8, 30, tzinfo=UTC)
    assert minutes(session) == 45
