"""When a plan's series has ended (SPEC, "Maintenance and hydration"): none of its
sessions is booked or checked in, and at least one was completed; cancelled and missed
sessions do not matter, whatever their order.

Two forms of the one rule: ``series_has_ended`` for statuses already loaded, and
``series_ended_q`` for a query over plans. Imports only the models, so any module
(plans, maintenance, selectors) can use it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q

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
