"""Issue 13, "Time grid" and "Click to book, drag to move": the day grid by esthetician,
booking from an empty slot, dragging a session to a free time (moved, the client told)
and onto a taken one (refused, put back, the reason in words), undo, the week grid and
the printed day sheet. The mover's browser sits in a zone far from the clinic's, on another
date: the grid must still move by the clinic's wall clock and show the clinic's today."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.clinic_time import local, local_datetime
from clinic.roles import Role
from sessions_app.models import Reminder, Room, Session, WorkingHours
from tests.browser.conftest import Visit, shot
from tests.factories import (
    ClientFactory,
    DeviceFactory,
    ReminderFactory,
    RoomFactory,
    ScreeningFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

FIRST_HOUR = 9  # the grid's first row: the earliest shift below
GRID_VIEWPORT = {"width": 1280, "height": 1700}


@pytest.fixture
def clinic_day():
    """Two estheticians on 09:00-13:00 and 14:00-18:00 (a lunch break), two days ahead;
    Ava at 10:00 and Bea at 11:00 with Esme, Cora free to book."""
    esme = UserFactory(
        username="esme", role=Role.ESTHETICIAN, first_name="Esme", last_name="Carter"
    )
    jo = UserFactory(username="jo", role=Role.ESTHETICIAN, first_name="Jo", last_name="Park")
    UserFactory(username="desk", role=Role.FRONT_DESK, first_name="Dana")
    for person in (esme, jo):
        for weekday in range(7):
            for starts, ends in ((time(9), time(13)), (time(14), time(18))):
                WorkingHours.objects.create(
                    esthetician=person, weekday=weekday, starts_at=starts, ends_at=ends
                )
    room = RoomFactory(name="Willow room")
    RoomFactory(name="Cedar room")
    device = DeviceFactory(name="NuFACE Pro", serial_number="MC-1001")
    day = timezone.localdate() + timedelta(days=2)
    booked = {}
    for first, last, hour in (("Ava", "Nguyen", 10), ("Bea", "Okafor", 11)):
        client = ClientFactory(first_name=first, last_name=last)
        ScreeningFactory(client=client)
        start = local_datetime(day, time(hour))
        booked[first] = Session.objects.create(
            client=client,
            esthetician=esme,
            room=room,
            device=device,
            start=start,
            end=start + timedelta(minutes=45),
            booked_by=esme,
        )
    # Ava has had her confirmation: a move must tell her of the new time.
    ReminderFactory(
        kind=Reminder.Kind.BOOKING_CONFIRMATION,
        client=booked["Ava"].client,
        session=booked["Ava"],
        status=Reminder.Status.SENT,
        sent_at=timezone.now(),
        key=f"confirm:session:{booked['Ava'].pk}:0",
    )
    ScreeningFactory(client=ClientFactory(first_name="Cora", last_name="Lindqvist"))
    return {"day": day, "esme": esme, "jo": jo, "room": room, **booked}


def slot_height(page) -> float:
    return page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.ec-main'))"
        ".getPropertyValue('--ec-slot-height'))"
    )


def grid_point(page, column: int, hour: int, minute: int = 0) -> tuple[float, float]:
    """The middle of the quarter hour from ``hour:minute`` in the ``column``-th column."""
    box = page.locator(".ec-body .ec-day").nth(column).bounding_box()
    quarters = ((hour - FIRST_HOUR) * 60 + minute) / 15
    return box["x"] + box["width"] / 2, box["y"] + (quarters + 0.5) * slot_height(page)


def drag(page, event, quarters: int) -> None:
    """Drag ``event`` down by ``quarters`` quarter hours, in small steps as a hand does."""
    box = event.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 12
    page.mouse.move(x, y)
    page.mouse.down()
    distance = quarters * slot_height(page)
    for step in range(1, 21):
        page.mouse.move(x, y + distance * step / 20)
    page.mouse.up()


def test_front_desk_books_from_an_empty_slot_and_prints_the_day(visit, page, clinic_day):
    day, jo = clinic_day["day"], clinic_day["jo"]
    page.set_viewport_size(GRID_VIEWPORT)
    visit.login("desk")
    visit.go(f"/schedule/?date={day:%Y-%m-%d}")
    grid = page.locator("[data-grid]")
    ava = grid.locator(".ec-event", has_text="Ava Nguyen")
    expect(ava).to_contain_text("10:00 AM–10:45 AM")
    expect(ava).to_contain_text("Booked")
    expect(ava).to_contain_text("Eligible")
    expect(ava).to_contain_text("Willow room · NuFACE Pro MC-1001")
    expect(grid.locator(".ec-bg-event", has_text="Break")).to_have_count(2)
    visit.check()
    shot(page, "grid-day")

    # An empty quarter hour in Jo's column: the client is chosen, then the form is filled.
    with page.expect_navigation():
        page.mouse.click(*grid_point(page, 1, 15, 0))
    visit.landed()
    expect(page.get_by_role("heading", level=1)).to_contain_text("at 3:00 PM with Jo Park")
    page.get_by_label("Search by name, email or phone").fill("Cora")
    page.get_by_role("button", name="Search").click()
    visit.landed()
    page.get_by_role("link", name="Book Cora Lindqvist").click()
    visit.landed()
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())
    expect(page.get_by_label("Time (clinic time)")).to_have_value("15:00")
    expect(page.get_by_label("Esthetician")).to_have_value(str(jo.pk))
    page.get_by_role("button", name="Book session").click()
    visit.landed()
    booked = Session.objects.get(client__first_name="Cora")
    assert booked.esthetician == jo
    assert local(booked.start) == local_datetime(day, time(15))

    # The same day by room: Cora is in the first room in use, Ava and Bea in Willow.
    visit.go(f"/schedule/?date={day:%Y-%m-%d}&by=room")
    heads = page.locator("[data-grid] .ec-col-head")
    expect(heads).to_have_text(["Cedar room", "Willow room"])
    expect(page.locator("[data-grid] .ec-event", has_text="Ava Nguyen")).to_contain_text(
        "Esme Carter"
    )

    # The day sheet on paper: one esthetician a page, no navigation, no grid.
    visit.go(f"/schedule/?date={day:%Y-%m-%d}")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("[data-grid]")).to_be_hidden()
    expect(page.get_by_role("heading", name="Jo Park")).to_contain_text(f"{day:%B} {day.day}")
    expect(page.locator(".cal-item", has_text="Cora Lindqvist")).to_contain_text("3:00 PM")
    shot(page, "grid-print-sheet")
    page.emulate_media(media="screen")


def far_zone() -> str:
    """A zone far from the clinic's (Los Angeles) whose date is not the clinic's right now:
    Kiritimati is 22 hours ahead, Pago Pago 3 hours behind."""
    now = timezone.now()
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        if now.astimezone(ZoneInfo(name)).date() != timezone.localdate(now):
            return name
    raise AssertionError("no zone with another date")  # one of the two always differs


@pytest.fixture
def far_visit(browser, live_server):
    """A browser in a zone far from the clinic's, on another date than the clinic."""
    context = browser.new_context(timezone_id=far_zone(), viewport=GRID_VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Visit(page, live_server.url)
    context.close()


def test_esthetician_drags_to_a_free_time_undoes_and_is_refused_a_taken_one(far_visit, clinic_day):
    visit, page = far_visit, far_visit.page
    day, ava = clinic_day["day"], clinic_day["Ava"]
    visit.login("esme")
    # The esthetician lands on today, her own day.
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    expect(page.locator(".cal-day.is-today")).to_have_count(1)

    visit.go(f"/calendar/?view=day&date={day:%Y-%m-%d}")
    grid = page.locator("[data-grid]")
    event = grid.locator(".ec-event", has_text="Ava Nguyen")
    status = grid.locator("[data-grid-message]")

    # To a free time: 10:00 -> 12:00, by the clinic's clock, whatever the browser's zone.
    drag(page, event, 8)
    expect(status).to_contain_text("Ava Nguyen moved to")
    ava.refresh_from_db()
    assert local(ava.start) == local_datetime(day, time(12))
    assert ava.end - ava.start == timedelta(minutes=45)
    told = Reminder.objects.filter(
        session=ava, kind=Reminder.Kind.BOOKING_CONFIRMATION, event=Reminder.Event.RESCHEDULED
    )
    assert told.filter(status=Reminder.Status.SCHEDULED).count() == 1
    expect(event).to_contain_text("12:00 PM–12:45 PM")
    visit.check()

    # Undo: back at 10:00 through the same service.
    grid.get_by_role("button", name="Undo").click()
    expect(status).to_contain_text("Ava Nguyen is back at")
    expect(event).to_contain_text("10:00 AM–10:45 AM")
    ava.refresh_from_db()
    assert local(ava.start) == local_datetime(day, time(10))
    expect(grid.get_by_role("button", name="Undo")).to_be_hidden()

    # Onto Bea's 11:00: refused, put back where it was, and the reason said in words.
    column = grid.locator(".ec-body .ec-day").first

    def offset() -> float:  # from the top of the column: the message above may grow
        return event.bounding_box()["y"] - column.bounding_box()["y"]

    before = offset()
    drag(page, event, 4)
    expect(status).to_contain_text("Not moved:")
    expect(status).to_contain_text("Esme Carter is booked")
    expect(status).to_contain_text("Ava Nguyen stays at")
    expect(event).to_contain_text("10:00 AM–10:45 AM")
    assert offset() == pytest.approx(before, abs=2)
    ava.refresh_from_db()
    assert local(ava.start) == local_datetime(day, time(10))
    visit.check()
    shot(page, "grid-drag-refused")

    # The week grid for one esthetician, Monday first.
    visit.go(f"/calendar/?view=week&date={day:%Y-%m-%d}")
    expect(page.locator("[data-grid] .ec-event", has_text="Bea Okafor")).to_be_visible()
    shot(page, "grid-week")

    # "Today" in the grid is the clinic's today, not the browser's.
    today = timezone.localdate()
    visit.go(f"/calendar/?view=week&date={today:%Y-%m-%d}")
    expect(page.locator("[data-grid] .ec-today").first).to_be_attached()
    heads = page.locator("[data-grid] .ec-header .ec-today")
    expect(heads).to_contain_text(f"{today:%b} {today.day}")


def drag_to(page, event, to: tuple[float, float]) -> None:
    """Drag ``event`` by its top edge to the point ``to``, in small steps as a hand does."""
    box = event.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + slot_height(page) / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x + (to[0] - x) * step / 20, y + (to[1] - y) * step / 20)
    page.mouse.up()


IN_COLUMN = """([text, index]) => {
    const columns = [...document.querySelectorAll("[data-grid] .ec-body .ec-day")];
    const found = [...document.querySelectorAll("[data-grid] .ec-event")].filter(
        (node) => node.textContent.includes(text));
    if (found.length !== 1) return false;
    const box = found[0].getBoundingClientRect();
    const middle = box.left + box.width / 2;
    const column = columns[index].getBoundingClientRect();
    return column.left <= middle && middle < column.right;
}"""


def expect_in_column(page, client: str, index: int) -> None:
    """Wait until the grid draws ``client``'s session, once, in the ``index``-th column
    (the grid redraws from the feed after a move)."""
    page.wait_for_function(IN_COLUMN, arg=[client, index])


def test_front_desk_drags_a_session_to_another_estheticians_column_and_room(
    visit, page, clinic_day
):
    """Issue 13: another column in the day grid is another esthetician (or room); a drop
    there moves the session to them through the reschedule service, and a refusal (the
    other esthetician is busy) puts it back with the reason."""
    day, jo, ava, bea = clinic_day["day"], clinic_day["jo"], clinic_day["Ava"], clinic_day["Bea"]
    # Jo has Dora at 16:00 in the Cedar room: Bea cannot go there.
    dora = ClientFactory(first_name="Dora", last_name="Baptiste")
    ScreeningFactory(client=dora)
    cedar = Room.objects.get(name="Cedar room")
    start = local_datetime(day, time(16))
    Session.objects.create(
        client=dora,
        esthetician=jo,
        room=cedar,
        device=DeviceFactory(name="Ziip Halo", serial_number="ZH-7"),
        start=start,
        end=start + timedelta(minutes=45),
        booked_by=jo,
    )
    page.set_viewport_size(GRID_VIEWPORT)
    visit.login("desk")
    visit.go(f"/schedule/?date={day:%Y-%m-%d}")
    grid = page.locator("[data-grid]")
    status = grid.locator("[data-grid-message]")
    expect(grid.locator(".ec-col-head")).to_have_text(["Esme Carter", "Jo Park"])

    # Ava, 10:00 with Esme -> Jo's column at the same time: Jo's now.
    event = grid.locator(".ec-event", has_text="Ava Nguyen")
    drag_to(page, event, grid_point(page, 1, 10, 0))
    expect(status).to_contain_text("Ava Nguyen moved to Jo Park")
    ava.refresh_from_db()
    assert ava.esthetician == jo
    assert local(ava.start) == local_datetime(day, time(10))
    expect(event).to_contain_text("10:00 AM–10:45 AM")
    expect_in_column(page, "Ava Nguyen", 1)
    # The list below the grid follows: Ava is in Jo's day now.
    jo_list = page.locator(".cal-day", has_text="Jo Park")
    expect(jo_list.locator(".cal-item", has_text="Ava Nguyen")).to_have_count(1)
    visit.check()

    # Undo puts her back with Esme.
    grid.get_by_role("button", name="Undo").click()
    expect(status).to_contain_text("Ava Nguyen is back with Esme Carter at")
    ava.refresh_from_db()
    assert ava.esthetician == clinic_day["esme"]
    expect(grid.get_by_role("button", name="Undo")).to_be_hidden()
    expect_in_column(page, "Ava Nguyen", 0)
    expect(jo_list.locator(".cal-item", has_text="Ava Nguyen")).to_have_count(0)

    # Bea, 11:00 with Esme -> Jo's 16:00, where Jo has Dora: refused, back with Esme.
    event = grid.locator(".ec-event", has_text="Bea Okafor")
    drag_to(page, event, grid_point(page, 1, 16, 0))
    expect(status).to_contain_text("Not moved:")
    expect(status).to_contain_text("Jo Park is booked")
    expect(status).to_contain_text("Bea Okafor stays with Esme Carter at")
    expect(event).to_contain_text("11:00 AM–11:45 AM")
    expect_in_column(page, "Bea Okafor", 0)
    bea.refresh_from_db()
    assert bea.esthetician == clinic_day["esme"]
    assert local(bea.start) == local_datetime(day, time(11))
    visit.check()

    # By room: Bea from the Willow room to the Cedar room, same time and esthetician.
    visit.go(f"/schedule/?date={day:%Y-%m-%d}&by=room")
    expect(grid.locator(".ec-col-head")).to_have_text(["Cedar room", "Willow room"])
    event = grid.locator(".ec-event", has_text="Bea Okafor")
    drag_to(page, event, grid_point(page, 0, 11, 0))
    expect(status).to_contain_text("Bea Okafor moved to Cedar room")
    expect_in_column(page, "Bea Okafor", 0)
    bea.refresh_from_db()
    assert bea.room == cedar
    assert bea.esthetician == clinic_day["esme"]
    assert local(bea.start) == local_datetime(day, time(11))
