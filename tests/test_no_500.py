"""Issue 9, rules 7 and 8: no input answers 500. Errors under /api/ are JSON (404 and
500 included); dates the calendar cannot show (year 1, year 9999) are a 400 naming the
field on the API and a message on pages, never an OverflowError."""

import logging

import pytest

from clients import serializers as client_serializers
from clinic.roles import Role
from protocols.models import Plan
from tests.factories import ScreeningFactory, SessionFactory

pytestmark = pytest.mark.django_db

FAR_DATES = ["0001-01-01", "9999-12-31"]


@pytest.fixture
def api_mgr(api_as):
    return api_as(Role.MANAGER)


# Errors under /api/ are JSON ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/clients/{client}/screenings.json"),
        ("get", "/api/clients/{client}/eligibility.json"),
        ("post", "/api/sessions/{session}/cancel.json"),
        ("get", "/api/clients.json"),
        ("get", "/api/no-such-thing/"),
        ("get", "/api/clients/999999/"),
    ],
)
def test_unknown_api_paths_and_format_suffixes_are_a_json_404(api_mgr, a_client, method, path):
    session = SessionFactory(client=a_client)
    url = path.format(client=a_client.pk, session=session.pk)

    response = getattr(api_mgr, method)(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_unknown_page_is_still_an_html_404(page_as):
    response = page_as(Role.MANAGER).get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_unexpected_error_under_api_is_a_logged_json_500(api_mgr, a_client, monkeypatch, caplog):
    def broken(self, instance):
        raise RuntimeError("a bug")

    monkeypatch.setattr(client_serializers.ClientSerializer, "to_representation", broken)

    with caplog.at_level(logging.ERROR, logger="clinic.api"):
        response = api_mgr.get(f"/api/clients/{a_client.pk}/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)


def test_json_nested_1000_deep_is_a_400(api_mgr, a_client):
    body = "[" * 1000 + "]" * 1000

    for url in ("/api/plans/", f"/api/clients/{a_client.pk}/clearances/"):
        response = api_mgr.post(url, body, content_type="application/json")

        assert response.status_code == 400, url
        assert "nested too deeply" in response.json()["detail"]


# Dates the calendar cannot show ----------------------------------------------------------


@pytest.mark.parametrize("day", FAR_DATES)
def test_session_list_for_a_far_date_is_a_400_naming_it(api_mgr, day):
    response = api_mgr.get("/api/sessions/", {"date": day})

    assert response.status_code == 400
    assert "date" in response.json()


@pytest.mark.parametrize("day", FAR_DATES)
@pytest.mark.parametrize("url", ["/calendar/", "/schedule/"])
def test_calendar_pages_for_a_far_date_show_a_message(page_as, url, day):
    response = page_as(Role.MANAGER).get(url, {"date": day})

    assert response.status_code == 200
    assert b"cannot show" in response.content


@pytest.mark.parametrize("day", FAR_DATES)
def test_plan_starting_on_a_far_date_is_a_400_naming_it(api_mgr, a_client, day):
    ScreeningFactory(client=a_client)

    response = api_mgr.post(
        "/api/plans/", {"client": a_client.pk, "start_date": day}, format="json"
    )

    assert response.status_code == 400
    assert "start_date" in response.json()
    assert not Plan.objects.exists()


@pytest.mark.parametrize(
    "start",
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:00:00-08:00",
        "9999-12-31T23:00:00",
        "0001-01-01T00:30:00",
    ],
)
def test_booking_on_a_far_date_is_a_400_naming_the_start(api_as, a_client, start):
    api = api_as(Role.ESTHETICIAN)
    session = SessionFactory(client=a_client)
    body = {
        "client": a_client.pk,
        "esthetician": session.esthetician_id,
        "room": session.room_id,
        "device": session.device_id,
        "start": start,
    }

    booked = api.post("/api/sessions/", body, format="json")
    moved = api.post(f"/api/sessions/{session.pk}/reschedule/", {"start": start}, format="json")

    for response in (booked, moved):
        assert response.status_code == 400, response.content
        assert "start" in response.json()


@pytest.mark.parametrize("day", FAR_DATES)
@pytest.mark.parametrize("field", ["issued_on", "expires_on"])
def test_clearance_on_a_far_date_is_a_400_naming_it(api_as, a_client, field, day):
    body = {"physician": "Dr. Park", "issued_on": "2026-01-05", "conditions": ["recent_surgery"]}
    body[field] = day

    response = api_as(Role.FRONT_DESK).post(
        f"/api/clients/{a_client.pk}/clearances/", body, format="json"
    )

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not a_client.clearances.exists()


@pytest.mark.parametrize("day", FAR_DATES)
def test_client_born_on_a_far_date_is_a_400_naming_it(api_as, day):
    body = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.com"}
    body["date_of_birth"] = day

    response = api_as(Role.FRONT_DESK).post("/api/clients/", body, format="json")

    assert response.status_code == 400, response.content
    assert "date_of_birth" in response.json()


def test_series_page_with_the_start_date_cleared_asks_for_it(page_as, a_client):
    response = page_as(Role.FRONT_DESK).post(
        f"/clients/{a_client.pk}/book-series/",
        {"start_date": "", "time": "10:00", "weekdays": ["0"], "sessions": "5", "weeks": "3"},
    )

    assert response.status_code == 200
    assert b"This field is required" in response.content
