"""Issue 9, rule 8: a 201 is a 201. A write under /api/ whose answer cannot be built
answers a JSON 500 and leaves nothing behind: no session, no confirmation email row."""

from datetime import date, datetime

import pytest
import time_machine

from sessions_app import serializers
from sessions_app.models import Reminder, Session
from tests.factories import PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def answer_breaks(monkeypatch):
    """Building a session's answer fails, after the service has done its work."""

    def broken(self, instance):
        raise RuntimeError("the answer could not be built")

    monkeypatch.setattr(serializers.SessionSerializer, "to_representation", broken)


def assert_server_error_as_json(response):
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "nothing was changed" in response.json()["detail"]


def test_booking_whose_answer_fails_books_nothing_and_sends_nothing(
    api_est, slot_payload, answer_breaks
):
    response = api_est.post(
        "/api/sessions/", slot_payload(start=at(MONDAY, "10:00")), format="json"
    )

    assert_server_error_as_json(response)
    assert not Session.objects.exists()
    assert not Reminder.objects.exists()


def test_series_booking_whose_answer_fails_books_nothing_and_sends_nothing(
    api_est, bookable, esthetician, working_hours, room, device, answer_breaks
):
    plan = PlanFactory(client=bookable, start_date=MONDAY, created_by=esthetician)
    body = {
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
        "time": "10:00",
        "weekdays": [0, 3],
    }

    response = api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")

    assert_server_error_as_json(response)
    assert not Session.objects.exists()
    assert not Reminder.objects.exists()


def test_cancel_whose_answer_fails_leaves_the_session_booked(api_est, bookable, answer_breaks):
    session = SessionFactory(client=bookable, start=at(MONDAY, "10:00"))

    response = api_est.post(f"/api/sessions/{session.pk}/cancel/", {}, format="json")

    assert_server_error_as_json(response)
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED
    assert not Reminder.objects.exists()


def test_booking_that_answers_201_has_its_session_and_confirmation(api_est, slot_payload):
    response = api_est.post(
        "/api/sessions/", slot_payload(start=at(MONDAY, "10:00")), format="json"
    )

    assert response.status_code == 201, response.json()
    session = Session.objects.get(pk=response.json()["id"])
    assert Reminder.objects.filter(session=session, kind="booking_confirmation").exists()
