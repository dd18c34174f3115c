"""Treatment plans across a client's history: one active plan at a time, and cancelling
a plan (SPEC: "A client has at most one active plan at a time"; issue 9, rule 3).

These rules need the plan's sessions, so they live here rather than in ``protocols``
(imports run one way: ``protocols`` knows nothing of sessions). ``protocols.services``
still decides what a plan *is* (``plan_build``: the protocol for the client's age);
every plan is created and cancelled through this module.

A plan is **active** unless it was cancelled or its series has ended
(``sessions_app.series``: none of its sessions booked or checked in, at least one
completed; the maintenance cycle's own definition). A plan with nothing booked yet, or
only cancelled and missed sessions, is still active: finish or cancel it.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from clients.models import Client
from clinic.clinic_time import day_label
from clinic.errors import Conflict
from protocols.models import Plan
from protocols.services import plan_build
from sessions_app.booking import day_name, plan_label
from sessions_app.lifecycle import session_cancel
from sessions_app.models import Session
from sessions_app.series import series_ended_q

PLAN_CANCEL_REASON = "The treatment plan was cancelled."


class ActivePlanExists(Conflict):
    """A new plan would overlap the client's active plan (409). ``plan`` is that plan,
    so pages can link to it."""

    def __init__(self, plan: Plan):
        super().__init__(
            f"{plan.client} already has an active plan whose dates overlap: "
            f"{plan_label(plan)}, running to {day_name(plan.last_day)}. Finish or cancel it first.",
            field="start_date",
        )
        self.plan = plan

    def as_dict(self) -> dict:
        return {**super().as_dict(), "active_plan": self.plan.pk}


def plans_active(queryset: QuerySet[Plan] | None = None) -> QuerySet[Plan]:
    """Plans that are neither cancelled nor finished."""
    queryset = Plan.objects.all() if queryset is None else queryset
    return queryset.filter(cancelled_at__isnull=True).exclude(series_ended_q())


def plans_with_state(queryset: QuerySet[Plan]) -> QuerySet[Plan]:
    """Each plan annotated with ``is_active`` (same rule as ``plans_active``), in the
    same query, for lists that show a cancel button on active plans only."""
    return queryset.annotate(
        is_active=ExpressionWrapper(
            Q(cancelled_at__isnull=True) & ~series_ended_q(), output_field=BooleanField()
        ),
    )


def plan_overlapping(*, client: Client, start_date: date, end_date: date) -> Plan | None:
    """The client's active plan whose window meets ``start_date`` up to ``end_date``."""
    candidates = plans_active(
        Plan.objects.filter(client=client, start_date__lt=end_date).select_related(
            "protocol", "client"
        )
    )
    return next((p for p in candidates.order_by("start_date") if p.end_date > start_date), None)


def plan_check_no_overlap(plan: Plan) -> None:
    """Raise ``ActivePlanExists`` when ``plan`` (saved or not) would overlap the
    client's active plan."""
    other = plan_overlapping(client=plan.client, start_date=plan.start_date, end_date=plan.end_date)
    if other is not None and other.pk != plan.pk:
        raise ActivePlanExists(other)


@transaction.atomic
def plan_create(*, client: Client, start_date: date, by) -> Plan:
    """Start a plan (``protocols.services.plan_build``: the protocol follows the
    client's age on the start date) unless its window, ``start_date`` to
    ``start_date + weeks_max``, overlaps the client's active plan.

    The client's row is locked first, so two plans created at the same moment take
    turns and the second sees the first (on SQLite, the write lock taken at BEGIN)."""
    Client.objects.select_for_update(no_key=True).filter(pk=client.pk).exists()
    plan = plan_build(client=client, start_date=start_date, by=by)
    plan_check_no_overlap(plan)
    plan.save()
    return plan


@transaction.atomic
def plan_cancel(*, plan: Plan, by, reason: str = "") -> Plan:
    """Cancel a plan: its booked sessions are cancelled through ``session_cancel`` (so
    the client hears of each one and the slots free at once), and the plan stops
    being active. A finished plan, or one with a session in progress, is refused."""
    plan = (
        Plan.objects.select_for_update(of=("self",))
        .select_related("protocol", "client")
        .get(pk=plan.pk)
    )
    if plan.cancelled_at is not None:
        raise Conflict(f"{plan_label(plan)} is already cancelled.", field="plan")
    if Plan.objects.filter(pk=plan.pk).filter(series_ended_q()).exists():
        raise Conflict(f"{plan_label(plan)} is finished; there is nothing to cancel.", field="plan")
    in_progress = plan.sessions.filter(status=Session.Status.CHECKED_IN).first()
    if in_progress is not None:
        raise Conflict(
            f"The session of {day_label(in_progress.start)} in {plan_label(plan)} is checked "
            "in: complete it before cancelling the plan.",
            field="plan",
        )
    for session in plan.sessions.filter(status=Session.Status.BOOKED).select_related("client"):
        session_cancel(session=session, by=by, reason=reason or PLAN_CANCEL_REASON)
    plan.cancelled_at = timezone.now()
    plan.cancelled_by = by
    plan.save(update_fields=["cancelled_at", "cancelled_by"])
    return plan
