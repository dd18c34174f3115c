"""The reminder outbox: planning rows in the same transaction as the change they
follow, and dispatching what is due (SPEC, "Maintenance and hydration").

Planning is idempotent (each row has a unique ``key``). Dispatch claims rows with
``SELECT … FOR UPDATE SKIP LOCKED`` and moves them scheduled → sending → sent with
conditional updates, so several workers never send one row twice; a row whose
worker died mid-send is claimed again after ``REMINDER_SENDING_TIMEOUT_SECONDS``.
No Celery task is ever scheduled ahead: the row's ``due_at`` is the schedule.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from clinic.errors import Conflict
from protocols.models import Plan
from sessions_app.availability import clinic_zone, local_datetime
from sessions_app.emails import reminder_message
from sessions_app.maintenance import maintenance_cycle_sync, maintenance_hold
from sessions_app.models import Reminder, Session
from sessions_app.staleness import reminder_skip_reasons

logger = logging.getLogger(__name__)
Kind, Status, Event = Reminder.Kind, Reminder.Status, Reminder.Event
PENDING = (Status.SCHEDULED,)
MAX_BATCHES_PER_RUN = 50


# Planning -----------------------------------------------------------------------------
def _upsert(*, key: str, **fields) -> Reminder:
    reminder, _ = Reminder.objects.get_or_create(key=key, defaults=fields)
    return reminder


def hydration_before_due(start: datetime, *, booked_at: datetime) -> datetime:
    """The evening before at ``REMINDER_EVENING_BEFORE`` clinic time; if the booking
    came later than that, ``REMINDER_LATE_BOOKING_HOURS`` before; never before now."""
    hour, minute = (int(part) for part in settings.REMINDER_EVENING_BEFORE.split(":"))
    day_before = timezone.localtime(start, clinic_zone()).date() - timedelta(days=1)
    due = local_datetime(day_before, time(hour, minute))
    if booked_at > due:
        due = start - timedelta(hours=settings.REMINDER_LATE_BOOKING_HOURS)
    return max(due, booked_at)


def reminders_plan_booking(
    *, sessions: Iterable[Session], plan: Plan | None = None, at: datetime | None = None
) -> None:
    """After a booking: one confirmation (one per series, not per session) and a
    hydration prompt before each session. While it is booked, the maintenance cycle
    waits (``sessions_app.maintenance``)."""
    at = at or timezone.now()
    sessions = list(sessions)
    if not sessions:
        return
    client_id = sessions[0].client_id
    rows = []
    if plan is not None:
        rows.append(
            Reminder(
                # Per booking of the series: a plan booked again after a cancellation
                # gets its own confirmation.
                key=f"confirm:plan:{plan.pk}:{sessions[0].pk}",
                kind=Kind.BOOKING_CONFIRMATION,
                client_id=client_id,
                plan=plan,
                due_at=at,
            )
        )
    else:
        rows += [
            Reminder(
                key=f"confirm:session:{s.pk}:{s.sequence}",
                kind=Kind.BOOKING_CONFIRMATION,
                client_id=client_id,
                session=s,
                due_at=at,
            )
            for s in sessions
        ]
    rows += [
        Reminder(
            key=f"hydrate-before:{s.pk}",
            kind=Kind.HYDRATION_BEFORE,
            client_id=client_id,
            session=s,
            due_at=hydration_before_due(s.start, booked_at=at),
        )
        for s in sessions
    ]
    # One insert however long the series; a key already planned is left as it is.
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    maintenance_hold(client_id=client_id, session=sessions[0])


def reminders_plan_change(*, session: Session, at: datetime | None = None) -> None:
    """After a reschedule or cancellation: the pending hydration prompt moves or is
    cancelled, and the client gets an update whose calendar entry moves or disappears.
    A cancellation can end a series or free a held maintenance cycle."""
    at = at or timezone.now()
    cancelled = session.status == Session.Status.CANCELLED
    pending = Reminder.objects.filter(
        session=session, kind=Kind.HYDRATION_BEFORE, status__in=PENDING
    )
    if cancelled:
        pending.update(status=Status.CANCELLED, last_error="The session was cancelled.")
    else:
        due = hydration_before_due(session.start, booked_at=at)
        if not pending.update(due_at=due):
            # The prompt for the old time already went: the new time needs its own.
            _upsert(
                key=f"hydrate-before:{session.pk}:{session.sequence}",
                kind=Kind.HYDRATION_BEFORE,
                client_id=session.client_id,
                session=session,
                due_at=due,
            )
    _upsert(
        key=f"confirm:session:{session.pk}:{session.sequence}",
        kind=Kind.BOOKING_CONFIRMATION,
        client_id=session.client_id,
        session=session,
        event=Event.CANCELLED if cancelled else Event.RESCHEDULED,
        due_at=at,
    )
    if cancelled:
        maintenance_cycle_sync(client_id=session.client_id, at=at)


def reminders_plan_completion(*, session: Session, at: datetime | None = None) -> None:
    """After a completed session: a hydration prompt at once. A completed boost, or a
    series that this completion ends, starts the maintenance cycle
    (``sessions_app.maintenance`` decides)."""
    at = at or timezone.now()
    _upsert(
        key=f"hydrate-after:{session.pk}",
        kind=Kind.HYDRATION_AFTER,
        client_id=session.client_id,
        session=session,
        due_at=at,
    )
    maintenance_cycle_sync(client_id=session.client_id, at=at)


def reminder_resend(*, reminder: Reminder, at: datetime | None = None) -> None:
    """A manager sends a failed reminder again with the next dispatch, unless it no
    longer makes sense (issue 9, "Never stale": a week-old "thank you for coming in
    today"; a maintenance reminder while a session is booked). Then the resend is
    refused with the reason, and the row is cancelled with it, as dispatch would."""
    at = at or timezone.now()
    reminder = Reminder.objects.select_related("client", "session", "plan").get(pk=reminder.pk)
    if reminder.status == Status.FAILED:
        reason = reminder_skip_reasons([reminder], at=at).get(reminder.pk)
        if reason:
            refusal = f"Not resent: {reason}"
            Reminder.objects.filter(pk=reminder.pk, status=Status.FAILED).update(
                status=Status.CANCELLED, last_error=refusal
            )
            raise Conflict(refusal, field="status")
        if Reminder.objects.filter(pk=reminder.pk, status=Status.FAILED).update(
            status=Status.SCHEDULED, due_at=at, attempts=0, last_error=""
        ):
            return
        reminder.refresh_from_db(fields=["status"])
    raise Conflict(
        "Only a failed reminder can be resent; this one is "
        f"{reminder.get_status_display().lower()}.",
        field="status",
    )


# Dispatch ------------------------------------------------------------------------------
@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


def reminders_claim(*, now: datetime, batch: int) -> list[int]:
    """Claim up to ``batch`` due rows for this worker: scheduled ones that are due, and
    ones stuck in sending whose worker died. Rows another worker holds are skipped."""
    stale = now - timedelta(seconds=settings.REMINDER_SENDING_TIMEOUT_SECONDS)
    with transaction.atomic():
        ids = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=Status.SCHEDULED, due_at__lte=now)
                | Q(status=Status.SENDING, claimed_at__lt=stale)
            )
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:batch]
        )
        Reminder.objects.filter(pk__in=ids).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return ids


def _retry_or_fail(reminder: Reminder, error: str, *, now: datetime) -> str:
    if reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS:
        Reminder.objects.filter(pk=reminder.pk, status=Status.SENDING).update(
            status=Status.FAILED, last_error=error
        )
        logger.warning("Reminder %s failed for good: %s", reminder.pk, error)
        return "failed"
    backoff = settings.REMINDER_RETRY_BASE_SECONDS * 2 ** (reminder.attempts - 1)
    Reminder.objects.filter(pk=reminder.pk, status=Status.SENDING).update(
        status=Status.SCHEDULED, due_at=now + timedelta(seconds=backoff), last_error=error
    )
    return "retried"


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def describe_send_error(exc: Exception) -> str:
    """What went wrong, in words a manager can read (the server's code kept for support)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address} ({code} {_text(message)})"
            for address, (code, message) in exc.recipients.items()
        )
        return f"The mail server refused the address: {refused}."
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"The mail server answered {exc.smtp_code} {_text(exc.smtp_error)}."
    if isinstance(exc, smtplib.SMTPException):
        return f"The mail server stopped the send: {_text(exc)}."
    return f"Could not reach the mail server: {exc}."


def _send_batch(ids: list[int], result: DispatchResult) -> None:
    reminders = list(
        Reminder.objects.filter(pk__in=ids, status=Status.SENDING)
        .select_related("client", "session__esthetician", "plan")
        .order_by("due_at", "pk")
    )
    now = timezone.now()
    reasons = reminder_skip_reasons(reminders, at=now)
    to_send = []
    for reminder in reminders:
        if reminder.attempts > settings.REMINDER_MAX_ATTEMPTS:
            # Claimed again and again because each worker died on it: stop trying.
            Reminder.objects.filter(pk=reminder.pk, status=Status.SENDING).update(
                status=Status.FAILED,
                last_error=f"Gave up after {reminder.attempts - 1} attempts.",
            )
            result.failed += 1
            continue
        if reminder.pk in reasons:
            Reminder.objects.filter(pk=reminder.pk, status=Status.SENDING).update(
                status=Status.CANCELLED, last_error=f"Skipped: {reasons[reminder.pk]}"
            )
            result.skipped += 1
        else:
            to_send.append(reminder)
    if not to_send:
        return
    try:
        connection = get_connection()
        connection.open()
    except (smtplib.SMTPException, OSError) as exc:
        for reminder in to_send:
            outcome = _retry_or_fail(reminder, f"Could not reach the mail server: {exc}", now=now)
            setattr(result, outcome, getattr(result, outcome) + 1)
        return
    try:
        for reminder in to_send:
            try:
                reminder_message(reminder, connection=connection).send()
            except (smtplib.SMTPException, OSError) as exc:
                outcome = _retry_or_fail(reminder, describe_send_error(exc), now=now)
                setattr(result, outcome, getattr(result, outcome) + 1)
                continue
            except Exception as exc:
                # A row that cannot even be built (a template or data fault) must not hold
                # up the rest of the batch: log it, retry it with backoff, then fail it.
                logger.exception("Reminder %s could not be built or sent", reminder.pk)
                outcome = _retry_or_fail(reminder, f"{type(exc).__name__}: {exc}", now=now)
                setattr(result, outcome, getattr(result, outcome) + 1)
                continue
            # Only now has the server accepted it.
            Reminder.objects.filter(pk=reminder.pk, status=Status.SENDING).update(
                status=Status.SENT, sent_at=timezone.now(), last_error=""
            )
            result.sent += 1
    finally:
        connection.close()


def reminders_dispatch(*, batch: int | None = None) -> DispatchResult:
    """Send every reminder that is due, in small batches, one mail connection a batch."""
    batch = batch or settings.REMINDER_BATCH_SIZE
    result = DispatchResult()
    for _ in range(MAX_BATCHES_PER_RUN):
        ids = reminders_claim(now=timezone.now(), batch=batch)
        if not ids:
            break
        _send_batch(ids, result)
    return result
