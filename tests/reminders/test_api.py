"""GET /api/reminders/ (SPEC, REST API: reminders, for managers)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.roles import Role
from sessions_app.models import Reminder
from tests.factories import ClientFactory, ReminderFactory, SessionFactory
from tests.reminders.conftest import NOW

pytestmark = pytest.mark.django_db
URL = "/api/reminders/"
CONTRACT = {"kind", "due_at", "sent_at", "status", "attempts"}


def test_manager_gets_the_contract_fields(api_as, outbox):
    response = api_as(Role.MANAGER).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    row = next(r for r in body["results"] if r["id"] == outbox["sent"].pk)
    assert set(row) >= CONTRACT
    assert row == {
        "id": outbox["sent"].pk,
        "kind": "booking_confirmation",
        "client": outbox["sent"].client_id,
        "session": outbox["sent"].session_id,
        "plan": None,
        "event": "booked",
        "due_at": "2027-03-10T09:00:00-08:00",
        "sent_at": "2027-03-10T09:00:00-08:00",
        "status": "sent",
        "attempts": 1,
        "last_error": "",
    }


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ESTHETICIAN])
def test_other_roles_are_refused(api_as, outbox, role):
    assert api_as(role).get(URL).status_code == 403
    assert api_as(role).get(f"{URL}{outbox['sent'].pk}/").status_code == 403


def test_anonymous_is_asked_to_log_in(api, outbox):
    assert api.get(URL).status_code == 401


def test_manager_reads_one_reminder(api_as, outbox):
    response = api_as(Role.MANAGER).get(f"{URL}{outbox['failed'].pk}/")

    assert response.status_code == 200
    assert response.json()["last_error"] == "SMTPRecipientsRefused: 452 mailbox full"


def test_reminders_are_read_only_even_for_managers(api_as, outbox):
    api = api_as(Role.MANAGER)

    assert api.post(URL, {"kind": "hydration_after"}, format="json").status_code == 403
    assert api.delete(f"{URL}{outbox['sent'].pk}/").status_code == 403
    assert api.patch(f"{URL}{outbox['failed'].pk}/", {"status": "scheduled"}).status_code == 403
    assert Reminder.objects.count() == 5
    assert Reminder.objects.get(pk=outbox["failed"].pk).status == "failed"


def test_filter_by_client(api_as, outbox, clock):
    other = ReminderFactory(session=SessionFactory(client=ClientFactory()))

    response = api_as(Role.MANAGER).get(URL, {"client": other.client_id})

    assert [r["id"] for r in response.json()["results"]] == [other.pk]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "failed"}, ["failed"]),
        ({"status": "scheduled"}, ["scheduled"]),
        ({"kind": "booking_confirmation"}, ["sent"]),
        ({"kind": "hydration_before", "status": "cancelled"}, ["cancelled"]),
        ({"kind": "maintenance_due"}, []),
    ],
)
def test_filter_by_kind_and_status(api_as, outbox, params, expected):
    response = api_as(Role.MANAGER).get(URL, params)

    assert response.status_code == 200
    assert {r["id"] for r in response.json()["results"]} == {outbox[s].pk for s in expected}


def test_unknown_kind_is_a_400_naming_the_field(api_as, outbox):
    response = api_as(Role.MANAGER).get(URL, {"kind": "birthday"})

    assert response.status_code == 400
    assert "kind" in response.json()


def test_newest_due_first(api_as, session, clock):
    early = ReminderFactory(session=session, due_at=NOW - timedelta(days=2))
    late = ReminderFactory(session=session, due_at=NOW + timedelta(days=2))
    middle = ReminderFactory(session=session, due_at=NOW)

    response = api_as(Role.MANAGER).get(URL)

    assert [r["id"] for r in response.json()["results"]] == [late.pk, middle.pk, early.pk]


def _list_queries(api) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(URL)
    assert response.status_code == 200
    return len(queries), response.json()


def test_listing_50_rows_runs_as_many_queries_as_5(api_as, session, django_assert_max_num_queries):
    api = api_as(Role.MANAGER)
    ReminderFactory.create_batch(5, session=session)
    five, body = _list_queries(api)
    assert len(body["results"]) == 5

    ReminderFactory.create_batch(45, session=SessionFactory(client=ClientFactory()))
    fifty, body = _list_queries(api)
    assert body["count"] == 50
    assert len(body["results"]) == 25

    assert fifty == five
    with django_assert_max_num_queries(3):  # The user, the count, the page.
        api.get(URL)
