"""The resource services refuse bad rows with ValidationError, whoever calls them."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.roles import Role
from sessions_app import resource_services
from sessions_app.models import ClosedDay, Room, WorkingHours
from tests.factories import RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_services_take_keywords_only():
    with pytest.raises(TypeError):
        resource_services.room_save(None, name="Birch room")  # type: ignore[misc]


def test_an_unknown_field_is_a_programming_error_not_a_silent_skip():
    with pytest.raises(TypeError, match="colour"):
        resource_services.room_save(name="Birch room", colour="green")
    assert not Room.objects.exists()


def test_room_save_changes_only_what_it_is_given():
    room = RoomFactory(name="Willow room", is_active=True)
    resource_services.room_save(room=room, is_active=False)
    room.refresh_from_db()
    assert (room.name, room.is_active) == ("Willow room", False)


def test_a_duplicate_room_name_names_the_field():
    RoomFactory(name="Willow room")
    with pytest.raises(ValidationError) as caught:
        resource_services.room_save(name="Willow room")
    assert "name" in caught.value.message_dict


@pytest.mark.parametrize(
    ("role", "active"), [(Role.FRONT_DESK, True), (Role.MANAGER, True), (Role.ESTHETICIAN, False)]
)
def test_only_an_active_esthetician_gets_working_hours(role, active):
    person = UserFactory(role=role, is_active=active)
    with pytest.raises(ValidationError) as caught:
        resource_services.working_hours_save(
            esthetician=person, weekday=0, starts_at=time(9), ends_at=time(17)
        )
    assert "is not an active esthetician" in caught.value.message_dict["esthetician"][0]
    assert not WorkingHours.objects.exists()


def test_every_problem_with_a_shift_is_reported_at_once():
    person = UserFactory(role=Role.ESTHETICIAN)
    resource_services.working_hours_save(
        esthetician=person, weekday=3, starts_at=time(9), ends_at=time(17)
    )
    person.is_active = False
    person.save()
    with pytest.raises(ValidationError) as caught:
        resource_services.working_hours_save(
            esthetician=person, weekday=3, starts_at=time(12), ends_at=time(20)
        )
    # Issue 13: the one-shift-a-weekday rule became "shifts of one day do not overlap".
    assert set(caught.value.message_dict) == {"esthetician", "starts_at"}
    assert WorkingHours.objects.get().starts_at == time(9)


def test_a_shift_ending_before_it_starts_names_ends_at():
    person = UserFactory(role=Role.ESTHETICIAN)
    with pytest.raises(ValidationError) as caught:
        resource_services.working_hours_save(
            esthetician=person, weekday=3, starts_at=time(17), ends_at=time(9)
        )
    assert set(caught.value.message_dict) == {"ends_at"}
    assert not WorkingHours.objects.exists()


def test_a_day_closed_twice_names_the_date():
    day = timezone.localdate() + timedelta(days=30)
    resource_services.closed_day_add(date=day, reason="Staff training")
    with pytest.raises(ValidationError) as caught:
        resource_services.closed_day_add(date=day)
    assert "date" in caught.value.message_dict
    assert ClosedDay.objects.count() == 1


def test_a_reason_longer_than_the_column_is_refused_before_the_database():
    with pytest.raises(ValidationError) as caught:
        resource_services.closed_day_add(date=timezone.localdate(), reason="x" * 201)
    assert "reason" in caught.value.message_dict
    assert not ClosedDay.objects.exists()


def test_a_past_day_cannot_be_closed():
    with pytest.raises(ValidationError) as caught:
        resource_services.closed_day_add(date=timezone.localdate() - timedelta(days=1))
    assert "past" in caught.value.message_dict["date"][0]
    assert not ClosedDay.objects.exists()
