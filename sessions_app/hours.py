"""What a change of hours would leave outside them (issue 13: "Changing hours or closing a
day lists the sessions that would fall outside, before saving, with links to move them").

A change (a shift saved or removed, a day closed, a day off) is described as an
``HoursChange`` and asked of ``sessions_outside`` before it is saved. The answer is the
booked sessions from now on that the booking rules (``Diary.problems``, the one place
that decides whether a time is inside the hours) would refuse after the change. A session
already outside the shifts before a change of shifts stays off the list (the change does
not move it); a day closed or taken off lists every session booked on it.
Nothing is written; the pages show the list with a "Save anyway" step, the API answers
it beside what it saved (or instead, with ``preview``).

Sessions already booked are never moved or cancelled by a change of hours: that is a
conversation with the client, so staff move them one by one from the list.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from clinic.clinic_time import day_start, local
from clinic.models import User
from sessions_app.availability import Diaries, Shift
from sessions_app.models import Session, WorkingHours


@dataclass(frozen=True)
class Outside:
    """A booked session the change would leave outside the hours, and why, in words."""

    session: Session
    reason: str


@dataclass
class HoursChange:
    """The hours after a change, where they differ: the whole list of shifts of each
    (esthetician, weekday) it touches, the days it closes and the days off it adds."""

    shifts: dict[tuple[int, int], list[Shift]] = field(default_factory=dict)
    closed: dict[date, str] = field(default_factory=dict)
    days_off: dict[tuple[int, date], str] = field(default_factory=dict)


def _shifts_without(esthetician_id: int, weekday: int, pk: int | None) -> list[Shift]:
    rows = WorkingHours.objects.filter(esthetician_id=esthetician_id, weekday=weekday)
    if pk is not None:
        rows = rows.exclude(pk=pk)
    return list(rows.order_by("starts_at").values_list("starts_at", "ends_at"))


def shift_saved(
    *,
    working_hours: WorkingHours | None = None,
    esthetician: User,
    weekday: int,
    starts_at: time,
    ends_at: time,
) -> HoursChange:
    """A shift added (``working_hours=None``) or changed, perhaps to another day or
    esthetician: the day it leaves loses it, the day it goes to gains it."""
    pk = working_hours.pk if working_hours is not None else None
    change = HoursChange()
    if working_hours is not None and pk is not None:
        old = (working_hours.esthetician_id, working_hours.weekday)
        change.shifts[old] = _shifts_without(*old, pk)
    shifts = _shifts_without(esthetician.pk, weekday, pk) + [(starts_at, ends_at)]
    change.shifts[(esthetician.pk, weekday)] = sorted(shifts)
    return change


def shift_removed(*, working_hours: WorkingHours) -> HoursChange:
    key = (working_hours.esthetician_id, working_hours.weekday)
    return HoursChange(shifts={key: _shifts_without(*key, working_hours.pk)})


def day_closed(*, date: date, reason: str = "") -> HoursChange:
    return HoursChange(closed={date: reason})


def day_off_added(*, esthetician: User, date: date, reason: str = "") -> HoursChange:
    return HoursChange(days_off={(esthetician.pk, date): reason})


def _candidates(change: HoursChange, now: datetime):
    """The booked sessions from ``now`` on that the change can touch (a superset)."""
    scope = Q()
    people = {person for person, _weekday in change.shifts}
    if people:
        scope |= Q(esthetician_id__in=sorted(people))
    for day in change.closed:
        scope |= Q(start__gte=day_start(day), start__lt=day_start(day + timedelta(days=1)))
    for person, day in change.days_off:
        scope |= Q(
            esthetician_id=person,
            start__gte=day_start(day),
            start__lt=day_start(day + timedelta(days=1)),
        )
    if not scope:
        return []
    return list(
        Session.objects.filter(scope, status=Session.Status.BOOKED, start__gte=now)
        .select_related("client", "esthetician", "room", "device")
        .order_by("start", "id")
    )


def _after(loaded: Diaries, change: HoursChange) -> Diaries:
    """The loaded hours with the change applied (in memory, nothing saved)."""
    after = copy.copy(loaded)
    after.hours = {person: dict(weekdays) for person, weekdays in loaded.hours.items()}
    for (person, weekday), shifts in change.shifts.items():
        after.hours.setdefault(person, {})[weekday] = list(shifts)
    after.closed = {**loaded.closed, **change.closed}
    after.days_off = {person: dict(days) for person, days in loaded.days_off.items()}
    for (person, day), reason in change.days_off.items():
        after.days_off.setdefault(person, {})[day] = reason
    return after


def sessions_outside(change: HoursChange, *, at: datetime | None = None) -> list[Outside]:
    """The booked sessions from ``at`` (now) on that ``change`` leaves outside the hours
    (see the module's docstring), soonest first. Two queries, however many
    sessions."""
    now = at or timezone.now()
    sessions = _candidates(change, now)
    if not sessions:
        return []
    days = [local(s.start).date() for s in sessions]
    before = Diaries(
        estheticians={s.esthetician for s in sessions},
        first=min(days),
        last=max(days),
        sessions=False,
    )
    after = _after(before, change)
    found = []
    for session in sessions:
        resources = dict(
            client=None, esthetician=session.esthetician, room=session.room, device=session.device
        )
        day = local(session.start).date()
        shut = day in change.closed or (session.esthetician_id, day) in change.days_off
        # Already outside (say, booked before the shift was shortened): a change of shifts
        # does not move it, so it is not listed again. A day closed or taken off lists
        # every session booked on it, whatever else was wrong with it.
        if not shut and before.diary(**resources).problems(session.start, session.end, now=now):
            continue
        problems = after.diary(**resources).problems(session.start, session.end, now=now)
        if problems:
            found.append(Outside(session, problems[0]))
    return found
