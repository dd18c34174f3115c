"""Journey (issue 13): a manager shortens a shift that has a session booked in the part
taken away. Before saving, the page lists the session with a link to move it; "Save
anyway" saves and the message links the session again; the manager moves it inside the
new hours from the session page."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.models import Session, WorkingHours
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, UserFactory
from tests.sessions_app.helpers import screen

pytestmark = pytest.mark.django_db(transaction=True)


def test_manager_changes_a_shift_with_a_session_outside_it(visit, page):
    UserFactory(username="maya", role=Role.MANAGER, first_name="Maya")
    esme = UserFactory(
        username="esme", role=Role.ESTHETICIAN, first_name="Esme", last_name="Carter"
    )
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())  # next week's Monday
    shift = WorkingHours.objects.create(
        esthetician=esme, weekday=0, starts_at=time(9), ends_at=time(17)
    )
    ava = ClientFactory(first_name="Ava", last_name="Nguyen")
    screen(ava)
    start = local_datetime(monday, time(15))
    session = Session.objects.create(
        client=ava,
        esthetician=esme,
        room=RoomFactory(),
        device=DeviceFactory(),
        start=start,
        end=start + timedelta(minutes=45),
        booked_by=esme,
    )

    visit.login("maya")
    visit.go("/manage/")
    page.get_by_role("link", name="Edit Esme Carter's Monday shift").click()
    visit.landed()
    page.get_by_label("Ends at").fill("13:00")
    page.get_by_role("button", name="Save shift").click()
    visit.landed("manager-shift-sessions-outside")

    # Nothing saved yet: the session that would fall outside, with its link.
    expect(
        page.get_by_role("heading", name="1 booked session would fall outside the hours")
    ).to_be_visible()
    expect(page.get_by_role("cell", name="Ava Nguyen", exact=True)).to_be_visible()
    move = page.get_by_role("link", name="Move Ava Nguyen's session")
    expect(move).to_have_attribute("href", f"/sessions/{session.pk}/#change-heading")
    shift.refresh_from_db()
    assert shift.ends_at == time(17)

    page.get_by_role("button", name="Save anyway").click()
    visit.landed()
    shift.refresh_from_db()
    assert shift.ends_at == time(13)
    expect(page.get_by_text("1 booked session is now outside the hours")).to_be_visible()

    # The message links the session; move it into the morning.
    page.get_by_role("link", name=f"Ava Nguyen, {monday:%A, %B} {monday.day}").click()
    visit.landed()
    page.get_by_label("New time (clinic time)").fill("11:00")
    page.get_by_role("button", name="Move session").click()
    visit.landed()
    session.refresh_from_db()
    assert session.start == local_datetime(monday, time(11))
    assert session.status == Session.Status.BOOKED
