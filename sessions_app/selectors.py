"""Reads about sessions and plans that carry a rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    Min,
    Q,
    QuerySet,
)

from clients.models import Client
from clinic.clinic_time import local_datetime
from protocols.models import Plan
from sessions_app import maintenance
from sessions_app.models import Reminder, Session, TreatmentRecord
from sessions_app.series import rebook_annotations, series_ended_q


def plans_with_progress(queryset: QuerySet[Plan] | None = None) -> QuerySet[Plan]:
    """Plans with their progress: sessions booked (not cancelled), completed, and
    ``series_ended``, the one rule of ``sessions_app.series`` (nothing booked or checked
    in, at least one completed: whatever happened to the sessions after the last one), and
    ``sessions_to_rebook`` (``sessions_app.series.rebook_annotations``)."""
    queryset = Plan.objects.all() if queryset is None else queryset
    return queryset.select_related("protocol", "client").annotate(
        sessions_booked=Count("sessions", filter=~Q(sessions__status="cancelled")),
        sessions_completed=Count("sessions", filter=Q(sessions__status="completed")),
        series_ended=ExpressionWrapper(series_ended_q(), output_field=BooleanField()),
        # Issue 13: how many cancelled sessions remain to rebook.
        **rebook_annotations(),
    )


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


@dataclass(frozen=True)
class OutboxHealth:
    """How the reminder outbox is keeping up, for the manager's Reminders page."""

    at: datetime
    due_count: int  # scheduled rows whose time has come
    oldest_due_at: datetime | None
    long_sending_count: int
    failed_count: int  # what "Resend all failed" would take up
    long_sending: list[Reminder]  # the first few, oldest claim first
    long_after: timedelta

    @property
    def oldest_due_age(self) -> timedelta | None:
        return None if self.oldest_due_at is None else self.at - self.oldest_due_at


def outbox_health(*, at: datetime, shown: int = 10) -> OutboxHealth:
    """The age of the oldest due row, and the rows long in ``sending`` (issue 10). Long
    means past the dispatch task's hard time limit, which no live worker outlasts: such a
    row's worker is gone and the dispatcher takes it up again at
    ``REMINDER_SENDING_TIMEOUT_SECONDS``. Two queries, however big the outbox."""
    long_after = timedelta(seconds=settings.REMINDER_TASK_TIME_LIMIT)
    Status = Reminder.Status  # noqa: N806 (the model's enum, as elsewhere)
    due = Q(status=Status.SCHEDULED, due_at__lte=at)
    long = Q(status=Status.SENDING, claimed_at__lt=at - long_after)
    totals = (
        Reminder.objects.filter(status__in=(Status.SCHEDULED, Status.SENDING, Status.FAILED))
        .order_by()
        .aggregate(
            due_count=Count("pk", filter=due),
            oldest_due_at=Min("due_at", filter=due),
            long_sending_count=Count("pk", filter=long),
            failed_count=Count("pk", filter=Q(status=Status.FAILED)),
        )
    )
    rows = list(
        Reminder.objects.filter(long)
        .select_related("client", "session")
        .order_by("claimed_at", "pk")[:shown]
    )
    return OutboxHealth(at=at, long_sending=rows, long_after=long_after, **totals)
