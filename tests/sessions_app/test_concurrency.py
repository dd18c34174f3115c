"""Double booking is impossible on PostgreSQL even when requests race: the exclusion
constraints refuse the overlap, and the API answers 409 (never 500).

PostgreSQL only: SQLite has no exclusion constraints (it serialises writers instead).
"""

import threading
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from clinic.roles import Role
from sessions_app.models import Session
from tests.factories import ClientFactory, PlanFactory, SessionFactory, UserFactory
from tests.sessions_app.helpers import LA, at, full_week, screen

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)
RACERS = 16


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def insert_overlapping(**shared):
    """Write a second session 10:15-11:00 straight to the table, bypassing the services."""
    defaults = {
        "client": ClientFactory(),
        "esthetician": UserFactory(role=Role.ESTHETICIAN),
    }
    with transaction.atomic():
        return SessionFactory(**{**defaults, **shared}, start=at(MONDAY, "10:15"))


# The constraints themselves --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("resource", ["esthetician", "room", "device", "client"])
def test_database_refuses_an_overlapping_session_for_one_resource(resource):
    first = SessionFactory(start=at(MONDAY, "10:00"))

    with pytest.raises(IntegrityError) as caught:
        insert_overlapping(**{resource: getattr(first, resource)})

    assert caught.value.__cause__.diag.constraint_name == f"session_no_overlap_{resource}"
    assert Session.objects.count() == 1


@pytest.mark.django_db
def test_database_allows_sessions_that_touch():
    first = SessionFactory(start=at(MONDAY, "10:00"))

    with transaction.atomic():
        SessionFactory(
            client=first.client,
            esthetician=first.esthetician,
            room=first.room,
            device=first.device,
            start=first.end,
        )

    assert Session.objects.count() == 2


@pytest.mark.django_db
def test_database_allows_overlap_with_a_cancelled_session():
    first = SessionFactory(start=at(MONDAY, "10:00"), status=Session.Status.CANCELLED)

    insert_overlapping(room=first.room, device=first.device, client=first.client)

    assert Session.objects.count() == 2


@pytest.mark.django_db
def test_database_refuses_reviving_a_cancelled_session_into_a_taken_slot():
    cancelled = SessionFactory(start=at(MONDAY, "10:00"), status=Session.Status.CANCELLED)
    insert_overlapping(room=cancelled.room)

    with pytest.raises(IntegrityError), transaction.atomic():
        Session.objects.filter(pk=cancelled.pk).update(status=Session.Status.BOOKED)


# Racing requests -----------------------------------------------------------------------


def race(requests):
    """Run each callable in its own thread (and so its own database connection), all
    released at once by a barrier; answer their results in order."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(index, request):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[index] = request()
        except Exception as exc:  # reported by the assertions below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def poster(user, url, body):
    def post():
        api = APIClient(raise_request_exception=False)
        api.force_authenticate(user)
        return api.post(url, body, format="json")

    return post


@pytest.fixture
def resources(esthetician, room, device):
    full_week(esthetician)
    return {"esthetician": esthetician.pk, "room": room.pk, "device": device.pk}


@pytest.mark.django_db(transaction=True)
def test_parallel_bookings_of_one_free_slot_give_one_201_and_the_rest_409(esthetician, resources):
    clients = [ClientFactory() for _ in range(RACERS)]
    for client in clients:
        screen(client)
    start = at(MONDAY, "10:00").isoformat()
    requests = [
        poster(esthetician, "/api/sessions/", {**resources, "client": c.pk, "start": start})
        for c in clients
    ]

    responses = race(requests)

    assert not [r for r in responses if isinstance(r, Exception)]
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * (RACERS - 1)
    winner = Session.objects.get()
    for response in responses:
        if response.status_code == 409:
            clashes = response.json()["clashes"]
            assert clashes
            assert {c["resource"] for c in clashes} <= {"esthetician", "room", "device"}
            assert {c["session"] for c in clashes} <= {winner.pk, None}


@pytest.mark.django_db(transaction=True)
def test_parallel_series_bookings_of_the_same_slots_give_one_201_and_the_rest_409(
    esthetician, resources
):
    plans = []
    for _ in range(RACERS):
        client = ClientFactory(date_of_birth=date(2000, 1, 1))  # Under 35: 5 sessions
        screen(client)
        plans.append(PlanFactory(client=client, start_date=MONDAY, created_by=esthetician))
    body = {**resources, "time": "10:00", "weekdays": [0, 2, 4]}
    requests = [poster(esthetician, f"/api/plans/{p.pk}/book/", body) for p in plans]

    responses = race(requests)

    assert not [r for r in responses if isinstance(r, Exception)]
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * (RACERS - 1)
    assert Session.objects.count() == 5
    assert len({s.plan_id for s in Session.objects.all()}) == 1
    assert Session.objects.filter(start__gte=at(MONDAY, "00:00") + timedelta(weeks=3)).count() == 0
