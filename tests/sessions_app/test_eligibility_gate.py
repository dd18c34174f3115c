"""The eligibility gate at booking (single and series) and the re-confirmation at check-in."""

from datetime import date, datetime, timedelta

import pytest
import time_machine

from sessions_app.models import Session
from tests.factories import ClearanceFactory, PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
TODAY = NOW.date()
MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def book_one(api_est, esthetician, working_hours, room, device):
    def post(client):
        body = {
            "client": client.pk,
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
            "start": at(MONDAY, "10:00").isoformat(),
        }
        return api_est.post("/api/sessions/", body, format="json")

    return post


@pytest.fixture
def book_series(api_est, esthetician, working_hours, room, device):
    def post(client):
        plan = PlanFactory(client=client, start_date=MONDAY, created_by=esthetician)
        body = {
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
            "time": "10:00",
            "weekdays": [0, 3],
        }
        return api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")

    return post


REFUSED = [
    # (screening answers "yes", outcome, a word the reasons must contain)
    pytest.param(("pacemaker",), "ineligible", "pacemaker", id="pacemaker"),
    pytest.param(("pregnant",), "ineligible", "pregnant", id="pregnant"),
    pytest.param(("recent_surgery",), "needs_clearance", "clearance", id="needs-clearance"),
]


# Booking ------------------------------------------------------------------------------


@pytest.mark.parametrize(("yes", "outcome", "word"), REFUSED)
def test_booking_a_client_who_may_not_be_treated_is_refused_with_the_reasons(
    book_one, a_client, yes, outcome, word
):
    screen(a_client, *yes)

    response = book_one(a_client)

    assert response.status_code == 400
    body = response.json()
    assert body["eligibility"] == outcome
    assert word in " ".join(body["reasons"]).lower()
    assert not Session.objects.exists()


def test_booking_refusal_for_a_pacemaker_says_pacemaker(book_one, a_client):
    screen(a_client, "pacemaker")

    response = book_one(a_client)

    assert response.status_code == 400
    assert "pacemaker" in response.content.decode()


def test_booking_a_client_with_no_screening_is_refused(book_one, a_client):
    response = book_one(a_client)

    assert response.status_code == 400
    body = response.json()
    assert body["eligibility"] == "screening_required"
    assert "No screening on file" in body["reasons"][0]


def test_booking_a_client_whose_screening_has_lapsed_is_refused(book_one, a_client):
    with time_machine.travel(NOW - timedelta(days=91), tick=False):
        screen(a_client)

    response = book_one(a_client)

    assert response.status_code == 400
    assert response.json()["eligibility"] == "screening_required"
    assert "older than 90 days" in response.json()["reasons"][0]


def test_booking_a_client_whose_flagged_condition_is_cleared_is_allowed(book_one, a_client):
    screen(a_client, "recent_surgery")
    ClearanceFactory(client=a_client, conditions=["recent_surgery"])

    response = book_one(a_client)

    assert response.status_code == 201, response.json()


def test_series_for_a_client_with_a_pacemaker_is_refused_and_books_nothing(book_series, a_client):
    screen(a_client, "pacemaker")

    response = book_series(a_client)

    assert response.status_code == 400
    assert response.json()["eligibility"] == "ineligible"
    assert "pacemaker" in response.content.decode()
    assert not Session.objects.exists()


def test_series_for_a_client_who_needs_clearance_is_refused(book_series, a_client):
    screen(a_client, "neurological_disorder")

    response = book_series(a_client)

    assert response.status_code == 400
    assert response.json()["eligibility"] == "needs_clearance"
    assert "epilepsy" in " ".join(response.json()["reasons"])


def test_series_for_a_client_with_no_screening_is_refused(book_series, a_client):
    response = book_series(a_client)

    assert response.status_code == 400
    assert response.json()["eligibility"] == "screening_required"
    assert not Session.objects.exists()


# Check-in ----------------------------------------------------------------------------------


@pytest.fixture
def todays_session(bookable, esthetician, room, device):
    return SessionFactory(
        client=bookable, esthetician=esthetician, room=room, device=device, start=at(TODAY, "10:00")
    )


def check_in(api, session, body):
    return api.post(f"/api/sessions/{session.pk}/check-in/", body, format="json")


def test_check_in_with_nothing_changed_checks_the_client_in(api_est, todays_session):
    response = check_in(api_est, todays_session, {"nothing_changed": True})

    assert response.status_code == 200, response.json()
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.CHECKED_IN
    assert todays_session.checked_in_at == NOW


def test_check_in_when_something_changed_is_refused_and_the_session_stays_booked(
    api_est, todays_session
):
    response = check_in(api_est, todays_session, {"nothing_changed": False})

    # The change is recorded (tests/sessions_app/test_health_change.py): 409, not 400.
    assert response.status_code == 409
    assert "new screening" in response.json()["nothing_changed"][0]
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


def test_check_in_without_the_confirmation_is_refused(api_est, todays_session):
    response = check_in(api_est, todays_session, {})

    assert response.status_code == 400
    assert "nothing_changed" in response.json()
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


def test_check_in_is_refused_once_the_screening_has_lapsed(
    api_est, bookable, esthetician, room, device
):
    # Screened today (NOW); the session is 94 days later, past the 90-day validity.
    later = TODAY + timedelta(days=94)
    session = SessionFactory(
        client=bookable, esthetician=esthetician, room=room, device=device, start=at(later, "10:00")
    )

    with time_machine.travel(at(later, "09:30"), tick=False):
        response = check_in(api_est, session, {"nothing_changed": True})

    assert response.status_code == 400
    assert response.json()["eligibility"] == "screening_required"
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


def test_check_in_is_refused_after_a_new_screening_finds_a_pacemaker(
    api_est, todays_session, bookable
):
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        screen(bookable, "pacemaker")
        response = check_in(api_est, todays_session, {"nothing_changed": True})

    assert response.status_code == 400
    assert "pacemaker" in response.content.decode()
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


def test_check_in_on_another_day_than_the_session_is_refused(api_est, bookable):
    session = SessionFactory(client=bookable, start=at(MONDAY, "10:00"))

    response = check_in(api_est, session, {"nothing_changed": True})

    assert response.status_code == 400
    assert "only on the day of the session" in response.json()["status"][0]


def test_front_desk_may_not_check_a_client_in(api, front_desk, todays_session):
    api.force_authenticate(front_desk)

    response = check_in(api, todays_session, {"nothing_changed": True})

    assert response.status_code == 403
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED
