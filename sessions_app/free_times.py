"""Free times: when a session of a given length could start (SPEC, REST API,
"availability": free times by the same rules as booking; issue 11, "Free times, one
engine").

The answer comes from the booking's own diary (``Diaries`` → ``Diary.problems`` and
``Diary.clashes``), so a time offered here is one ``session_book`` takes, and a time it
refuses is never offered. Everything is loaded in a fixed number of queries however
long the range, then checked in memory.

One free time per start and esthetician: the first room and the first device (in their
usual order) that are free with them. Offering every room-and-device combination would
repeat the same start many times over without telling staff anything more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from clinic.clinic_time import local, local_datetime_or_next, plus
from clinic.errors import RuleViolation
from clinic.models import User
from clinic.selectors import active_estheticians, is_active_esthetician
from sessions_app.availability import Diaries
from sessions_app.models import Device, Room, Session
from sessions_app.rules import session_minutes_problem

__all__ = ["MAX_DAYS", "FreeTime", "free_times", "free_times_hold_until", "range_problem"]

# A month at a time: long enough to find a boost, short enough to answer at once.
MAX_DAYS = 31
STEP_MINUTES = 15


@dataclass(frozen=True)
class FreeTime:
    start: datetime
    end: datetime
    esthetician: User
    room: Room
    device: Device


def range_problem(date_from: date, date_to: date) -> str | None:
    """What is wrong with a range of days to search, or None (a problem of ``date_to``)."""
    if date_to < date_from:
        return "The last day comes before the first day."
    if (date_to - date_from).days + 1 > MAX_DAYS:
        return f"Ask for at most {MAX_DAYS} days at a time."
    return None


def _usual_order(estheticians: list[User], client) -> list[User]:
    """Estheticians by name; a client's most recent esthetician first (issue 11: the
    client's usual esthetician first)."""
    ordered = sorted(estheticians, key=lambda e: (e.last_name, e.first_name, e.username, e.pk))
    if client is None:
        return ordered
    last = (
        Session.objects.live()
        .filter(client=client)
        .order_by("-start", "-id")
        .values_list("esthetician_id", flat=True)
        .first()
    )
    return sorted(ordered, key=lambda e: e.pk != last)


def free_times(
    *,
    date_from: date,
    date_to: date,
    minutes: int,
    esthetician=None,
    room=None,
    device=None,
    client=None,
    now: datetime | None = None,
    limit: int | None = None,
    step_minutes: int = STEP_MINUTES,
    exclude: Iterable[int] = (),
) -> list[FreeTime]:
    """Free starts for a session of ``minutes`` from ``date_from`` to ``date_to``
    (clinic days, inclusive), soonest first; among equal starts, the estheticians'
    usual order.

    The booking rules, all of them: the esthetician's shifts and days off, closed days,
    nothing in the past, no clash for the esthetician, room, device or (given) client,
    and a client never booked twice on one day. Only active estheticians, rooms in use
    and devices in service. Starts step ``step_minutes`` of real time from the start of
    a shift, so a spring-forward night has no 02:xx start and a session across the
    change lasts its real length; a wall-clock time the clocks show twice (fall back)
    is offered once, at its first occurrence, as staff and clients book it by its
    clock time.

    ``exclude``: ids of sessions that clash with nothing, as a reschedule moves the
    session itself (the diary's own ``exclude``)."""
    now = now or timezone.now()
    problem = session_minutes_problem(minutes)
    if problem:
        raise RuleViolation(problem, field="minutes")
    problem = range_problem(date_from, date_to)
    if problem:
        raise RuleViolation(problem, field="date_to")
    if esthetician is not None and not is_active_esthetician(esthetician):
        raise RuleViolation(f"{esthetician} is not an esthetician.", field="esthetician")
    if room is not None and not room.is_active:
        raise RuleViolation(f"{room} is not in use.", field="room")
    if device is not None and not device.in_service:
        raise RuleViolation(f"{device} is out of service.", field="device")
    estheticians = [esthetician] if esthetician else list(active_estheticians())
    rooms = [room] if room else list(Room.objects.filter(is_active=True))
    devices = [device] if device else list(Device.objects.filter(in_service=True))
    if not (estheticians and rooms and devices) or limit == 0:
        return []
    estheticians = _usual_order(estheticians, client)
    loaded = Diaries(
        estheticians=estheticians,
        rooms=rooms,
        devices=devices,
        clients=[client],
        # Only the days asked: no session runs past midnight (``fits_a_shift``), and one
        # booked across it is loaded with the day it starts on.
        first=date_from,
        last=date_to,
        exclude=exclude,
    )
    length = timedelta(minutes=minutes)
    step = timedelta(minutes=step_minutes)
    found: list[FreeTime] = []
    day = max(date_from, local(now).date())
    while day <= date_to:
        found.extend(_free_on(day, loaded, estheticians, rooms, devices, client, length, step, now))
        if limit is not None and len(found) >= limit:
            return found[:limit]
        day += timedelta(days=1)
    return found


def free_times_hold_until(found: list[FreeTime]) -> datetime | None:
    """Until when ``free_times``' answer holds with no write to the data: until the
    soonest start it offers passes (then that start is in the past, and with a ``limit``
    a later one may take its place). Time alone only ever takes starts away (a start
    refused for any other reason stays refused), so an answer with none holds until a
    write changes the data (None)."""
    return min((free.start for free in found), default=None)


def _free_on(day, loaded, estheticians, rooms, devices, client, length, step, now):
    """The free times of one clinic day, soonest first."""
    if day in loaded.closed:
        return []
    by_start: dict[datetime, list[FreeTime]] = {}
    for person in estheticians:
        seen_clock = set()
        # Every shift of the day (issue 13: a lunch break between two), none on a day off.
        for shift_start, shift_end in loaded.shifts(person.pk, day):
            moment = local_datetime_or_next(day, shift_start)
            last = local_datetime_or_next(day, shift_end)
            while moment < last:
                start, moment = moment, plus(moment, step)  # real minutes, also across DST
                clock = local(start).time().replace(fold=0)
                if clock in seen_clock:
                    continue
                seen_clock.add(clock)
                free = _first_free(
                    loaded, person, rooms, devices, client, start, plus(start, length), now
                )
                if free is not None:
                    by_start.setdefault(free.start, []).append(free)
    return [free for start in sorted(by_start) for free in by_start[start]]


def _first_free(loaded, person, rooms, devices, client, start, end, now) -> FreeTime | None:
    """The first room and device free with ``person`` from ``start`` to ``end``, by the
    booking diary. A room clash does not depend on the device and the other way round,
    so stepping past whichever clashed finds a free pair if there is one."""
    # Closed, a day off, outside the shifts, past: the same for every room and device.
    if loaded.diary(client=client, esthetician=person, room=rooms[0], device=devices[0]).problems(
        start, end, now=now
    ):
        return None
    r = d = 0
    while r < len(rooms) and d < len(devices):
        diary = loaded.diary(client=client, esthetician=person, room=rooms[r], device=devices[d])
        clashing = diary.clashing(start, end, one_per_day=True)
        if not clashing:
            return FreeTime(start, end, person, rooms[r], devices[d])
        if clashing & {"esthetician", "client", "client_day"}:
            return None
        if "room" in clashing:
            r += 1
        if "device" in clashing:
            d += 1
    return None
