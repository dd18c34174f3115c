"""Booking one session through POST /api/sessions/: clashes (409), touching sessions,
cancelled sessions, and the slot rules that make a booking impossible (400)."""

from datetime import date, datetime

import pytest
import time_machine

from sessions_app.models import Session, WorkingHours
from tests.factories import ClosedDayFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, local

pytestmark = pytest.mark.django_db

# A Saturday morning, a week and a bit before the Monday we book.
NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def book(api, body):
    return api.post("/api/sessions/", body, format="json")


@pytest.fixture
def ours(bookable, esthetician, room, device):
    return {"client": bookable, "esthetician": esthetician, "room": room, "device": device}


@pytest.fixture
def theirs(other_bookable, other_esthetician, other_room, other_device):
    return {
        "client": other_bookable,
        "esthetician": other_esthetician,
        "room": other_room,
        "device": other_device,
    }


# The happy path ------------------------------------------------------------------


def test_booking_a_free_slot_creates_a_booked_session(api_est, slot_payload, bookable):
    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "booked"
    assert body["client"] == bookable.pk
    assert local(body["start"]) == at(MONDAY, "10:00")
    assert local(body["end"]) == at(MONDAY, "10:45")


# Clashes: one shared resource is enough ------------------------------------------


@pytest.mark.sqlite_too
@pytest.mark.parametrize("shared", ["esthetician", "room", "device", "client"])
def test_booking_that_shares_one_busy_resource_is_a_409_naming_it_and_the_session(
    shared, api_est, slot_payload, ours, theirs
):
    existing = SessionFactory(**{**theirs, shared: ours[shared]}, start=at(MONDAY, "10:00"))

    response = book(api_est, slot_payload(start=at(MONDAY, "10:15")))

    assert response.status_code == 409
    body = response.json()
    assert [(c["resource"], c["session"]) for c in body["clashes"]] == [(shared, existing.pk)]
    assert str(ours[shared]) in body["detail"]
    assert Session.objects.count() == 1


@pytest.mark.sqlite_too
def test_booking_that_shares_every_resource_names_all_four_clashes(api_est, slot_payload, ours):
    existing = SessionFactory(**ours, start=at(MONDAY, "10:00"))

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 409
    clashes = response.json()["clashes"]
    assert sorted(c["resource"] for c in clashes) == ["client", "device", "esthetician", "room"]
    assert {c["session"] for c in clashes} == {existing.pk}


@pytest.mark.sqlite_too
def test_booking_next_to_a_session_of_other_people_and_things_is_allowed(
    api_est, slot_payload, theirs
):
    SessionFactory(**theirs, start=at(MONDAY, "10:00"))

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 201, response.json()


# Touching sessions ------------------------------------------------------------------


@pytest.mark.sqlite_too
def test_session_may_start_the_moment_the_previous_one_ends(api_est, slot_payload, ours):
    SessionFactory(**ours, start=at(MONDAY, "10:00"))  # until 10:45

    response = book(api_est, slot_payload(start=at(MONDAY, "10:45")))

    assert response.status_code == 201, response.json()


@pytest.mark.sqlite_too
def test_session_may_end_the_moment_the_next_one_starts(api_est, slot_payload, ours):
    SessionFactory(**ours, start=at(MONDAY, "10:45"))

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))  # until 10:45

    assert response.status_code == 201, response.json()


@pytest.mark.sqlite_too
def test_session_overlapping_by_one_minute_clashes(api_est, slot_payload, ours):
    SessionFactory(**ours, start=at(MONDAY, "10:44"))

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 409


# Cancelled sessions -----------------------------------------------------------------


@pytest.mark.sqlite_too
def test_cancelled_session_does_not_block_its_slot(api_est, slot_payload, ours):
    SessionFactory(**ours, start=at(MONDAY, "10:00"), status=Session.Status.CANCELLED)

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 201, response.json()


@pytest.mark.sqlite_too
def test_cancelling_frees_the_slot_for_the_same_booking_at_once(api_est, slot_payload):
    first = book(api_est, slot_payload(start=at(MONDAY, "10:00"))).json()
    cancelled = api_est.post(f"/api/sessions/{first['id']}/cancel/")

    again = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert cancelled.status_code == 200
    assert again.status_code == 201, again.json()
    assert Session.objects.live().count() == 1


# Slots that can never be booked (400 with the reason) --------------------------------


@pytest.mark.parametrize("start", ["08:30", "17:30", "18:00"])
def test_booking_outside_working_hours_is_refused_with_the_hours(api_est, slot_payload, start):
    response = book(api_est, slot_payload(start=at(MONDAY, start)))

    assert response.status_code == 400
    message = response.json()["start"][0]
    assert "outside" in message
    assert "working hours (09:00–18:00)" in message


def test_booking_on_a_weekday_the_esthetician_does_not_work_is_refused(
    api_est, slot_payload, esthetician
):
    WorkingHours.objects.filter(esthetician=esthetician, weekday=MONDAY.weekday()).delete()

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 400
    assert "does not work on Mondays" in response.json()["start"][0]


def test_booking_on_a_closed_day_is_refused_with_the_reason(api_est, slot_payload):
    ClosedDayFactory(date=MONDAY, reason="Staff training")

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 400
    message = response.json()["start"][0]
    assert "closed" in message
    assert "Staff training" in message


def test_booking_in_the_past_is_refused(api_est, slot_payload):
    response = book(api_est, slot_payload(start=at(date(2027, 2, 19), "10:00")))

    assert response.status_code == 400
    assert "in the past" in response.json()["start"][0]


def test_booking_earlier_today_is_refused(api_est, slot_payload):
    response = book(api_est, slot_payload(start=at(NOW.date(), "08:45")))

    assert response.status_code == 400
    assert "in the past" in response.json()["start"][0]


def test_booking_a_device_out_of_service_is_refused(api_est, slot_payload, device):
    device.in_service = False
    device.save()

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 400
    assert "out of service" in response.json()["device"][0]
    assert not Session.objects.exists()


def test_booking_an_inactive_room_is_refused(api_est, slot_payload, room):
    room.is_active = False
    room.save()

    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert response.status_code == 400
    assert "Willow room is not in use" in response.json()["room"][0]
    assert not Session.objects.exists()


def test_booking_with_someone_who_is_not_an_esthetician_is_refused(
    api_est, slot_payload, front_desk
):
    response = book(api_est, slot_payload(start=at(MONDAY, "10:00"), esthetician=front_desk.pk))

    assert response.status_code == 400
    assert "esthetician" in response.json()
