"""A booked session's lifecycle: reschedule, cancel, no-show, check-in, complete."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clients import audit
from clients.models import HealthChange
from clients.selectors import client_eligibility
from clients.services import health_change_record
from clinic.clinic_time import day_label, local, localdate, plus
from clinic.errors import Conflict, NotEligible, RuleViolation
from sessions_app.booking import check_bookable
from sessions_app.maintenance import maintenance_cycle_sync
from sessions_app.models import (
    CANCEL_REASON_MAX_LENGTH,
    Session,
    TreatmentRecord,
)
from sessions_app.reminders import (
    reminders_plan_change,
    reminders_plan_completion,
)
from sessions_app.rules import client_can_cancel, session_minutes_problem
from sessions_app.slots import SlotGuard
from sessions_app.treatment import treatment_values

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
def session_reschedule(
    *,
    session: Session,
    start: datetime,
    by,
    minutes: int | None = None,
    esthetician=None,
    room=None,
    device=None,
) -> Session:
    """Move a booked session: the same checks as a new booking, ignoring itself.
    ``minutes`` also changes its length (the time grid's resize, issue 13); left out, the
    session keeps its length. ``esthetician``, ``room``, ``device``: move it to another
    one as well (issue 13, "Reschedule can change esthetician, room and device"); each
    left out (None) stays as it is, and the new one must be bookable and free."""
    if session.status != Session.Status.BOOKED:
        raise Conflict(
            f"Only a booked session can be moved; this one is "
            f"{session.get_status_display().lower()}.",
            field="status",
        )
    if minutes is not None:
        problem = session_minutes_problem(minutes)
        if problem:
            raise RuleViolation(problem, field="minutes")
    now = timezone.now()
    esthetician = esthetician or session.esthetician
    room = room or session.room
    device = device or session.device
    check_bookable(
        client=session.client,
        esthetician=esthetician,
        room=room,
        device=device,
        at=now,
    )
    length = session.end - session.start if minutes is None else timedelta(minutes=minutes)
    end = plus(start, length)  # real minutes, also across DST
    series = session.kind == Session.Kind.SERIES
    guard = SlotGuard(
        client=session.client,
        esthetician=esthetician,
        room=room,
        device=device,
        span_start=start,
        span_end=end,
        exclude=[session.pk],
    )
    guard.check(start, end, now=now, one_per_day=series)
    session = guard.write(
        lambda: _move(
            session,
            allowed={Session.Status.BOOKED},
            to=Session.Status.BOOKED,
            start=start,
            end=end,
            esthetician=esthetician,
            room=room,
            device=device,
            sequence=F("sequence") + 1,
            rescheduled_at=now,
            rescheduled_by=by,
        ),
        slots=[(start, end)],
        one_per_day=series,
    )
    reminders_plan_change(session=session, at=now)
    return session


@transaction.atomic
def session_cancel(*, session: Session, by, reason: str = "", by_client: bool = False) -> Session:
    """Cancel: the slot is free for others at once, and the client hears of it.

    Records who cancelled and when, and the optional reason (issue 9, "Who did it"):
    ``by`` is the member of staff, or ``by_client=True`` when the client pressed the
    cancel button in an email (then no member of staff is recorded).
    """
    reason = (reason or "").strip()
    if len(reason) > CANCEL_REASON_MAX_LENGTH:
        raise RuleViolation(
            f"Keep the reason to at most {CANCEL_REASON_MAX_LENGTH} characters "
            f"(it has {len(reason)}).",
            field="reason",
        )
    if by_client and not client_can_cancel(start=session.start):
        raise Conflict(
            f"Less than {settings.CANCEL_NOTICE_HOURS} hours to go: please call the clinic "
            f"on {settings.CLINIC_PHONE} to cancel or change this session.",
            field="status",
        )
    session = _move(
        session,
        allowed={Session.Status.BOOKED, Session.Status.CHECKED_IN},
        to=Session.Status.CANCELLED,
        cancelled_at=timezone.now(),
        cancelled_by=None if by_client else by,
        cancelled_by_client=by_client,
        cancel_reason=reason,
        sequence=F("sequence") + 1,
    )
    reminders_plan_change(session=session)
    return session


def session_no_show(*, session: Session, by) -> Session:
    if session.start > timezone.now():
        raise RuleViolation("A session cannot be a no-show before it starts.", field="status")
    session = _move(
        session,
        allowed={Session.Status.BOOKED},
        to=Session.Status.NO_SHOW,
        no_show_at=timezone.now(),
        no_show_by=by,
    )
    maintenance_cycle_sync(client_id=session.client_id)  # a missed last session ends a series
    return session


class HealthChangeReported(Conflict):
    """Check-in answered "something has changed": the change is recorded and the
    check-in refused (409) until a new screening (issue 9, "A reported change holds")."""

    def __init__(self, change: HealthChange):
        super().__init__(
            "Recorded: the client reports a change in their health. Record a new screening "
            "before treatment; check-in and booking are refused until then.",
            field="nothing_changed",
        )
        self.change = change

    def as_dict(self) -> dict:
        return {
            "nothing_changed": [self.message],
            "eligibility": "screening_required",
            "health_change": self.change.pk,
        }


def session_check_in(*, session: Session, nothing_changed: bool, by, note: str = "") -> Session:
    """Check the client in. They re-confirm that nothing has changed (pregnancy,
    pacemaker, …). A change is recorded (who, when, this session) and raises
    ``HealthChangeReported``: the client's eligibility is ``screening_required`` until a
    screening is recorded after it, so a retry with ``nothing_changed`` is refused too
    (SPEC, "Contraindication screening"). ``note`` says what changed, if told.

    The report is saved before the error is raised, so whoever calls this must let
    the report commit although the call raised: the API's per-request transaction
    (``clinic.idempotency.ApiWriteMiddleware``) rolls back only on a 500, and the
    409 this becomes is not one. Never wrap it in an ``atomic()`` that the error
    leaves. Tests check the report is kept after the API's 409.
    """
    note = (note or "").strip()
    if nothing_changed and note:
        raise RuleViolation(
            'A note on what has changed was given with "nothing has changed". If something '
            "has changed, say so; otherwise leave the note empty.",
            field="note",
        )
    now = timezone.now()
    if local(session.start).date() != localdate(now):
        raise RuleViolation(
            f"Check-in is only on the day of the session ({day_label(session.start)}).",
            field="status",
        )
    if not nothing_changed:
        raise HealthChangeReported(_health_change_report(session=session, by=by, note=note, at=now))
    eligibility = client_eligibility(client=session.client, at=now)
    if eligibility.outcome != "eligible":
        # The refusal names the reasons: a read of the eligibility detail.
        audit.record_access(client=session.client, what="eligibility", detail="check-in refused")
        raise NotEligible(eligibility.outcome, eligibility.reasons)
    return _move(
        session,
        allowed={Session.Status.BOOKED},
        to=Session.Status.CHECKED_IN,
        checked_in_at=now,
        checked_in_by=by,
    )


@transaction.atomic
def _health_change_report(*, session: Session, by, note: str, at: datetime) -> HealthChange:
    """Record the change and link it to the session, once per check-in: pressing the
    button twice (or a retried request) before the new screening is one report."""
    locked = Session.objects.select_for_update().get(pk=session.pk)
    if locked.status != Session.Status.BOOKED:
        raise Conflict(
            f"This session is {locked.get_status_display().lower()}; it cannot be checked in.",
            field="status",
        )
    pending = client_eligibility(client=session.client, at=at).health_change
    if pending is not None and pending.pk == locked.health_change_id:
        return pending
    change = health_change_record(client=session.client, by=by, note=note, at=at)
    Session.objects.filter(pk=locked.pk).update(health_change=change)
    session.health_change = change
    return change


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
    static or dynamic, add-ons from the clinic's list; the numbers' ranges are
    ``sessions_app.rules``)."""
    values = treatment_values(
        modality=modality,
        intensity_microamps=intensity_microamps,
        frequency_hz=frequency_hz,
        duration_minutes=duration_minutes,
        areas=areas,
        add_ons=add_ons,
        notes=notes,
    )
    session = _move(
        session,
        allowed={Session.Status.CHECKED_IN},
        to=Session.Status.COMPLETED,
        completed_at=timezone.now(),
        completed_by=by,
    )
    record = TreatmentRecord(session=session, recorded_by=by, **values)
    record._history_user = by  # the first version in the record's history
    record.save()
    reminders_plan_completion(session=session)
    return session
