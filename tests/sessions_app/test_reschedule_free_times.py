"""The reschedule form on the session page offers the next free times for the session's
esthetician, room, device and length (issue 11, "Staff use it from the booking pages"),
from the free-times engine with the session itself excluded from the clashes; each is a
plain link that fills in the form."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.free_times import free_times
from sessions_app.models import Session, WorkingHours
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
# A Wednesday, 9 AM in the clinic.
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=LA)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def room():
    return RoomFactory(name="Willow room")


@pytest.fixture
def device():
    return DeviceFactory(name="NuFACE Pro", serial_number="MC-1")


@pytest.fixture(autouse=True)
def hours(esthetician):
    for weekday in range(7):
        WorkingHours.objects.create(
            esthetician=esthetician, weekday=weekday, starts_at=time(9), ends_at=time(18)
        )


def book(client, esthetician, room, device, day, at, minutes=45):
    start = local_datetime(day, at)
    return Session.objects.create(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        end=start + timedelta(minutes=minutes),
        status=Session.Status.BOOKED,
        booked_by=esthetician,
    )


@pytest.fixture
def session(a_client, esthetician, room, device):
    """Ana's session today at 10:30; another client's with the same esthetician at 9:00."""
    ScreeningFactory(client=a_client)
    book(ClientFactory(), esthetician, room, device, TODAY, time(9))
    return book(a_client, esthetician, room, device, TODAY, time(10, 30))


def offered(html: str) -> list[tuple[str, str]]:
    """(date, time) of each free-time link below the reschedule form (issue 13: the link
    also fills in the esthetician, room and device)."""
    link = (
        r'href="\?date=(\d{4}-\d\d-\d\d)&amp;time=(\d\d%3A\d\d)'
        r'&amp;esthetician=\d+&amp;room=\d+&amp;device=\d+[^"#]*#change-heading"'
    )
    return re.findall(link, html)


def page(browser, session, query=""):
    response = browser.get(reverse("sessions:detail", args=[session.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_next_six_free_times_are_offered_with_the_session_itself_excluded(page_as, session):
    html = page(page_as(Role.FRONT_DESK), session)

    assert "Next free times" in html
    # 9:00 to 9:30 clash with the other client's session; Ana's own 10:30 does not count
    # against her (nor her one session a day), so today stays open to her. 10:30 itself,
    # where the session already is, is no move: not offered.
    assert offered(html) == [
        ("2026-12-02", f"{h:02d}%3A{m:02d}")
        for h, m in [(9, 45), (10, 0), (10, 15), (10, 45), (11, 0), (11, 15)]
    ]
    assert ">Wed Dec 2, 2026, 9:45 AM–10:30 AM</a>" in html


def test_a_clashing_time_is_not_offered(page_as, session):
    times = {t for _, t in offered(page(page_as(Role.FRONT_DESK), session))}
    for clashing in ("09%3A00", "09%3A15", "09%3A30"):
        assert clashing not in times


def test_the_client_one_a_day_rule_still_counts_her_other_sessions(
    page_as, session, a_client, esthetician, room, device
):
    # Another of Ana's sessions today, with another room and device: today is taken.
    book(a_client, esthetician, RoomFactory(), DeviceFactory(), TODAY, time(16))
    dates = {d for d, _ in offered(page(page_as(Role.FRONT_DESK), session))}
    assert dates == {"2026-12-03"}


def test_a_free_time_link_fills_in_the_form_and_moving_there_works(page_as, session):
    browser = page_as(Role.FRONT_DESK)
    html = page(browser, session, "?date=2026-12-02&time=11:00")

    assert re.search(r'name="date"[^>]*value="2026-12-02"', html)
    assert re.search(r'name="time"[^>]*value="11:00"', html)
    response = browser.post(
        reverse("sessions:detail", args=[session.pk]),
        {"action": "reschedule", "date": "2026-12-02", "time": "11:00"},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.start == local_datetime(TODAY, time(11))


def test_a_bad_prefill_is_ignored(page_as, session):
    html = page(page_as(Role.FRONT_DESK), session, "?date=2026-13-40&time=nope")
    assert re.search(r'name="date"[^>]*value="2026-12-02"', html)
    assert re.search(r'name="time"[^>]*value="10:30"', html)


def test_no_free_times_for_a_role_that_cannot_book(page_as, session, staff_by_role):
    user = staff_by_role[Role.ESTHETICIAN]
    browser = page_as(Role.ESTHETICIAN)
    html = page(browser, session)
    assert bool(offered(html)) == user.can("sessions.book")


def test_the_session_page_costs_the_same_queries_however_full_the_diary(
    page_as, session, esthetician, room, device
):
    browser = page_as(Role.FRONT_DESK)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page(browser, session)
        return len(ctx.captured_queries)

    few = queries()
    for day in range(1, 11):
        book(ClientFactory(), esthetician, room, device, TODAY + timedelta(days=day), time(9))
        book(ClientFactory(), esthetician, room, device, TODAY + timedelta(days=day), time(12))
    assert queries() == few


def test_free_times_exclude_leaves_the_session_out_of_the_clashes(
    session, esthetician, room, device, a_client
):
    def starts(**extra):
        found = free_times(
            date_from=TODAY,
            date_to=TODAY,
            minutes=45,
            esthetician=esthetician,
            room=room,
            device=device,
            client=a_client,
            **extra,
        )
        return {f.start for f in found}

    own = local_datetime(TODAY, time(10, 30))
    assert starts() == set()  # Ana already has a session today
    assert own in starts(exclude=[session.pk])
