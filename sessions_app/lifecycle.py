"""A booked session's lifecycle: reschedule, cancel, no-show, check-in, complete."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from clients.selectors import client_eligibility
from clinic.errors import Conflict, NotEligible, RuleViolation
from protocols.models import Modality
from sessions_app.availability import Diary, clinic_zone, day_label
from sessions_app.booking import check_bookable, clash_error
from sessions_app.models import (
    INTENSITY_MAX_MICROAMPS,
    INTENSITY_MIN_MICROAMPS,
    AddOn,
    Area,
    Session,
    TreatmentRecord,
)
from sessions_app.reminders import (
    reminders_plan_change,
    reminders_plan_completion,
)

VERBS = {
    Session.Status.CANCELLED: "cancelled",
    Session.Status.NO_SHOW: "marked as a no-show",
    Session.Status.CHECKED_IN: "checked in",
    Session.Status.COMPLETED: "completed",
    Session.Status.BOOKED: "rescheduled",
}


def _move(session: Session, *, allowed: set[str], to: str, **fields) -> Session:
    """Move a session between states with one conditional update, so two people
    acting at once cannot both succeed; a session never jumps a state."""
    changed = Session.objects.filter(pk=session.pk, status__in=allowed).update(status=to, **fields)
    session.refresh_from_db()
    if not changed:
        raise Conflict(
            f"This session is {session.get_status_display().lower()}; it cannot be {VERBS[to]}.",
            field="status",
        )
    return session


@transaction.atomic
def session_reschedule(*, session: Session, start: datetime, by) -> Session:
    """Move a booked session: the same checks as a new booking, ignoring itself."""
    if session.status != Session.Status.BOOKED:
        raise Conflict(
            f"Only a booked session can be moved; this one is "
            f"{session.get_status_display().lower()}.",
            field="status",
        )
    now = timezone.now()
    check_bookable(
        client=session.client,
        esthetician=session.esthetician,
        room=session.room,
        device=session.device,
        at=now,
    )
    end = start + (session.end - session.start)
    diary = Diary(
        client=session.client,
        esthetician=session.esthetician,
        room=session.room,
        device=session.device,
        span_start=start,
        span_end=end,
        exclude=[session.pk],
    )
    problems = diary.problems(start, end, now=now)
    if problems:
        raise RuleViolation(" ".join(problems), field="start")
    clashes = diary.clashes(start, end, one_per_day=session.kind == Session.Kind.SERIES)
    if clashes:
        raise clash_error(clashes)
    try:
        with transaction.atomic():
            session = _move(
                session,
                allowed={Session.Status.BOOKED},
                to=Session.Status.BOOKED,
                start=start,
                end=end,
                sequence=F("sequence") + 1,
            )
    except IntegrityError as exc:
        # Someone took the slot between our check and our update: say who.
        fresh = Diary(
            client=session.client,
            esthetician=session.esthetician,
            room=session.room,
            device=session.device,
            span_start=start,
            span_end=end,
            exclude=[session.pk],
        )
        raise clash_error(fresh.clashes(start, end)) from exc
    reminders_plan_change(session=session, at=now)
    return session


@transaction.atomic
def session_cancel(*, session: Session, by) -> Session:
    """Cancel: the slot is free for others at once, and the client hears of it."""
    session = _move(
        session,
        allowed={Session.Status.BOOKED, Session.Status.CHECKED_IN},
        to=Session.Status.CANCELLED,
        cancelled_at=timezone.now(),
        sequence=F("sequence") + 1,
    )
    reminders_plan_change(session=session)
    return session


def session_no_show(*, session: Session, by) -> Session:
    if session.start > timezone.now():
        raise RuleViolation("A session cannot be a no-show before it starts.", field="status")
    return _move(session, allowed={Session.Status.BOOKED}, to=Session.Status.NO_SHOW)


def session_check_in(*, session: Session, nothing_changed: bool, by) -> Session:
    """Check the client in. They re-confirm that nothing has changed (pregnancy,
    pacemaker, …); a change means a new screening before any treatment."""
    if not nothing_changed:
        raise RuleViolation(
            "The client reports a change in their health. Record a new screening before "
            "treatment; check-in is refused until then.",
            field="nothing_changed",
        )
    now = timezone.now()
    if timezone.localtime(session.start, clinic_zone()).date() != timezone.localdate(now):
        raise RuleViolation(
            f"Check-in is only on the day of the session ({day_label(session.start)}).",
            field="status",
        )
    eligibility = client_eligibility(client=session.client, at=now)
    if eligibility.outcome != "eligible":
        raise NotEligible(eligibility.outcome, eligibility.reasons)
    return _move(
        session, allowed={Session.Status.BOOKED}, to=Session.Status.CHECKED_IN, checked_in_at=now
    )


@transaction.atomic
def session_complete(
    *,
    session: Session,
    by,
    modality: str,
    intensity_microamps: int,
    frequency_hz: Decimal,
    duration_minutes: int,
    areas: Iterable[str] = (),
    add_ons: Iterable[str] = (),
    notes: str = "",
) -> Session:
    """Record the treatment and complete the session (SPEC: intensity 10–500 µA,
    static or dynamic, add-ons from the clinic's list)."""
    if modality not in Modality.values:
        raise RuleViolation(
            f"Unknown modality {modality!r}: choose static or dynamic.", field="modality"
        )
    if not INTENSITY_MIN_MICROAMPS <= intensity_microamps <= INTENSITY_MAX_MICROAMPS:
        raise RuleViolation(
            f"Intensity must be between {INTENSITY_MIN_MICROAMPS} and {INTENSITY_MAX_MICROAMPS} "
            f"µA (microamps); {intensity_microamps} is outside that range.",
            field="intensity_microamps",
        )
    if frequency_hz <= 0:
        raise RuleViolation("Frequency must be above 0 Hz.", field="frequency_hz")
    if not 1 <= duration_minutes <= 180:
        raise RuleViolation("Duration must be between 1 and 180 minutes.", field="duration_minutes")
    areas, add_ons = list(dict.fromkeys(areas)), list(dict.fromkeys(add_ons))
    bad = [a for a in areas if a not in Area.values]
    if bad:
        raise RuleViolation(f"Unknown area: {', '.join(bad)}.", field="areas")
    bad = [a for a in add_ons if a not in AddOn.values]
    if bad:
        raise RuleViolation(
            f"Unknown add-on: {', '.join(bad)}. Choose from {', '.join(AddOn.values)}.",
            field="add_ons",
        )
    session = _move(
        session,
        allowed={Session.Status.CHECKED_IN},
        to=Session.Status.COMPLETED,
        completed_at=timezone.now(),
    )
    TreatmentRecord.objects.create(
        session=session,
        modality=modality,
        intensity_microamps=intensity_microamps,
        frequency_hz=frequency_hz,
        duration_minutes=duration_minutes,
        areas=areas,
        add_ons=add_ons,
        notes=notes,
        recorded_by=by,
    )
    reminders_plan_completion(session=session)
    return session
