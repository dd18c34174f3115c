"""The time grid's feed (issue 13, "Time grid"): sessions by clinic wall time with their
client, status, eligibility, confirmation, room and device; the time not worked shaded
with its reason; sessions outside hours flagged; the same answer from the page and the
API, refused to strangers, 400 naming the field; flat in queries; right on DST days."""

from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.clinic_time import plus
from sessions_app.calendar_feed import calendar_feed
from sessions_app.models import ClosedDay, DayOff, Session, WorkingHours
from tests.factories import (
    ClearanceFactory,
    ClientFactory,
    DeviceFactory,
    RoomFactory,
    SessionFactory,
)
from tests.sessions_app.helpers import LA, at, full_week, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
MONDAY = date(2027, 3, 1)
SPRING = date(2027, 3, 14)  # clocks go 02:00 -> 03:00
FALL = date(2027, 11, 7)  # clocks go 02:00 -> 01:00


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def split_shifts(esthetician):
    """09:00-13:00 and 14:00-18:00 on every weekday but Sunday: a lunch break."""
    for weekday in range(6):
        for starts, ends in ((time(9), time(13)), (time(14), time(18))):
            WorkingHours.objects.create(
                esthetician=esthetician, weekday=weekday, starts_at=starts, ends_at=ends
            )


def book(client, esthetician, room, device, start, minutes=45, **fields) -> Session:
    return Session.objects.create(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        end=plus(start, timedelta(minutes=minutes)),  # real minutes, also across DST
        booked_by=esthetician,
        **fields,
    )


def sessions_of(feed) -> dict[str, dict]:
    return {e["title"]: e for e in feed["events"] if e.get("display") != "background"}


def shaded(feed) -> list[dict]:
    return [e for e in feed["events"] if e.get("display") == "background"]


def test_a_session_is_placed_by_wall_time_with_what_the_desk_needs(
    esthetician, split_shifts, room, device, bookable
):
    session = book(
        bookable, esthetician, room, device, at(MONDAY, "10:00"), client_confirmed_at=NOW
    )

    feed = calendar_feed(first=MONDAY, last=MONDAY, user=esthetician)

    event = sessions_of(feed)["Ana Lopez"]
    assert event["id"] == str(session.pk)
    assert event["resourceIds"] == [str(esthetician.pk)]
    assert event["start"] == "2027-03-01T10:00:00"
    assert event["end"] == "2027-03-01T10:45:00"
    assert event["editable"] is True
    assert "status-booked" in event["classNames"]
    assert "eligibility-eligible" in event["classNames"]
    props = event["extendedProps"]
    assert props["statusLabel"] == "Booked"
    assert props["eligibilityLabel"] == "Eligible"
    assert props["confirmed"] == "Client confirmed Feb 20, 9:00 AM"
    assert props["roomName"] == "Willow room"
    assert props["device"] == "NuFACE Pro MC-1"
    assert props["time"] == "10:00 AM–10:45 AM"
    assert props["outsideHours"] == ""
    assert props["url"] == reverse("sessions:detail", args=[session.pk])
    assert feed["resources"] == [{"id": str(esthetician.pk), "title": str(esthetician)}]
    assert (feed["slotMinTime"], feed["slotMaxTime"]) == ("09:00:00", "18:00:00")


def test_eligibility_and_status_come_as_words_and_classes(
    esthetician, split_shifts, room, device, bookable
):
    unscreened = ClientFactory(first_name="Una", last_name="Screened")
    flagged = ClientFactory(first_name="Fay", last_name="Flagged")
    screen(flagged, "recent_surgery")
    book(unscreened, esthetician, room, device, at(MONDAY, "11:00"))
    book(flagged, esthetician, room, device, at(MONDAY, "15:00"), status="checked_in")

    events = sessions_of(calendar_feed(first=MONDAY, last=MONDAY, user=esthetician))

    assert events["Una Screened"]["extendedProps"]["eligibilityLabel"] == "Screening required"
    assert events["Fay Flagged"]["extendedProps"]["eligibilityLabel"] == "Needs clearance"
    assert events["Fay Flagged"]["extendedProps"]["statusLabel"] == "Checked in"
    # Only a booked session can be moved.
    assert events["Fay Flagged"]["editable"] is False


def test_cancelled_sessions_free_their_slot_and_are_not_placed(
    esthetician, split_shifts, room, device, bookable
):
    book(bookable, esthetician, room, device, at(MONDAY, "10:00"), status="cancelled")

    assert sessions_of(calendar_feed(first=MONDAY, last=MONDAY, user=esthetician)) == {}


def test_a_session_in_the_past_is_not_movable(esthetician, split_shifts, room, device):
    past_day = MONDAY - timedelta(days=14)  # before NOW
    past = book(ClientFactory(first_name="Pia"), esthetician, room, device, at(past_day, "10:00"))

    feed = calendar_feed(first=past_day, last=past_day, user=esthetician)

    assert sessions_of(feed)[past.client.full_name]["editable"] is False


def test_breaks_days_off_closed_days_and_days_not_worked_are_shaded_with_the_reason(
    esthetician, split_shifts, room, device
):
    tuesday, wednesday, sunday = MONDAY + timedelta(1), MONDAY + timedelta(2), date(2027, 3, 7)
    DayOff.objects.create(esthetician=esthetician, date=tuesday, reason="Training")
    ClosedDay.objects.create(date=wednesday, reason="Staff training")

    feed = calendar_feed(first=MONDAY, last=sunday, user=esthetician)

    by_day = {}
    for event in shaded(feed):
        by_day.setdefault(event["start"][:10], []).append(event)
    monday = {(e["title"], e["start"][11:], e["end"][11:]) for e in by_day["2027-03-01"]}
    assert monday == {
        ("Before hours", "00:00:00", "09:00:00"),
        ("Break", "13:00:00", "14:00:00"),
        ("After hours", "18:00:00", "00:00:00"),
    }
    assert [e["title"] for e in by_day["2027-03-02"]] == [f"{esthetician}'s day off: Training"]
    assert [e["title"] for e in by_day["2027-03-03"]] == ["Clinic closed: Staff training"]
    assert [e["title"] for e in by_day["2027-03-07"]] == [f"{esthetician} does not work on Sundays"]
    assert all(e["resourceIds"] == [str(esthetician.pk)] for e in shaded(feed))


def test_a_session_outside_hours_is_flagged_with_the_booking_rule_s_words(
    esthetician, split_shifts, room, device, bookable, other_bookable
):
    # Written straight to the table: the hours changed after these were booked.
    book(bookable, esthetician, room, device, at(MONDAY, "13:15"))
    book(other_bookable, esthetician, room, device, at(MONDAY, "18:30"))

    feed = calendar_feed(first=MONDAY, last=MONDAY, user=esthetician)

    events = sessions_of(feed)
    lunch = events["Ana Lopez"]
    assert "outside-hours" in lunch["classNames"]
    assert "outside" in lunch["extendedProps"]["outsideHours"]
    assert "09:00–13:00, 14:00–18:00" in lunch["extendedProps"]["outsideHours"]
    assert "outside-hours" in events["Bea Ng"]["classNames"]
    # The rows reach the late session (18:30-19:15 needs the 19:00 row).
    assert feed["slotMaxTime"] == "20:00:00"


def test_by_room_one_column_per_room_and_closed_days_for_all(
    esthetician, other_esthetician, split_shifts, room, other_room, device, bookable
):
    RoomFactory(name="Old room", is_active=False)
    book(bookable, esthetician, other_room, device, at(MONDAY, "10:00"))
    ClosedDay.objects.create(date=MONDAY + timedelta(1), reason="")

    feed = calendar_feed(first=MONDAY, last=MONDAY + timedelta(1), by="room", user=esthetician)

    assert [r["title"] for r in feed["resources"]] == ["Cedar room", "Willow room"]
    assert sessions_of(feed)["Ana Lopez"]["resourceIds"] == [str(other_room.pk)]
    assert [(e["title"], sorted(e["resourceIds"])) for e in shaded(feed)] == [
        ("Clinic closed", sorted([str(other_room.pk), str(room.pk)]))
    ]


def test_one_esthetician_only_their_sessions(
    esthetician, other_esthetician, split_shifts, room, other_room, device, other_device, bookable
):
    book(bookable, esthetician, room, device, at(MONDAY, "10:00"))
    book(
        ClientFactory(first_name="Other"),
        other_esthetician,
        other_room,
        other_device,
        at(MONDAY, "10:00"),
    )

    feed = calendar_feed(first=MONDAY, last=MONDAY, user=esthetician, esthetician=esthetician)

    assert list(sessions_of(feed)) == ["Ana Lopez"]
    assert [r["id"] for r in feed["resources"]] == [str(esthetician.pk)]


# Daylight saving ------------------------------------------------------------------------


@pytest.mark.parametrize("day", [SPRING, FALL], ids=["spring-forward", "fall-back"])
def test_on_a_dst_day_sessions_and_hours_keep_their_wall_times(
    esthetician, room, device, bookable, day
):
    full_week(esthetician)
    book(bookable, esthetician, room, device, at(day, "10:00"))

    feed = calendar_feed(first=day, last=day, user=esthetician)

    event = sessions_of(feed)["Ana Lopez"]
    assert (event["start"], event["end"]) == (f"{day}T10:00:00", f"{day}T10:45:00")
    assert {(e["title"], e["start"], e["end"]) for e in shaded(feed)} == {
        ("Before hours", f"{day}T00:00:00", f"{day}T09:00:00"),
        ("After hours", f"{day}T18:00:00", f"{day + timedelta(1)}T00:00:00"),
    }


def test_a_session_across_the_spring_change_ends_at_the_wall_time_of_its_real_end(
    esthetician, room, device, bookable
):
    # 01:30 for 90 real minutes: the clocks skip 02:00-03:00, so it ends at 04:00.
    start = datetime(2027, 3, 14, 1, 30, tzinfo=LA)
    book(bookable, esthetician, room, device, start, minutes=90)

    feed = calendar_feed(first=SPRING, last=SPRING, user=esthetician)

    event = sessions_of(feed)["Ana Lopez"]
    assert (event["start"], event["end"]) == ("2027-03-14T01:30:00", "2027-03-14T04:00:00")
    assert feed["slotMinTime"] == "01:00:00"
    assert "outside-hours" in event["classNames"]  # nobody works at night


# The endpoints --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/calendar/feed/", "/api/calendar/"])
def test_page_and_api_answer_the_same_feed(
    path, client, esthetician, split_shifts, room, device, bookable
):
    book(bookable, esthetician, room, device, at(MONDAY, "10:00"))
    client.force_login(esthetician)

    response = client.get(path, {"start": "2027-03-01", "end": "2027-03-08"})

    assert response.status_code == 200
    body = response.json()
    assert body == calendar_feed(first=MONDAY, last=MONDAY + timedelta(6), user=esthetician)
    assert sessions_of(body)["Ana Lopez"]["start"] == "2027-03-01T10:00:00"


def test_the_api_takes_a_token_too(api, esthetician, split_shifts):
    api.force_authenticate(esthetician)
    response = api.get("/api/calendar/", {"start": "2027-03-01", "by": "room"})
    assert response.status_code == 200
    assert response.json()["by"] == "room"


def test_strangers_get_the_login_page_or_401(client, api):
    page = client.get("/calendar/feed/", {"start": "2027-03-01"})
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("login"))
    assert api.get("/api/calendar/", {"start": "2027-03-01"}).status_code == 401


@pytest.mark.parametrize("path", ["/calendar/feed/", "/api/calendar/"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "start"),
        ({"start": "2027-13-01"}, "start"),
        ({"start": "2027-03-08", "end": "2027-03-01"}, "end"),
        ({"start": "2027-03-01", "end": "2027-04-01"}, "end"),
        ({"start": "2027-03-01", "by": "device"}, "by"),
        ({"start": "2027-03-01", "esthetician": "987654"}, "esthetician"),
        ({"start": "9999-12-31"}, "start"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(path, query, field, client, esthetician):
    client.force_login(esthetician)
    response = client.get(path, query)
    assert response.status_code == 400
    assert field in response.json()


# Queries --------------------------------------------------------------------------------

# Estheticians, sessions, their clients' screenings, clearances and health changes, then
# the shifts, days off and closed days (one query, availability.Diaries).
FEED_QUERIES = 6


def fill(slots: range, estheticians, rooms, device) -> None:
    """Sessions in these 45-minute ``slots`` from 09:00 every day of a week, each client
    with a screening and a clearance."""
    for offset in range(7):
        for n in slots:
            client = ClientFactory()
            screen(client, "recent_surgery")
            ClearanceFactory(client=client, conditions=["recent_surgery"])
            esthetician = estheticians[n % len(estheticians)]
            start = at(MONDAY + timedelta(days=offset), "09:00") + timedelta(minutes=45 * n)
            SessionFactory(
                client=client,
                esthetician=esthetician,
                room=rooms[n % len(rooms)],
                device=device,
                start=start,
                end=start + timedelta(minutes=45),
            )


@pytest.mark.parametrize("by", ["esthetician", "room"])
def test_the_feed_runs_the_same_queries_for_few_and_many_sessions(
    django_assert_num_queries, esthetician, other_esthetician, split_shifts, by
):
    staff = [esthetician, other_esthetician]
    rooms = [RoomFactory(name=f"Room {n}") for n in range(3)]
    device = DeviceFactory()
    week = {"first": MONDAY, "last": MONDAY + timedelta(6), "by": by, "user": esthetician}
    expected = FEED_QUERIES + (1 if by == "room" else 0)  # the rooms

    fill(range(1), staff, rooms, device)
    with django_assert_num_queries(expected):
        few = calendar_feed(**week)

    fill(range(1, 9), staff, rooms, device)
    with django_assert_num_queries(expected):
        many = calendar_feed(**week)

    def placed(feed) -> int:
        return sum(1 for e in feed["events"] if e["extendedProps"]["type"] == "session")

    assert (placed(few), placed(many)) == (7, 63)
