"""The session pages: calendar, day schedule, book-a-series and the session page."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import Role
from protocols.models import Plan
from sessions_app.availability import local_datetime
from sessions_app.models import Session, TreatmentRecord, WorkingHours
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
# A Wednesday, mid-morning in the clinic.
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


@pytest.fixture
def hours(esthetician):
    for weekday in range(7):
        WorkingHours.objects.create(
            esthetician=esthetician, weekday=weekday, starts_at=time(9), ends_at=time(18)
        )


def book(client, esthetician, room, device, day, at, status=Session.Status.BOOKED, plan=None):
    start = local_datetime(day, at)
    return Session.objects.create(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        plan=plan,
        start=start,
        end=start + timedelta(minutes=45),
        status=status,
        booked_by=esthetician,
        kind=Session.Kind.SERIES if plan else Session.Kind.SINGLE,
    )


def queries(browser, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = browser.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_esthetician_home_is_their_day_today(page_as):
    """Issue 13: the esthetician lands on today, not on the week."""
    response = page_as(Role.ESTHETICIAN).get(reverse("home"), follow=True)
    assert response.redirect_chain == [(f"{reverse('sessions:calendar')}?view=day", 302)]
    assert response.context["view"] == "day"
    assert response.context["day"] == TODAY
    assert "My day" in response.content.decode()


def test_front_desk_home_is_the_day_schedule(page_as):
    response = page_as(Role.FRONT_DESK).get(reverse("home"))
    assert response["Location"] == reverse("sessions:schedule")


def test_week_calendar_shows_sessions_with_room_device_and_badge(
    page_as, esthetician, room, device, a_client
):
    ScreeningFactory(client=a_client)
    book(a_client, esthetician, room, device, TODAY + timedelta(days=1), time(10))
    body = page_as(Role.ESTHETICIAN).get(reverse("sessions:calendar")).content.decode()
    assert "Ana Lopez" in body
    assert "Willow room" in body
    assert "MC-1" in body
    assert "badge-eligible" in body
    assert "10:00 AM" in body


def test_calendar_shows_clinic_time_not_utc(page_as, esthetician, room, device, a_client):
    book(a_client, esthetician, room, device, TODAY, time(9, 30))
    body = (
        page_as(Role.ESTHETICIAN)
        .get(reverse("sessions:calendar"), {"view": "day"})
        .content.decode()
    )
    assert "9:30 AM" in body
    assert "5:30 PM" not in body


def test_week_calendar_queries_do_not_grow_with_sessions(page_as, esthetician, room, device):
    browser = page_as(Role.ESTHETICIAN)
    monday = TODAY - timedelta(days=TODAY.weekday())
    for n in range(3):
        book(ClientFactory(), esthetician, room, device, monday + timedelta(days=n), time(9))
    few = queries(browser, reverse("sessions:calendar"))
    for n in range(7):
        for hour in (10, 11, 12, 13):
            client = ClientFactory()
            ScreeningFactory(client=client)
            book(client, esthetician, room, device, monday + timedelta(days=n), time(hour))
    many = queries(browser, reverse("sessions:calendar"))
    assert few == many


def test_day_schedule_shows_every_esthetician(page_as, esthetician, room, device, a_client):
    from tests.factories import UserFactory

    other = UserFactory(username="est2", role=Role.ESTHETICIAN, first_name="Noah")
    book(a_client, other, room, device, TODAY, time(11))
    body = page_as(Role.FRONT_DESK).get(reverse("sessions:schedule")).content.decode()
    assert "Noah" in body
    assert esthetician.get_full_name() in body
    assert "Ana Lopez" in body


def test_day_schedule_queries_do_not_grow(page_as, esthetician, room, device):
    browser = page_as(Role.FRONT_DESK)
    book(ClientFactory(), esthetician, room, device, TODAY, time(9))
    few = queries(browser, reverse("sessions:schedule"))
    for hour in range(10, 17):
        book(ClientFactory(), esthetician, room, device, TODAY, time(hour))
    assert queries(browser, reverse("sessions:schedule")) == few


def series_post(room, device, esthetician, **extra):
    data = {
        "start_date": (TODAY + timedelta(days=5)).isoformat(),  # a Monday
        "time": "10:00",
        "sessions": "5",
        "weeks": "3",
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
        "weekdays": ["0", "2", "4"],
    }
    data.update(extra)
    return data


def test_series_preview_marks_clash_and_books_nothing(
    page_as, esthetician, room, device, hours, a_client
):
    ScreeningFactory(client=a_client)
    a_client.date_of_birth = date(1996, 1, 1)
    a_client.save()
    taken = book(ClientFactory(), esthetician, room, device, date(2026, 12, 7), time(10))
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:book-series", args=[a_client.pk]),
        {**series_post(room, device, esthetician), "preview": "1"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Clash" in body
    assert "is booked" in body
    assert f"session {taken.pk}" not in body  # times in words, no internal ids
    assert "Nearest free" in body
    assert not Plan.objects.exists()
    assert Session.objects.count() == 1


def test_series_book_clash_books_nothing(page_as, esthetician, room, device, hours, a_client):
    ScreeningFactory(client=a_client)
    a_client.date_of_birth = date(1996, 1, 1)
    a_client.save()
    book(ClientFactory(), esthetician, room, device, date(2026, 12, 7), time(10))
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:book-series", args=[a_client.pk]),
        {**series_post(room, device, esthetician), "book": "1"},
    )
    assert response.status_code == 200
    assert "Nothing was booked" in response.content.decode()
    assert not Plan.objects.exists()
    assert Session.objects.count() == 1


def test_series_book_books_every_session_and_goes_to_calendar(
    page_as, esthetician, room, device, hours, a_client
):
    ScreeningFactory(client=a_client)
    a_client.date_of_birth = date(1996, 1, 1)  # under 35: 5 sessions
    a_client.save()
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:book-series", args=[a_client.pk]),
        {**series_post(room, device, esthetician), "book": "1"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("sessions:calendar"))
    sessions = list(Session.objects.filter(client=a_client))
    assert len(sessions) == 5
    assert {s.start.astimezone(LA).time() for s in sessions} == {time(10)}


def test_series_page_refuses_ineligible_client(page_as, esthetician, room, device, hours, a_client):
    ScreeningFactory(client=a_client, pacemaker=True, outcome="ineligible", flagged=["pacemaker"])
    browser = page_as(Role.ESTHETICIAN)
    page = browser.get(reverse("sessions:book-series", args=[a_client.pk])).content.decode()
    assert "cannot be booked yet" in page
    assert "pacemaker" in page
    assert 'name="book"' not in page
    response = browser.post(
        reverse("sessions:book-series", args=[a_client.pk]),
        {**series_post(room, device, esthetician), "book": "1"},
    )
    assert "pacemaker" in response.content.decode()
    assert not Session.objects.exists()


def test_session_page_check_in_needs_confirmation(page_as, esthetician, room, device, a_client):
    ScreeningFactory(client=a_client)
    session = book(a_client, esthetician, room, device, TODAY, time(10))
    browser = page_as(Role.ESTHETICIAN)
    url = reverse("sessions:detail", args=[session.pk])
    response = browser.post(url, {"action": "check_in"})
    assert "ask the client whether anything has changed" in response.content.decode().lower()
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED
    browser.post(url, {"action": "check_in", "nothing_changed": "true"})
    session.refresh_from_db()
    assert session.status == Session.Status.CHECKED_IN


def test_completion_form_prefills_last_settings(page_as, esthetician, room, device, a_client):
    ScreeningFactory(client=a_client)
    earlier = book(
        a_client,
        esthetician,
        room,
        device,
        TODAY - timedelta(days=7),
        time(10),
        status=Session.Status.COMPLETED,
    )
    TreatmentRecord.objects.create(
        session=earlier,
        modality="dynamic",
        intensity_microamps=275,
        frequency_hz="1.50",
        duration_minutes=40,
        areas=["jawline"],
        add_ons=["led"],
        recorded_by=esthetician,
    )
    session = book(
        a_client, esthetician, room, device, TODAY, time(10), status=Session.Status.CHECKED_IN
    )
    body = (
        page_as(Role.ESTHETICIAN)
        .get(reverse("sessions:detail", args=[session.pk]))
        .content.decode()
    )
    assert 'value="275"' in body
    assert 'value="1.50"' in body
    assert 'value="dynamic" id="id_modality_1" required checked' in body


def test_completion_refuses_intensity_600_with_clear_message(
    page_as, esthetician, room, device, a_client
):
    session = book(
        a_client, esthetician, room, device, TODAY, time(10), status=Session.Status.CHECKED_IN
    )
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:detail", args=[session.pk]),
        {
            "action": "complete",
            "modality": "static",
            "intensity_microamps": "600",
            "frequency_hz": "0.5",
            "duration_minutes": "45",
        },
    )
    body = response.content.decode()
    assert "Intensity must be between 10 and 500" in body
    assert 'value="600"' in body
    session.refresh_from_db()
    assert session.status == Session.Status.CHECKED_IN


def test_completing_records_treatment(page_as, esthetician, room, device, a_client):
    session = book(
        a_client, esthetician, room, device, TODAY, time(10), status=Session.Status.CHECKED_IN
    )
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:detail", args=[session.pk]),
        {
            "action": "complete",
            "modality": "static",
            "intensity_microamps": "500",
            "frequency_hz": "0.5",
            "duration_minutes": "45",
            "areas": ["cheeks"],
            "add_ons": ["dermaplaning"],
        },
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == Session.Status.COMPLETED
    assert session.treatment.intensity_microamps == 500
    assert session.treatment.add_ons == ["dermaplaning"]


def test_front_desk_cannot_complete_a_session(page_as, esthetician, room, device, a_client):
    session = book(
        a_client, esthetician, room, device, TODAY, time(10), status=Session.Status.CHECKED_IN
    )
    response = page_as(Role.FRONT_DESK).post(
        reverse("sessions:detail", args=[session.pk]),
        {
            "action": "complete",
            "modality": "static",
            "intensity_microamps": "100",
            "frequency_hz": "0.5",
            "duration_minutes": "45",
        },
    )
    assert response.status_code == 403


def test_cancel_from_session_page_frees_slot(page_as, esthetician, room, device, a_client):
    session = book(a_client, esthetician, room, device, TODAY + timedelta(days=1), time(10))
    response = page_as(Role.FRONT_DESK).post(
        reverse("sessions:detail", args=[session.pk]), {"action": "cancel", "confirmed": "yes"}
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED


def test_reschedule_outside_hours_shows_reason(page_as, esthetician, room, device, hours, a_client):
    ScreeningFactory(client=a_client)
    session = book(a_client, esthetician, room, device, TODAY + timedelta(days=1), time(10))
    response = page_as(Role.FRONT_DESK).post(
        reverse("sessions:detail", args=[session.pk]),
        {"action": "reschedule", "date": (TODAY + timedelta(days=2)).isoformat(), "time": "20:00"},
    )
    assert "outside" in response.content.decode()
    session.refresh_from_db()
    assert session.start.astimezone(LA).time() == time(10)


def test_client_page_lists_plan_progress(page_as, esthetician, room, device, a_client):
    from sessions_app.plans import plan_create

    plan = plan_create(client=a_client, start_date=TODAY, by=esthetician)
    book(
        a_client,
        esthetician,
        room,
        device,
        TODAY - timedelta(days=3),
        time(10),
        status=Session.Status.COMPLETED,
        plan=plan,
    )
    book(a_client, esthetician, room, device, TODAY + timedelta(days=3), time(10), plan=plan)
    body = (
        page_as(Role.FRONT_DESK).get(reverse("clients:detail", args=[a_client.pk])).content.decode()
    )
    assert "1 of 2 sessions completed" in body


@pytest.mark.parametrize("name", ["sessions:calendar", "sessions:schedule"])
@pytest.mark.parametrize("role", list(Role))
def test_session_pages_render_for_every_role(page_as, role, name, esthetician):
    assert page_as(role).get(reverse(name)).status_code == 200


def single_post(room, device, esthetician, **extra):
    return {
        "kind": "maintenance",
        "date": (TODAY + timedelta(days=1)).isoformat(),
        "time": "11:00",
        "minutes": "45",
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
        **extra,
    }


def test_book_one_session_page_books_and_opens_it(
    page_as, esthetician, room, device, hours, a_client
):
    ScreeningFactory(client=a_client)
    response = page_as(Role.FRONT_DESK).post(
        reverse("sessions:book", args=[a_client.pk]), single_post(room, device, esthetician)
    )
    session = Session.objects.get()
    assert response["Location"] == reverse("sessions:detail", args=[session.pk])
    assert session.kind == Session.Kind.MAINTENANCE
    assert session.start.astimezone(LA).time() == time(11)


def test_book_one_session_page_names_the_clash(page_as, esthetician, room, device, hours, a_client):
    ScreeningFactory(client=a_client)
    taken = book(ClientFactory(), esthetician, room, device, TODAY + timedelta(days=1), time(11))
    response = page_as(Role.FRONT_DESK).post(
        reverse("sessions:book", args=[a_client.pk]), single_post(room, device, esthetician)
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "is booked" in body
    assert f"session {taken.pk}" not in body  # times in words, no internal ids
    assert "Willow room" in body
    assert Session.objects.count() == 1
