"""Issue 13: a reschedule can change the esthetician, room and device, not only the time,
through the same checks as booking; and the session page offers the next free times with
anyone, not only the session's own esthetician, room and device."""

import re
from datetime import date, datetime

import pytest
import time_machine
from django.urls import reverse

from clinic.errors import BookingClash, RuleViolation
from clinic.roles import Role
from sessions_app.models import Session
from sessions_app.services import session_book, session_reschedule
from tests.factories import SessionFactory
from tests.sessions_app.helpers import LA, at, local

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
DAY = date(2027, 3, 2)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def session(bookable, esthetician, working_hours, room, device):
    return session_book(
        client=bookable,
        esthetician=esthetician,
        room=room,
        device=device,
        start=at(DAY, "10:00"),
        by=esthetician,
    )


@pytest.mark.sqlite_too
def test_a_reschedule_moves_to_another_esthetician_room_and_device(
    session, other_esthetician, other_room, other_device, esthetician
):
    moved = session_reschedule(
        session=session,
        start=at(DAY, "11:00"),
        by=esthetician,
        esthetician=other_esthetician,
        room=other_room,
        device=other_device,
    )
    moved.refresh_from_db()
    assert (moved.esthetician, moved.room, moved.device) == (
        other_esthetician,
        other_room,
        other_device,
    )
    assert moved.start == at(DAY, "11:00")
    assert moved.sequence == 1
    assert moved.rescheduled_by == esthetician


@pytest.mark.sqlite_too
def test_the_old_call_with_only_a_start_keeps_the_resources(session, esthetician, room, device):
    moved = session_reschedule(session=session, start=at(DAY, "12:00"), by=esthetician)
    moved.refresh_from_db()
    assert (moved.esthetician, moved.room, moved.device) == (esthetician, room, device)
    assert moved.start == at(DAY, "12:00")


@pytest.mark.sqlite_too
def test_moving_to_an_esthetician_who_is_busy_is_a_clash_naming_them(
    session, other_esthetician, other_bookable, other_room, other_device, esthetician
):
    busy = SessionFactory(
        client=other_bookable,
        esthetician=other_esthetician,
        room=other_room,
        device=other_device,
        start=at(DAY, "10:00"),
    )
    with pytest.raises(BookingClash) as caught:
        session_reschedule(
            session=session, start=at(DAY, "10:00"), by=esthetician, esthetician=other_esthetician
        )
    assert [(c["resource"], c["session"]) for c in caught.value.clashes] == [
        ("esthetician", busy.pk)
    ]
    session.refresh_from_db()
    assert session.esthetician == esthetician


def test_moving_to_a_room_not_in_use_is_refused_naming_room(session, other_room, esthetician):
    other_room.is_active = False
    other_room.save()
    with pytest.raises(RuleViolation) as caught:
        session_reschedule(session=session, start=session.start, by=esthetician, room=other_room)
    assert caught.value.field == "room"
    session.refresh_from_db()
    assert session.room_id != other_room.pk


def test_moving_to_an_esthetician_without_hours_then_is_a_400(session, esthetician):
    from tests.factories import UserFactory

    newcomer = UserFactory(username="new", role=Role.ESTHETICIAN, first_name="Nia")
    with pytest.raises(RuleViolation) as caught:
        session_reschedule(
            session=session, start=session.start, by=esthetician, esthetician=newcomer
        )
    assert "does not work on Tuesdays" in str(caught.value)


def test_the_api_moves_a_session_to_another_esthetician_and_room(
    api_est, session, other_esthetician, other_room
):
    response = api_est.post(
        f"/api/sessions/{session.pk}/reschedule/",
        {
            "start": at(DAY, "15:00").isoformat(),
            "esthetician": other_esthetician.pk,
            "room": other_room.pk,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["esthetician"] == other_esthetician.pk
    assert response.json()["room"] == other_room.pk
    assert local(response.json()["start"]) == at(DAY, "15:00")
    session.refresh_from_db()
    assert session.esthetician == other_esthetician


def test_the_api_refuses_an_unknown_esthetician_naming_the_field(api_est, session):
    response = api_est.post(
        f"/api/sessions/{session.pk}/reschedule/",
        {"start": at(DAY, "15:00").isoformat(), "esthetician": 987654},
        format="json",
    )
    assert response.status_code == 400
    assert "esthetician" in response.json()
    assert Session.objects.get(pk=session.pk).start == at(DAY, "10:00")


# The session page ---------------------------------------------------------------------------


def page(browser, session, query=""):
    response = browser.get(reverse("sessions:detail", args=[session.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_moves_a_session_to_another_esthetician(
    page_as, session, other_esthetician, other_room, other_device
):
    browser = page_as(Role.FRONT_DESK)
    response = browser.post(
        reverse("sessions:detail", args=[session.pk]),
        {
            "action": "reschedule",
            "date": "2027-03-02",
            "time": "14:00",
            "esthetician": other_esthetician.pk,
            "room": other_room.pk,
            "device": other_device.pk,
        },
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.esthetician, session.room, session.device) == (
        other_esthetician,
        other_room,
        other_device,
    )
    assert session.start == at(DAY, "14:00")


def test_free_times_with_any_esthetician_offer_the_others_too(page_as, session, other_esthetician):
    browser = page_as(Role.FRONT_DESK)
    own = page(browser, session)
    anyone = page(browser, session, "?find_esthetician=&find_room=&find_device=")

    name = other_esthetician.get_full_name()
    assert f"with {name}" not in own  # at first: her own esthetician, room and device
    assert f"with {name}" in anyone
    links = re.findall(r'href="\?([^"]+)#change-heading"', anyone)
    theirs = next(
        dict(part.split("=", 1) for part in link.replace("&amp;", "&").split("&"))
        for link in links
        if f"esthetician={other_esthetician.pk}&" in link.replace("&amp;", "&")
    )
    # The finder's "any" rides along, so the list stays as asked after a choice.
    assert (theirs["find_esthetician"], theirs["find_room"], theirs["find_device"]) == ("", "", "")
    chosen = page(browser, session, "?" + "&".join(f"{k}={v}" for k, v in theirs.items()))
    assert f'<option value="{other_esthetician.pk}" selected>' in chosen


def test_a_free_time_link_fills_in_the_esthetician_room_and_device(
    page_as, session, other_esthetician, other_room, other_device
):
    query = (
        f"?date=2027-03-02&time=11:00&esthetician={other_esthetician.pk}"
        f"&room={other_room.pk}&device={other_device.pk}"
    )
    html = page(page_as(Role.FRONT_DESK), session, query)
    for pk in (other_esthetician.pk, other_room.pk, other_device.pk):
        assert f'<option value="{pk}" selected>' in html
