"""Booking a whole series: the preview with every problem on its own row, and the
booking of every session in one transaction, all or nothing (SPEC; issue 13, "Booking
without back and forth"). One session and the checks every booking shares are
``sessions_app.booking``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clinic.clinic_time import (
    day_label,
    day_start,
    local,
    local_datetime,
    local_datetime_or_next,
    localdate,
    plus,
)
from clinic.errors import BookingClash, Conflict, RuleViolation
from protocols.models import Plan
from protocols.rules import spread_evenly, window_days
from sessions_app.availability import Clash
from sessions_app.booking import (
    check_bookable,
    day_name,
    just_booked,
    plan_for_booking,
    plan_label,
    span,
)
from sessions_app.models import Device, Room, Session
from sessions_app.reminders import reminders_plan_booking
from sessions_app.series import rebook_refusal, sessions_to_rebook
from sessions_app.slots import SlotGuard

__all__ = ["ProposedSession", "SeriesProposal", "series_book", "series_propose"]


# A whole series ------------------------------------------------------------------
@dataclass
class ProposedSession:
    """One row of a series preview: where the session would be, and every problem with
    it on its own row (issue 13): ``problems`` make the time impossible whatever else is
    booked (closed day, day off, outside hours, past, outside the plan), ``clashes`` are
    other bookings holding the same people or things. ``day`` is the day the series put
    it on, the key a move names; ``moved`` when staff chose another time for it."""

    start: datetime
    end: datetime
    day: date
    moved: bool = False
    problems: list[str] = field(default_factory=list)
    clashes: list[Clash] = field(default_factory=list)
    alternative: datetime | None = None

    @property
    def is_free(self) -> bool:
        return not self.problems and not self.clashes

    def as_dict(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "moved": self.moved,
            "free": self.is_free,
            "problems": list(self.problems),
            "clashes": [c.as_dict() for c in self.clashes],
            "alternative": self.alternative.isoformat() if self.alternative else None,
        }


@dataclass
class SeriesProposal:
    plan: Plan
    sessions: list[ProposedSession]
    guard: SlotGuard
    rebook: bool = False

    @property
    def clashing(self) -> list[ProposedSession]:
        """Rows another booking takes (409 when booked)."""
        return [s for s in self.sessions if s.clashes]

    @property
    def with_problems(self) -> list[ProposedSession]:
        """Rows that cannot be booked whatever else is booked (400 when booked)."""
        return [s for s in self.sessions if s.problems]

    @property
    def not_free(self) -> list[ProposedSession]:
        return [s for s in self.sessions if not s.is_free]


def _series_days(*, plan, weeks, weekdays, diary, at, now, rebook) -> list[date]:
    """The days a series may fall on: the weekdays asked, within the window, never a
    closed day or one of the esthetician's days off, nor a day whose ``at`` has passed.
    Rebooking (issue 13) looks from today to the end of the plan's window and leaves out
    the days the client already has a session."""
    skipped = set(diary.closed) | set(diary.days_off)
    if rebook:
        first = max(plan.start_date, localdate(now))
        span_weeks = -(-(plan.end_date - first).days // 7)
        client_days = {
            day
            for day, booked in diary.by_day.items()
            if any(s.client_id == plan.client_id for s in booked)
        }
        candidates = [
            d
            for d in window_days(first, span_weeks, weekdays, skipped)
            if d < plan.end_date and d not in client_days
        ]
    else:
        candidates = window_days(plan.start_date, weeks, weekdays, skipped)
    # A day whose ``at`` the clocks skip stays in: it is marked on its row if the series
    # lands on it.
    return [d for d in candidates if local_datetime_or_next(d, at) >= now]


def _wished_start(day: date, at: time) -> tuple[datetime, list[str]]:
    try:
        return local_datetime(day, at, field="time"), []
    except RuleViolation as error:  # a time the clocks skip that night
        return local_datetime_or_next(day, at), [error.message]


def series_propose(
    *,
    plan: Plan,
    esthetician,
    room: Room,
    device: Device,
    at: time,
    weekdays: Iterable[int],
    sessions: int | None = None,
    weeks: int | None = None,
    moves: Mapping[date, datetime] | None = None,
    rebook: bool = False,
    now: datetime | None = None,
) -> SeriesProposal:
    """Where the plan's sessions would fall: spread evenly over the protocol's window on
    the given weekdays at ``at`` clinic time, one a day at most, never on a closed day or
    a day off. Every row is marked with all that is wrong with it and, if anything is, the
    nearest free time in the plan's window (issue 13). Books nothing.

    ``moves``: the day the series put a session on → the start staff chose for it
    instead; the other sessions stay where they are. A day no session falls on is a
    ``RuleViolation`` on ``moves``.

    ``rebook``: place the sessions that remain to rebook after cancellations
    (``sessions_app.series.sessions_to_rebook``) from today to the end of the plan's
    window, beside the sessions it already has."""
    now = now or timezone.now()
    moves = dict(moves or {})
    weekdays = sorted(set(weekdays))
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise RuleViolation(
            "Choose at least one weekday (Monday = 0 … Sunday = 6).", field="weekdays"
        )
    if rebook:
        remaining = sessions_to_rebook(plan)
        if remaining == 0:
            raise Conflict(f"{plan_label(plan)} has no cancelled sessions to rebook.", field="plan")
        refusal = rebook_refusal(plan, today=localdate(now))
        if refusal:  # the plan's window is over: nowhere left to put them
            raise Conflict(refusal, field="plan")
        sessions = remaining if sessions is None else sessions
        if not 1 <= sessions <= remaining:
            raise RuleViolation(
                f"{span(1, remaining)} sessions remain to rebook, not {sessions}.",
                field="sessions",
            )
        weeks = plan.weeks_max
    else:
        sessions = plan.sessions_min if sessions is None else sessions
        weeks = plan.weeks_max if weeks is None else weeks
        if not plan.sessions_min <= sessions <= plan.sessions_max:
            raise RuleViolation(
                f"This plan has {span(plan.sessions_min, plan.sessions_max)} sessions, "
                f"not {sessions}.",
                field="sessions",
            )
        if not plan.weeks_min <= weeks <= plan.weeks_max:
            raise RuleViolation(
                f"This plan runs {span(plan.weeks_min, plan.weeks_max)} weeks, not {weeks}.",
                field="weeks",
            )
    length = timedelta(minutes=plan.session_minutes)
    margin = timedelta(days=8)
    # The whole plan window (moves and nearest free times may use all of it), and more.
    guard = SlotGuard(
        client=plan.client,
        esthetician=esthetician,
        room=room,
        device=device,
        span_start=day_start(plan.start_date) - margin,
        span_end=day_start(plan.end_date) + margin,
    )
    diary = guard.diary
    days = _series_days(
        plan=plan, weeks=weeks, weekdays=weekdays, diary=diary, at=at, now=now, rebook=rebook
    )
    if len(days) < sessions:
        names = ", ".join(f"{d:%A}s" for d in (date(2024, 1, 1 + w) for w in weekdays))
        until = f"to {day_name(plan.last_day)}" if rebook else f"over {weeks} weeks"
        begin = "today" if rebook else f"{plan.start_date:%b %-d}"
        # Rebooking may also book fewer than remain, but not none.
        fewer = " Rebook fewer sessions, or choose more weekdays." if rebook and days else ""
        raise RuleViolation(
            f"{sessions} sessions need {sessions} open days, but {names} {until} "
            f"from {begin} give {len(days)}.{fewer or ' Choose more weekdays.'}",
            field="weekdays",
        )
    chosen = spread_evenly(days, sessions)
    unknown = sorted(set(moves) - set(chosen))
    if unknown:
        raise RuleViolation(
            "No session of the series falls on "
            f"{', '.join(day_name(d) for d in unknown)}: preview again and move one of "
            "the days it shows.",
            field="moves",
        )
    rows = []
    for day in chosen:
        if day in moves:
            start, problems = local(moves[day]), []
        else:
            start, problems = _wished_start(day, at)
        rows.append(
            ProposedSession(
                start=start,
                end=plus(start, length),
                day=day,
                moved=day in moves,
                problems=problems,
            )
        )
    _mark(rows, plan=plan, diary=diary, length=length, now=now)
    rows.sort(key=lambda row: (row.start, row.day))
    return SeriesProposal(plan=plan, sessions=rows, guard=guard, rebook=rebook)


def _mark(rows: list[ProposedSession], *, plan: Plan, diary, length, now) -> None:
    """Every problem of every row, each on its own row, then the nearest free time for
    each row that is not free (never on a day another row holds, always in the plan)."""
    local_days = [localdate(row.start) for row in rows]
    for number, row in enumerate(rows):
        day = local_days[number]
        skipped_time = bool(row.problems)  # the clocks skip the wished time that night
        if not plan.start_date <= day < plan.end_date:
            row.problems.append(
                f"{day_label(row.start)} is outside {plan_label(plan)}, which runs "
                f"{day_name(plan.start_date)} to {day_name(plan.last_day)}."
            )
        if day in local_days[:number] + local_days[number + 1 :]:
            row.problems.append(
                f"Another session of this series is on {day_label(row.start)}; a client "
                "is never booked twice on one day."
            )
        if not skipped_time:
            row.problems.extend(diary.problems(row.start, row.end, now=now))
        row.clashes = diary.clashes(row.start, row.end, one_per_day=True)
    for number, row in enumerate(rows):
        if row.is_free:
            continue
        others = set(local_days[:number] + local_days[number + 1 :])
        row.alternative = diary.nearest_free(
            row.start,
            length,
            now=now,
            avoid_days=others,
            first_day=plan.start_date,
            last_day=plan.last_day,
        )


@transaction.atomic
def series_book(
    *,
    plan: Plan,
    esthetician,
    room: Room,
    device: Device,
    at: time,
    weekdays: Iterable[int],
    by,
    sessions: int | None = None,
    weeks: int | None = None,
    moves: Mapping[date, datetime] | None = None,
    rebook: bool = False,
) -> list[Session]:
    """Book every session of the plan in one transaction, all or nothing (SPEC: a
    series is booked in one go; where a wished slot is taken, nothing is booked and
    every clash is named with the nearest free alternative). A row that cannot be booked
    at all (closed, day off, outside hours) is a 400 naming every such row.

    ``moves`` and ``rebook`` as in ``series_propose``: rebooking adds the sessions that
    remain after cancellations to a plan that already has sessions."""
    now = timezone.now()
    plan = plan_for_booking(plan)
    check_bookable(client=plan.client, esthetician=esthetician, room=room, device=device, at=now)
    if not rebook and plan.sessions.live().exists():
        raise Conflict(
            f"{plan_label(plan)} is already booked; its sessions are on the client's page.",
            field="plan",
        )
    proposal = series_propose(
        plan=plan,
        esthetician=esthetician,
        room=room,
        device=device,
        at=at,
        weekdays=weekdays,
        sessions=sessions,
        weeks=weeks,
        moves=moves,
        rebook=rebook,
        now=now,
    )
    if proposal.with_problems:
        rows = proposal.with_problems
        moved = any(row.moved for row in rows)
        raise RuleViolation(
            f"{len(rows)} of {len(proposal.sessions)} sessions cannot be booked there: "
            + " ".join(problem for row in rows for problem in row.problems)
            + " Nothing was booked.",
            field="moves" if moved else "time",
        )
    if proposal.clashing:
        clashes = []
        for slot in proposal.clashing:
            for clash in slot.clashes:
                clashes.append(
                    {
                        **clash.as_dict(),
                        "day": slot.day.isoformat(),
                        "wished_start": slot.start.isoformat(),
                        "alternative": slot.alternative.isoformat() if slot.alternative else None,
                    }
                )
        count = len(proposal.clashing)
        raise BookingClash(
            f"{count} of {len(proposal.sessions)} sessions clash. Nothing was booked.", clashes
        )
    rows = [
        Session(
            client=plan.client,
            esthetician=esthetician,
            room=room,
            device=device,
            plan=plan,
            start=slot.start,
            end=slot.end,
            kind=Session.Kind.SERIES,
            booked_by=by,
        )
        for slot in proposal.sessions
    ]
    sessions = proposal.guard.write(
        lambda: Session.objects.bulk_create(rows),
        slots=[(slot.start, slot.end) for slot in proposal.sessions],
        one_per_day=True,
    )
    reminders_plan_booking(sessions=sessions, plan=plan, at=now)
    just_booked(sessions)
    return sessions
