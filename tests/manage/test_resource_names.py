"""Room and device names are unique regardless of case (issue 13, item 6): the service says
so beside the name, naming the one on file; the database refuses what gets past it."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clinic.roles import Role
from sessions_app.models import Device, Room
from sessions_app.resource_services import device_save, room_save
from tests.factories import DeviceFactory, RoomFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["willow room", "WILLOW ROOM", "  Willow Room "])
def test_a_room_name_in_another_case_is_taken(typed):
    RoomFactory(name="Willow room")
    with pytest.raises(ValidationError) as refused:
        room_save(name=typed, is_active=True)
    assert refused.value.message_dict == {
        "name": ["There is already a room named “Willow room”. Choose another name."]
    }
    assert Room.objects.count() == 1


def test_a_room_may_change_the_case_of_its_own_name():
    room = RoomFactory(name="Willow room")
    room_save(room=room, name="Willow Room", is_active=True)
    room.refresh_from_db()
    assert room.name == "Willow Room"


def test_a_device_name_in_another_case_is_taken_whatever_its_serial():
    DeviceFactory(name="NuFACE Pro 1", serial_number="MC-1")
    with pytest.raises(ValidationError) as refused:
        device_save(name="nuface pro 1", serial_number="MC-9", in_service=True)
    assert "There is already a device named “NuFACE Pro 1”" in refused.value.message_dict["name"][0]
    assert Device.objects.count() == 1


@pytest.mark.parametrize(
    ("make", "again"),
    [
        (lambda: RoomFactory(name="Cedar room"), lambda: Room.objects.create(name="CEDAR ROOM")),
        (
            lambda: DeviceFactory(name="Myolift QT"),
            lambda: Device.objects.create(name="myolift qt", serial_number="X-2"),
        ),
    ],
)
def test_the_database_refuses_a_name_in_another_case(make, again):
    make()
    with pytest.raises(IntegrityError), transaction.atomic():
        again()


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/rooms/", {"name": "WILLOW ROOM"}, "There is already a room named “Willow room”."),
        (
            "/api/devices/",
            {"name": "nuface pro 1", "serial_number": "MC-9"},
            "There is already a device named “NuFACE Pro 1”.",
        ),
    ],
)
def test_the_api_answers_400_naming_the_field(api_as, path, body, message):
    RoomFactory(name="Willow room")
    DeviceFactory(name="NuFACE Pro 1")
    response = api_as(Role.MANAGER).post(path, body, format="json")
    assert response.status_code == 400
    assert message in response.json()["name"][0]
    assert (Room.objects.count(), Device.objects.count()) == (1, 1)


def test_the_page_shows_it_beside_the_name(page_as):
    DeviceFactory(name="NuFACE Pro 1", serial_number="MC-1")
    data = {"name": "NUFACE PRO 1", "serial_number": "MC-2", "in_service": "on"}
    response = page_as(Role.MANAGER).post(reverse("manage:device-add"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_name_error"' in html
    assert "There is already a device named “NuFACE Pro 1”." in html
    assert Device.objects.count() == 1
