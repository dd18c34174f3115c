"""Booking one session, and the checks every booking shares (a whole series:
``sessions_app.series_booking``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from clients import audit
from clients.models import Client
from clients.selectors import client_eligibility
from clients.services import client_check_not_erased
from clinic.clinic_time import (
    localdate,
    plus,
)
from clinic.errors import Conflict, NotEligible, RuleViolation
from clinic.selectors import is_active_esthetician
from protocols.models import Plan
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

__all__ = ["check_bookable", "clash_error", "just_booked", "session_book"]

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
    """``Plan of Mar 1, 2027 (35 to 50)``: how messages name a plan, by its start and its
    age band, never its internal id (issue 13)."""
    return f"Plan of {day_name(plan.start_date)} ({plan.protocol.name})"


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
    just_booked([session])
    return session


def just_booked(sessions: list[Session]) -> None:
    """Sessions booked this moment have no treatment record: say so on them, so the
    answer that shows them asks the database for none (issue 14: no query that cannot
    find anything)."""
    for session in sessions:
        Session.treatment.related.set_cached_value(session, None)
