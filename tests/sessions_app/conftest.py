"""Fixtures for booking: an esthetician who works every day 09:00-18:00, a room, a
device, and clients with a current screening. Tests pin "now" with time_machine
before these run (an autouse clock fixture in each module)."""

from datetime import datetime

import pytest

from clinic.roles import Role
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, UserFactory
from tests.sessions_app.helpers import full_week, screen


@pytest.fixture
def working_hours(esthetician):
    """The esthetician works 09:00-18:00 every day of the week."""
    return full_week(esthetician)


@pytest.fixture
def other_esthetician(db):
    person = UserFactory(username="est2", role=Role.ESTHETICIAN)
    full_week(person)
    return person


@pytest.fixture
def room(db):
    return RoomFactory(name="Willow room")


@pytest.fixture
def other_room(db):
    return RoomFactory(name="Cedar room")


@pytest.fixture
def device(db):
    return DeviceFactory(name="NuFACE Pro", serial_number="MC-1")


@pytest.fixture
def other_device(db):
    return DeviceFactory(name="NuFACE Trinity", serial_number="MC-2")


@pytest.fixture
def bookable(a_client):
    """Ana, 41 in 2026-27 (35 to 50 band), with a current eligible screening."""
    screen(a_client)
    return a_client


@pytest.fixture
def other_bookable(db):
    client = ClientFactory(first_name="Bea", last_name="Ng", email="bea.ng@example.com")
    screen(client)
    return client


@pytest.fixture
def api_est(api, esthetician):
    api.force_authenticate(esthetician)
    return api


@pytest.fixture
def slot_payload(bookable, esthetician, working_hours, room, device):
    """A request body for POST /api/sessions/ minus ``start``."""

    def make(**overrides):
        body = {
            "client": bookable.pk,
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
        }
        body.update(overrides)
        if isinstance(body.get("start"), datetime):
            body["start"] = body["start"].isoformat()
        return body

    return make
