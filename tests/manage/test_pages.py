"""The managers' set-up pages: rooms, devices, working hours and closed days. Only
managers may use them; every form saves through its service and shows the service's
refusals as form errors; the set-up page costs the same queries however long it is."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.models import ClosedDay, Device, Room, Session, WorkingHours
from tests.factories import (
    ClosedDayFactory,
    DeviceFactory,
    RoomFactory,
    SessionFactory,
    UserFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
# A Wednesday morning in the clinic.
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=LA)
TODAY = NOW.date()
HOME = reverse("manage:home")


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def room():
    return RoomFactory(name="Willow room")


@pytest.fixture
def device():
    return DeviceFactory(name="NuFACE Pro", serial_number="MC-1001")


@pytest.fixture
def shift(esthetician):
    return WorkingHoursFactory(
        esthetician=esthetician, weekday=0, starts_at=time(9), ends_at=time(17)
    )


@pytest.fixture
def closed_day():
    return ClosedDayFactory(date=date(2026, 12, 25), reason="Christmas Day")


@pytest.fixture
def mgr(page_as):
    return page_as(Role.MANAGER)


def body(response) -> str:
    return response.content.decode()


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def shift_form(esthetician, weekday=2, starts="09:00", ends="17:00") -> dict:
    return {"esthetician": esthetician.pk, "weekday": weekday, "starts_at": starts, "ends_at": ends}


# Who may see the pages --------------------------------------------------------

PAGES = [
    ("manage:home", None),
    ("manage:room-add", None),
    ("manage:room-edit", "room"),
    ("manage:device-add", None),
    ("manage:device-edit", "device"),
    ("manage:hours-add", None),
    ("manage:hours-edit", "shift"),
    ("manage:hours-remove", "shift"),
    ("manage:closed-day-add", None),
    ("manage:closed-day-remove", "closed_day"),
]


def page_url(request, name, needs):
    if needs is None:
        return reverse(name)
    return reverse(name, kwargs={"pk": request.getfixturevalue(needs).pk})


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_every_page_renders_for_a_manager_with_one_h1_and_a_title(request, mgr, name, needs):
    response = mgr.get(page_url(request, name, needs))
    assert response.status_code == 200
    html = body(response)
    assert html.count("<h1") == 1
    assert 'class="breadcrumbs"' in html
    title = html.split("<title>")[1].split("</title>")[0]
    assert title.split("·")[0].strip()


@pytest.mark.parametrize(("name", "needs"), PAGES)
@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ESTHETICIAN])
def test_every_page_is_forbidden_to_front_desk_and_estheticians(
    request, page_as, role, name, needs
):
    url = page_url(request, name, needs)
    browser = page_as(role)
    assert browser.get(url).status_code == 403
    assert browser.post(url, {}).status_code == 403


def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(client):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_front_desk_cannot_remove_a_closed_day_by_posting(page_as, closed_day):
    url = reverse("manage:closed-day-remove", kwargs={"pk": closed_day.pk})
    page_as(Role.FRONT_DESK).post(url)
    assert ClosedDay.objects.filter(pk=closed_day.pk).exists()


def test_unknown_rows_are_404(mgr):
    assert mgr.get(reverse("manage:room-edit", kwargs={"pk": 999})).status_code == 404
    assert mgr.post(reverse("manage:closed-day-remove", kwargs={"pk": 999})).status_code == 404


# The set-up page --------------------------------------------------------------


def test_home_lists_rooms_devices_and_upcoming_closed_days_with_their_links(
    mgr, room, device, closed_day
):
    RoomFactory(name="Cedar room", is_active=False)
    DeviceFactory(name="Myolift QT", serial_number="MC-2001", in_service=False)
    ClosedDayFactory(date=date(2026, 11, 26), reason="Thanksgiving (past)")
    html = body(mgr.get(HOME))
    assert "Willow room" in html
    assert "Cedar room" in html
    assert "Inactive" in html
    assert "MC-1001" in html
    assert "Out of service" in html
    assert "Friday, December 25, 2026" in html
    assert "Christmas Day" in html
    assert "Thanksgiving (past)" not in html
    for link in [
        reverse("manage:room-add"),
        reverse("manage:room-edit", kwargs={"pk": room.pk}),
        reverse("manage:device-add"),
        reverse("manage:device-edit", kwargs={"pk": device.pk}),
        reverse("manage:hours-add"),
        reverse("manage:closed-day-add"),
        reverse("manage:closed-day-remove", kwargs={"pk": closed_day.pk}),
    ]:
        assert f'href="{link}' in html


def test_home_shows_a_weekly_grid_of_hours_with_days_off(mgr, esthetician, shift):
    UserFactory(username="fd2", first_name="Quentin", role=Role.FRONT_DESK)
    UserFactory(username="gone", first_name="Gone", role=Role.ESTHETICIAN, is_active=False)
    html = body(mgr.get(HOME))
    grid = html.split('class="table compact hours-grid"')[1].split("</table>")[0]
    for day in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]:
        assert f">{day}</abbr>" in grid
    assert esthetician.get_full_name() in grid
    assert '9:00 AM–</span><span class="to">5:00 PM' in grid
    assert reverse("manage:hours-edit", kwargs={"pk": shift.pk}) in grid
    # Works Mondays only: six days off, each with a pre-filled "Add" link.
    assert grid.count(">Off</span>") == 6
    add = reverse("manage:hours-add")
    assert f"{add}?esthetician={esthetician.pk}&amp;weekday=6" in grid
    assert "Quentin" not in grid
    assert "Gone" not in grid


def test_home_without_estheticians_says_how_to_add_one(mgr, esthetician):
    esthetician.is_active = False
    esthetician.save()
    html = body(mgr.get(HOME))
    assert "no active estheticians" in html
    assert reverse("admin:clinic_user_add") in html


def make_setup(n: int) -> None:
    for i in range(n):
        RoomFactory(is_active=i % 2 == 0)
        DeviceFactory(in_service=i % 3 != 0)
        person = UserFactory(role=Role.ESTHETICIAN)
        WorkingHoursFactory(esthetician=person, weekday=i % 7)
        WorkingHoursFactory(esthetician=person, weekday=(i + 3) % 7, starts_at=time(12))
        ClosedDayFactory(date=TODAY + timedelta(days=i + 1))


def count_queries(browser, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = browser.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_home_queries_do_not_grow_with_rows(mgr):
    make_setup(5)
    few = count_queries(mgr, HOME)
    make_setup(25)
    many = count_queries(mgr, HOME)
    assert Room.objects.count() == 30
    assert WorkingHours.objects.count() == 60
    assert many == few
    assert few <= 10


# Rooms ------------------------------------------------------------------------


def test_adding_a_room_saves_it_and_returns_to_the_setup_page(mgr):
    response = mgr.post(reverse("manage:room-add"), {"name": "Birch room", "is_active": "on"})
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert Room.objects.get(name="Birch room").is_active
    assert "Added room Birch room." in flashed(response)


def test_a_room_name_already_taken_is_shown_on_the_form(mgr, room):
    response = mgr.post(reverse("manage:room-add"), {"name": "Willow room", "is_active": "on"})
    assert response.status_code == 200
    assert "There is already a room named “Willow room”." in body(response)
    assert Room.objects.count() == 1


def test_an_empty_room_name_is_refused(mgr):
    response = mgr.post(reverse("manage:room-add"), {"name": ""})
    assert response.status_code == 200
    assert "This field is required." in body(response)
    assert not Room.objects.exists()


def test_editing_a_room_shows_its_values_and_saves_changes(mgr, room):
    url = reverse("manage:room-edit", kwargs={"pk": room.pk})
    html = body(mgr.get(url))
    assert 'value="Willow room"' in html
    assert "checked" in html
    response = mgr.post(url, {"name": "Willow suite"})  # "Active" unticked
    assert response.status_code == 302
    room.refresh_from_db()
    assert (room.name, room.is_active) == ("Willow suite", False)


def test_a_refused_rename_keeps_the_page_about_the_room_as_saved(mgr, room):
    RoomFactory(name="Cedar room")
    url = reverse("manage:room-edit", kwargs={"pk": room.pk})
    response = mgr.post(url, {"name": "Cedar room", "is_active": "on"})
    html = body(response)
    assert "<h1>Edit Willow room</h1>" in html
    assert 'value="Cedar room"' in html  # the input is kept for correction
    room.refresh_from_db()
    assert room.name == "Willow room"


def test_deactivating_a_room_with_upcoming_sessions_warns(mgr, room):
    SessionFactory(room=room)
    SessionFactory(room=room, status=Session.Status.CANCELLED)
    url = reverse("manage:room-edit", kwargs={"pk": room.pk})
    response = mgr.post(url, {"name": "Willow room"})
    assert "Willow room is inactive but still has 1 upcoming session; move them to another " in (
        " ".join(flashed(response))
    )


# Devices ----------------------------------------------------------------------


def test_the_device_form_labels_in_service(mgr):
    html = body(mgr.get(reverse("manage:device-add")))
    assert '<label for="id_in_service">In service</label>' in html
    assert '<label for="id_serial_number">Serial number' in html


def test_adding_a_device_saves_it(mgr):
    data = {"name": "Myolift QT", "serial_number": "MC-2001", "in_service": "on"}
    response = mgr.post(reverse("manage:device-add"), data)
    assert response.status_code == 302
    device = Device.objects.get(serial_number="MC-2001")
    assert (device.name, device.in_service) == ("Myolift QT", True)
    assert "Added device Myolift QT (MC-2001)." in flashed(response)


def test_a_serial_number_already_on_file_is_shown_on_the_form(mgr, device):
    data = {"name": "Other", "serial_number": "MC-1001", "in_service": "on"}
    response = mgr.post(reverse("manage:device-add"), data)
    assert response.status_code == 200
    assert "Device with this Serial number already exists." in body(response)
    assert Device.objects.count() == 1


def test_taking_a_device_out_of_service_saves_and_warns_about_bookings(mgr, device):
    SessionFactory(device=device)
    SessionFactory(device=device, start=NOW + timedelta(days=2))
    url = reverse("manage:device-edit", kwargs={"pk": device.pk})
    response = mgr.post(url, {"name": "NuFACE Pro", "serial_number": "MC-1001"})
    device.refresh_from_db()
    assert not device.in_service
    messages = flashed(response)
    assert "Saved device NuFACE Pro (MC-1001)." in messages
    assert any("still has 2 upcoming sessions" in m for m in messages)


# Working hours ----------------------------------------------------------------


def test_the_esthetician_choice_lists_only_active_estheticians(mgr, esthetician):
    UserFactory(username="fd2", first_name="Quentin", role=Role.FRONT_DESK)
    UserFactory(username="gone", first_name="Gone", role=Role.ESTHETICIAN, is_active=False)
    html = body(mgr.get(reverse("manage:hours-add")))
    select = html.split('name="esthetician"')[1].split("</select>")[0]
    assert esthetician.get_full_name() in select
    assert "Quentin" not in select
    assert "Gone" not in select


def test_the_add_link_prefills_esthetician_and_weekday(mgr, esthetician):
    html = body(mgr.get(reverse("manage:hours-add"), {"esthetician": esthetician.pk, "weekday": 4}))
    assert f'<option value="{esthetician.pk}" selected>' in html
    assert '<option value="4" selected>Friday</option>' in html
    assert 'type="time"' in html


def test_adding_a_shift_saves_it(mgr, esthetician):
    response = mgr.post(reverse("manage:hours-add"), shift_form(esthetician, 2, "10:00", "18:30"))
    assert response.status_code == 302
    assert response["Location"] == HOME
    saved = WorkingHours.objects.get(esthetician=esthetician, weekday=2)
    assert (saved.starts_at, saved.ends_at) == (time(10), time(18, 30))
    name = esthetician.get_full_name()
    assert f"Saved {name}'s Wednesday shift, 10:00 AM–6:30 PM." in flashed(response)


@pytest.mark.parametrize(("starts", "ends"), [("18:00", "09:00"), ("09:00", "09:00")])
def test_a_shift_that_does_not_end_after_it_starts_is_refused(mgr, esthetician, starts, ends):
    response = mgr.post(reverse("manage:hours-add"), shift_form(esthetician, 2, starts, ends))
    assert response.status_code == 200
    html = body(response)
    assert "The shift must end after it starts." in html
    assert 'id="id_ends_at_error"' in html
    assert not WorkingHours.objects.exists()


def test_an_overlapping_second_shift_on_the_same_weekday_is_a_form_error_not_a_crash(
    mgr, esthetician, shift
):
    # Issue 13: a weekday may have several shifts, but never overlapping ones.
    response = mgr.post(reverse("manage:hours-add"), shift_form(esthetician, 0, "12:00", "20:00"))
    assert response.status_code == 200
    html = body(response)
    assert f"{esthetician.get_full_name()} already works 09:00–17:00 on Mondays" in html
    assert 'id="id_starts_at_error"' in html
    assert WorkingHours.objects.count() == 1
    shift.refresh_from_db()
    assert shift.starts_at == time(9)


def test_a_second_shift_after_a_lunch_break_is_saved_and_shown_in_the_grid(mgr, esthetician):
    WorkingHoursFactory(esthetician=esthetician, weekday=0, starts_at=time(9), ends_at=time(13))
    response = mgr.post(reverse("manage:hours-add"), shift_form(esthetician, 0, "14:00", "18:00"))
    assert response.status_code == 302
    shifts = WorkingHours.objects.filter(esthetician=esthetician, weekday=0).order_by("starts_at")
    assert [(h.starts_at, h.ends_at) for h in shifts] == [(time(9), time(13)), (time(14), time(18))]
    grid = body(mgr.get(HOME)).split('class="table compact hours-grid"')[1].split("</table>")[0]
    assert '9:00 AM–</span><span class="to">1:00 PM' in grid
    assert '2:00 PM–</span><span class="to">6:00 PM' in grid


def test_a_front_desk_member_cannot_be_given_a_shift(mgr, front_desk):
    response = mgr.post(reverse("manage:hours-add"), shift_form(front_desk))
    assert response.status_code == 200
    assert "Select a valid choice." in body(response)
    assert not WorkingHours.objects.exists()


def test_editing_a_shift_moves_it_to_a_free_weekday(mgr, esthetician, shift):
    url = reverse("manage:hours-edit", kwargs={"pk": shift.pk})
    html = body(mgr.get(url))
    assert 'value="09:00"' in html
    assert 'value="17:00"' in html
    response = mgr.post(url, shift_form(esthetician, 1, "08:00", "16:00"))
    assert response.status_code == 302
    shift.refresh_from_db()
    assert (shift.weekday, shift.starts_at, shift.ends_at) == (1, time(8), time(16))
    assert WorkingHours.objects.count() == 1


def test_editing_a_shift_onto_a_weekday_where_it_overlaps_is_refused(mgr, esthetician, shift):
    tuesday = WorkingHoursFactory(esthetician=esthetician, weekday=1)
    url = reverse("manage:hours-edit", kwargs={"pk": tuesday.pk})
    response = mgr.post(url, shift_form(esthetician, 0))
    assert "already works 09:00–17:00 on Mondays" in body(response)
    tuesday.refresh_from_db()
    assert tuesday.weekday == 1


def test_removing_a_shift_asks_first_then_removes_it_on_post(mgr, esthetician, shift):
    url = reverse("manage:hours-remove", kwargs={"pk": shift.pk})
    html = body(mgr.get(url))
    assert "Remove shift" in html
    assert 'method="post"' in html
    assert WorkingHours.objects.filter(pk=shift.pk).exists()
    response = mgr.post(url)
    assert response["Location"] == HOME
    assert not WorkingHours.objects.filter(pk=shift.pk).exists()
    assert any("Monday shift" in m for m in flashed(response))


def test_the_edit_page_links_to_removing_the_shift(mgr, shift):
    html = body(mgr.get(reverse("manage:hours-edit", kwargs={"pk": shift.pk})))
    assert reverse("manage:hours-remove", kwargs={"pk": shift.pk}) in html


# Closed days ------------------------------------------------------------------


def test_adding_a_closed_day_saves_it(mgr):
    data = {"date": "2026-12-31", "reason": "New Year's Eve"}
    response = mgr.post(reverse("manage:closed-day-add"), data)
    assert response.status_code == 302
    assert ClosedDay.objects.get(date=date(2026, 12, 31)).reason == "New Year's Eve"
    assert "The clinic is closed on Thursday, December 31, 2026." in flashed(response)


def test_the_closed_day_form_uses_a_date_input(mgr):
    assert 'type="date"' in body(mgr.get(reverse("manage:closed-day-add")))


def test_a_day_already_closed_is_a_form_error(mgr, closed_day):
    response = mgr.post(reverse("manage:closed-day-add"), {"date": "2026-12-25"})
    assert response.status_code == 200
    assert "already marked closed on that day" in body(response)
    assert ClosedDay.objects.count() == 1


def test_a_past_day_cannot_be_closed(mgr):
    response = mgr.post(reverse("manage:closed-day-add"), {"date": "2026-12-01"})
    assert response.status_code == 200
    assert "That day is past; only today or later can be closed." in body(response)
    assert not ClosedDay.objects.exists()


def test_today_can_be_closed(mgr):
    response = mgr.post(reverse("manage:closed-day-add"), {"date": TODAY.isoformat()})
    assert response.status_code == 302
    assert ClosedDay.objects.filter(date=TODAY).exists()


def test_a_bad_date_is_a_form_error(mgr):
    response = mgr.post(reverse("manage:closed-day-add"), {"date": "next friday"})
    assert "Enter a valid date." in body(response)
    assert not ClosedDay.objects.exists()


def test_closing_a_day_with_sessions_booked_lists_them_first_then_closes_on_save_anyway(
    mgr, esthetician, room, device
):
    # Issue 13: the sessions booked that day are listed (with links to move them) before
    # the day is closed, no longer only counted after it.
    start = local_datetime(date(2026, 12, 24), time(10))
    session = SessionFactory(esthetician=esthetician, room=room, device=device, start=start)
    url = reverse("manage:closed-day-add")
    asked = mgr.post(url, {"date": "2026-12-24"})
    assert asked.status_code == 200
    assert not ClosedDay.objects.exists()
    html = body(asked)
    assert "1 booked session would fall outside the hours" in html
    assert session.client.full_name in html
    move = reverse("sessions:detail", kwargs={"pk": session.pk})
    assert f'href="{move}#change-heading"' in html
    assert f'name="confirmed" value="{session.pk}"' in html
    response = mgr.post(url, {"date": "2026-12-24", "confirmed": str(session.pk)})
    assert response.status_code == 302
    assert ClosedDay.objects.filter(date=date(2026, 12, 24)).exists()
    warning = next(m for m in flashed(response) if "outside the hours" in m)
    assert warning.startswith("1 booked session is now outside the hours and stays booked")
    assert f'<a href="{move}#change-heading">' in warning
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


def test_removing_a_closed_day_asks_first_then_reopens_on_post(mgr, closed_day):
    url = reverse("manage:closed-day-remove", kwargs={"pk": closed_day.pk})
    html = body(mgr.get(url))
    assert "Open the clinic on Friday, December 25, 2026?" in html
    assert ClosedDay.objects.exists()
    response = mgr.post(url)
    assert response["Location"] == HOME
    assert not ClosedDay.objects.exists()
    assert "The clinic is open again on Friday, December 25, 2026." in flashed(response)


# No dead links ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_every_link_on_the_page_leads_somewhere(request, mgr, name, needs):
    html = body(mgr.get(page_url(request, name, needs)))
    hrefs = {
        part.split('"')[0].split("#")[0].replace("&amp;", "&") for part in html.split('href="')[1:]
    }
    links = {h for h in hrefs if h.startswith("/") and not h.startswith("/static/")}
    assert reverse("manage:home") in links or name == "manage:home"
    for link in sorted(links):
        response = mgr.get(link)
        assert response.status_code in (200, 302), link
        if response.status_code == 302:  # the start page sends managers to the schedule
            assert mgr.get(response["Location"]).status_code == 200, link
