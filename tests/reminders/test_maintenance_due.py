"""Who is due a maintenance boost: the 4-week mark of the open cycle passed with nothing
booked ahead (SPEC, "Maintenance and hydration"), as a selector and as the front desk's
page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import Role
from sessions_app.models import Reminder, Session
from sessions_app.reminders import reminders_plan_completion
from sessions_app.selectors import maintenance_due_clients
from tests.factories import ClientFactory, SessionFactory
from tests.reminders.conftest import NOW

pytestmark = pytest.mark.django_db
FD, ES, MG = Role.FRONT_DESK, Role.ESTHETICIAN, Role.MANAGER
PAGE = reverse("sessions:maintenance-due")


def boost_completed(clock, client, *, days_ago: float) -> Session:
    """A maintenance boost booked a week before it, completed ``days_ago`` days before
    now, with its reminders planned by the real planning service at completion."""
    completed = NOW - timedelta(days=days_ago)
    clock.move_to(completed - timedelta(days=7))
    session = SessionFactory(
        client=client,
        kind=Session.Kind.MAINTENANCE,
        start=completed - timedelta(minutes=45),
    )
    clock.move_to(completed)
    Session.objects.filter(pk=session.pk).update(
        status=Session.Status.COMPLETED, completed_at=completed
    )
    session.refresh_from_db()
    reminders_plan_completion(session=session, at=completed)
    clock.move_to(NOW)
    return session


def book(clock, client, *, days_ago: float, status=Session.Status.BOOKED) -> Session:
    """A session booked ``days_ago`` days before now, for a week after now."""
    clock.move_to(NOW - timedelta(days=days_ago))
    session = SessionFactory(client=client, start=NOW + timedelta(days=7), status=status)
    clock.move_to(NOW)
    return session


def listed(at=NOW) -> list:
    return list(maintenance_due_clients(at=at))


@pytest.mark.parametrize(
    ("weeks_ago", "booking", "is_listed"),
    [
        pytest.param(5, None, True, id="due-passed-nothing-booked"),
        pytest.param(4, None, True, id="due-exactly-now"),
        pytest.param(7, None, True, id="overdue-still-listed"),
        pytest.param(3.9, None, False, id="due-not-yet-passed"),
        pytest.param(5, "booked-since", False, id="boost-booked-since"),
        pytest.param(5, "booked-since-then-cancelled", True, id="booking-cancelled"),
        pytest.param(5, "another-client-booked", True, id="someone-else-booked"),
        pytest.param(3, "booked-since", False, id="not-due-and-booked"),
    ],
)
def test_who_is_due_a_maintenance_boost(clock, a_client, weeks_ago, booking, is_listed):
    boost_completed(clock, a_client, days_ago=weeks_ago * 7)
    if booking == "booked-since":
        book(clock, a_client, days_ago=1)
    elif booking == "booked-since-then-cancelled":
        book(clock, a_client, days_ago=1, status=Session.Status.CANCELLED)
    elif booking == "another-client-booked":
        book(clock, ClientFactory(), days_ago=1)

    assert (a_client in listed()) is is_listed


def test_a_client_who_never_finished_a_series_or_boost_is_not_listed(clock, a_client):
    SessionFactory(client=a_client, start=NOW - timedelta(weeks=8), status="completed")

    assert listed() == []


def test_only_the_latest_cycle_counts(clock, a_client):
    """A boost booked before the last cycle began, then completed: the older 4-week
    mark has passed with nothing booked since it, but the newer cycle is not due."""
    boost_completed(clock, a_client, days_ago=6 * 7)
    boost_completed(clock, a_client, days_ago=2 * 7)

    assert listed() == []
    assert a_client in listed(at=NOW + timedelta(weeks=2))


def test_the_session_that_began_the_cycle_never_counts_as_booked_since(clock, a_client):
    """Back-filled rows can carry a booking time after the cycle began."""
    boost = boost_completed(clock, a_client, days_ago=5 * 7)
    Session.objects.filter(pk=boost.pk).update(booked_at=NOW - timedelta(days=1))

    assert listed() == [a_client]


def test_a_cycle_reminder_without_a_session_still_counts_bookings(clock, a_client):
    boost_completed(clock, a_client, days_ago=5 * 7)
    Reminder.objects.filter(client=a_client).update(session=None)
    assert listed() == [a_client]

    book(clock, a_client, days_ago=1)

    assert listed() == []


def test_as_of_an_earlier_time(clock, a_client):
    boost_completed(clock, a_client, days_ago=5 * 7)

    assert listed(at=NOW - timedelta(weeks=2)) == []


def test_rows_carry_the_due_date_and_last_session(clock, a_client):
    boost = boost_completed(clock, a_client, days_ago=5 * 7)

    (client,) = listed()

    assert client.maintenance_due_at == boost.completed_at + timedelta(weeks=4)
    assert client.last_completed_start == boost.start


def test_longest_waiting_first(clock):
    recent, long_ago = ClientFactory(), ClientFactory()
    boost_completed(clock, recent, days_ago=30)
    boost_completed(clock, long_ago, days_ago=45)

    assert listed() == [long_ago, recent]


def test_unsubscribed_clients_are_listed_for_a_phone_call(clock, a_client):
    boost_completed(clock, a_client, days_ago=5 * 7)
    a_client.unsubscribed_at = NOW - timedelta(days=3)
    a_client.save()

    assert listed() == [a_client]
    assert listed()[0].unsubscribed_at == NOW - timedelta(days=3)


def test_the_6_week_reminder_alone_does_not_list_anyone(clock, a_client):
    boost_completed(clock, a_client, days_ago=5 * 7)
    Reminder.objects.filter(kind=Reminder.Kind.MAINTENANCE_DUE).delete()

    assert listed() == []


# The page ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [FD, ES, MG])
def test_every_role_sees_the_maintenance_due_page(page_as, clock, role):
    assert page_as(role).get(PAGE).status_code == 200


def test_page_shows_each_client_with_last_session_weeks_and_a_booking_link(
    page_as, clock, a_client
):
    boost_completed(clock, a_client, days_ago=5 * 7 + 2)
    a_client.unsubscribed_at = NOW - timedelta(days=3)
    a_client.save()
    other = ClientFactory(first_name="Bea", last_name="Ng")
    boost_completed(clock, other, days_ago=6 * 7 + 1)

    html = page_as(FD).get(PAGE).text

    assert html.index("Bea Ng") < html.index("Ana Lopez")
    assert f'href="/clients/{a_client.pk}/"' in html
    assert "Feb 1, 2027" in html  # Ana's last session, clinic time.
    assert '<td class="nowrap">5</td>' in html
    assert '<td class="nowrap">6 <span class="badge badge-overdue">Overdue</span></td>' in html
    assert "Unsubscribed Mar 7" in html
    assert reverse("sessions:book", args=[a_client.pk]) + "?kind=maintenance" in html
    assert reverse("sessions:book", args=[other.pk]) + "?kind=maintenance" in html


def test_the_booking_link_opens_the_form_on_a_maintenance_boost(page_as, clock, a_client):
    url = reverse("sessions:book", args=[a_client.pk])

    boost = page_as(FD).get(url + "?kind=maintenance").text
    plain = page_as(FD).get(url).text
    odd = page_as(FD).get(url + "?kind=series").text

    checked = 'value="maintenance" id="id_kind_1" required checked'
    assert checked in boost
    assert checked not in plain
    assert checked not in odd


def test_page_says_when_nobody_is_due(page_as, clock):
    assert "Nobody is due a maintenance boost right now." in page_as(FD).get(PAGE).text


def _queries(page) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = page.get(PAGE)
    assert response.status_code == 200
    return len(queries)


def test_page_runs_as_many_queries_for_12_clients_as_for_3(page_as, clock):
    page = page_as(FD)
    for _ in range(3):
        boost_completed(clock, ClientFactory(), days_ago=35)
    three = _queries(page)
    for _ in range(9):
        boost_completed(clock, ClientFactory(), days_ago=35)

    assert _queries(page) == three


def test_a_client_with_a_session_coming_up_is_not_listed(clock, a_client):
    # Booked before the cycle began (say, a single session weeks ahead): not due a call.
    book(clock, a_client, days_ago=60)
    boost_completed(clock, a_client, days_ago=35)
    assert a_client not in listed()
