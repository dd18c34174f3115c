"""A session's numbers live in one place (issue 9, rule 6): the rules module decides the
treatment record's ranges and a session's length, and the API and the pages refuse the
same input with the same message."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from clinic.errors import RuleViolation
from clinic.roles import Role
from protocols import rules as protocol_rules
from protocols.rules import protocol_number_problems
from sessions_app.models import Session, TreatmentRecord
from sessions_app.rules import (
    DURATION_MINUTES,
    FREQUENCY_HZ,
    INTENSITY_MICROAMPS,
    SESSION_MINUTES,
    session_minutes_problem,
    treatment_problems,
)
from sessions_app.services import session_book, session_complete
from tests.factories import SessionFactory
from tests.sessions_app.helpers import LA, at

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
TODAY = NOW.date()
TOMORROW = TODAY + timedelta(days=1)

INTENSITY = "Intensity must be between 10 and 500 µA (microamps)."
FREQUENCY = "Frequency must be between 0.1 and 1000 Hz."
DURATION = "Duration must be between 1 and 180 minutes."
LENGTH = "A session lasts from 15 to 180 minutes."


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


# The rules, by table ----------------------------------------------------------------
def test_the_messages_name_the_ranges():
    assert INTENSITY_MICROAMPS.message == INTENSITY
    assert FREQUENCY_HZ.message == FREQUENCY
    assert DURATION_MINUTES.message == DURATION
    assert SESSION_MINUTES.message == LENGTH


GOOD = {"intensity_microamps": 250, "frequency_hz": Decimal("1.5"), "duration_minutes": 45}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"intensity_microamps": 10}, []),
        ({"intensity_microamps": 500}, []),
        ({"intensity_microamps": 9}, [("intensity_microamps", INTENSITY)]),
        ({"intensity_microamps": 501}, [("intensity_microamps", INTENSITY)]),
        ({"intensity_microamps": 600}, [("intensity_microamps", INTENSITY)]),
        ({"intensity_microamps": -10}, [("intensity_microamps", INTENSITY)]),
        ({"frequency_hz": Decimal("0.1")}, []),
        ({"frequency_hz": Decimal("1000")}, []),
        ({"frequency_hz": 1}, []),
        ({"frequency_hz": Decimal("0")}, [("frequency_hz", FREQUENCY)]),
        ({"frequency_hz": Decimal("0.09")}, [("frequency_hz", FREQUENCY)]),
        ({"frequency_hz": Decimal("1000.01")}, [("frequency_hz", FREQUENCY)]),
        ({"frequency_hz": Decimal("-1")}, [("frequency_hz", FREQUENCY)]),
        ({"frequency_hz": Decimal("NaN")}, [("frequency_hz", FREQUENCY)]),
        ({"frequency_hz": Decimal("Infinity")}, [("frequency_hz", FREQUENCY)]),
        ({"duration_minutes": 1}, []),
        ({"duration_minutes": 180}, []),
        ({"duration_minutes": 0}, [("duration_minutes", DURATION)]),
        ({"duration_minutes": 181}, [("duration_minutes", DURATION)]),
        (
            {"intensity_microamps": 600, "frequency_hz": 0, "duration_minutes": 0},
            [
                ("intensity_microamps", INTENSITY),
                ("frequency_hz", FREQUENCY),
                ("duration_minutes", DURATION),
            ],
        ),
    ],
)
def test_treatment_problems(changes, expected):
    assert treatment_problems(**{**GOOD, **changes}) == expected


@pytest.mark.parametrize(
    ("minutes", "problem"),
    [(15, None), (45, None), (180, None), (14, LENGTH), (0, LENGTH), (-45, LENGTH), (181, LENGTH)],
)
def test_session_minutes_problem(minutes, problem):
    assert session_minutes_problem(minutes) == problem


BAND = {
    "min_age": 35,
    "max_age": 50,
    "sessions_min": 10,
    "sessions_max": 15,
    "weeks_min": 4,
    "weeks_max": 7,
    "session_minutes": 45,
}
FEWEST_SESSIONS = "A series has from 1 to 100 sessions."
WEEKS = "A series runs over 1 to 52 weeks."
AGE = "An age is a whole number of years from 0 to 150."


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"max_age": None}, []),
        ({"sessions_min": 1, "sessions_max": 1, "weeks_min": 1, "weeks_max": 1}, []),
        ({"session_minutes": 0}, [("session_minutes", LENGTH)]),
        ({"session_minutes": 181}, [("session_minutes", LENGTH)]),
        ({"sessions_min": 0}, [("sessions_min", FEWEST_SESSIONS)]),
        ({"sessions_max": 101}, [("sessions_max", FEWEST_SESSIONS)]),
        ({"weeks_min": 0}, [("weeks_min", WEEKS)]),
        ({"weeks_max": 53}, [("weeks_max", WEEKS)]),
        ({"min_age": -1}, [("min_age", AGE)]),
        ({"max_age": 151}, [("max_age", AGE)]),
        (
            {"sessions_min": 16},
            [("sessions_max", "The most sessions must be at least the fewest.")],
        ),
        ({"weeks_min": 8}, [("weeks_max", "The most weeks must be at least the fewest.")]),
        ({"max_age": 34}, [("max_age", "The oldest age must be at least the youngest.")]),
        (
            {"weeks_min": 1, "weeks_max": 1, "sessions_min": 5, "sessions_max": 8},
            [
                (
                    "sessions_max",
                    "A client has at most one session a day: that many sessions do not fit "
                    "in the weeks.",
                )
            ],
        ),
    ],
)
def test_protocol_number_problems(changes, expected):
    assert protocol_number_problems(**{**BAND, **changes}) == expected


# Completing a session: the API and the page say the same --------------------------
TREATMENT = {
    "modality": "static",
    "intensity_microamps": "250",
    "frequency_hz": "1.50",
    "duration_minutes": "45",
}
OUT_OF_RANGE = [
    ("intensity_microamps", "600", INTENSITY),
    ("intensity_microamps", "9", INTENSITY),
    ("frequency_hz", "0", FREQUENCY),
    ("frequency_hz", "1000.01", FREQUENCY),
    ("frequency_hz", "12345", FREQUENCY),
    ("duration_minutes", "0", DURATION),
    ("duration_minutes", "181", DURATION),
]


@pytest.fixture
def checked_in(bookable, esthetician, working_hours, room, device):
    session = SessionFactory(
        client=bookable, esthetician=esthetician, room=room, device=device, start=at(TODAY, "10:00")
    )
    Session.objects.filter(pk=session.pk).update(
        status=Session.Status.CHECKED_IN, checked_in_at=NOW
    )
    session.refresh_from_db()
    return session


def assert_not_completed(session):
    session.refresh_from_db()
    assert session.status == Session.Status.CHECKED_IN
    assert not TreatmentRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("content", ["json", "multipart"])
@pytest.mark.parametrize(("field", "value", "message"), OUT_OF_RANGE)
def test_the_api_refuses_a_treatment_number_out_of_range(
    api_est, checked_in, content, field, value, message
):
    body = {**TREATMENT, field: value}
    if content == "json":
        body = {**body, "intensity_microamps": int(body["intensity_microamps"])}
    response = api_est.post(f"/api/sessions/{checked_in.pk}/complete/", body, format=content)

    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert_not_completed(checked_in)


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "message"), OUT_OF_RANGE)
def test_the_page_refuses_a_treatment_number_out_of_range_with_the_same_message(
    page_as, checked_in, field, value, message
):
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:detail", args=[checked_in.pk]),
        {"action": "complete", **TREATMENT, field: value},
    )

    assert response.status_code == 200
    assert response.context["complete_form"].errors == {field: [message]}
    assert message in response.content.decode()
    assert_not_completed(checked_in)


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "message"), OUT_OF_RANGE)
def test_the_service_refuses_a_treatment_number_out_of_range(
    checked_in, esthetician, field, value, message
):
    fields = {
        "modality": "static",
        "intensity_microamps": 250,
        "frequency_hz": Decimal("1.5"),
        "duration_minutes": 45,
    }
    fields[field] = Decimal(value) if field == "frequency_hz" else int(value)

    with pytest.raises(RuleViolation) as caught:
        session_complete(session=checked_in, by=esthetician, **fields)

    assert (caught.value.field, caught.value.message) == (field, message)
    assert_not_completed(checked_in)


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [("frequency_hz", "0.1"), ("frequency_hz", "1000")])
def test_the_edges_of_the_frequency_range_are_recorded(api_est, checked_in, field, value):
    body = {**TREATMENT, "intensity_microamps": 250, field: value}
    response = api_est.post(f"/api/sessions/{checked_in.pk}/complete/", body, format="json")

    assert response.status_code == 200, response.json()
    assert TreatmentRecord.objects.get().frequency_hz == Decimal(value)


# Booking one session: the length ----------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("content", ["json", "multipart"])
@pytest.mark.parametrize("minutes", [0, 14, 181, -45])
def test_the_api_refuses_a_booking_length_out_of_range(api_est, slot_payload, content, minutes):
    body = slot_payload(start=at(TOMORROW, "10:00"), minutes=minutes)

    response = api_est.post("/api/sessions/", body, format=content)

    assert response.status_code == 400
    assert response.json() == {"minutes": [LENGTH]}
    assert not Session.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("minutes", [0, 14, 181, -45])
def test_the_booking_page_refuses_a_length_out_of_range_with_the_same_message(
    page_as, bookable, esthetician, working_hours, room, device, minutes
):
    response = page_as(Role.FRONT_DESK).post(
        reverse("sessions:book", args=[bookable.pk]),
        {
            "kind": "single",
            "date": TOMORROW.isoformat(),
            "time": "10:00",
            "minutes": str(minutes),
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"minutes": [LENGTH]}
    assert not Session.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("minutes", [0, 14, 181])
def test_the_booking_service_refuses_a_length_out_of_range(
    bookable, esthetician, working_hours, room, device, minutes
):
    with pytest.raises(RuleViolation) as caught:
        session_book(
            client=bookable,
            esthetician=esthetician,
            room=room,
            device=device,
            start=at(TOMORROW, "10:00"),
            minutes=minutes,
            by=esthetician,
        )

    assert (caught.value.field, caught.value.message) == ("minutes", LENGTH)
    assert not Session.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("minutes", [15, 180])
def test_a_booking_at_the_edges_of_the_length_range_is_made(
    bookable, esthetician, working_hours, room, device, minutes
):
    session = session_book(
        client=bookable,
        esthetician=esthetician,
        room=room,
        device=device,
        start=at(TOMORROW, "10:00"),
        minutes=minutes,
        by=esthetician,
    )

    assert session.end - session.start == timedelta(minutes=minutes)


def test_the_session_length_is_the_protocols_rule():
    assert SESSION_MINUTES is protocol_rules.SESSION_MINUTES
