"""The pages staff use all day fit a 768 px tablet, and focus is always visible."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.models import Session
from tests.browser.conftest import shot
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, ScreeningFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def booked_day():
    esme = UserFactory(username="esme", role=Role.ESTHETICIAN, first_name="Esme")
    room, device = RoomFactory(name="Willow room"), DeviceFactory()
    clients = []
    for hour in (9, 11, 14):
        client = ClientFactory(first_name="Alexandria-Catherine", last_name=f"Montgomery{hour}")
        ScreeningFactory(client=client)
        start = local_datetime(timezone.localdate(), time(hour))
        Session.objects.create(
            client=client,
            esthetician=esme,
            room=room,
            device=device,
            start=start,
            end=start + timedelta(minutes=45),
            booked_by=esme,
        )
        clients.append(client)
    return clients


def test_key_pages_fit_a_tablet(visit, page, booked_day):
    page.set_viewport_size({"width": 768, "height": 1024})
    visit.login("esme")
    pages = {
        "tablet-calendar-week": "/calendar/",
        "tablet-calendar-day": "/calendar/?view=day",
        "tablet-schedule": "/schedule/",
        "tablet-clients": "/clients/",
        "tablet-client": f"/clients/{booked_day[0].pk}/",
        "tablet-session": f"/sessions/{Session.objects.first().pk}/",
    }
    for name, path in pages.items():
        visit.go(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than a 768px tablet"
        shot(page, name)


def test_keyboard_focus_is_visible_and_reaches_the_calendar(visit, page, booked_day):
    visit.login("esme")
    visit.go("/calendar/?view=day")
    # Tab from the top: the skip link first, then every control shows its focus ring.
    for _ in range(12):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()"
        )
        assert outline[1] != "none", outline
        assert outline[2] != "0px", outline
    # Keep tabbing until a session in the calendar has focus, then open it with Enter.
    for _ in range(40):
        if page.evaluate("document.activeElement.classList.contains('cal-item')"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("no calendar session reachable by keyboard")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.landed()
    assert "/sessions/" in page.url
