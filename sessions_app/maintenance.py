"""The maintenance-boost cycle: the one place that decides when a cycle begins, whether
its reminders may go out, and who is due a boost (SPEC, "Maintenance and hydration").

A cycle counts from its *anchor*, the latest of:

- a completed maintenance boost;
- the last completed session of a series that has **ended**: none of its sessions is
  booked or checked in and at least one was completed, whatever happened to the
  sessions after it (cancelled, no-show) and in whatever order.

The cycle is kept as two outbox rows keyed by the anchor session, the 4-week and the
6-week reminder, due that many weeks after the anchor's completion at the same clinic
time of day. They are the cycle's record: the Maintenance due list reads them too.

While the client has a session booked ahead (booked or checked in, not yet over) the
cycle is *held*: its pending reminders are cancelled with the reason, dispatch skips any
that come due, and the client is not on the list. When nothing is booked any more and
the cycle is still open, the held reminders come back at their own times (at once when
the 4-week time has passed), unless the 6-week time has passed too: then the client is
on the list as overdue and no email is sent, as after the 6-week reminder itself.

Every lifecycle change that can open, hold or resume a cycle calls
``maintenance_cycle_sync``; the dispatcher calls ``maintenance_skip_reasons``; the
Maintenance due page calls ``maintenance_due_clients``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Subquery, When
from django.utils import formats, timezone

from clients.models import Client
from clinic.clinic_time import local
from sessions_app.emails import MAINTENANCE_KINDS, when
from sessions_app.models import Reminder, Session
from sessions_app.series import OPEN_STATUSES, series_has_ended

Kind, Status = Reminder.Kind, Reminder.Status
# Marks a reminder cancelled only while a session is booked ahead (it may come back).
HELD = "Held:"


# The cycle's times ------------------------------------------------------------------------
def cycle_began_at(anchor: Session) -> datetime:
    """When the cycle began: the anchor's completion (its end, for rows that lack one)."""
    return anchor.completed_at or anchor.end


def cycle_marks(began_at: datetime) -> dict[str, datetime]:
    """The 4-week and 6-week reminder times: weeks later at the same time of day in the
    clinic, whatever the clocks did between (aware arithmetic in the clinic's zone is
    wall-clock arithmetic)."""
    began = local(began_at)
    return {
        Kind.MAINTENANCE_DUE: began + timedelta(weeks=settings.MAINTENANCE_DUE_WEEKS),
        Kind.MAINTENANCE_OVERDUE: began + timedelta(weeks=settings.MAINTENANCE_OVERDUE_WEEKS),
    }


def _overdue_after_due(due_at: datetime) -> datetime:
    """The 6-week time of the cycle whose 4-week reminder is due at ``due_at``."""
    gap = settings.MAINTENANCE_OVERDUE_WEEKS - settings.MAINTENANCE_DUE_WEEKS
    return local(due_at) + timedelta(weeks=gap)


# What the cycle depends on --------------------------------------------------------------
def sessions_booked_ahead(*, at: datetime) -> QuerySet[Session]:
    """Sessions that hold a client's cycle at ``at``: booked or checked in, not over."""
    return Session.objects.filter(status__in=OPEN_STATUSES, end__gt=at)


def cycle_anchor(*, client_id: int) -> Session | None:
    """The session the client's open cycle counts from, or None: the latest completed
    boost or last completed session of an ended series. One query, whatever the
    client's history."""
    sessions = (
        Session.objects.filter(
            client_id=client_id,
            status__in=(*OPEN_STATUSES, Session.Status.COMPLETED),
        )
        .filter(Q(kind=Session.Kind.MAINTENANCE) | Q(plan__isnull=False))
        .order_by("start", "pk")
    )
    candidates: list[Session] = []
    by_plan: dict[int, list[Session]] = defaultdict(list)
    for session in sessions:
        if session.kind == Session.Kind.MAINTENANCE:
            if session.status == Session.Status.COMPLETED:
                candidates.append(session)
        else:
            by_plan[session.plan_id].append(session)
    for series in by_plan.values():
        # Cancelled and no-show sessions were left out above, so the last one left is
        # the series' last completed session once it has ended.
        if series_has_ended(s.status for s in series):
            candidates.append(series[-1])
    return max(candidates, key=lambda s: (cycle_began_at(s), s.pk), default=None)


# Reasons, in words a manager reads on the row ---------------------------------------------
def booked_ahead_reason(session: Session) -> str:
    return (
        f"the client has a session booked for {when(session.start)}; "
        "this reminder comes back if that booking is cancelled."
    )


def _unsubscribed_reason(client: Client) -> str:
    return (
        "the client unsubscribed from maintenance reminders on "
        f"{formats.date_format(local(client.unsubscribed_at))}."
    )


# Writing the cycle --------------------------------------------------------------------------
def maintenance_hold(*, client_id: int, session: Session) -> int:
    """A session was booked: the client's pending maintenance reminders wait (one
    update). They come back through ``maintenance_cycle_sync`` if it is cancelled."""
    return Reminder.objects.filter(
        client_id=client_id, kind__in=MAINTENANCE_KINDS, status=Status.SCHEDULED
    ).update(status=Status.CANCELLED, last_error=f"{HELD} {booked_ahead_reason(session)}")


@transaction.atomic
def maintenance_cycle_sync(*, client_id: int, at: datetime | None = None) -> None:
    """Bring the client's maintenance reminders in line with their sessions after a
    completion, cancellation or no-show (SPEC, "Maintenance and hydration"): start the
    cycle of a newly completed boost or ended series, end older cycles, and hold or
    resume the open one. Idempotent, and a fixed handful of queries per client."""
    at = at or timezone.now()
    anchor = cycle_anchor(client_id=client_id)
    if anchor is None:
        return
    began = cycle_began_at(anchor)
    marks = cycle_marks(began)
    late = at >= marks[Kind.MAINTENANCE_OVERDUE]
    # A cycle recorded only after its 6-week time (a series whose last booked session
    # was cancelled long after): the list shows the client; no email is sent that late.
    late_note = (
        f"Not sent: the cycle was recorded on {formats.date_format(local(at))}, "
        "after its 6-week time; the client is on the Maintenance due list."
    )
    Reminder.objects.bulk_create(
        [
            Reminder(
                key=f"{kind}:{anchor.pk}",
                kind=kind,
                client_id=client_id,
                session=anchor,
                due_at=due_at,
                status=Status.CANCELLED if late else Status.SCHEDULED,
                last_error=late_note if late else "",
            )
            for kind, due_at in marks.items()
        ],
        ignore_conflicts=True,
    )
    mine = Reminder.objects.filter(client_id=client_id, kind__in=MAINTENANCE_KINDS)
    (
        mine.filter(status=Status.SCHEDULED)
        .exclude(session=anchor)
        .filter(Q(session__completed_at__lt=began) | Q(session__completed_at__isnull=True))
        .update(
            status=Status.CANCELLED,
            last_error=(
                "Cancelled: a newer maintenance cycle began on "
                f"{formats.date_format(local(began))}."
            ),
        )
    )
    ahead = sessions_booked_ahead(at=at).filter(client_id=client_id).order_by("start").first()
    if ahead is not None:
        mine.filter(status=Status.SCHEDULED).update(
            status=Status.CANCELLED, last_error=f"{HELD} {booked_ahead_reason(ahead)}"
        )
    elif not late:
        # The open cycle resumes: each held reminder at its own time, which the
        # dispatcher takes at once when it has passed. An unsubscribed client's stay put.
        mine.filter(
            session=anchor,
            status=Status.CANCELLED,
            sent_at__isnull=True,
            client__unsubscribed_at__isnull=True,
        ).update(status=Status.SCHEDULED, attempts=0, claimed_at=None, last_error="")
    if ahead is None:
        # Whatever is still held does not come back (its cycle is over, or the client
        # unsubscribed): say so, so that nothing takes it for held any more.
        mine.filter(status=Status.CANCELLED, last_error__startswith=HELD).update(
            last_error=(
                "Not sent: the booking that held it is gone, but its cycle is over or the "
                "client unsubscribed."
            )
        )


def maintenance_resume_lapsed(*, at: datetime | None = None) -> int:
    """Resume the cycles held by a session that is no longer ahead although nobody
    cancelled it (its time passed and it was never marked): the reminders and the
    Maintenance due list then agree again. Run by the periodic dispatch; a query, plus
    ``maintenance_cycle_sync`` for each such client (rare). Returns how many."""
    at = at or timezone.now()
    clients = list(
        Reminder.objects.filter(
            kind__in=MAINTENANCE_KINDS,
            status=Status.CANCELLED,
            sent_at__isnull=True,
            last_error__startswith=HELD,
        )
        .exclude(Exists(sessions_booked_ahead(at=at).filter(client=OuterRef("client"))))
        .order_by()
        .values_list("client_id", flat=True)
        .distinct()
    )
    for client_id in clients:
        maintenance_cycle_sync(client_id=client_id, at=at)
    return len(clients)


# Reading the cycle --------------------------------------------------------------------------
def maintenance_skip_reasons(reminders: Iterable[Reminder], *, at: datetime) -> dict[int, str]:
    """Why each maintenance reminder among ``reminders`` must not go out at ``at`` (by
    id; absent when it may): the client unsubscribed, has a session booked ahead, or
    (for the 4-week one) the 6-week time has come, whose reminder says the same. One
    query for the whole batch. ``reminder.client`` should be selected with it."""
    rows = [r for r in reminders if r.kind in MAINTENANCE_KINDS]
    if not rows:
        return {}
    ahead: dict[int, Session] = {}
    booked = sessions_booked_ahead(at=at).filter(client_id__in={r.client_id for r in rows})
    for session in booked.order_by("start", "pk").only("client_id", "start"):
        ahead.setdefault(session.client_id, session)
    reasons = {}
    for reminder in rows:
        if reminder.client.unsubscribed_at:
            reasons[reminder.pk] = _unsubscribed_reason(reminder.client)
        elif reminder.client_id in ahead:
            reasons[reminder.pk] = booked_ahead_reason(ahead[reminder.client_id])
        elif reminder.kind == Kind.MAINTENANCE_DUE and at >= _overdue_after_due(reminder.due_at):
            reasons[reminder.pk] = (
                "the 6-week time came before this 4-week reminder went out; the 6-week "
                "reminder says the same."
            )
    return reasons


def maintenance_due_clients(*, at: datetime) -> QuerySet[Client]:
    """Clients due a maintenance boost as of ``at``: the 4-week time of their open cycle
    has come and no session is booked ahead. Longest waiting first.

    Each client is annotated with ``maintenance_due_at`` (the 4-week time),
    ``maintenance_overdue_at`` (the 6-week time), ``maintenance_overdue`` (whether it
    has come) and ``last_completed_start``. A fixed number of queries for any length."""
    latest = Reminder.objects.filter(client=OuterRef("pk")).order_by("-due_at", "-pk")
    last_completed = (
        Session.objects.filter(client=OuterRef("pk"), status=Session.Status.COMPLETED)
        .order_by("-start")
        .values("start")[:1]
    )
    return (
        Client.objects.annotate(
            maintenance_due_at=Subquery(
                latest.filter(kind=Kind.MAINTENANCE_DUE).values("due_at")[:1]
            ),
            maintenance_overdue_at=Subquery(
                latest.filter(kind=Kind.MAINTENANCE_OVERDUE).values("due_at")[:1]
            ),
            last_completed_start=Subquery(last_completed),
        )
        .filter(maintenance_due_at__lte=at)
        .exclude(Exists(sessions_booked_ahead(at=at).filter(client=OuterRef("pk"))))
        .annotate(
            maintenance_overdue=Case(
                When(maintenance_overdue_at__lte=at, then=True),
                default=False,
                output_field=BooleanField(),
            )
        )
        .order_by("maintenance_due_at", "last_name", "first_name", "pk")
    )
