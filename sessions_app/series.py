"""When a plan's series has ended (SPEC, "Maintenance and hydration"): none of its
sessions is booked or checked in, and at least one was completed; cancelled and missed
sessions do not matter, whatever their order.

Two forms of the one rule: ``series_has_ended`` for statuses already loaded, and
``series_ended_q`` for a query over plans. And how many of a plan's cancelled sessions
remain to rebook (``rebook_annotations``, issue 13), and whether they still can be
(``rebook_refusal``). Imports only the models, so any module
(plans, maintenance, selectors) can use it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Greatest, Least

from sessions_app.models import Session

OPEN_STATUSES = (Session.Status.BOOKED, Session.Status.CHECKED_IN)


def series_has_ended(statuses: Iterable[str]) -> bool:
    """The rule on the statuses of one plan's sessions."""
    statuses = set(statuses)
    return Session.Status.COMPLETED in statuses and not statuses & set(OPEN_STATUSES)


def series_ended_q(plan_ref: str = "pk") -> Q:
    """Plans (``plan_ref`` names the plan's id in the outer query) whose series has ended."""
    sessions = Session.objects.filter(plan=OuterRef(plan_ref))
    open_ = sessions.filter(status__in=OPEN_STATUSES)
    completed = sessions.filter(status=Session.Status.COMPLETED)
    return Q(~Exists(open_) & Exists(completed))


def rebook_annotations() -> dict:
    """Annotations for a query over plans: ``sessions_to_rebook``, how many of the plan's
    cancelled sessions remain to rebook (issue 13: "A plan with cancelled sessions says how
    many remain to rebook and offers to book them").

    A cancelled session counts as rebooked by any session booked for the plan after the
    first cancellation; the plan never gets more than its ``sessions_max``; a cancelled
    plan has nothing to rebook. Kept in the database so a list of plans stays one query."""
    first_cancelled = Subquery(
        Session.objects.filter(plan=OuterRef("pk"), status=Session.Status.CANCELLED)
        .order_by("cancelled_at")
        .values("cancelled_at")[:1]
    )
    cancelled = Q(sessions__status=Session.Status.CANCELLED)
    return {
        "sessions_cancelled": Count("sessions", filter=cancelled, distinct=True),
        "sessions_live": Count("sessions", filter=~cancelled, distinct=True),
        "sessions_rebooked": Count(
            "sessions",
            filter=~cancelled & Q(sessions__booked_at__gt=first_cancelled),
            distinct=True,
        ),
        "sessions_to_rebook": Case(
            When(cancelled_at__isnull=False, then=Value(0)),
            default=Greatest(
                Value(0),
                Least(
                    F("sessions_cancelled") - F("sessions_rebooked"),
                    F("sessions_max") - F("sessions_live"),
                ),
            ),
        ),
    }


def sessions_to_rebook(plan) -> int:
    """``rebook_annotations``' answer for one plan (one query)."""
    return (
        type(plan)
        .objects.filter(pk=plan.pk)
        .annotate(**rebook_annotations())
        .values_list("sessions_to_rebook", flat=True)
        .get()
    )


def rebook_refusal(plan, *, today: date) -> str:
    """Why the plan's cancelled sessions can no longer be rebooked, in words, or "" when
    they can (issue 13: the offer to rebook appears only when it can do something).
    Rebooking places them from today to the end of the plan's window, so once the window
    is over there is nowhere left to put them: a new series is the way."""
    if plan.cancelled_at is not None:
        return "This plan was cancelled: its sessions are not rebooked. Book a new series."
    last = plan.last_day
    if last < today:
        return (
            f"The plan's window ended on {last:%b} {last.day}, {last.year}, so its cancelled "
            "sessions can no longer be rebooked in it. Book a new series instead."
        )
    return ""
