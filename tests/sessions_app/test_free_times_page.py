"""The booking page's "Next free times" (issue 11): the free-times engine's answer for the
chosen esthetician, room, device and length, as links that fill the form without
JavaScript; a time it offers is one the form books."""

from datetime import date, datetime
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from clinic.roles import Role
from sessions_app.models import Session
from tests.factories import SessionFactory
from tests.sessions_app.helpers import LA, at

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=LA)  # Monday, before opening
TODAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def book_page(page_as, bookable, esthetician, working_hours, room, device):
    browser = page_as(Role.ESTHETICIAN)
    return browser, reverse("sessions:book", args=[bookable.pk])


def test_the_page_offers_the_next_eight_free_times_as_links(book_page, esthetician, room, device):
    browser, url = book_page
    response = browser.get(url)
    shown = response.context["free_times"]
    assert len(shown) == 8
    assert shown[0]["start"] == at(TODAY, "09:00")
    page = unescape(response.content.decode())
    assert "Next free times" in page
    assert (
        f'href="?minutes=45&room={room.pk}&device={device.pk}&esthetician={esthetician.pk}' in page
    )


def test_the_front_desk_sees_every_estheticians_free_times_before_choosing_one(
    page_as, bookable, esthetician, other_esthetician, working_hours, room, device
):
    """The front desk's form opens with no esthetician: the list names whose time it is,
    and its link chooses that esthetician."""
    response = page_as(Role.FRONT_DESK).get(reverse("sessions:book", args=[bookable.pk]))

    shown = response.context["free_times"]
    assert shown, "the list is there before an esthetician is chosen"
    whose = {
        person.pk
        for person in (esthetician, other_esthetician)
        for row in shown
        if f"with {person.get_full_name()}" in row["label"]
        and f"esthetician={person.pk}" in row["query"]
    }
    assert whose == {esthetician.pk, other_esthetician.pk}


def test_a_booked_time_is_not_offered_on_the_page(book_page, esthetician):
    SessionFactory(esthetician=esthetician, start=at(TODAY, "09:00"), end=at(TODAY, "10:00"))
    browser, url = book_page
    shown = browser.get(url).context["free_times"]
    assert shown[0]["start"] == at(TODAY, "10:00")


def test_a_free_time_link_fills_the_form_and_the_form_books_it(
    book_page, bookable, esthetician, room, device
):
    browser, url = book_page
    link = browser.get(url).context["free_times"][2]["query"]
    form = browser.get(f"{url}?{link}").context["form"]
    assert form.initial["date"] == TODAY
    assert f"{form.initial['time']:%H:%M}" == "09:30"
    body = {
        "kind": "single",
        "date": "2027-03-01",
        "time": "09:30",
        "minutes": 45,
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
    }
    response = browser.post(url, body)
    assert response.status_code == 302
    session = Session.objects.get(client=bookable)
    assert session.start == at(TODAY, "09:30")


def test_a_refused_booking_shows_the_free_times_that_remain(
    book_page, bookable, other_bookable, esthetician, room, device
):
    SessionFactory(esthetician=esthetician, start=at(TODAY, "09:00"), end=at(TODAY, "09:45"))
    browser, url = book_page
    body = {
        "kind": "single",
        "date": "2027-03-01",
        "time": "09:00",
        "minutes": 45,
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
    }
    response = browser.post(url, body)
    assert response.status_code == 200
    assert not Session.objects.filter(client=bookable).exists()
    assert response.context["free_times"][0]["start"] == at(TODAY, "09:45")


def test_a_bad_value_in_the_link_is_ignored_not_an_error(book_page):
    browser, url = book_page
    response = browser.get(f"{url}?date=2027-02-30&time=25:00&minutes=0&room=x")
    assert response.status_code == 200
    assert len(response.context["free_times"]) == 8
