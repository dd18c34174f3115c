"""Journey 3: a manager sets up the clinic and watches the reminders."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.roles import Role
from protocols.models import Protocol
from sessions_app.availability import local_datetime
from sessions_app.models import Reminder, Room, Session, WorkingHours
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def completed(client, esthetician, day, kind=Session.Kind.SINGLE):
    start = local_datetime(day, time(10))
    return Session.objects.create(
        client=client,
        esthetician=esthetician,
        room=RoomFactory(),
        device=DeviceFactory(),
        start=start,
        end=start + timedelta(minutes=45),
        kind=kind,
        status=Session.Status.COMPLETED,
        completed_at=start + timedelta(minutes=45),
        booked_by=esthetician,
    )


def test_manager_sets_up_the_clinic_and_watches_reminders(visit, page):
    UserFactory(username="maya", role=Role.MANAGER, first_name="Maya")
    esme = UserFactory(
        username="esme", role=Role.ESTHETICIAN, first_name="Esme", last_name="Carter"
    )
    now = timezone.now()
    today = timezone.localdate()
    # A confirmation of tomorrow's session the mail server refused for good (one that
    # still makes sense: a stale email cannot be resent), and a sent confirmation.
    ava = ClientFactory(first_name="Ava", last_name="Nguyen")
    session = completed(ava, esme, today - timedelta(days=1))
    tomorrow = Session.objects.create(
        client=ava,
        esthetician=esme,
        room=RoomFactory(),
        device=DeviceFactory(),
        start=local_datetime(today + timedelta(days=1), time(10)),
        end=local_datetime(today + timedelta(days=1), time(10, 45)),
        booked_by=esme,
    )
    failed = Reminder.objects.create(
        kind=Reminder.Kind.BOOKING_CONFIRMATION,
        client=ava,
        session=tomorrow,
        due_at=now,
        status=Reminder.Status.FAILED,
        attempts=6,
        key="confirm:tomorrow",
        last_error="SMTPRecipientsRefused: 452 mailbox full",
    )
    Reminder.objects.create(
        kind=Reminder.Kind.BOOKING_CONFIRMATION,
        client=ava,
        session=session,
        due_at=now - timedelta(days=3),
        status=Reminder.Status.SENT,
        sent_at=now,
        attempts=1,
        key="confirm:x",
    )
    # Grace finished a maintenance boost five weeks ago and has booked nothing since.
    grace = ClientFactory(first_name="Grace", last_name="Obi")
    boost = completed(grace, esme, today - timedelta(weeks=5), Session.Kind.MAINTENANCE)
    Reminder.objects.create(
        kind=Reminder.Kind.MAINTENANCE_DUE,
        client=grace,
        session=boost,
        due_at=now - timedelta(weeks=1),
        status=Reminder.Status.SENT,
        sent_at=now,
        attempts=1,
        key="maintenance_due:x",
    )
    Reminder.objects.filter(client=grace).update(created_at=now - timedelta(weeks=5))
    Session.objects.filter(pk=boost.pk).update(booked_at=now - timedelta(weeks=6))

    visit.login("maya")

    # Add a room.
    visit.go("/manage/")
    page.get_by_role("link", name="Add a room").click()
    visit.landed()
    page.get_by_label("Name").fill("Juniper room")
    page.get_by_role("button", name="Add room").click()
    visit.landed("manager-setup")
    expect(page.get_by_role("cell", name="Juniper room")).to_be_visible()
    assert Room.objects.filter(name="Juniper room", is_active=True).exists()

    # Give Esme a Monday shift.
    page.get_by_role("link", name="Add a Monday shift for Esme Carter").click()
    visit.landed()
    page.get_by_label("Starts at").fill("09:00")
    page.get_by_label("Ends at").fill("17:00")
    page.get_by_role("button", name="Add shift").click()
    visit.landed()
    shift = WorkingHours.objects.get(esthetician=esme, weekday=0)
    assert (shift.starts_at, shift.ends_at) == (time(9), time(17))

    # Edit a protocol.
    visit.go("/protocols/")
    page.get_by_role("link", name="Edit 35 to 50").click()
    visit.landed("manager-protocol-edit")
    page.get_by_label("Session length (minutes)").fill("50")
    page.get_by_role("button", name="Save").click()
    visit.landed()
    assert Protocol.objects.get(name="35 to 50").session_minutes == 50

    # Reminders: preview the confirmation as Ava would see it.
    visit.go("/reminders/?status=sent")
    shot_name = "manager-reminders"
    visit.landed(shot_name)
    page.get_by_role("link", name="Preview the booking confirmation email to Ava Nguyen").click()
    visit.landed("manager-reminder-preview")
    expect(page.locator("iframe")).to_have_count(1)
    # The email itself, in its frame under its own policy (inline styles as email has).
    email = page.frame_locator("iframe")
    expect(email.get_by_text("Dear Ava,").first).to_be_visible()
    expect(page.get_by_role("heading", name="Attachment: sessions.ics")).to_be_visible()

    # Resend the failed one.
    visit.go("/reminders/?status=failed")
    page.get_by_role("button", name="Resend to Ava Nguyen").click()
    visit.landed()
    expect(page.get_by_text("is queued again")).to_be_visible()
    failed.refresh_from_db()
    assert failed.status == Reminder.Status.SCHEDULED
    assert failed.attempts == 0

    # Grace is on the maintenance-due list.
    visit.go("/maintenance-due/")
    shot_name = "front-desk-maintenance-due"
    visit.landed(shot_name)
    expect(page.get_by_role("link", name="Grace Obi", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Ava Nguyen")).to_have_count(0)
