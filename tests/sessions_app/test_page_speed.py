"""Issue 14, P5: the esthetician's week, the front desk's day and the calendar feed in a
fixed number of queries however much is booked and however long the clients' history,
their lists kept in the page cache on the data version (clinic.dataversion) and never
shown stale: a write through a service, the API or a bulk update shows at once; a
rolled-back write is never cached; what a role sees is not shown to another; no CSRF
token is kept in the cache."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic import dataversion
from clinic.roles import Role
from sessions_app import day_pages
from sessions_app.lifecycle import session_cancel
from sessions_app.models import Session
from tests.factories import ClearanceFactory, ClientFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, screen

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
MONDAY = date(2027, 3, 1)
MAX_QUERIES = 12


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _book(esthetician, room, device, start, client=None) -> Session:
    client = client or ClientFactory()
    return SessionFactory(
        client=client, esthetician=esthetician, room=room, device=device, start=start
    )


def _with_history(client, screenings=3, clearances=2) -> None:
    for weeks in range(screenings):
        screen(client, recorded_at=NOW - timedelta(weeks=weeks * 5))
    for _ in range(clearances):
        ClearanceFactory(client=client)


def _queries(client, path, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(path, params)
    assert answer.status_code == 200
    return len(captured.captured_queries)


PAGES = [
    (Role.FRONT_DESK, "sessions:schedule", {"date": "2027-03-01"}),
    (Role.FRONT_DESK, "sessions:schedule", {"date": "2027-03-01", "by": "room"}),
    (Role.ESTHETICIAN, "sessions:calendar", {"date": "2027-03-01"}),
    (Role.FRONT_DESK, "sessions:calendar-feed", {"start": "2027-03-01", "end": "2027-03-08"}),
]


# Flat query counts (inside a test's transaction the cache is bypassed: these count the
# work of computing each page) -------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(("role", "name", "params"), PAGES)
def test_the_pages_cost_the_same_queries_however_much_is_booked(
    page_as, esthetician, working_hours, room, device, role, name, params
):
    page = page_as(role)
    for hour in (9, 10):
        client = ClientFactory()
        _with_history(client)
        _book(esthetician, room, device, at(MONDAY, f"{hour}:00"), client)
    few = _queries(page, reverse(name), params)

    for day in range(5):  # more sessions, clients with longer histories, the same client twice
        for hour in (11, 12, 13, 14):
            client = ClientFactory()
            _with_history(client, screenings=6, clearances=4)
            _book(esthetician, room, device, at(MONDAY + timedelta(days=day), f"{hour}:00"), client)
            _book(
                esthetician,
                room,
                device,
                at(MONDAY + timedelta(days=day), f"{hour + 4}:00"),
                client,
            )
    many = _queries(page, reverse(name), params)

    assert few == many
    assert many <= MAX_QUERIES


# The cache and its version ---------------------------------------------------------------
def _schedule(page) -> str:
    return page.get(reverse("sessions:schedule"), {"date": "2027-03-01"}).content.decode()


@pytest.fixture
def booked_monday(transactional_db, esthetician, working_hours, room, device, bookable):
    return _book(esthetician, room, device, at(MONDAY, "10:00"), bookable)


def test_a_second_look_comes_from_the_cache(page_as, booked_monday):
    page = page_as(Role.FRONT_DESK)
    first = _queries(page, reverse("sessions:schedule"), {"date": "2027-03-01"})
    again = _queries(page, reverse("sessions:schedule"), {"date": "2027-03-01"})
    # Log-in session and user only: the sessions, eligibility and activity count are kept.
    assert again < first
    assert again <= 3


def test_a_cancellation_through_the_service_shows_at_once(page_as, booked_monday):
    page = page_as(Role.FRONT_DESK)
    assert "status-booked" in _schedule(page)
    # Now from the cache, still HTML (not escaped on the way back).
    assert '<a class="cal-item status-booked"' in _schedule(page)

    session_cancel(session=booked_monday, by=None, by_client=True)

    body = _schedule(page)
    assert "status-booked" not in body
    assert "status-cancelled" in body


def test_a_cancellation_through_the_api_shows_at_once(page_as, api_as, booked_monday):
    page = page_as(Role.FRONT_DESK)
    _schedule(page)
    _schedule(page)

    answer = api_as(Role.FRONT_DESK).post(
        reverse("session-cancel", args=[booked_monday.pk]), {}, format="json"
    )
    assert answer.status_code == 200, answer.content

    assert "status-cancelled" in _schedule(page)


def test_a_bulk_update_bumps_the_version(page_as, booked_monday):
    page = page_as(Role.ESTHETICIAN)
    path = reverse("sessions:calendar")
    page.get(path, {"date": "2027-03-01"})
    before = dataversion.current()

    Session.objects.filter(pk=booked_monday.pk).update(status=Session.Status.CHECKED_IN)

    assert dataversion.current() > before
    body = page.get(path, {"date": "2027-03-01"}).content.decode()
    assert "status-checked_in" in body


def test_a_new_screening_changes_the_badge_at_once(page_as, booked_monday):
    page = page_as(Role.FRONT_DESK)
    assert "badge-eligible" in _schedule(page)

    screen(booked_monday.client, "pacemaker", recorded_at=NOW)

    body = _schedule(page)
    assert "badge-ineligible" in body


def test_a_rolled_back_write_is_never_cached(page_as, booked_monday):
    page = page_as(Role.FRONT_DESK)
    _schedule(page)
    before = dataversion.current()

    seen_inside = []

    def write_look_and_fail():
        with transaction.atomic():
            Session.objects.filter(pk=booked_monday.pk).update(status=Session.Status.NO_SHOW)
            seen_inside.append((dataversion.writes_pending(), _schedule(page)))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        write_look_and_fail()

    # Inside the transaction the page showed its own write, from no cache...
    pending, body = seen_inside[0]
    assert pending
    assert "status-no_show" in body

    # ...and after the rollback nobody is shown it, nor was the version bumped.
    assert not dataversion.writes_pending()
    assert dataversion.current() == before
    body = _schedule(page)
    assert "status-no_show" not in body
    assert "status-booked" in body


def test_a_screening_that_stops_being_current_is_not_served_from_the_cache(
    page_as, esthetician, working_hours, room, device, a_client, transactional_db
):
    # Current until 90 days after it was taken: that instant, with no write, the badge
    # must say so.
    screen(a_client, recorded_at=NOW - timedelta(days=90) + timedelta(minutes=5))
    _book(esthetician, room, device, at(MONDAY, "10:00"), a_client)
    page = page_as(Role.FRONT_DESK)
    assert "badge-eligible" in _schedule(page)

    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        body = _schedule(page)

    assert "badge-screening_required" in body


# Nothing of one member of staff is shown to another ----------------------------------------
class _Staff:
    """Stands for a member of staff whose role may not book (no role has that today)."""

    def __init__(self, can_book: bool) -> None:
        self.can_book = can_book

    def can(self, permission: str) -> bool:
        return permission != "sessions.book" or self.can_book


def test_what_a_role_may_do_is_part_of_the_key(booked_monday):
    may_book = day_pages.schedule_page(day=MONDAY, by="esthetician", user=_Staff(True))
    may_not = day_pages.schedule_page(day=MONDAY, by="esthetician", user=_Staff(False))
    again = day_pages.schedule_page(day=MONDAY, by="esthetician", user=_Staff(True))

    assert "Book with" in may_book["html"]
    assert "Book with" not in may_not["html"]
    assert again["html"] == may_book["html"]


def test_no_csrf_token_is_cached_or_passed_on(page_as, client, booked_monday):
    desk_page = page_as(Role.FRONT_DESK)
    desk_page.get(reverse("sessions:schedule"), {"date": "2027-03-01"})
    desk_token = desk_page.cookies["csrftoken"].value
    schedule = day_pages.schedule_page(day=MONDAY, by="esthetician", user=booked_monday.booked_by)
    assert "csrf" not in schedule["html"].lower()

    client.logout()
    client.cookies.clear()
    other = page_as(Role.MANAGER)
    body = other.get(reverse("sessions:schedule"), {"date": "2027-03-01"}).content.decode()
    manager_token = other.cookies["csrftoken"].value

    assert manager_token != desk_token
    assert desk_token not in body
    assert "status-booked" in body


def _feed(page) -> dict:
    answer = page.get(reverse("sessions:calendar-feed"), {"start": "2027-03-01"})
    assert answer.status_code == 200
    return {e["id"]: e for e in answer.json()["events"] if e["extendedProps"]["type"] == "session"}


def test_the_feed_shows_a_cancellation_at_once(page_as, booked_monday):
    page = page_as(Role.FRONT_DESK)
    assert str(booked_monday.pk) in _feed(page)
    assert str(booked_monday.pk) in _feed(page)  # now from the cache

    session_cancel(session=booked_monday, by=None, by_client=True)

    assert str(booked_monday.pk) not in _feed(page)


def test_a_session_that_has_started_is_no_longer_movable_in_the_cached_feed(page_as, booked_monday):
    page = page_as(Role.FRONT_DESK)
    assert _feed(page)[str(booked_monday.pk)]["editable"] is True

    with time_machine.travel(booked_monday.start + timedelta(minutes=1), tick=False):
        page = page_as(Role.FRONT_DESK)  # days later: logged in again
        assert _feed(page)[str(booked_monday.pk)]["editable"] is False


# The client page -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_client_page_costs_the_same_queries_however_long_the_history(
    page_as, esthetician, working_hours, room, device, bookable
):
    page = page_as(Role.FRONT_DESK)
    path = reverse("clients:detail", args=[bookable.pk])
    _book(esthetician, room, device, at(MONDAY, "10:00"), bookable)
    page.get(path)  # the access log's content types, read once per process
    few = _queries(page, path, {})

    _with_history(bookable, screenings=8, clearances=5)
    for day in range(1, 30):
        _book(esthetician, room, device, at(MONDAY + timedelta(days=day), "10:00"), bookable)
    many = _queries(page, path, {})

    assert few == many
    assert many <= MAX_QUERIES


def _client_page(page, client) -> str:
    return page.get(reverse("clients:detail", args=[client.pk])).content.decode()


def test_the_client_page_shows_a_cancellation_at_once(page_as, api_as, booked_monday):
    page = page_as(Role.FRONT_DESK)
    assert "status-booked" in _client_page(page, booked_monday.client)
    assert "status-booked" in _client_page(page, booked_monday.client)  # from the cache

    answer = api_as(Role.FRONT_DESK).post(
        reverse("session-cancel", args=[booked_monday.pk]), {}, format="json"
    )
    assert answer.status_code == 200, answer.content

    body = _client_page(page, booked_monday.client)
    assert "status-cancelled" in body
    assert "status-booked" not in body


def test_the_client_page_records_every_read_even_from_the_cache(page_as, booked_monday):
    from auditlog.models import LogEntry

    page = page_as(Role.FRONT_DESK)
    _client_page(page, booked_monday.client)
    before = LogEntry.objects.count()

    _client_page(page, booked_monday.client)  # from the cache

    assert LogEntry.objects.count() > before


def test_a_role_is_not_shown_what_another_role_may_do(page_as, client, booked_monday):
    manager_page = page_as(Role.MANAGER)
    as_manager = _client_page(manager_page, booked_monday.client)
    client.logout()
    desk_page = page_as(Role.FRONT_DESK)
    as_desk = _client_page(desk_page, booked_monday.client)

    assert "Erase client" in as_manager
    assert "Export data (ZIP)" in as_manager
    assert "Erase client" not in as_desk
    assert "Export data (ZIP)" not in as_desk


def test_the_client_page_carries_each_viewers_own_csrf_token(page_as, client, booked_monday):
    from django.middleware.csrf import _unmask_cipher_token

    def tokens(body):
        import re

        return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)

    first = page_as(Role.MANAGER)
    first_body = _client_page(first, booked_monday.client)
    first_secret = first.cookies["csrftoken"].value
    client.logout()
    client.cookies.clear()
    second = page_as(Role.MANAGER)
    second_body = _client_page(second, booked_monday.client)  # the cached body
    second_secret = second.cookies["csrftoken"].value

    assert first_secret != second_secret
    assert "<!--csrf-token-->" not in second_body
    assert tokens(first_body)
    assert {_unmask_cipher_token(t) for t in tokens(first_body)} == {first_secret}
    assert {_unmask_cipher_token(t) for t in tokens(second_body)} == {second_secret}


def test_a_bump_the_cache_missed_is_owed_and_paid_with_the_next_request(
    page_as, booked_monday, settings
):
    page = page_as(Role.FRONT_DESK)
    assert "status-booked" in _schedule(page)  # cached under the version now
    before = dataversion.current()
    real = settings.CACHES
    # A Redis that does not answer (nothing listens on port 9), for the commit's bump.
    settings.CACHES = {
        **real,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    try:
        session_cancel(session=booked_monday, by=None, by_client=True)
    finally:
        settings.CACHES = real
    assert dataversion.current() == before  # the bump was lost...
    assert dataversion._owed
    # ...so this process does not serve the part cached before the write,
    body = _schedule(page)
    assert "status-cancelled" in body
    # and its request paid the bump: every process now computes the day again.
    assert not dataversion._owed
    assert dataversion.current() != before


def test_the_cached_client_page_holds_no_model_and_no_password_hash(page_as, booked_monday):
    from clients.client_page import client_page

    desk = page_as(Role.FRONT_DESK)
    _client_page(desk, booked_monday.client)
    page = client_page(pk=booked_monday.client.pk, user=booked_monday.esthetician)
    assert set(page) == {"html", "title", "client_id", "erased"}
    assert all(isinstance(value, str | int | bool) for value in page.values())
    assert "pbkdf2" not in repr(page)
