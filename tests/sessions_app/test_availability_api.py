"""``GET /api/availability/`` (SPEC, REST API, "availability"; issue 11): free times
``{start, end, esthetician, room, device}`` by the booking's rules; bad input is a 400
naming the field, never a 500."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from clinic.roles import Role
from sessions_app.models import Session
from tests.factories import SessionFactory, UserFactory
from tests.sessions_app.helpers import LA, at, local

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=LA)
DAY = date(2027, 3, 2)
URL = "/api/availability/"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def query(esthetician, working_hours, room, device):
    def make(**overrides):
        params = {
            "date_from": DAY.isoformat(),
            "date_to": DAY.isoformat(),
            "minutes": 45,
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    return make


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ESTHETICIAN, Role.MANAGER])
def test_every_member_of_staff_reads_free_times(api_as, query, role, esthetician, room, device):
    response = api_as(role).get(URL, query())
    assert response.status_code == 200, response.json()
    first = response.json()[0]
    assert first["esthetician"] == esthetician.pk
    assert first["room"] == room.pk
    assert first["device"] == device.pk
    assert first["room_name"] == "Willow room"
    # ISO 8601 with the offset: the instant, readable in any zone.
    assert local(first["start"]) == at(DAY, "09:00")
    assert local(first["end"]) == at(DAY, "09:45")
    assert first["start"][-6:] in ("+00:00", "-08:00")


def test_a_booked_time_is_not_offered(api_as, query, esthetician):
    SessionFactory(esthetician=esthetician, start=at(DAY, "09:00"), end=at(DAY, "09:45"))
    starts = [local(f["start"]) for f in api_as(Role.FRONT_DESK).get(URL, query()).json()]
    assert at(DAY, "09:00") not in starts
    assert starts[0] == at(DAY, "09:45")


def test_client_filter_keeps_the_one_a_day_rule(api_as, query, bookable, other_esthetician):
    SessionFactory(
        client=bookable, esthetician=other_esthetician, start=at(DAY, "15:00"), end=at(DAY, "15:45")
    )
    api = api_as(Role.FRONT_DESK)
    assert api.get(URL, query(client=bookable.pk)).json() == []
    assert api.get(URL, query()).json() != []


def test_limit_caps_the_answer_soonest_first(api_as, query):
    found = api_as(Role.FRONT_DESK).get(URL, query(limit=3)).json()
    assert [local(f["start"]) for f in found] == [
        at(DAY, "09:00"),
        at(DAY, "09:15"),
        at(DAY, "09:30"),
    ]


def test_queries_do_not_grow_with_a_months_range(api_as, query, esthetician):
    api = api_as(Role.FRONT_DESK)
    for offset in range(0, 30, 3):
        day = DAY + timedelta(days=offset)
        SessionFactory(esthetician=esthetician, start=at(day, "10:00"), end=at(day, "10:45"))
    counts = []
    for last in (DAY, DAY + timedelta(days=30)):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(URL, query(date_to=last.isoformat(), limit=500))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_from": "2027-02-30"}, "date_from"),
        ({"date_from": "tomorrow"}, "date_from"),
        ({"date_from": None}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"date_to": "2027-03-01"}, "date_to"),  # before date_from
        ({"date_to": "2027-04-30"}, "date_to"),  # more than 31 days
        ({"minutes": 0}, "minutes"),
        ({"minutes": 100_000}, "minutes"),
        ({"minutes": "long"}, "minutes"),
        ({"minutes": None}, "minutes"),
        ({"esthetician": 999_999}, "esthetician"),
        ({"room": 999_999}, "room"),
        ({"device": "x"}, "device"),
        ({"client": 999_999}, "client"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_as, query, overrides, field):
    response = api_as(Role.FRONT_DESK).get(URL, query(**overrides))
    assert response.status_code == 400
    assert field in response.json()


def test_a_member_of_staff_who_is_not_an_esthetician_is_not_offered(api_as, query, front_desk):
    response = api_as(Role.FRONT_DESK).get(URL, query(esthetician=front_desk.pk))
    assert response.status_code == 400
    assert "esthetician" in response.json()


def test_anonymous_is_asked_to_sign_in(query):
    assert APIClient().get(URL, query()).status_code == 401


def test_a_user_without_a_role_is_refused(query):
    nobody = UserFactory(role="")
    api = APIClient()
    api.force_authenticate(nobody)
    assert api.get(URL, query()).status_code == 403


def test_reading_free_times_books_nothing(api_as, query):
    api_as(Role.FRONT_DESK).get(URL, query())
    assert not Session.objects.exists()
