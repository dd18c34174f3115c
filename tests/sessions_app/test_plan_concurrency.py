"""A plan is booked once and a client has one active plan, even when requests race
(issue 9, rules 2 and 3): the plan's row, or the client's, is locked while the rule is
checked, so the second request sees what the first did and answers 409.

PostgreSQL only, like test_concurrency.py: real threads, each on its own connection.
"""

from datetime import date, datetime, timedelta

import pytest
import time_machine

from clinic.roles import Role
from protocols.models import Plan
from sessions_app.booking import plan_label
from sessions_app.models import Session
from tests.factories import ClientFactory, DeviceFactory, PlanFactory, RoomFactory, UserFactory
from tests.sessions_app.helpers import LA, at, full_week, screen
from tests.sessions_app.test_concurrency import poster, race

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)
RACERS = 6


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def separate_resources(count: int) -> list[dict]:
    """Each racer its own esthetician, room and device: only the plan is shared."""
    bodies = []
    for i in range(count):
        person = UserFactory(username=f"racer{i}", role=Role.ESTHETICIAN)
        full_week(person)
        bodies.append(
            {
                "esthetician": person.pk,
                "room": RoomFactory(name=f"Race room {i}").pk,
                "device": DeviceFactory(serial_number=f"RACE-{i}").pk,
            }
        )
    return bodies


@pytest.fixture
def young_client(db):
    client = ClientFactory(date_of_birth=date(2000, 1, 1))  # Under 35: 5 sessions
    screen(client)
    return client


@pytest.mark.django_db(transaction=True)
def test_two_bookings_of_one_plan_at_once_give_one_series_and_a_409_naming_the_plan(
    esthetician, young_client
):
    plan = PlanFactory(client=young_client, start_date=MONDAY, created_by=esthetician)
    # Different times on different weekdays with different resources: nothing but the
    # plan itself stops the second series.
    requests = [
        poster(
            esthetician,
            f"/api/plans/{plan.pk}/book/",
            {**resources, "time": f"{10 + i}:00", "weekdays": [0, 1, 2, 3, 4]},
        )
        for i, resources in enumerate(separate_resources(RACERS))
    ]

    responses = race(requests)

    assert not [r for r in responses if isinstance(r, Exception)]
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * (RACERS - 1)
    for response in responses:
        if response.status_code == 409:
            assert plan_label(plan) in response.json()["plan"][0]
    assert Session.objects.filter(plan=plan).count() == plan.sessions_min


@pytest.mark.django_db(transaction=True)
def test_single_sessions_of_one_plan_at_once_never_exceed_what_the_plan_allows(
    esthetician, young_client
):
    plan = PlanFactory(client=young_client, start_date=MONDAY, created_by=esthetician)
    for day in range(plan.sessions_max - 1):
        Session.objects.create(
            client=young_client,
            esthetician=esthetician,
            room=RoomFactory(),
            device=DeviceFactory(),
            plan=plan,
            kind="series",
            start=at(MONDAY + timedelta(days=day), "9:00"),
            end=at(MONDAY + timedelta(days=day), "9:45"),
            booked_by=esthetician,
        )
    requests = [
        poster(
            esthetician,
            "/api/sessions/",
            {
                **resources,
                "client": young_client.pk,
                "plan": plan.pk,
                "start": at(MONDAY + timedelta(days=10 + i), "10:00").isoformat(),
            },
        )
        for i, resources in enumerate(separate_resources(RACERS))
    ]

    responses = race(requests)

    assert not [r for r in responses if isinstance(r, Exception)]
    assert sorted(r.status_code for r in responses) == [201] + [409] * (RACERS - 1)
    assert Session.objects.filter(plan=plan).count() == plan.sessions_max


@pytest.mark.django_db(transaction=True)
def test_two_plans_for_one_client_at_once_give_one_plan_and_a_409(esthetician, young_client):
    requests = [
        poster(
            esthetician,
            "/api/plans/",
            {"client": young_client.pk, "start_date": (MONDAY + timedelta(days=i)).isoformat()},
        )
        for i in range(RACERS)
    ]

    responses = race(requests)

    assert not [r for r in responses if isinstance(r, Exception)]
    assert sorted(r.status_code for r in responses) == [201] + [409] * (RACERS - 1)
    assert Plan.objects.filter(client=young_client).count() == 1


@pytest.mark.django_db(transaction=True)
def test_locking_a_plan_for_booking_leaves_its_client_and_age_band_unlocked(
    esthetician, young_client
):
    """Only the plan's row is locked: bookings of other plans in the same age band, and
    a manager editing the bands, do not queue behind it."""
    from django.db import connections, transaction

    from protocols.models import Protocol
    from sessions_app.booking import plan_for_booking

    plan = PlanFactory(client=young_client, start_date=MONDAY, created_by=esthetician)
    other = connections.create_connection("default")
    try:
        with transaction.atomic():
            plan_for_booking(plan)
            with other.cursor() as cursor:
                for table, pk in (
                    (Protocol._meta.db_table, plan.protocol_id),
                    (young_client._meta.db_table, young_client.pk),
                ):
                    # NOWAIT: an error here means the row is locked by the booking.
                    cursor.execute(
                        f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT",  # noqa: S608
                        [pk],
                    )
                    assert cursor.fetchone() == (pk,)
    finally:
        other.close()
