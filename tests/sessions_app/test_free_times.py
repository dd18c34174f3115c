"""Free times (issue 11, "Free times, one engine"): the selector answers the starts a
session of a given length can take, by the booking's own rules, in a fixed number of
queries however long the range. A time it offers can be booked; a time it leaves out for
a clash cannot."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from clinic.errors import BookingClash, RuleViolation
from clinic.roles import Role
from sessions_app.booking import session_book
from sessions_app.free_times import MAX_DAYS, free_times
from sessions_app.models import Session
from tests.factories import (
    ClosedDayFactory,
    DeviceFactory,
    RoomFactory,
    SessionFactory,
    UserFactory,
    WorkingHoursFactory,
)
from tests.sessions_app.helpers import LA, at

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=LA)  # a Monday, before opening
DAY = date(2027, 3, 2)  # Tuesday
SPRING = date(2027, 3, 14)  # clocks go 02:00 -> 03:00
FALL = date(2027, 11, 7)  # clocks go 02:00 -> 01:00


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def where(esthetician, working_hours, room, device):
    return {"esthetician": esthetician, "room": room, "device": device}


def starts(found) -> list[str]:
    return [f"{s.start.astimezone(LA):%H:%M}" for s in found]


def grid(first: str, last: str) -> list[str]:
    """Quarter hours from ``first`` to ``last`` inclusive, as ``HH:MM``."""
    moment, end = at(DAY, first), at(DAY, last)
    out = []
    while moment <= end:
        out.append(f"{moment:%H:%M}")
        moment += timedelta(minutes=15)
    return out


def one_day(day=DAY, **kwargs):
    return free_times(date_from=day, date_to=day, **kwargs)


# Hours, closed days, the past -----------------------------------------------------------
def test_a_free_day_offers_every_quarter_hour_that_fits_the_shift(where):
    found = one_day(minutes=60, **where)
    assert starts(found) == grid("09:00", "17:00")
    assert all(f.end - f.start == timedelta(minutes=60) for f in found)
    assert {(f.esthetician, f.room, f.device) for f in found} == {
        (where["esthetician"], where["room"], where["device"])
    }


def test_a_closed_day_offers_nothing(where):
    ClosedDayFactory(date=DAY)
    assert one_day(minutes=45, **where) == []
    assert one_day(DAY + timedelta(days=1), minutes=45, **where) != []


def test_a_day_the_esthetician_does_not_work_offers_nothing(room, device):
    monday_only = UserFactory(role=Role.ESTHETICIAN)
    WorkingHoursFactory(esthetician=monday_only, weekday=0)
    assert one_day(minutes=45, esthetician=monday_only) == []  # DAY is a Tuesday
    assert one_day(date(2027, 3, 8), minutes=45, esthetician=monday_only) != []


def test_times_already_past_are_left_out(where):
    with time_machine.travel(at(DAY, "11:10"), tick=False):
        found = one_day(minutes=45, **where)
    assert starts(found)[0] == "11:15"


def test_days_before_today_are_left_out(where):
    found = free_times(date_from=date(2027, 2, 20), date_to=date(2027, 3, 1), minutes=45, **where)
    assert {f.start.astimezone(LA).date() for f in found} == {date(2027, 3, 1)}


# Clashes and breaks ----------------------------------------------------------------------
@pytest.mark.parametrize("resource", ["esthetician", "room", "device"])
def test_a_session_holding_the_resource_hides_the_overlapping_starts(where, resource):
    held = {resource: where[resource]}
    SessionFactory(start=at(DAY, "10:00"), end=at(DAY, "10:45"), **held)
    found = one_day(minutes=45, **where)
    missing = set(grid("09:00", "17:15")) - set(starts(found))
    assert missing == {"09:30", "09:45", "10:00", "10:15", "10:30"}


def test_a_cancelled_session_holds_nothing(where):
    SessionFactory(
        start=at(DAY, "10:00"), end=at(DAY, "10:45"), status=Session.Status.CANCELLED, **where
    )
    assert starts(one_day(minutes=45, **where)) == grid("09:00", "17:15")


def test_a_taken_room_gives_way_to_the_next_room(where, other_room):
    SessionFactory(start=at(DAY, "10:00"), end=at(DAY, "10:45"), room=where["room"])
    found = {
        f"{f.start.astimezone(LA):%H:%M}": f
        for f in one_day(minutes=45, esthetician=where["esthetician"])
    }
    # Rooms come by name: Cedar before Willow, so Cedar is offered whatever Willow holds.
    assert found["10:00"].room == other_room
    assert len(found) == len(grid("09:00", "17:15"))


def test_a_taken_device_gives_way_to_the_next_device(where, other_device):
    SessionFactory(start=at(DAY, "10:00"), end=at(DAY, "10:45"), device=where["device"])
    found = {
        f"{f.start.astimezone(LA):%H:%M}": f
        for f in one_day(minutes=45, esthetician=where["esthetician"], room=where["room"])
    }
    assert found["10:00"].device == other_device
    assert found["09:00"].device == where["device"]


def test_a_break_shorter_than_the_session_offers_nothing_inside_it(where):
    SessionFactory(start=at(DAY, "09:00"), end=at(DAY, "10:00"), esthetician=where["esthetician"])
    SessionFactory(start=at(DAY, "10:30"), end=at(DAY, "11:30"), esthetician=where["esthetician"])
    assert "10:00" not in starts(one_day(minutes=45, **where))
    assert "10:00" in starts(one_day(minutes=30, **where))
    assert "10:15" not in starts(one_day(minutes=30, **where))


def test_the_client_is_never_offered_a_second_session_that_day(where, bookable, other_esthetician):
    SessionFactory(
        client=bookable,
        esthetician=other_esthetician,
        start=at(DAY, "15:00"),
        end=at(DAY, "15:45"),
    )
    assert one_day(minutes=45, client=bookable, **where) == []
    assert one_day(minutes=45, **where) != []
    assert one_day(DAY + timedelta(days=1), minutes=45, client=bookable, **where) != []


def test_the_clients_last_esthetician_comes_first(where, bookable, other_esthetician):
    SessionFactory(
        client=bookable,
        esthetician=other_esthetician,
        start=at(date(2027, 2, 1), "10:00"),
        end=at(date(2027, 2, 1), "10:45"),
        status=Session.Status.COMPLETED,
    )
    found = one_day(minutes=45, client=bookable, room=where["room"], device=where["device"])
    assert found[0].esthetician == other_esthetician
    assert found[1].esthetician == where["esthetician"]
    assert found[0].start == found[1].start


def test_inactive_estheticians_rooms_and_devices_are_never_offered(where, other_esthetician):
    other_esthetician.is_active = False
    other_esthetician.save()
    RoomFactory(name="Aspen room", is_active=False)
    DeviceFactory(name="AAA broken", in_service=False)
    found = one_day(minutes=45)
    assert {(f.esthetician, f.room, f.device) for f in found} == {
        (where["esthetician"], where["room"], where["device"])
    }


def test_soonest_first_and_limit(where, other_esthetician):
    found = free_times(date_from=DAY, date_to=DAY + timedelta(days=3), minutes=45, limit=5)
    assert len(found) == 5
    assert [f.start for f in found] == sorted(f.start for f in found)
    assert found[0].start == found[1].start == at(DAY, "09:00")


# Daylight saving -------------------------------------------------------------------------
@pytest.fixture
def night_shift(esthetician, room, device):
    for d in range(7):
        WorkingHoursFactory(
            esthetician=esthetician, weekday=d, starts_at=time(0), ends_at=time(23, 45)
        )
    return {"esthetician": esthetician, "room": room, "device": device}


def test_spring_forward_offers_no_start_the_clocks_skip(night_shift):
    found = one_day(SPRING, minutes=90, **night_shift)
    hours = [f.start.astimezone(LA).hour for f in found]
    assert 2 not in hours
    assert starts(found)[:8] == ["00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30"] + [
        "01:45"
    ]
    assert starts(found)[8] == "03:00"


def test_spring_forward_slot_across_the_gap_lasts_its_real_length(night_shift):
    across = next(f for f in one_day(SPRING, minutes=90, **night_shift) if starts([f]) == ["01:30"])
    assert across.end.astimezone(UTC) - across.start.astimezone(UTC) == timedelta(minutes=90)
    assert f"{across.end.astimezone(LA):%H:%M}" == "04:00"


def test_fall_back_offers_a_repeated_clock_time_once(night_shift):
    found = starts(one_day(FALL, minutes=45, **night_shift))
    assert found.count("01:15") == 1
    assert len(found) == len(set(found))


# A fixed number of queries ----------------------------------------------------------------
def count_queries(**kwargs) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        found = free_times(**kwargs)
    return len(queries), len(found)


def test_queries_do_not_grow_with_the_range(where, other_esthetician, other_room, bookable):
    for offset in range(0, 31, 2):
        day = DAY + timedelta(days=offset)
        SessionFactory(start=at(day, "10:00"), end=at(day, "10:45"), room=where["room"])
        SessionFactory(
            client=bookable, start=at(day, "15:00"), end=at(day, "15:45"), room=other_room
        )
    day_queries, day_found = count_queries(date_from=DAY, date_to=DAY, minutes=45, client=bookable)
    month_queries, month_found = count_queries(
        date_from=DAY, date_to=DAY + timedelta(days=MAX_DAYS - 1), minutes=45, client=bookable
    )
    assert month_found > day_found * 10
    # 8: the days off (issue 13) are one query more than before, whatever the range.
    assert month_queries == day_queries <= 8


def test_more_than_a_month_is_refused_naming_date_to(where):
    with pytest.raises(RuleViolation) as error:
        free_times(date_from=DAY, date_to=DAY + timedelta(days=MAX_DAYS), minutes=45)
    assert error.value.field == "date_to"


@pytest.mark.parametrize("minutes", [0, 10_000])
def test_a_length_booking_refuses_is_refused_naming_minutes(where, minutes):
    with pytest.raises(RuleViolation) as error:
        one_day(minutes=minutes, **where)
    assert error.value.field == "minutes"


# What it offers, booking takes; what it hides for a clash, booking refuses --------------------
@pytest.fixture
def busy_day(where, bookable, other_bookable, other_room, other_device):
    """Other bookings over the esthetician, room and device on DAY."""
    SessionFactory(start=at(DAY, "09:30"), end=at(DAY, "10:15"), esthetician=where["esthetician"])
    SessionFactory(start=at(DAY, "12:00"), end=at(DAY, "13:00"), room=where["room"])
    SessionFactory(start=at(DAY, "14:00"), end=at(DAY, "14:45"), device=where["device"])
    SessionFactory(start=at(DAY, "16:30"), end=at(DAY, "17:15"), client=bookable)
    return where


def book(client, where, start, minutes=45):
    """Try a booking and roll it back, so each try sees the same day."""
    with transaction.atomic():
        session = session_book(
            client=client, start=start, by=where["esthetician"], minutes=minutes, **where
        )
        transaction.set_rollback(True)
    return session


def test_every_offered_time_can_be_booked(busy_day, other_bookable):
    found = one_day(minutes=45, client=other_bookable, **busy_day)
    assert len(found) > 10
    for free in found:
        book(other_bookable, busy_day, free.start)


def test_every_time_left_out_for_a_clash_is_refused_by_booking(busy_day, other_bookable):
    offered = set(starts(one_day(minutes=45, client=other_bookable, **busy_day)))
    hidden = [t for t in grid("09:00", "17:15") if t not in offered]
    assert len(hidden) > 5
    for hh_mm in hidden:
        with pytest.raises(BookingClash):
            book(other_bookable, busy_day, at(DAY, hh_mm))


def test_a_slot_across_the_spring_gap_is_bookable_for_its_real_length(night_shift, bookable):
    across = next(f for f in one_day(SPRING, minutes=90, **night_shift) if starts([f]) == ["01:30"])
    session = session_book(
        client=bookable,
        start=across.start,
        by=night_shift["esthetician"],
        minutes=90,
        **night_shift,
    )
    assert session.end.astimezone(UTC) == across.end.astimezone(UTC)
