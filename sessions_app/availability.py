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

Fast at clinic scale (issue 14): the sessions are read over the span asked only, bounded on
both ends of ``start`` (``live_sessions_over``), so years of history cost nothing; the
hours in one query; and the checks bisect each resource's day instead of walking it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import BigIntegerField, DateField, IntegerField, Q, TimeField, Value

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
from sessions_app.rules import SESSION_MINUTES

# Clinic-time helpers live in clinic.clinic_time; these names stay importable from here.
__all__ = [
    "LONGEST_SESSION",
    "Booked",
    "Clash",
    "Diaries",
    "Diary",
    "Shift",
    "clinic_zone",
    "day_label",
    "fits_a_shift",
    "hhmm",
    "live_sessions_over",
    "local_datetime",
    "shifts_label",
]

SEARCH_STEP = timedelta(minutes=15)
SEARCH_DAYS = 7
# No session lasts longer (the rule's maximum; on PostgreSQL the check constraint
# ``session_at_most_180_minutes``, migration 0010, keeps it for every row). So a session
# that ends after ``lo`` starts after ``lo - LONGEST_SESSION``: that lower bound on
# ``start`` is exact, and lets the (resource, start) and (start) indexes read only the
# span asked instead of the whole history before it (issue 14).
LONGEST_SESSION = timedelta(minutes=SESSION_MINUTES.high)
# The resources a session holds, by the name a clash gives them.
HELD = ("esthetician", "room", "device", "client")
HELD_ID = {resource: f"{resource}_id" for resource in HELD}

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


@dataclass(frozen=True, slots=True)
class Booked:
    """A live session as a diary holds it: what it holds and when. Plain values, not a
    model instance: the free-times engine loads a month of the whole clinic's."""

    pk: int
    start: datetime
    end: datetime
    client_id: int
    esthetician_id: int
    room_id: int
    device_id: int

    @property
    def id(self) -> int:
        return self.pk


def live_sessions_over(lo: datetime, hi: datetime):
    """The live sessions that overlap ``[lo, hi)``, bounded on both ends of ``start``
    (see ``LONGEST_SESSION``): the one shape of every time-range read of the diary."""
    return Session.objects.live().filter(start__lt=hi, start__gt=lo - LONGEST_SESSION, end__gt=lo)


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
    their shifts and days off and the closed days over whole local days, in two queries
    however many resources or days (``sessions=False``: only the hours, one).
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
            live_sessions_over(day_start(first), day_start(last + timedelta(days=1)))
            .filter(holds)
            .exclude(pk__in=list(exclude))
            .order_by("start", "id")
            .values_list(
                "id", "start", "end", "client_id", "esthetician_id", "room_id", "device_id"
            )
        )
        # Every local day a session touches, so a check reads only its own days; and
        # the same by resource, so a check reads only the sessions of the esthetician,
        # room, device and client it asks about (the free-times engine asks thousands).
        self.by_day: dict[date, list[Booked]] = {}
        self.held: dict[tuple[str, int, date], list[Booked]] = {}
        zone = clinic_zone()
        for row in loaded if sessions else ():
            other = Booked(*row)
            day, until = other.start.astimezone(zone).date(), other.end.astimezone(zone).date()
            while day <= until:
                self.by_day.setdefault(day, []).append(other)
                for resource in HELD:
                    key = (resource, getattr(other, HELD_ID[resource]), day)
                    self.held.setdefault(key, []).append(other)
                day += timedelta(days=1)
        # Each list is soonest first (the query's order): its starts as POSIX seconds,
        # for bisecting (numbers compare many times faster than aware datetimes).
        self.held_starts = {
            key: [s.start.timestamp() for s in held] for key, held in self.held.items()
        }
        # And the longest of each list, in seconds: a session that overlaps a slot starts
        # after the slot's start minus that (at most ``LONGEST_SESSION``; most lists hold
        # only 45-minute sessions, so the bisection looks back 45 minutes, not three hours).
        self.held_longest = {
            key: max((s.end - s.start).total_seconds() for s in held)
            for key, held in self.held.items()
        }
        self._load_hours(ids["esthetician_id__in"], first, last)

    def _load_hours(self, people: list[int], first: date, last: date) -> None:
        """The shifts of ``people``, their days off and the clinic's closed days from
        ``first`` to ``last``, in one query (a UNION ALL of the three tables, each row
        tagged with its kind): every booking and every free-times answer reads them."""
        no_day = Value(None, output_field=DateField())
        no_time = Value(None, output_field=TimeField())
        no_weekday = Value(None, output_field=IntegerField())
        shifts = (
            WorkingHours.objects.filter(esthetician_id__in=people)
            .order_by()
            .values_list(
                Value("shift"),
                "esthetician_id",
                "weekday",
                "starts_at",
                "ends_at",
                no_day,
                Value(""),
            )
        )
        days_off = (
            DayOff.objects.filter(esthetician_id__in=people, date__range=(first, last))
            .order_by()
            .values_list(
                Value("off"), "esthetician_id", no_weekday, no_time, no_time, "date", "reason"
            )
        )
        closed = (
            ClosedDay.objects.filter(date__range=(first, last))
            .order_by()
            .values_list(
                Value("closed"),
                Value(None, output_field=BigIntegerField()),
                no_weekday,
                no_time,
                no_time,
                "date",
                "reason",
            )
        )
        # esthetician -> weekday -> shifts, soonest first.
        self.hours: dict[int, dict[int, list[Shift]]] = {}
        self.days_off: dict[int, dict[date, str]] = {}
        self.closed: dict[date, str] = {}
        found = list(shifts.union(days_off, closed, all=True))
        # Soonest first within each weekday: the rows come in no order.
        for _shift, person, weekday, starts_at, ends_at, *_day in sorted(
            (row for row in found if row[0] == "shift"), key=lambda row: row[1:4]
        ):
            self.hours.setdefault(person, {}).setdefault(weekday, []).append((starts_at, ends_at))
        for kind, person, _weekday, _starts, _ends, day, reason in found:
            if kind == "off":
                self.days_off.setdefault(person, {})[day] = reason
            elif kind == "closed":
                self.closed[day] = reason

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
        diary.held = self.held
        diary.held_starts = self.held_starts
        diary.held_longest = self.held_longest
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
    by_day: dict[date, list[Booked]]
    held: dict[tuple[str, int, date], list[Booked]]
    held_starts: dict[tuple[str, int, date], list[float]]
    held_longest: dict[tuple[str, int, date], float]
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
    def sessions(self) -> list[Booked]:
        """Every loaded session once, soonest first."""
        seen = {s.pk: s for day in sorted(self.by_day) for s in self.by_day[day]}
        return list(seen.values())

    def _near(
        self,
        start: datetime,
        end: datetime,
        ours: dict[str, int],
        *,
        client_day: bool,
        day: date,
        until: date,
    ) -> list[Booked]:
        """The loaded sessions on the local days ``day`` to ``until`` (those of ``start``
        and ``end``) that hold one of ``ours`` (resource → id) and could overlap
        ``[start, end)``, soonest first; with ``client_day``, every one of the client's on
        those days. A session that overlaps starts after ``start`` minus the longest
        session of its list: a bisection of each resource's day finds them."""
        since, latest = start.timestamp(), end.timestamp()
        near: dict[int, Booked] = {}
        while day <= until:
            for resource, pk in ours.items():
                key = (resource, pk, day)
                booked = self.held.get(key)
                if not booked:
                    continue
                if client_day and resource == "client":
                    near.update((s.pk, s) for s in booked)
                    continue
                starts = self.held_starts[key]
                first = bisect_right(starts, since - self.held_longest[key])
                last = bisect_left(starts, latest, first)
                if first < last:
                    near.update((s.pk, s) for s in booked[first:last])
            day += timedelta(days=1)
        if len(near) < 2:
            return list(near.values())
        return sorted(near.values(), key=lambda s: (s.start, s.pk))

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
    def _taken(
        self, start: datetime, end: datetime, *, one_per_day: bool
    ) -> Iterator[tuple[str, Booked]]:
        """Each way ``[start, end)`` is taken, as (resource, the session holding it): the
        one rule behind ``clashes`` and ``clashing``. Without a client (free times for
        anyone) only the esthetician, room and device can clash."""
        ours = {
            name: thing.pk
            for name, thing in (
                ("esthetician", self.esthetician),
                ("room", self.room),
                ("device", self.device),
                ("client", self.client),
            )
            if thing is not None
        }
        client = ours.get("client")
        zone = clinic_zone()
        day = start.astimezone(zone).date()
        until = end.astimezone(zone).date()
        for other in self._near(start, end, ours, client_day=one_per_day, day=day, until=until):
            if other.start < end and start < other.end:
                for resource, pk in ours.items():
                    if getattr(other, HELD_ID[resource]) == pk:
                        yield resource, other
            elif (
                one_per_day
                and other.client_id == client
                and other.start.astimezone(zone).date() == day
            ):
                yield "client_day", other

    def clashes(self, start: datetime, end: datetime, *, one_per_day: bool = False) -> list[Clash]:
        """Every other session holding the same people or things, named."""
        things = {
            "esthetician": self.esthetician,
            "room": self.room,
            "device": self.device,
            "client": self.client,
            "client_day": self.client,
        }
        return [
            Clash(resource, other.pk, other.start, other.end, str(things[resource]))
            for resource, other in self._taken(start, end, one_per_day=one_per_day)
        ]

    def clashing(self, start: datetime, end: datetime, *, one_per_day: bool = False) -> set[str]:
        """Only which resources clash (``Clash.resource``), by the same rule as
        ``clashes``: the free-times engine asks this thousands of times a request."""
        return {resource for resource, _ in self._taken(start, end, one_per_day=one_per_day)}

    def is_free(self, start: datetime, end: datetime, *, now: datetime) -> bool:
        return not self.problems(start, end, now=now) and not self.clashing(
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
