"""Issue 9, rule 8: ``Idempotency-Key`` on writes under /api/. A retried booking with the
same key and body books once and answers the same; another body with that key is a 422;
racing duplicates book once (PostgreSQL, real threads)."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from clinic.idempotency import idempotency_keys_purge
from clinic.models import IdempotencyKey
from sessions_app.models import Reminder, Session
from tests.factories import PlanFactory
from tests.sessions_app.helpers import LA, at
from tests.sessions_app.test_concurrency import race

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)
KEY = "0d9c7c1e-2f55-4a53-9d89-3f1f8a4d6b10"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def book(api, body, key=KEY):
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post("/api/sessions/", body, format="json", headers=headers)


@pytest.mark.django_db
def test_retried_booking_with_the_same_key_books_once_and_answers_the_same(api_est, slot_payload):
    body = slot_payload(start=at(MONDAY, "10:00"))

    first = book(api_est, body)
    retry = book(api_est, body)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Session.objects.count() == 1
    assert Reminder.objects.filter(kind="booking_confirmation").count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_a_422_and_books_nothing_more(api_est, slot_payload):
    book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    other = book(api_est, slot_payload(start=at(MONDAY, "14:00")))

    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    assert list(Session.objects.values_list("start", flat=True)) == [at(MONDAY, "10:00")]


@pytest.mark.django_db
def test_without_a_key_a_retry_books_again_and_clashes(api_est, slot_payload):
    body = slot_payload(start=at(MONDAY, "10:00"))

    assert book(api_est, body, key=None).status_code == 201
    assert book(api_est, body, key=None).status_code == 409


@pytest.mark.django_db
def test_keys_belong_to_one_member_of_staff(api_est, slot_payload, other_esthetician, bookable):
    book(api_est, slot_payload(start=at(MONDAY, "10:00")))
    other = APIClient()
    other.force_authenticate(other_esthetician)

    response = book(other, slot_payload(start=at(MONDAY, "10:00")))

    # Not a replay of someone else's answer: the request runs, and the slot is taken.
    assert response.status_code == 409
    assert "Idempotent-Replayed" not in response


@pytest.mark.django_db
def test_refused_request_stores_nothing_so_a_retry_runs_again(api_est, slot_payload):
    body = slot_payload(start="not a time")

    assert book(api_est, body).status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert book(api_est, slot_payload(start=at(MONDAY, "10:00"))).status_code == 201


@pytest.mark.django_db
def test_series_booking_retried_with_the_same_key_books_one_series(
    api_est, bookable, esthetician, working_hours, room, device
):
    plan = PlanFactory(client=bookable, start_date=MONDAY, created_by=esthetician)
    body = {
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
        "time": "10:00",
        "weekdays": [0, 3],
    }
    url = f"/api/plans/{plan.pk}/book/"

    first = api_est.post(url, body, format="json", headers={"Idempotency-Key": KEY})
    retry = api_est.post(url, body, format="json", headers={"Idempotency-Key": KEY})

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert plan.sessions.count() == len(first.json()["sessions"]) == 10


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ключ"])
def test_malformed_key_is_a_400_naming_the_header(api_est, slot_payload, key):
    response = book(api_est, slot_payload(start=at(MONDAY, "10:00")), key=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_expired_key_may_be_used_again(api_est, slot_payload, settings):
    book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    later = NOW + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, minutes=1)
    with time_machine.travel(later, tick=False):
        response = book(api_est, slot_payload(start=at(MONDAY, "14:00")))
        assert idempotency_keys_purge(at=later) == 0  # the reuse replaced the old row

    assert response.status_code == 201
    assert Session.objects.count() == 2


@pytest.mark.django_db
def test_purge_drops_only_expired_keys(api_est, slot_payload, settings):
    book(api_est, slot_payload(start=at(MONDAY, "10:00")))

    assert idempotency_keys_purge(at=NOW) == 0
    later = NOW + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    assert idempotency_keys_purge(at=later) == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads race on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_racing_duplicates_with_one_key_book_once_and_all_answer_201(esthetician, slot_payload):
    body = slot_payload(start=at(MONDAY, "10:00"))

    def post():
        api = APIClient(raise_request_exception=False)
        api.force_authenticate(esthetician)
        return book(api, body)

    responses = race([post] * 8)

    assert not [r for r in responses if isinstance(r, Exception)]
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.content for r in responses}) == 1
    assert Session.objects.count() == 1
    assert Reminder.objects.filter(kind="booking_confirmation").count() == 1
