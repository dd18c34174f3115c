"""Journey: a client books their maintenance boost from the reminder email (issue 11).
Their screening has expired, so they answer the six questions first; the booking then
appears on the esthetician's calendar marked as booked online."""

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.clinic_time import localdate
from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.emails import reminder_message
from sessions_app.models import Reminder, Session
from tests.browser.conftest import shot
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, UserFactory
from tests.sessions_app.helpers import full_week, screen

pytestmark = pytest.mark.django_db(transaction=True)

QUESTIONS = [
    "Do you have a cardiac pacemaker?",
    "Are you pregnant, or could you be?",
    "Do you have a neurological disorder such as epilepsy?",
    "Have you had surgery in the last",
    "Are you having cancer treatment",
    "Do you have an implanted defibrillator?",
]


def test_client_books_the_boost_from_the_reminder_after_answering_the_screening(visit, page):
    esme = UserFactory(username="esme", first_name="Esme", last_name="Ray", role=Role.ESTHETICIAN)
    full_week(esme)
    room, device = RoomFactory(), DeviceFactory()
    client = ClientFactory(first_name="Ava", last_name="Nguyen")
    screen(client, recorded_at=timezone.now() - timedelta(days=400))  # expired
    last = local_datetime(localdate() - timedelta(weeks=4), time(10))
    Session.objects.create(
        client=client,
        esthetician=esme,
        room=room,
        device=device,
        start=last,
        end=last + timedelta(minutes=45),
        status=Session.Status.COMPLETED,
        booked_by=esme,
    )
    reminder = Reminder.objects.create(
        kind=Reminder.Kind.MAINTENANCE_DUE,
        client=client,
        due_at=timezone.now(),
        key=f"maintenance:{client.pk}:browser",
    )
    email = reminder_message(reminder)
    link = re.search(r"Book your boost: (\S+)", email.body).group(1)
    assert link.startswith(visit.base)

    # Opening the link shows the next free times; nothing is booked.
    visit.go(link.removeprefix(visit.base))
    shot(page, "client-boost-page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book your maintenance boost")
    assert not Session.objects.filter(kind=Session.Kind.MAINTENANCE).exists()

    # Choosing a time asks the six questions first (the screening has expired).
    page.locator(".boost-times button").first.click()
    visit.landed("client-boost-screening")
    expect(page.get_by_role("heading", level=1)).to_have_text("A few health questions")
    for question in QUESTIONS:
        page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label("No").check()
    page.get_by_role("button", name="Send my answers and book").click()
    visit.landed("client-boost-booked")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your maintenance boost is booked")
    boost = Session.objects.get(kind=Session.Kind.MAINTENANCE)
    assert boost.booked_online
    assert boost.esthetician == esme
    assert client.screenings.filter(answered_online=True).exists()

    # The esthetician sees it on the calendar, marked as booked online.
    visit.login("esme")
    visit.go(f"/calendar/?date={localdate(boost.start):%Y-%m-%d}")
    item = page.locator(".cal-item", has_text="Ava Nguyen").filter(has_text="Booked online")
    expect(item).to_have_count(1)
