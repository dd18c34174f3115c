"""Journey 4: a client uses the cancel link in a confirmation email."""

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.emails import reminder_message
from sessions_app.models import Reminder, Session
from tests.browser.conftest import shot
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_client_cancels_from_the_email_link(visit, page):
    esme = UserFactory(username="esme", role=Role.ESTHETICIAN)
    client = ClientFactory(first_name="Ava", last_name="Nguyen")
    start = local_datetime(timezone.localdate() + timedelta(days=5), time(10))
    session = Session.objects.create(
        client=client,
        esthetician=esme,
        room=RoomFactory(),
        device=DeviceFactory(),
        start=start,
        end=start + timedelta(minutes=45),
        booked_by=esme,
    )
    confirmation = Reminder.objects.create(
        kind=Reminder.Kind.BOOKING_CONFIRMATION,
        client=client,
        session=session,
        due_at=timezone.now(),
        key=f"confirm:session:{session.pk}:0",
    )
    email = reminder_message(confirmation)
    cancel_link = re.search(r"Need to cancel\? (\S+)", email.body).group(1)
    assert cancel_link.startswith(visit.base)

    # Opening the link only shows a page with a button.
    visit.go(cancel_link.removeprefix(visit.base))
    shot(page, "client-cancel-link")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your session?")
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED

    # Pressing it cancels the session.
    page.get_by_role("button", name="Cancel this session").click()
    visit.landed("client-cancelled")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your session is cancelled")
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED

    # A tampered link gets a clear page, not an error.
    tampered = cancel_link.removeprefix(visit.base).replace(":", "x", 1)
    response = visit.go(tampered)
    assert response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")


def test_client_manages_sessions_from_their_own_page(visit, page):
    """Issue 11: the link to the client's own page in a series confirmation; confirm one
    session, see the one inside the notice period offer the phone and no cancel button,
    cancel the other, and stop maintenance reminders."""
    esme = UserFactory(username="esme", first_name="Esme", last_name="Hart", role=Role.ESTHETICIAN)
    client = ClientFactory(first_name="Ava", last_name="Nguyen")
    room, device = RoomFactory(), DeviceFactory()
    soon = timezone.now() + timedelta(hours=20)
    later = local_datetime(timezone.localdate() + timedelta(days=6), time(11))
    sessions = [
        Session.objects.create(
            client=client,
            esthetician=esme,
            room=room,
            device=device,
            start=start,
            end=start + timedelta(minutes=45),
            booked_by=esme,
        )
        for start in (soon, later)
    ]
    confirmation = Reminder.objects.create(
        kind=Reminder.Kind.BOOKING_CONFIRMATION,
        client=client,
        session=sessions[1],
        due_at=timezone.now(),
        key=f"confirm:session:{sessions[1].pk}:0",
    )
    email = reminder_message(confirmation)
    own_page = re.search(r"Your sessions and email preferences: (\S+)", email.body).group(1)
    assert own_page.startswith(visit.base)

    visit.go(own_page.removeprefix(visit.base))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Ava, your sessions")
    first = page.locator(f"#session-{sessions[0].pk}")
    expect(first.get_by_role("button", name="Cancel this session")).to_have_count(0)
    expect(first).to_contain_text("please call us on")
    shot(page, "client-page")

    first.get_by_role("button", name="Confirm I will come").click()
    visit.landed()
    expect(page.get_by_role("status")).to_have_text("Thank you: your session is confirmed.")
    sessions[0].refresh_from_db()
    assert sessions[0].client_confirmed_at is not None

    page.locator(f"#session-{sessions[1].pk}").get_by_role(
        "button", name="Cancel this session"
    ).click()
    visit.landed()
    expect(page.get_by_role("status")).to_have_text("Your session is cancelled.")
    sessions[1].refresh_from_db()
    assert sessions[1].status == Session.Status.CANCELLED
    assert sessions[1].cancelled_by_client

    page.get_by_role("button", name="Stop maintenance reminders").click()
    visit.landed()
    client.refresh_from_db()
    assert client.unsubscribed_at is not None
    expect(page.get_by_role("button", name="Turn maintenance reminders on")).to_be_visible()
