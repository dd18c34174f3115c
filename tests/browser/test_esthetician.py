"""Journey 2: an esthetician books a series around a clash, finds it in the week
calendar, checks today's client in and records the treatment."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.models import Session, TreatmentRecord, WorkingHours
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, ScreeningFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def session_at(client, esthetician, room, device, day, at, status=Session.Status.BOOKED):
    start = local_datetime(day, at)
    return Session.objects.create(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        end=start + timedelta(minutes=45),
        status=status,
        booked_by=esthetician,
    )


def test_esthetician_books_a_series_and_completes_todays_session(visit, page):
    esme = UserFactory(
        username="esme", role=Role.ESTHETICIAN, first_name="Esme", last_name="Carter"
    )
    for weekday in range(7):
        WorkingHours.objects.create(
            esthetician=esme, weekday=weekday, starts_at=time(8), ends_at=time(20)
        )
    room = RoomFactory(name="Willow room")
    device = DeviceFactory(name="NuFACE Pro", serial_number="MC-1001")
    ava = ClientFactory(first_name="Ava", last_name="Nguyen", date_of_birth=date(1996, 3, 14))
    ScreeningFactory(client=ava)
    today = timezone.localdate()
    # Ava came last week (her settings pre-fill the form) and is booked in today.
    last_week = session_at(
        ava, esme, room, device, today - timedelta(days=7), time(9), Session.Status.COMPLETED
    )
    TreatmentRecord.objects.create(
        session=last_week,
        modality="dynamic",
        intensity_microamps=240,
        frequency_hz=Decimal("1.20"),
        duration_minutes=40,
        areas=["jawline"],
        add_ons=["led"],
        recorded_by=esme,
    )
    todays = session_at(ava, esme, room, device, today, time(19))
    # Someone else holds 10:00 on the series' first day.
    start = today + timedelta(days=1)
    session_at(ClientFactory(first_name="Bea"), esme, room, device, start, time(10))

    visit.login("esme")
    # The esthetician lands on today (issue 13).
    expect(page.get_by_role("heading", level=1)).to_contain_text("My day")

    # From the client, start a series and preview it: the clash is marked.
    visit.go(f"/clients/{ava.pk}/")
    page.locator(".banner").get_by_role("link", name="Book a series").click()
    visit.landed()
    page.get_by_label("First day of the series").fill(start.isoformat())
    page.get_by_label("At (clinic time)").fill("10:00")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day, exact=True).check()
    page.get_by_role("button", name="Preview dates").click()
    visit.landed("esthetician-series-clash")
    expect(page.locator(".slot-clash")).to_have_count(1)
    expect(page.locator(".slot-clash")).to_contain_text("Willow room is booked")
    expect(page.locator(".slot-clash")).to_contain_text("Nearest free")

    # Another time is free on every date: book it in one click.
    page.get_by_label("At (clinic time)").fill("11:30")
    page.get_by_role("button", name="Preview dates").click()
    visit.landed("esthetician-series-preview")
    expect(page.locator(".slot-clash")).to_have_count(0)
    page.get_by_role("button", name="Book series").click()
    visit.landed("esthetician-week")
    expect(page.get_by_text("Booked 5 sessions for Ava Nguyen")).to_be_visible()
    assert Session.objects.filter(client=ava, plan__isnull=False).count() == 5

    # The week calendar shows the sessions; today's opens by keyboard.
    expect(page.locator(".cal-item", has_text="11:30 AM").first).to_be_visible()
    visit.go("/calendar/?view=day")
    link = page.locator(".cal-item", has_text="7:00 PM")
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.landed()
    assert page.url.endswith(f"/sessions/{todays.pk}/")

    # Check in: the client confirms nothing has changed (one of two buttons; no tick box).
    expect(
        page.get_by_role("button", name="Something has changed — record a new screening")
    ).to_be_visible()
    page.get_by_role("button", name="Nothing has changed — check in").click()
    visit.landed("esthetician-checked-in")
    expect(page.get_by_text("Ava Nguyen is checked in.")).to_be_visible()

    # The form is pre-filled from last week; 600 µA is refused with a clear message.
    expect(page.get_by_label("Intensity")).to_have_value("240")
    expect(page.get_by_label("Frequency (Hz)")).to_have_value("1.20")
    expect(page.get_by_label("Dynamic")).to_be_checked()
    page.get_by_label("Intensity").fill("600")
    page.get_by_role("button", name="Complete session").click()
    visit.landed("esthetician-intensity-refused")
    expect(page.get_by_text("Intensity must be between 10 and 500")).to_be_visible()
    expect(page.get_by_label("Intensity")).to_have_value("600")
    todays.refresh_from_db()
    assert todays.status == Session.Status.CHECKED_IN

    page.get_by_label("Intensity").fill("250")
    page.get_by_role("button", name="Complete session").click()
    visit.landed("esthetician-completed")
    expect(page.get_by_text("Treatment recorded")).to_be_visible()
    todays.refresh_from_db()
    assert todays.status == Session.Status.COMPLETED
    assert todays.treatment.intensity_microamps == 250
