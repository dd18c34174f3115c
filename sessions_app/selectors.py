"""Reads about sessions and plans that carry a rule."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from clients.models import Client
from protocols.models import Plan
from sessions_app import maintenance
from sessions_app.availability import local_datetime
from sessions_app.models import Session, TreatmentRecord


def plans_with_progress(queryset: QuerySet[Plan] | None = None) -> QuerySet[Plan]:
    """Plans with their progress: sessions booked (not cancelled), completed, and the
    status of the last one. A series is complete when its last session is completed."""
    queryset = Plan.objects.all() if queryset is None else queryset
    last_status = (
        Session.objects.live().filter(plan=OuterRef("pk")).order_by("-start").values("status")[:1]
    )
    return queryset.select_related("protocol", "client").annotate(
        sessions_booked=Count("sessions", filter=~Q(sessions__status="cancelled")),
        sessions_completed=Count("sessions", filter=Q(sessions__status="completed")),
        last_session_status=Subquery(last_status),
    )


def plan_is_complete(plan: Plan) -> bool:
    return getattr(plan, "last_session_status", None) == Session.Status.COMPLETED


def sessions_for_list(queryset: QuerySet[Session] | None = None) -> QuerySet[Session]:
    queryset = Session.objects.all() if queryset is None else queryset
    return queryset.select_related("client", "esthetician", "room", "device", "plan")


def sessions_between(start: date, end: date) -> QuerySet[Session]:
    """Sessions starting on the clinic-local days from ``start`` up to ``end`` (exclusive)."""
    return sessions_for_list().filter(
        start__gte=local_datetime(start, time.min), start__lt=local_datetime(end, time.min)
    )


def sessions_on(day: date) -> QuerySet[Session]:
    return sessions_between(day, day + timedelta(days=1))


def client_last_treatment(
    *, client: Client, before: datetime | None = None
) -> TreatmentRecord | None:
    """The settings of the client's last completed treatment, to pre-fill the next."""
    records = TreatmentRecord.objects.filter(session__client=client)
    if before is not None:
        records = records.filter(session__start__lt=before)
    return records.order_by("-session__start").first()


def maintenance_due_clients(*, at: datetime) -> QuerySet[Client]:
    """Clients due a maintenance boost as of ``at``, longest waiting first, with their
    4-week and 6-week times and overdue flag. The maintenance module decides
    (``sessions_app.maintenance``); this is where pages look for it."""
    return maintenance.maintenance_due_clients(at=at)
