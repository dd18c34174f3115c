"""Is a slot free? The one place that decides, for single bookings, series and
reschedules alike (SPEC: double booking of an esthetician, a room, a device or a
client is impossible).

A ``Diary`` loads, in a fixed number of queries, every live session that could clash
with a booking over a span, plus the esthetician's shifts (several a day, issue 13),
days off and the closed days; every check after that runs in memory, so booking a
15-session series costs no more queries than booking one. ``Diaries`` loads the same
for several estheticians, rooms and devices at once (the free-times engine,
``free_times``), and a ``Diary`` of one combination is cut from it without another
query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q

from clinic.clinic_time import (
    clinic_zone,
    day_label,
    day_start,
    hhmm,
    local,
    local_datetime,
    local_datetime_or_next,
    plus,
)
from sessions_app.models import ClosedDay, DayOff, Session, WorkingHours

# Clinic-time helpers live in clinic.clinic_time; these names stay importable from here.
__all__ = [
    "Clash",
    "Diaries",
    "Diary",
    "Shift",
    "clinic_zone",
    "day_label",
    "fits_a_shift",
    "hhmm",
    "local_datetime",
    "shifts_label",
]

SEARCH_STEP = timedelta(minutes=15)
SEARCH_DAYS = 7

# One shift: from, to, in clinic time. A weekday has a list of them, soonest first.
Shift = tuple[time, time]


def fits_a_shift(local_start: datetime, local_end: datetime, shifts: Iterable[Shift]) -> bool:
    """The rule of working hours (issue 13): a session fits when it lies wholly inside one
    shift of its day. Two shifts with a break between do not make one long shift, and a
    session never runs past midnight into the next day's hours."""
    if local_end.date() != local_start.date():
        return False
    start, end = local_start.time(), local_end.time()
    return any(starts_at <= start and end <= ends_at for starts_at, ends_at in shifts)


def shifts_label(shifts: Iterable[Shift]) -> str:
    """``09:00–13:00, 14:00–18:00``: how messages name a day's hours."""
    return ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in shifts)


@dataclass(frozen=True)
class Clash:
    resource: str
    session_id: int
    start: datetime
    end: datetime
    label: str

    @property
    def message(self) -> str:
        if self.resource == "client_day":
            return (
                f"{self.label} already has a session on {day_label(self.start)} "
                f"({hhmm(self.start)}–{hhmm(self.end)}); "
                "a client is never booked twice on one day."
            )
        # The session's id is in ``as_dict`` for programs; people read the time.
        when = f"{day_label(self.start)} {hhmm(self.start)}–{hhmm(self.end)}"
        return f"{self.label} is booked {when}."

    def as_dict(self) -> dict:
        return {
            "resource": "client" if self.resource == "client_day" else self.resource,
            "session": self.session_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "message": self.message,
        }


class Diaries:
    """The live sessions of several estheticians, rooms and devices (and one client),
    their shifts and days off and the closed days over whole local days, in four queries
    however many resources or days (``sessions=False``: only the hours, three).
    ``diary`` then cuts one resource combination's ``Diary`` out of it in memory: the
    free-times engine asks every combination this way, and a single booking is just the
    combination of one of each."""

    def __init__(
        self,
        *,
        estheticians: Iterable = (),
        rooms: Iterable = (),
        devices: Iterable = (),
        clients: Iterable = (),
        first: date,
        last: date,
        exclude: Iterable[int] = (),
        sessions: bool = True,
    ):
        self.first, self.last = first, last
        ids = {
            "esthetician_id__in": sorted({e.pk for e in estheticians}),
            "room_id__in": sorted({r.pk for r in rooms}),
            "device_id__in": sorted({d.pk for d in devices}),
            "client_id__in": sorted({c.pk for c in clients if c is not None}),
        }
        holds = Q()
        for lookup, values in ids.items():
            if values:
                holds |= Q(**{lookup: values})
        loaded = (
            Session.objects.live()
            .filter(start__lt=day_start(last + timedelta(days=1)), end__gt=day_start(first))
            .filter(holds)
            .exclude(pk__in=list(exclude))
            .only("id", "start", "end", "client_id", "esthetician_id", "room_id", "device_id")
            .order_by("start", "id")
        )
        # Every local day a session touches, so a check reads only its own days.
        self.by_day: dict[date, list[Session]] = {}
        for other in loaded if sessions else ():
            day, until = local(other.start).date(), local(other.end).date()
            while day <= until:
                self.by_day.setdefault(day, []).append(other)
                day += timedelta(days=1)
        people = ids["esthetician_id__in"]
        # esthetician -> weekday -> shifts, soonest first.
        self.hours: dict[int, dict[int, list[Shift]]] = {}
        shifts = WorkingHours.objects.filter(esthetician_id__in=people).order_by(
            "esthetician_id", "weekday", "starts_at"
        )
        for h in shifts:
            by_weekday = self.hours.setdefault(h.esthetician_id, {})
            by_weekday.setdefault(h.weekday, []).append((h.starts_at, h.ends_at))
        self.days_off: dict[int, dict[date, str]] = {}
        for off in DayOff.objects.filter(esthetician_id__in=people, date__range=(first, last)):
            self.days_off.setdefault(off.esthetician_id, {})[off.date] = off.reason
        self.closed = {
            c.date: c.reason for c in ClosedDay.objects.filter(date__range=(first, last))
        }

    def shifts(self, esthetician_id: int, day: date) -> list[Shift]:
        """The esthetician's shifts on ``day``: none on a closed day or a day off."""
        if day in self.closed or day in self.days_off.get(esthetician_id, {}):
            return []
        return self.hours.get(esthetician_id, {}).get(day.weekday(), [])

    def diary(self, *, client, esthetician, room, device) -> Diary:
        """One combination's diary, from what is loaded (no query)."""
        diary = Diary.__new__(Diary)
        diary.client, diary.esthetician, diary.room, diary.device = (
            client,
            esthetician,
            room,
            device,
        )
        diary.by_day = self.by_day
        diary.hours = self.hours.get(esthetician.pk, {})
        diary.days_off = self.days_off.get(esthetician.pk, {})
        diary.closed = self.closed
        return diary


class Diary:
    """The live sessions of one client, esthetician, room and device over a span."""

    client: object
    esthetician: object
    room: object
    device: object
    by_day: dict[date, list[Session]]
    hours: dict[int, list[Shift]]
    days_off: dict[date, str]
    closed: dict[date, str]

    def __init__(
        self,
        *,
        client,
        esthetician,
        room,
        device,
        span_start: datetime,
        span_end: datetime,
        exclude: Iterable[int] = (),
    ):
        # Widen to whole local days, so "two on one day" sees the whole day.
        loaded = Diaries(
            estheticians=[esthetician],
            rooms=[room],
            devices=[device],
            clients=[client],
            first=local(span_start).date(),
            last=local(span_end).date(),
            exclude=exclude,
        )
        self.__dict__.update(
            loaded.diary(client=client, esthetician=esthetician, room=room, device=device).__dict__
        )

    @property
    def sessions(self) -> list[Session]:
        """Every loaded session once, soonest first."""
        seen = {s.pk: s for day in sorted(self.by_day) for s in self.by_day[day]}
        return list(seen.values())

    def _near(self, start: datetime, end: datetime) -> list[Session]:
        """The loaded sessions on the local days from ``start`` to ``end``."""
        day, until = local(start).date(), local(end).date()
        if day == until:
            return self.by_day.get(day, [])
        near: dict[int, Session] = {}
        while day <= until:
            near.update((s.pk, s) for s in self.by_day.get(day, []))
            day += timedelta(days=1)
        return list(near.values())

    # Rules that make a slot impossible whatever else is booked (400) ----------
    def problems(self, start: datetime, end: datetime, *, now: datetime) -> list[str]:
        local_start = local(start)
        local_end = local(end)
        day = local_start.date()
        if start < now:
            return [f"{day_label(start)} {hhmm(start)} is in the past."]
        if day in self.closed:
            reason = f" ({self.closed[day]})" if self.closed[day] else ""
            return [f"The clinic is closed on {day_label(start)}{reason}."]
        if day in self.days_off:
            reason = f" ({self.days_off[day]})" if self.days_off[day] else ""
            return [f"{self.esthetician} is off on {day_label(start)}{reason}."]
        shifts = self.hours.get(day.weekday())
        if not shifts:
            return [f"{self.esthetician} does not work on {local_start:%A}s."]
        if not fits_a_shift(local_start, local_end, shifts):
            return [
                f"{hhmm(start)}–{hhmm(end)} on {day_label(start)} is outside "
                f"{self.esthetician}'s working hours ({shifts_label(shifts)})."
            ]
        return []

    # Other sessions holding the same people or things (409) -------------------
    def clashes(self, start: datetime, end: datetime, *, one_per_day: bool = False) -> list[Clash]:
        found: list[Clash] = []
        # Without a client (free times for anyone) only the esthetician, room and
        # device can clash.
        held = {
            "esthetician": self.esthetician,
            "room": self.room,
            "device": self.device,
            "client": self.client,
        }
        ours = {name: thing.pk for name, thing in held.items() if thing is not None}
        labels = {name: str(held[name]) for name in ours}
        day = local(start).date()
        for other in self._near(start, end):
            overlaps = other.start < end and start < other.end
            for resource, pk in ours.items():
                if overlaps and getattr(other, f"{resource}_id") == pk:
                    found.append(
                        Clash(resource, other.pk, other.start, other.end, labels[resource])
                    )
            if (
                one_per_day
                and not overlaps
                and "client" in ours
                and other.client_id == ours["client"]
                and local(other.start).date() == day
            ):
                found.append(
                    Clash("client_day", other.pk, other.start, other.end, labels["client"])
                )
        return found

    def is_free(self, start: datetime, end: datetime, *, now: datetime) -> bool:
        return not self.problems(start, end, now=now) and not self.clashes(
            start, end, one_per_day=True
        )

    def nearest_free(
        self,
        wished: datetime,
        length: timedelta,
        *,
        now: datetime,
        avoid_days: set[date],
        first_day: date | None = None,
        last_day: date | None = None,
    ) -> datetime | None:
        """The free start nearest to ``wished``: the same day first, then the days
        around it (never a day in ``avoid_days``, which the rest of a series holds, nor
        one before ``first_day`` or after ``last_day``: a plan's window)."""
        wished_local = local(wished)
        wished_day = wished_local.date()
        days = [wished_day]
        for offset in range(1, SEARCH_DAYS + 1):
            days += [wished_day + timedelta(days=offset), wished_day - timedelta(days=offset)]
        for day in days:
            if day in avoid_days:  # the wished day too, when another row holds it
                continue
            if (first_day and day < first_day) or (last_day and day > last_day):
                continue
            for start in self._starts_by_nearness(day, wished_local.time()):
                if self.is_free(start, plus(start, length), now=now):
                    return start
        return None

    def _starts_by_nearness(self, day: date, wished: time) -> list[datetime]:
        if day in self.closed or day in self.days_off:
            return []
        target = local_datetime_or_next(day, wished).astimezone(UTC)
        starts = []
        for shift_start, shift_end in self.hours.get(day.weekday(), []):
            # The clinic's own hours, not input: a time the clocks skip just moves on.
            moment = local_datetime_or_next(day, shift_start)
            last = local_datetime_or_next(day, shift_end)
            while moment < last:
                starts.append(moment)
                moment = plus(moment, SEARCH_STEP)  # real minutes, also across a DST change
        return sorted(starts, key=lambda s: (abs(s.astimezone(UTC) - target), s))
