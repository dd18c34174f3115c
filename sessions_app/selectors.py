"""Reads about sessions and plans that carry a rule."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from clients.models import Client
from protocols.models import Plan
from sessions_app.availability import local_datetime
from sessions_app.models import Reminder, Session, TreatmentRecord


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
    """Clients due a maintenance boost as of ``at`` (SPEC, "Maintenance and hydration"):
    the 4-week reminder of their latest cycle has come due, no session (other than a
    cancelled one) was booked since that cycle began, and none is coming up. Longest
    waiting first.

    Each client is annotated with ``maintenance_due_at`` (when the 4-week mark passed),
    ``maintenance_since`` (when the cycle began) and ``last_completed_start``."""
    latest = Reminder.objects.filter(
        client=OuterRef("pk"), kind=Reminder.Kind.MAINTENANCE_DUE
    ).order_by("-created_at", "-pk")
    # The session that began the cycle never counts, whatever its booking time says
    # (rows written by imports or back-fills can carry a later one).
    booked_since = (
        Session.objects.live()
        .filter(
            client=OuterRef("pk"),
            booked_at__gt=OuterRef("maintenance_since"),
            booked_at__lte=at,
        )
        .exclude(pk=OuterRef("maintenance_session"))
    )
    upcoming = Session.objects.filter(
        client=OuterRef("pk"), status=Session.Status.BOOKED, start__gt=at
    )
    last_completed = (
        Session.objects.filter(client=OuterRef("pk"), status=Session.Status.COMPLETED)
        .order_by("-start")
        .values("start")[:1]
    )
    return (
        Client.objects.annotate(
            maintenance_due_at=Subquery(latest.values("due_at")[:1]),
            maintenance_since=Subquery(latest.values("created_at")[:1]),
            # 0, never a session's id, when the row has none: NULL would exclude every booking.
            maintenance_session=Coalesce(
                Subquery(latest.values("session_id")[:1]), 0, output_field=IntegerField()
            ),
            last_completed_start=Subquery(last_completed),
        )
        .filter(maintenance_due_at__lte=at)
        .exclude(Exists(booked_since))
        .exclude(Exists(upcoming))
        .order_by("maintenance_due_at", "last_name", "first_name", "pk")
    )
