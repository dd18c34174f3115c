"""The time grid's page side (issue 13): the grid's settings on the calendar and schedule
pages (the list stays for keyboard and no-JavaScript use), the schedule by room, "book
this slot" handing the slot to the booking form, and the resize the grid sends through
the reschedule service (length, clash and hours checks)."""

import json
import re
from datetime import date, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from clinic.clinic_time import local
from clinic.roles import Role
from sessions_app.models import Session
from tests.factories import ClientFactory
from tests.sessions_app.helpers import LA, at

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def book(client, esthetician, room, device, start, minutes=45) -> Session:
    return Session.objects.create(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        end=start + timedelta(minutes=minutes),
        booked_by=esthetician,
    )


def grid_config(response) -> dict:
    found = re.search(
        r'<script id="grid-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, "no grid settings on the page"
    return json.loads(unescape(found.group(1)))


def test_the_week_calendar_hands_its_grid_one_esthetician_and_keeps_its_list(
    page_as, esthetician, working_hours, room, device, bookable
):
    book(bookable, esthetician, room, device, at(MONDAY, "10:00"))

    response = page_as(Role.ESTHETICIAN).get(reverse("sessions:calendar"), {"date": "2027-03-03"})

    config = grid_config(response)
    assert config["view"] == "timeGridWeek"
    assert (config["start"], config["end"]) == ("2027-03-01", "2027-03-08")
    assert config["esthetician"] == esthetician.pk
    assert config["feed"] == reverse("sessions:calendar-feed")
    assert config["reschedule"] == "/api/sessions/0/reschedule/"
    assert config["resize"] is True
    body = response.content.decode()
    # The list is still there (the grid only covers it once drawn), with a booking link.
    assert 'class="cal-item status-booked"' in body
    assert "Ana Lopez" in body
    assert f"{reverse('sessions:calendar-book')}?date=2027-03-01&amp;esthetician=" in body
    assert "static/js/calendar.js" in body
    assert "vendor/event-calendar/event-calendar.min.js" in body


def test_the_schedule_by_room_has_a_column_per_room(
    page_as, esthetician, working_hours, room, other_room, device, other_device, bookable
):
    book(bookable, esthetician, other_room, device, at(MONDAY, "10:00"))
    other = ClientFactory(first_name="Bea", last_name="Ng")
    book(other, esthetician, room, other_device, at(MONDAY, "11:00"))

    response = page_as(Role.FRONT_DESK).get(
        reverse("sessions:schedule"), {"date": "2027-03-01", "by": "room"}
    )

    config = grid_config(response)
    assert (config["view"], config["by"]) == ("resourceTimeGridDay", "room")
    body = response.content.decode()
    # The columns in room order, each with its own sessions (the list is rendered HTML).
    columns = body.split('<section class="cal-day"')[1:]
    assert ["Cedar room" in c and "Willow room" not in c for c in columns] == [True, False]
    assert "Willow room" in columns[1]
    assert ("Ana Lopez" in columns[0], "Bea Ng" in columns[0]) == (True, False)
    assert "across 2 rooms" in body


def test_book_this_slot_finds_the_client_and_carries_the_slot(
    page_as, esthetician, working_hours, room, device, bookable
):
    ClientFactory(first_name="Zed", last_name="Other")
    slot = {"date": "2027-03-01", "time": "10:15", "esthetician": esthetician.pk, "room": room.pk}

    response = page_as(Role.FRONT_DESK).get(reverse("sessions:calendar-book"), {**slot, "q": "Ana"})

    assert response.status_code == 200
    body = response.content.decode()
    assert "Book Mon Mar 1, 2027 at 10:15 AM with" in body
    assert f"in {room.name}" in body
    assert [client for client, _ in response.context["rows"]] == [bookable]
    link = f"{reverse('sessions:book', args=[bookable.pk])}?date=2027-03-01&amp;time=10%3A15"
    assert link in body
    # The search keeps the slot.
    assert '<input type="hidden" name="time" value="10:15">' in body


def test_a_value_the_form_would_refuse_is_not_carried(page_as, esthetician, bookable):
    response = page_as(Role.FRONT_DESK).get(
        reverse("sessions:calendar-book"), {"date": "2027-03-01", "time": "25:00", "room": "x"}
    )

    assert response.context["carried"] == {"date": "2027-03-01"}
    assert "time=" not in response.context["carried_query"]


def test_the_booking_form_opens_with_the_slot(
    page_as, esthetician, other_esthetician, working_hours, room, other_room, device, bookable
):
    query = {
        "date": "2027-03-01",
        "time": "10:15",
        "esthetician": other_esthetician.pk,
        "room": other_room.pk,
    }

    response = page_as(Role.FRONT_DESK).get(reverse("sessions:book", args=[bookable.pk]), query)

    form = response.context["form"]
    assert form.initial["date"] == MONDAY
    assert f"{form.initial['time']:%H:%M}" == "10:15"
    assert form.initial["esthetician"] == other_esthetician
    assert form.initial["room"] == other_room


# The grid's resize: the reschedule service with a new length ---------------------------


def test_a_resize_changes_the_length_through_the_reschedule_service(
    api_est, esthetician, working_hours, room, device, bookable
):
    session = book(bookable, esthetician, room, device, at(MONDAY, "10:00"))

    response = api_est.post(
        f"/api/sessions/{session.pk}/reschedule/",
        {"start": "2027-03-01T10:00:00", "minutes": 75},
        format="json",
    )

    assert response.status_code == 200, response.json()
    session.refresh_from_db()
    assert local(session.end) == at(MONDAY, "11:15")
    assert session.sequence == 1
    assert session.rescheduled_by == esthetician


def test_a_resize_onto_the_next_session_is_a_409_and_changes_nothing(
    api_est, esthetician, working_hours, room, device, bookable, other_bookable
):
    session = book(bookable, esthetician, room, device, at(MONDAY, "10:00"))
    book(other_bookable, esthetician, room, device, at(MONDAY, "11:00"))

    response = api_est.post(
        f"/api/sessions/{session.pk}/reschedule/",
        {"start": "2027-03-01T10:00:00", "minutes": 90},
        format="json",
    )

    assert response.status_code == 409
    assert "is booked" in response.json()["detail"]
    session.refresh_from_db()
    assert local(session.end) == at(MONDAY, "10:45")


def test_a_resize_past_the_shift_is_a_400_naming_the_hours(
    api_est, esthetician, working_hours, room, device, bookable
):
    session = book(bookable, esthetician, room, device, at(MONDAY, "17:00"))

    response = api_est.post(
        f"/api/sessions/{session.pk}/reschedule/",
        {"start": "2027-03-01T17:00:00", "minutes": 90},
        format="json",
    )

    assert response.status_code == 400
    assert "working hours" in json.dumps(response.json())
    session.refresh_from_db()
    assert local(session.end) == at(MONDAY, "17:45")


@pytest.mark.parametrize("minutes", [0, 1000, "long"])
def test_a_length_out_of_range_is_a_400_naming_minutes(
    api_est, esthetician, working_hours, room, device, bookable, minutes
):
    session = book(bookable, esthetician, room, device, at(MONDAY, "10:00"))

    response = api_est.post(
        f"/api/sessions/{session.pk}/reschedule/",
        {"start": "2027-03-01T10:00:00", "minutes": minutes},
        format="json",
    )

    assert response.status_code == 400
    assert "minutes" in response.json()
    session.refresh_from_db()
    assert local(session.end) == at(MONDAY, "10:45")


def test_book_this_slot_offers_booking_only_for_a_client_who_may_be_booked(
    page_as, esthetician, bookable
):
    """A client without a current screening cannot be booked: the row links to their page
    (to screen them) rather than to a booking form that could only refuse."""
    unscreened = ClientFactory(first_name="Ana", last_name="Unscreened")
    slot = {"date": "2027-03-01", "time": "10:15", "esthetician": esthetician.pk, "q": "Ana"}
    body = page_as(Role.FRONT_DESK).get(reverse("sessions:calendar-book"), slot).content.decode()
    assert f'href="{reverse("sessions:book", args=[bookable.pk])}?' in body
    assert f'href="{reverse("sessions:book", args=[unscreened.pk])}?' not in body
    assert (
        f'<a href="{reverse("clients:detail", args=[unscreened.pk])}">Open Ana Unscreened</a>'
        in body
    )
    assert "(cannot be booked yet)" in body
