"""The resource API writes through the same services as the set-up pages: same rules,
same messages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.roles import Role
from sessions_app.models import ClosedDay, WorkingHours
from tests.factories import RoomFactory, UserFactory

pytestmark = pytest.mark.django_db

SHIFT = {"weekday": 0, "starts_at": "09:00", "ends_at": "17:00"}


@pytest.fixture
def esme():
    return UserFactory(
        username="esme", role=Role.ESTHETICIAN, first_name="Esme", last_name="Carter"
    )


def test_an_overlapping_second_shift_on_one_weekday_is_refused_with_the_pages_message(api_as, esme):
    api = api_as(Role.MANAGER)
    assert (
        api.post(
            "/api/working-hours/", {**SHIFT, "esthetician": esme.pk}, format="json"
        ).status_code
        == 201
    )
    late = {**SHIFT, "starts_at": "16:00", "ends_at": "20:00", "esthetician": esme.pk}
    response = api.post("/api/working-hours/", late, format="json")
    assert response.status_code == 400
    assert response.json()["starts_at"] == [
        "Esme Carter already works 09:00–17:00 on Mondays; shifts on one day must not "
        "overlap. Change the times, or edit that shift instead."
    ]
    assert WorkingHours.objects.count() == 1


def test_a_second_shift_on_one_weekday_after_a_break_is_created(api_as, esme):
    """Issue 13: more than one shift a weekday (a lunch break); the old one-shift rule
    is gone, so the second shift is a 201 and both are listed."""
    api = api_as(Role.MANAGER)
    morning = {**SHIFT, "ends_at": "13:00", "esthetician": esme.pk}
    afternoon = {**SHIFT, "starts_at": "14:00", "esthetician": esme.pk}
    assert api.post("/api/working-hours/", morning, format="json").status_code == 201
    assert api.post("/api/working-hours/", afternoon, format="json").status_code == 201
    listed = api.get("/api/working-hours/", {"esthetician": esme.pk, "weekday": 0}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(r["starts_at"], r["ends_at"]) for r in rows] == [
        ("09:00:00", "13:00:00"),
        ("14:00:00", "17:00:00"),
    ]


def test_patching_a_shift_checks_the_whole_shift(api_as, esme):
    shift = WorkingHours.objects.create(
        esthetician=esme, weekday=0, starts_at="09:00", ends_at="17:00"
    )
    api = api_as(Role.MANAGER)
    response = api.patch(f"/api/working-hours/{shift.pk}/", {"ends_at": "08:00"}, format="json")
    assert response.status_code == 400
    assert response.json()["ends_at"] == ["The shift must end after it starts."]
    response = api.patch(f"/api/working-hours/{shift.pk}/", {"ends_at": "19:00"}, format="json")
    assert response.status_code == 200
    shift.refresh_from_db()
    assert shift.ends_at.hour == 19


def test_a_past_day_cannot_be_closed_through_the_api(api_as):
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = api_as(Role.MANAGER).post("/api/closed-days/", {"date": past}, format="json")
    assert response.status_code == 400
    assert "past" in response.json()["date"][0]
    assert not ClosedDay.objects.exists()


def test_a_closed_day_is_added_and_removed_through_the_api(api_as):
    api = api_as(Role.MANAGER)
    day = (timezone.localdate() + timedelta(days=3)).isoformat()
    created = api.post("/api/closed-days/", {"date": day, "reason": "Training"}, format="json")
    assert created.status_code == 201
    assert api.post("/api/closed-days/", {"date": day}, format="json").status_code == 400
    assert api.delete(f"/api/closed-days/{created.json()['id']}/").status_code == 204
    assert not ClosedDay.objects.exists()


def test_a_room_name_taken_is_a_400_naming_the_field(api_as):
    RoomFactory(name="Willow room")
    response = api_as(Role.MANAGER).post("/api/rooms/", {"name": "Willow room"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


@pytest.mark.parametrize("day", ["9999-12-31", "2999-12-31"])
def test_closing_a_day_the_calendar_cannot_show_is_a_400(api_as, day):
    from sessions_app.models import ClosedDay

    response = api_as(Role.MANAGER).post("/api/closed-days/", {"date": day}, format="json")

    if day == "2999-12-31":
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 400, response.content
        assert "date" in response.json()
        assert not ClosedDay.objects.exists()
