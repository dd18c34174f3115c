"""Booking: one session, or a whole series in one transaction (all or nothing)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from clients.models import Client
from clients.selectors import client_eligibility
from clinic.errors import BookingClash, Conflict, NotEligible, RuleViolation
from clinic.roles import Role
from protocols.models import Plan
from protocols.rules import spread_evenly, window_days
from sessions_app.availability import Clash, Diary, local_datetime
from sessions_app.db import resource_of_constraint
from sessions_app.models import (
    Device,
    Room,
    Session,
)
from sessions_app.reminders import (
    reminders_plan_booking,
)

DEFAULT_SESSION_MINUTES = 45


# Checks shared by every booking ------------------------------------------------
def check_bookable(
    *, client: Client, esthetician, room: Room, device: Device, at: datetime
) -> None:
    """The eligibility gate and the resources' own state (SPEC: booking asks the one
    eligibility selector; a device out of service cannot be booked)."""
    if esthetician.role != Role.ESTHETICIAN or not esthetician.is_active:
        raise RuleViolation(f"{esthetician} is not an esthetician.", field="esthetician")
    if not room.is_active:
        raise RuleViolation(f"{room} is not in use.", field="room")
    if not device.in_service:
        raise RuleViolation(f"{device} is out of service.", field="device")
    eligibility = client_eligibility(client=client, at=at)
    if eligibility.outcome != "eligible":
        raise NotEligible(eligibility.outcome, eligibility.reasons)


def clash_error(clashes: Sequence[Clash]) -> BookingClash:
    what = "; ".join(c.message for c in clashes)
    return BookingClash(f"The slot is taken: {what}", [c.as_dict() for c in clashes])


def _insert(sessions: list[Session], diary_args: dict) -> list[Session]:
    """Insert under the database's own guard: on PostgreSQL an exclusion constraint
    refuses an overlap that a concurrent booking committed after our check."""
    try:
        with transaction.atomic():
            return Session.objects.bulk_create(sessions)
    except IntegrityError as exc:
        resource = resource_of_constraint(
            getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        )
        if resource is None:
            raise
        # Someone else just took it: say who, from a fresh look at the diary.
        diary = Diary(**diary_args)
        clashes = [c for s in sessions for c in diary.clashes(s.start, s.end)]
        if clashes:
            raise clash_error(clashes) from exc
        raise BookingClash(
            f"The {resource} was booked by someone else at the same moment. Nothing was booked.",
            [{"resource": resource, "session": None, "message": "Booked concurrently."}],
        ) from exc


# One session ---------------------------------------------------------------------
@transaction.atomic
def session_book(
    *,
    client: Client,
    esthetician,
    room: Room,
    device: Device,
    start: datetime,
    by,
    kind: str = Session.Kind.SINGLE,
    plan: Plan | None = None,
    minutes: int | None = None,
) -> Session:
    """Book one session: eligible client, free esthetician, room, device and client."""
    now = timezone.now()
    check_bookable(client=client, esthetician=esthetician, room=room, device=device, at=now)
    if plan is not None and plan.client_id != client.pk:
        raise RuleViolation("The plan belongs to another client.", field="plan")
    minutes = minutes or (plan.session_minutes if plan else DEFAULT_SESSION_MINUTES)
    end = start + timedelta(minutes=minutes)
    diary_args = dict(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        span_start=start,
        span_end=end,
    )
    diary = Diary(**diary_args)
    problems = diary.problems(start, end, now=now)
    if problems:
        raise RuleViolation(" ".join(problems), field="start")
    clashes = diary.clashes(start, end)
    if clashes:
        raise clash_error(clashes)
    session = Session(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        plan=plan,
        start=start,
        end=end,
        kind=kind,
        booked_by=by,
    )
    (session,) = _insert([session], diary_args)
    reminders_plan_booking(sessions=[session], at=now)
    return session


# A whole series ------------------------------------------------------------------
@dataclass
class ProposedSession:
    start: datetime
    end: datetime
    clashes: list[Clash] = field(default_factory=list)
    alternative: datetime | None = None

    @property
    def is_free(self) -> bool:
        return not self.clashes

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "free": self.is_free,
            "clashes": [c.as_dict() for c in self.clashes],
            "alternative": self.alternative.isoformat() if self.alternative else None,
        }


@dataclass
class SeriesProposal:
    plan: Plan
    sessions: list[ProposedSession]
    diary_args: dict

    @property
    def clashing(self) -> list[ProposedSession]:
        return [s for s in self.sessions if not s.is_free]


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
    now: datetime | None = None,
) -> SeriesProposal:
    """Where the plan's sessions would fall: spread evenly over the protocol's window on
    the given weekdays at ``at`` clinic time, one a day at most, each marked with what
    clashes and the nearest free alternative. Books nothing."""
    now = now or timezone.now()
    weekdays = sorted(set(weekdays))
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise RuleViolation(
            "Choose at least one weekday (Monday = 0 … Sunday = 6).", field="weekdays"
        )
    sessions = plan.sessions_min if sessions is None else sessions
    weeks = plan.weeks_max if weeks is None else weeks
    if not plan.sessions_min <= sessions <= plan.sessions_max:
        raise RuleViolation(
            f"This plan has {plan.sessions_min}–{plan.sessions_max} sessions, not {sessions}.",
            field="sessions",
        )
    if not plan.weeks_min <= weeks <= plan.weeks_max:
        raise RuleViolation(
            f"This plan runs {plan.weeks_min}–{plan.weeks_max} weeks, not {weeks}.",
            field="weeks",
        )
    length = timedelta(minutes=plan.session_minutes)
    window_start = local_datetime(plan.start_date, time.min)
    window_end = local_datetime(plan.start_date + timedelta(weeks=weeks), time.min)
    margin = timedelta(days=8)
    diary_args = dict(
        client=plan.client,
        esthetician=esthetician,
        room=room,
        device=device,
        span_start=window_start - margin,
        span_end=window_end + margin,
    )
    diary = Diary(**diary_args)
    days = [
        d
        for d in window_days(plan.start_date, weeks, weekdays, diary.closed)
        if local_datetime(d, at) >= now
    ]
    if len(days) < sessions:
        names = ", ".join(f"{d:%A}s" for d in (date(2024, 1, 1 + w) for w in weekdays))
        raise RuleViolation(
            f"{sessions} sessions need {sessions} open days, but {names} over {weeks} weeks "
            f"from {plan.start_date:%b %-d} give {len(days)}. Choose more weekdays.",
            field="weekdays",
        )
    chosen = spread_evenly(days, sessions)
    taken_days = set(chosen)
    proposed = []
    for day in chosen:
        start = local_datetime(day, at)
        slot = ProposedSession(start=start, end=start + length)
        problems = diary.problems(slot.start, slot.end, now=now)
        if problems:
            raise RuleViolation(" ".join(problems), field="time")
        slot.clashes = diary.clashes(slot.start, slot.end, one_per_day=True)
        if slot.clashes:
            slot.alternative = diary.nearest_free(
                slot.start, length, now=now, avoid_days=taken_days
            )
        proposed.append(slot)
    return SeriesProposal(plan=plan, sessions=proposed, diary_args=diary_args)


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
) -> list[Session]:
    """Book every session of the plan in one transaction, all or nothing (SPEC: a
    series is booked in one go; where a wished slot is taken, nothing is booked and
    every clash is named with the nearest free alternative)."""
    now = timezone.now()
    check_bookable(client=plan.client, esthetician=esthetician, room=room, device=device, at=now)
    if plan.sessions.live().exists():
        raise Conflict("This plan's series is already booked.", field="plan")
    proposal = series_propose(
        plan=plan,
        esthetician=esthetician,
        room=room,
        device=device,
        at=at,
        weekdays=weekdays,
        sessions=sessions,
        weeks=weeks,
        now=now,
    )
    if proposal.clashing:
        clashes = []
        for slot in proposal.clashing:
            for clash in slot.clashes:
                clashes.append(
                    {
                        **clash.as_dict(),
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
    sessions = _insert(rows, proposal.diary_args)
    reminders_plan_booking(sessions=sessions, plan=plan, at=now)
    return sessions
