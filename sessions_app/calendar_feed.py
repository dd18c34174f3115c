"""The time grid's feed (issue 13, "Time grid"): the sessions of some clinic days placed
by clinic wall time, one column per esthetician or per room, with the time nobody works
shaded and the sessions outside hours flagged.

Times are clinic-local wall times without an offset (``2027-01-05T10:00:00``): the
calendar in the browser works in the browser's own zone, and a wall time is what it
shows as is, wherever the browser is (RECIPES, EventCalendar pitfall). A day on which the
clocks change is still laid out by its wall clock.

Everything is read in a fixed number of queries however many sessions, estheticians or
days: the sessions with what their eligibility badges need (``selectors``), and the
shifts, days off and closed days from ``availability.Diaries``, where booking reads them
too. Whether a session is outside hours is ``Diary.problems``, the rule booking applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone

from clients.selectors import eligibility_prefetches
from clinic import dataversion
from clinic.clinic_time import hhmm, local, localdate
from clinic.selectors import active_estheticians
from sessions_app import selectors
from sessions_app.availability import Diaries
from sessions_app.badges import eligibility_by_client, eligibility_valid_until
from sessions_app.models import Room, Session

BY_ESTHETICIAN, BY_ROOM = "esthetician", "room"
GROUPINGS = (BY_ESTHETICIAN, BY_ROOM)
# A week view and a little more; the grid never asks for more than one page's days.
MAX_DAYS = 14
# The grid's rows when nobody shown has hours (and nothing is booked): a usual day.
DEFAULT_OPENING = (time(9), time(18))
# ``Diary.problems`` refuses a time before ``now``; the flag is about hours, not the past.
LONG_AGO = datetime(1900, 1, 1, tzinfo=UTC)

ELIGIBILITY_LABELS = {
    "eligible": "Eligible",
    "needs_clearance": "Needs clearance",
    "ineligible": "Ineligible",
    "screening_required": "Screening required",
}


def wall(moment: datetime) -> str:
    """An instant as the clinic's clocks show it, without an offset."""
    return local(moment).replace(tzinfo=None).isoformat(timespec="seconds")


def _day_wall(day: date, at: time | None = None) -> str:
    return datetime.combine(day, at or time.min).isoformat(timespec="seconds")


def _staff_name(user) -> str:
    return user.get_full_name() or user.username


def _estheticians(esthetician) -> list:
    if esthetician is not None:
        return [esthetician]
    return list(active_estheticians().order_by("first_name", "last_name", "username"))


def _sessions(first: date, last: date, estheticians: Sequence | None) -> list[Session]:
    queryset = (
        selectors.sessions_between(first, last + timedelta(days=1))
        .live()
        .prefetch_related(*eligibility_prefetches("client__"))
    )
    if estheticians is not None:
        queryset = queryset.filter(esthetician__in=[e.pk for e in estheticians])
    return list(queryset)


def _rooms(sessions: Iterable[Session]) -> list[Room]:
    """Rooms in use, and any other room a shown session is in (nothing disappears)."""
    used = {s.room_id for s in sessions}
    return list(Room.objects.filter(Q(is_active=True) | Q(pk__in=used)).order_by("name"))


def _session_event(
    session: Session, *, eligibility: str, diaries: Diaries, by: str, can_book: bool, now
) -> dict:
    diary = diaries.diary(
        client=None, esthetician=session.esthetician, room=session.room, device=session.device
    )
    # The booking rule, with "in the past" taken out: closed day, day off, outside hours.
    outside = diary.problems(session.start, session.end, now=LONG_AGO)
    confirmed = ""
    if session.client_confirmed_at:
        at = formats.date_format(local(session.client_confirmed_at), "M j, g:i A")
        confirmed = f"Client confirmed {at}"
    movable = session.status == Session.Status.BOOKED and session.start > now and can_book
    resource = session.esthetician_id if by == BY_ESTHETICIAN else session.room_id
    classes = ["session", f"status-{session.status}", f"eligibility-{eligibility}"]
    if outside:
        classes.append("outside-hours")
    return {
        "id": str(session.pk),
        "resourceIds": [str(resource)],
        "start": wall(session.start),
        "end": wall(session.end),
        "title": session.client.full_name,
        "editable": movable,
        "classNames": classes,
        "extendedProps": {
            "type": "session",
            "session": session.pk,
            "url": reverse("sessions:detail", args=[session.pk]),
            "time": f"{hhmm(session.start)}–{hhmm(session.end)}",
            "client": session.client.full_name,
            "status": session.status,
            "statusLabel": session.get_status_display(),
            "eligibility": eligibility,
            "eligibilityLabel": ELIGIBILITY_LABELS.get(eligibility, eligibility),
            "confirmed": confirmed,
            "bookedOnline": session.booked_online,
            "esthetician": session.esthetician_id,
            "estheticianName": _staff_name(session.esthetician),
            "room": session.room_id,
            "roomName": session.room.name,
            "device": f"{session.device.name} {session.device.serial_number}",
            "outsideHours": " ".join(outside),
        },
    }


def _background(
    resource_ids: list[str], day: date, start: time | None, end: time | None, label: str, kind: str
) -> dict:
    """Shaded time on ``day`` from ``start`` to ``end`` (None: the day's start or end)."""
    stop = _day_wall(day + timedelta(days=1)) if end is None else _day_wall(day, end)
    return {
        "id": f"{kind}-{'-'.join(resource_ids)}-{day.isoformat()}-{start or '0'}",
        "resourceIds": resource_ids,
        "start": _day_wall(day, start),
        "end": stop,
        "display": "background",
        "title": label,
        "classNames": [kind],
        "extendedProps": {"type": kind, "label": label},
    }


def _not_working(estheticians: Sequence, days: Sequence[date], diaries: Diaries) -> list[dict]:
    """Per esthetician and day: the time outside their shifts, breaks between shifts, their
    days off (with the reason) and the weekdays they do not work."""
    shaded = []
    for esthetician in estheticians:
        ids = [str(esthetician.pk)]
        for day in days:
            if day in diaries.closed:
                continue  # the clinic's closure is shaded for everyone at once
            days_off = diaries.days_off.get(esthetician.pk, {})
            if day in days_off:
                reason = days_off[day]
                label = f"{_staff_name(esthetician)}'s day off" + (f": {reason}" if reason else "")
                shaded.append(_background(ids, day, None, None, label, "day-off"))
                continue
            # Every shift of that day (a lunch break makes two): never assume one.
            shifts = diaries.shifts(esthetician.pk, day)
            if not shifts:
                label = f"{_staff_name(esthetician)} does not work on {day:%A}s"
                shaded.append(_background(ids, day, None, None, label, "day-off"))
                continue
            shaded.append(_background(ids, day, None, shifts[0][0], "Before hours", "off-hours"))
            for (_, ends), (starts, _) in zip(shifts, shifts[1:], strict=False):
                if starts > ends:
                    shaded.append(_background(ids, day, ends, starts, "Break", "off-hours"))
            shaded.append(_background(ids, day, shifts[-1][1], None, "After hours", "off-hours"))
    return shaded


def _closed(resource_ids: list[str], days: Sequence[date], diaries: Diaries) -> list[dict]:
    shaded = []
    for day in days:
        if day in diaries.closed:
            reason = diaries.closed[day]
            label = f"Clinic closed: {reason}" if reason else "Clinic closed"
            shaded.append(_background(resource_ids, day, None, None, label, "closed-day"))
    return shaded


def _rows(
    estheticians: Sequence, days: Sequence[date], diaries: Diaries, sessions: Sequence[Session]
) -> tuple[str, str]:
    """The grid's first and last row: the earliest shift start and the latest shift end of
    those shown on those weekdays, widened to any session outside them, in whole hours."""
    starts, ends = [], []
    for esthetician in estheticians:
        for day in days:
            for begins, finishes in diaries.shifts(esthetician.pk, day):
                starts.append(begins)
                ends.append(finishes)
    if not starts:
        starts, ends = [DEFAULT_OPENING[0]], [DEFAULT_OPENING[1]]
    first = min(starts).hour
    last = max(ends).hour + (1 if max(ends).minute else 0)
    for session in sessions:
        begins, finishes = local(session.start), local(session.end)
        first = min(first, begins.hour)
        if finishes.date() > begins.date():
            last = 24
        else:
            last = max(last, finishes.hour + (1 if finishes.minute else 0))
    return f"{first:02d}:00:00", f"{min(last, 24):02d}:00:00"


def calendar_feed(
    *,
    first: date,
    last: date,
    user,
    by: str = BY_ESTHETICIAN,
    esthetician=None,
    now: datetime | None = None,
) -> dict:
    """The grid of the clinic days ``first`` to ``last`` (inclusive): ``resources`` (the
    columns: active estheticians, or one; or the rooms), ``events`` (the live sessions and
    the shaded time) and the rows to show (``slotMinTime``, ``slotMaxTime``). Cancelled
    sessions free their slot and are not placed; the page's list still names them.

    Kept in the page cache on the data version (issue 14) unless ``now`` is given."""
    can_book = user.can("sessions.book")
    key = (first, last, by, esthetician.pk if esthetician else None, can_book)
    if now is not None:
        return _feed(first, last, by, esthetician, can_book, now)[0]
    return dataversion.cached(
        "calendar-feed",
        (*key, localdate()),  # today: a clearance expires at midnight, with no write
        lambda: _feed(first, last, by, esthetician, can_book, timezone.now()),
    )


def _feed(first: date, last: date, by: str, esthetician, can_book: bool, now: datetime):
    """The feed, and until when it holds with no write: a screening stops being current,
    or a booked session starts (it can no longer be dragged)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    estheticians = _estheticians(esthetician)
    if by == BY_ROOM:
        sessions = _sessions(first, last, [esthetician] if esthetician else None)
        rooms = _rooms(sessions)
        resources = [{"id": str(r.pk), "title": r.name} for r in rooms]
    else:
        sessions = _sessions(first, last, estheticians)
        resources = [{"id": str(e.pk), "title": _staff_name(e)} for e in estheticians]
    booked_with = {s.esthetician_id: s.esthetician for s in sessions}
    diaries = Diaries(
        estheticians=[*estheticians, *booked_with.values()],
        first=first,
        last=last,
        sessions=False,  # only the hours, days off and closed days
    )
    eligibilities = eligibility_by_client(sessions, at=now)
    events = [
        _session_event(
            s,
            eligibility=eligibilities[s.client_id].outcome,
            diaries=diaries,
            by=by,
            can_book=can_book,
            now=now,
        )
        for s in sessions
    ]
    all_columns = [r["id"] for r in resources]
    if by == BY_ESTHETICIAN:
        events += _not_working(estheticians, days, diaries)
    if all_columns:
        events += _closed(all_columns, days, diaries)
    slot_min, slot_max = _rows(estheticians, days, diaries, sessions)
    starts = [s.start for s in sessions if s.status == Session.Status.BOOKED and s.start > now]
    until = [
        u for u in (eligibility_valid_until(eligibilities.values()), min(starts, default=None)) if u
    ]
    return {
        "by": by,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "resources": resources,
        "events": events,
        "slotMinTime": slot_min,
        "slotMaxTime": slot_max,
    }, min(until, default=None)
