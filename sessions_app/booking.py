"""Booking: one session, or a whole series in one transaction (all or nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clients import audit
from clients.models import Client
from clients.selectors import client_eligibility
from clients.services import client_check_not_erased
from clinic.clinic_time import (
    day_start,
    local_datetime,
    local_datetime_or_next,
    localdate,
    plus,
)
from clinic.errors import BookingClash, Conflict, NotEligible, RuleViolation
from clinic.selectors import is_active_esthetician
from protocols.models import Plan
from protocols.rules import spread_evenly, window_days
from sessions_app.availability import Clash
from sessions_app.models import (
    Device,
    Room,
    Session,
)
from sessions_app.reminders import (
    reminders_plan_booking,
)
from sessions_app.rules import session_minutes_problem
from sessions_app.slots import SlotGuard, clash_error

__all__ = ["check_bookable", "clash_error", "series_book", "series_propose", "session_book"]

DEFAULT_SESSION_MINUTES = 45


# Checks shared by every booking ------------------------------------------------
def check_bookable(
    *, client: Client, esthetician, room: Room, device: Device, at: datetime
) -> None:
    """The eligibility gate and the resources' own state (SPEC: booking asks the one
    eligibility selector; a device out of service cannot be booked)."""
    client_check_not_erased(client)
    if not is_active_esthetician(esthetician):
        raise RuleViolation(f"{esthetician} is not an esthetician.", field="esthetician")
    if not room.is_active:
        raise RuleViolation(f"{room} is not in use.", field="room")
    if not device.in_service:
        raise RuleViolation(f"{device} is out of service.", field="device")
    eligibility = client_eligibility(client=client, at=at)
    if eligibility.outcome != "eligible":
        # The refusal names the reasons: a read of the eligibility detail.
        audit.record_access(client=client, what="eligibility", detail="booking refused")
        raise NotEligible(eligibility.outcome, eligibility.reasons)


def plan_for_booking(plan: Plan) -> Plan:
    """The plan, re-read with its row locked until the booking commits: two bookings
    of one plan at once take turns, so the second sees what the first booked (issue 9,
    "a plan is booked once"). On SQLite the write lock taken at BEGIN does the same."""
    locked = (
        Plan.objects.select_for_update(of=("self",))
        .select_related("client", "protocol")
        .get(pk=plan.pk)
    )
    if locked.cancelled_at is not None:
        raise Conflict(f"{plan_label(locked)} was cancelled; start a new plan.", field="plan")
    return locked


def plan_label(plan: Plan) -> str:
    """``Plan 12 (35 to 50, from Mar 1, 2027)``: how messages name a plan."""
    return f"Plan {plan.pk} ({plan.protocol.name}, from {day_name(plan.start_date)})"


def span(low: int, high: int) -> str:
    """``10–15``, or ``15`` when both ends are one number."""
    return str(low) if low == high else f"{low}–{high}"


def day_name(day: date) -> str:
    """``Mar 1, 2027``: how messages name a plan's days."""
    return f"{day:%b} {day.day}, {day.year}"


def _check_plan_session(*, plan: Plan, client: Client, start: datetime) -> None:
    """A single session that names a plan follows the series rules: the plan is the
    client's, the session falls in the plan's window, and the plan never gets more
    sessions than it allows (cancelled ones do not count)."""
    if plan.client_id != client.pk:
        raise RuleViolation("The plan belongs to another client.", field="plan")
    if not plan.start_date <= localdate(start) < plan.end_date:
        raise RuleViolation(
            f"{plan_label(plan)} runs {plan.start_date:%b} {plan.start_date.day} to "
            f"{day_name(plan.last_day)}; a session of the plan must fall in that window.",
            field="start",
        )
    live = plan.sessions.live().count()
    if live >= plan.sessions_max:
        raise Conflict(
            f"{plan_label(plan)} allows {plan.sessions_max} sessions and already has {live}.",
            field="plan",
        )


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
    kind: str | None = None,
    plan: Plan | None = None,
    minutes: int | None = None,
    online: bool = False,
) -> Session:
    """Book one session: eligible client, free esthetician, room, device and client.

    ``online``: the client booked it from a signed link (issue 11), and ``by`` is None.

    A session that names a plan is a series session and keeps the series rules
    (SPEC: never two on one day for a client; issue 9: never more than the plan
    allows, inside its window). ``kind`` defaults to ``single``, or ``series`` with
    a plan."""
    now = timezone.now()
    check_bookable(client=client, esthetician=esthetician, room=room, device=device, at=now)
    if plan is not None:
        if kind not in (None, Session.Kind.SERIES):
            raise RuleViolation(
                "A session of a plan is a series session; leave out the kind or choose series.",
                field="kind",
            )
        kind = Session.Kind.SERIES
        plan = plan_for_booking(plan)
        _check_plan_session(plan=plan, client=client, start=start)
    elif kind == Session.Kind.SERIES:
        raise RuleViolation("A series session belongs to a plan: name the plan.", field="plan")
    kind = kind or Session.Kind.SINGLE
    series = kind == Session.Kind.SERIES
    if minutes is None:  # not ``minutes or``: 0 is refused below, never read as "default"
        minutes = plan.session_minutes if plan else DEFAULT_SESSION_MINUTES
    problem = session_minutes_problem(minutes)
    if problem:
        raise RuleViolation(problem, field="minutes")
    end = plus(start, timedelta(minutes=minutes))  # real minutes, also across DST
    guard = SlotGuard(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        span_start=start,
        span_end=end,
    )
    guard.check(start, end, now=now, one_per_day=series)
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
        booked_online=online,
    )
    (session,) = guard.write(
        lambda: Session.objects.bulk_create([session]), slots=[(start, end)], one_per_day=series
    )
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
    guard: SlotGuard

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
            f"This plan has {span(plan.sessions_min, plan.sessions_max)} sessions, not {sessions}.",
            field="sessions",
        )
    if not plan.weeks_min <= weeks <= plan.weeks_max:
        raise RuleViolation(
            f"This plan runs {span(plan.weeks_min, plan.weeks_max)} weeks, not {weeks}.",
            field="weeks",
        )
    length = timedelta(minutes=plan.session_minutes)
    window_start = day_start(plan.start_date)
    window_end = day_start(plan.start_date + timedelta(weeks=weeks))
    margin = timedelta(days=8)
    guard = SlotGuard(
        client=plan.client,
        esthetician=esthetician,
        room=room,
        device=device,
        span_start=window_start - margin,
        span_end=window_end + margin,
    )
    diary = guard.diary
    # Past days drop out. A day whose ``at`` the clocks skip stays in here and is
    # refused below only if the series lands on it.
    days = [
        d
        for d in window_days(plan.start_date, weeks, weekdays, diary.closed)
        if local_datetime_or_next(d, at) >= now
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
        start = local_datetime(day, at, field="time")
        slot = ProposedSession(start=start, end=plus(start, length))
        problems = diary.problems(slot.start, slot.end, now=now)
        if problems:
            raise RuleViolation(" ".join(problems), field="time")
        slot.clashes = diary.clashes(slot.start, slot.end, one_per_day=True)
        if slot.clashes:
            slot.alternative = diary.nearest_free(
                slot.start, length, now=now, avoid_days=taken_days
            )
        proposed.append(slot)
    return SeriesProposal(plan=plan, sessions=proposed, guard=guard)


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
    plan = plan_for_booking(plan)
    check_bookable(client=plan.client, esthetician=esthetician, room=room, device=device, at=now)
    if plan.sessions.live().exists():
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
    sessions = proposal.guard.write(
        lambda: Session.objects.bulk_create(rows),
        slots=[(slot.start, slot.end) for slot in proposal.sessions],
    )
    reminders_plan_booking(sessions=sessions, plan=plan, at=now)
    return sessions
