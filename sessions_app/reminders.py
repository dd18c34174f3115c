"""The reminder outbox: planning rows in the same transaction as the change they
follow, and dispatching what is due (SPEC, "Maintenance and hydration").

Planning is idempotent (each row has a unique ``key``). Dispatch claims rows with
``SELECT … FOR UPDATE SKIP LOCKED`` under a token per batch and moves them scheduled →
sending → sent with updates that name the token, each row's claim checked again right
before its email, so several workers never send one row twice; a row whose worker died
mid-send is claimed again after ``REMINDER_SENDING_TIMEOUT_SECONDS``. Every attempt at
one row carries the same Message-ID, so the one duplicate SMTP cannot rule out (a send
accepted as its worker died) is dropped by the receiver (issue 10). No Celery task is
ever scheduled ahead: the row's ``due_at`` is the schedule.
"""

from __future__ import annotations

import contextlib
import logging
import random
import smtplib
import sys
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from time import monotonic, sleep

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from clinic.errors import Conflict
from protocols.models import Plan
from sessions_app.availability import clinic_zone, local_datetime
from sessions_app.emails import reminder_message, reminders_prefetch
from sessions_app.maintenance import maintenance_cycle_sync, maintenance_hold
from sessions_app.models import MailServerBackoff, Reminder, Session
from sessions_app.staleness import reminder_skip_reasons

logger = logging.getLogger(__name__)
Kind, Status, Event = Reminder.Kind, Reminder.Status, Reminder.Event
PENDING = (Status.SCHEDULED,)


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
    # An update still waiting says something no longer true: this change replaces it.
    Reminder.objects.filter(
        session=session, kind=Kind.BOOKING_CONFIRMATION, status=Status.SCHEDULED
    ).exclude(event=Event.BOOKED).update(
        status=Status.CANCELLED, last_error="Replaced by a later change to the session."
    )
    if _client_was_told_of(session):
        _upsert(
            key=f"confirm:session:{session.pk}:{session.sequence}",
            kind=Kind.BOOKING_CONFIRMATION,
            client_id=session.client_id,
            session=session,
            event=Event.CANCELLED if cancelled else Event.RESCHEDULED,
            due_at=at,
        )
    # Otherwise the confirmation still waiting tells the client the session as it is now
    # (or, the session cancelled, is skipped): no notice of a booking never announced.
    if cancelled:
        maintenance_cycle_sync(client_id=session.client_id, at=at)


def _client_was_told_of(session: Session) -> bool:
    """Does the client know of ``session``: they cancelled it themselves (by an email
    link), or an email about it, or their series' confirmation, has gone out (or is
    going now)?"""
    if session.cancelled_by_client:
        return True
    covering = Q(session=session)
    if session.plan_id is not None:
        covering |= Q(plan_id=session.plan_id, session__isnull=True)
    return Reminder.objects.filter(covering, status__in=(Status.SENT, Status.SENDING)).exists()


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


@dataclass
class ResendAll:
    """What ``reminders_resend_failed`` did: how many went back to the outbox, and each
    refused row with why."""

    resent: int = 0
    refused: list[tuple[Reminder, str]] = field(default_factory=list)


RESEND_CHUNK = 500


def reminders_resend_failed(*, at: datetime | None = None) -> ResendAll:
    """A manager sends every failed reminder again at once (issue 10): each one by the
    same rule as ``reminder_resend``. One that still makes sense goes back to the outbox
    (due now, attempts from zero); one that no longer does is refused and cancelled with
    the reason on its row. A fixed number of queries per chunk of rows; rows that stopped
    being failed meanwhile are left alone (conditional updates)."""
    at = at or timezone.now()
    outcome = ResendAll()
    last_pk = 0
    while True:
        chunk = list(
            Reminder.objects.filter(status=Status.FAILED, pk__gt=last_pk)
            .select_related("client", "session", "plan")
            .order_by("pk")[:RESEND_CHUNK]
        )
        if not chunk:
            return outcome
        last_pk = chunk[-1].pk
        reasons = reminder_skip_reasons(chunk, at=at)
        if reasons:
            refusals = {pk: f"Not resent: {reason}" for pk, reason in reasons.items()}
            Reminder.objects.filter(pk__in=refusals, status=Status.FAILED).update(
                status=Status.CANCELLED,
                last_error=Case(*(When(pk=pk, then=Value(text)) for pk, text in refusals.items())),
            )
            outcome.refused += [(r, reasons[r.pk]) for r in chunk if r.pk in reasons]
        outcome.resent += Reminder.objects.filter(
            pk__in=[r.pk for r in chunk if r.pk not in reasons], status=Status.FAILED
        ).update(status=Status.SCHEDULED, due_at=at, attempts=0, last_error="")


# Dispatch ------------------------------------------------------------------------------
# Recording "sent" survives a dropped database connection: this many tries, each on a
# fresh connection after a short pause (issue 10, "Sent is recorded even when the
# database blips").
RECORD_TRIES = 4
RECORD_PAUSE_SECONDS = 0.05
# Emails built ahead of the one being sent (see ``_send_batch``).
BUILD_AHEAD = 1
GIL_SWITCH_SECONDS = 0.0001


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    # Claims put back unsent, attempts unchanged: told to stop, mail server unreachable,
    # or the database lost while recording.
    released: int = 0
    stopped: bool = False
    # The time budget ran out before the outbox did: the caller may run again at once.
    more: bool = False
    # The mail server could not be reached: no dispatcher claims anything before this.
    paused_until: datetime | None = None

    def count(self, outcome: str | None) -> None:
        if outcome:
            setattr(self, outcome, getattr(self, outcome) + 1)


def _owned(token: str, ids: Iterable[int] | None = None):
    """The rows a batch still holds: in sending under its token. Every write after the
    claim goes through this, so a row another worker has re-taken is left alone."""
    rows = Reminder.objects.filter(status=Status.SENDING, claim_token=token)
    return rows if ids is None else rows.filter(pk__in=list(ids))


def reminders_claim(*, now: datetime, batch: int, token: str | None = None) -> list[int]:
    """Claim up to ``batch`` due rows for this worker under ``token`` (one per batch):
    scheduled ones that are due, and ones stuck in sending whose worker died. Rows
    another worker holds are skipped. Their ids."""
    return [r.pk for r in _claim(now=now, batch=batch, token=token or uuid.uuid4().hex)]


def _claim(*, now: datetime, batch: int, token: str) -> list[Reminder]:
    """``reminders_claim``, returning the rows loaded with what the emails and the skip
    checks need (one query fewer a batch than claiming, then loading)."""
    stale = now - timedelta(seconds=settings.REMINDER_SENDING_TIMEOUT_SECONDS)
    with transaction.atomic():
        rows = list(
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                Q(status=Status.SCHEDULED, due_at__lte=now)
                | Q(status=Status.SENDING, claimed_at__lt=stale)
            )
            .select_related("client", "session__esthetician", "plan")
            .order_by("due_at", "pk")[:batch]
        )
        if rows:
            Reminder.objects.filter(pk__in=[r.pk for r in rows]).update(
                status=Status.SENDING,
                claimed_at=now,
                claim_token=token,
                attempts=F("attempts") + 1,
            )
    for row in rows:
        row.status, row.claimed_at, row.claim_token = Status.SENDING, now, token
        row.attempts += 1
    return rows


def _extend(token: str, pk: int, *, now: datetime | None = None) -> bool:
    """Extend the batch's claim on one row, if it still holds it."""
    return bool(_owned(token, [pk]).update(claimed_at=now or timezone.now()))


def _sent_now() -> dict:
    return {"status": Status.SENT, "sent_at": timezone.now(), "last_error": ""}


def reminders_release(*, token: str, ids: Iterable[int] | None = None, note: str = "") -> int:
    """Put a batch's unsent claims back to scheduled, as if never claimed (the attempt
    the claim counted is given back): for a worker told to stop, an unreachable mail
    server, or a database lost mid-batch. Rows another worker re-took are not touched.
    How many went back."""
    fields = {"last_error": note} if note else {}
    return _with_fresh_connection(
        lambda: _owned(token, ids).update(
            status=Status.SCHEDULED, claimed_at=None, attempts=F("attempts") - 1, **fields
        )
    )


def _with_fresh_connection(write, *args, **kwargs):
    """Run ``write``; if the database connection dropped, run it again on a fresh one
    (closing the broken one), a few times with a short pause."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            return write(*args, **kwargs)
        except (OperationalError, InterfaceError):
            if attempt == RECORD_TRIES or db_connection.in_atomic_block:
                raise
            logger.warning("Database connection lost; trying again on a fresh one")
            # It was broken: the next query opens a new one.
            with contextlib.suppress(DatabaseError):
                db_connection.close()
            sleep(RECORD_PAUSE_SECONDS * attempt)
    raise AssertionError("unreachable")


def _record(token: str, outcomes: dict[int, dict], then: int | None, *, now: datetime) -> bool:
    """Write each row's outcome (``{pk: {field: value}}``) and extend the claim on the
    row to be sent ``then``, in one UPDATE whose WHERE names the batch's token: whether
    that row is still ours (another worker may have re-taken it after our claim timed
    out). Only the next row's claim is extended: each row is checked right before its
    own email, and extending the whole batch each time rewrote every row per email.

    Written as SQL: this runs once per email, and building it through the ORM's
    Case/When cost more than the database's work (issue 10, "Fast and fair")."""
    meta, quote = Reminder._meta, db_connection.ops.quote_name
    pk_column = quote(meta.pk.column)
    assignments, params = [], []
    for name in sorted({name for changes in outcomes.values() for name in changes}):
        field = meta.get_field(name)
        whens = []
        for pk, changes in outcomes.items():
            if name in changes:
                whens.append(f"WHEN {pk_column} = %s THEN %s")
                params += [pk, field.get_db_prep_save(changes[name], db_connection)]
        column = quote(field.column)
        assignments.append(f"{column} = CASE {' '.join(whens)} ELSE {column} END")
    claimed_at = meta.get_field("claimed_at")
    assignments.append(f"{quote(claimed_at.column)} = %s")
    params.append(claimed_at.get_db_prep_save(now, db_connection))
    ids = [*outcomes, *([then] if then is not None else [])]
    # Identifiers come from the model, every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
        f"WHERE {quote('status')} = %s AND {quote('claim_token')} = %s "
        f"AND {pk_column} IN ({', '.join(['%s'] * len(ids))})"
    )
    # One statement, committed on its own (autocommit): one round trip per email. While
    # a batch is sent the connection does not wait for the disk flush (``_wait_for_disk``).
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [*params, Status.SENDING, token, *ids])
        updated = cursor.rowcount
    if then is None or updated == len(ids):
        return True
    return _owned(token, [then]).exists()


def _wait_for_disk(wait: bool) -> None:
    """While a batch is sent (``wait=False``), PostgreSQL commits without waiting for its
    disk flush, the costliest part of recording a send. Should PostgreSQL itself crash
    in that moment, the emails recorded in its last fraction of a second are still
    "sending" under their token: sent again after the reclaim timeout, with their same
    Message-IDs. A connection opened afresh mid-batch keeps the default."""
    if db_connection.vendor != "postgresql":
        return
    with contextlib.suppress(DatabaseError), db_connection.cursor() as cursor:
        cursor.execute(f"SET synchronous_commit TO {'DEFAULT' if wait else 'OFF'}")


def _retry_or_fail(reminder: Reminder, error: str, *, now: datetime) -> tuple[str, dict]:
    """A send the server refused, or a row that could not be built: again later with
    exponential backoff, or failed for good after ``REMINDER_MAX_ATTEMPTS``. The outcome
    and the row's changes (written by ``_record`` under the batch's token)."""
    if reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS:
        logger.warning("Reminder %s failed for good: %s", reminder.pk, error)
        return "failed", {"status": Status.FAILED, "last_error": error}
    backoff = settings.REMINDER_RETRY_BASE_SECONDS * 2 ** (reminder.attempts - 1)
    return "retried", {
        "status": Status.SCHEDULED,
        "due_at": now + timedelta(seconds=backoff),
        "last_error": error,
    }


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


# The mail server unreachable: one back-off for every dispatcher --------------------------
def mail_backoff_until(*, now: datetime) -> tuple[datetime | None, int]:
    """Until when dispatchers leave the mail server alone (None: they don't), and how
    many back-offs in a row led there. One query."""
    row = MailServerBackoff.objects.filter(pk=1).values_list("until", "failures").first()
    if row is None:
        return None, 0
    until, failures = row
    return (until if until > now else None), failures


def mail_server_unreachable(*, error: str, now: datetime) -> datetime:
    """Record that the mail server could not be reached: every dispatcher waits for the
    next step of the ladder (``REMINDER_RETRY_BASE_SECONDS`` doubling up to
    ``REMINDER_OUTAGE_MAX_SECONDS``), with jitter (half the step plus up to half again)
    so workers don't all come back at once. A dispatcher that finds a back-off already
    running (another one failed first) joins it. Until when."""
    with transaction.atomic():
        row, _ = MailServerBackoff.objects.select_for_update().get_or_create(
            pk=1, defaults={"until": now}
        )
        if row.until > now:
            return row.until
        cap = settings.REMINDER_OUTAGE_MAX_SECONDS
        row.failures = min(row.failures + 1, 32)
        step = min(settings.REMINDER_RETRY_BASE_SECONDS * 2 ** (row.failures - 1), cap)
        row.until = now + timedelta(seconds=step / 2 + random.uniform(0, step / 2))  # noqa: S311
        row.last_error = error
        row.save()
    logger.warning("Mail server unreachable (%s); dispatch waits until %s", error, row.until)
    return row.until


def mail_server_reachable() -> None:
    """A connection opened after a back-off: the ladder starts again from the bottom."""
    MailServerBackoff.objects.filter(pk=1).update(failures=0, last_error="")


# Sending a batch ------------------------------------------------------------------------------
class _Generated:
    """A message whose bytes were generated ahead: what Django's SMTP backend asks of
    ``EmailMessage.message()`` is only ``as_bytes(linesep="\r\n")``."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def as_bytes(self, linesep: str = "\r\n") -> bytes:
        return self.data


def _build(reminder: Reminder, *, generate: bool):
    """Build one email on the builder thread: render it, and for Django's SMTP backend
    (``generate``) generate its bytes too, the costliest part of a send after the
    server's replies. It needs no query (``reminders_prefetch`` loaded everything);
    should one slip in, the thread's connection is closed after."""
    try:
        message = reminder_message(reminder)
        if generate:
            data = message.message().as_bytes(linesep="\r\n")
            message.message = lambda: _Generated(data)
        return message
    finally:
        db_connection.close()


class _Stop(Exception):
    """The run ends after this batch: told to stop, server unreachable, database lost."""


def _send_batch(
    reminders: list[Reminder],
    *,
    token: str,
    result: DispatchResult,
    should_stop: Callable[[], bool] | None = None,
    backoff_failures: int = 0,
    deadline: float | None = None,
) -> None:
    """Send one claimed batch over one SMTP connection. Raises ``_Stop`` when the run
    must end; the batch's unsent claims have then gone back."""
    now = timezone.now()
    # Claimed again and again because each worker died on it: stop trying.
    given_up = {
        r.pk: {"status": Status.FAILED, "last_error": f"Gave up after {r.attempts - 1} attempts."}
        for r in reminders
        if r.attempts > settings.REMINDER_MAX_ATTEMPTS
    }
    live = [r for r in reminders if r.pk not in given_up]
    reasons = reminder_skip_reasons(live, at=now)
    skipped = {
        pk: {"status": Status.CANCELLED, "last_error": f"Skipped: {reason}"}
        for pk, reason in reasons.items()
    }
    to_send = [r for r in live if r.pk not in reasons]
    if given_up or skipped:
        # One UPDATE for all of them.
        _record(token, {**given_up, **skipped}, None, now=now)
        result.failed += len(given_up)
        result.skipped += len(skipped)
    if not to_send:
        return
    reminders_prefetch(to_send)
    try:
        mail = get_connection()
        mail.open()
    except (smtplib.SMTPException, OSError) as exc:
        # Not this row's fault nor any other's: nobody's attempt is counted.
        error = describe_send_error(exc)
        result.paused_until = mail_server_unreachable(error=error, now=now)
        result.released += reminders_release(token=token, note=error)
        raise _Stop from exc
    if backoff_failures:
        mail_server_reachable()
    # The first row was claimed and loaded a moment ago; each next one is checked (and
    # its claim extended) with the UPDATE that records the one before.
    ours = True
    # Emails are built on a thread of their own, ahead of the sends: building is CPU
    # work and a send is mostly waiting for the server's reply, so they overlap.
    builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reminder-build")
    # The sender must get the GIL back as soon as the server answers: with Python's
    # default 5 ms switch interval it waited on the builder for most of each send.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    generate = isinstance(mail, SMTPBackend)
    built = {}

    def build_ahead(upto: int) -> None:
        # Only BUILD_AHEAD emails ahead: a builder that runs far ahead holds the GIL
        # while the sender's replies come in, and the sender waits for it.
        for later in range(upto, min(upto + BUILD_AHEAD, len(to_send))):
            if later not in built:
                built[later] = builder.submit(_build, to_send[later], generate=generate)

    # The row the server accepted that is not recorded yet: what a time limit striking
    # between the server's answer and our record of it must not put back.
    accepted = None
    _wait_for_disk(False)
    try:
        for index, reminder in enumerate(to_send):
            if not ours:
                # Another worker re-took it (our claim had timed out): not ours to send.
                # The next row's claim is extended here, as _record does otherwise.
                ours = index + 1 < len(to_send) and _extend(token, to_send[index + 1].pk)
                continue
            after = to_send[index + 1].pk if index + 1 < len(to_send) else None
            if should_stop is not None and should_stop():
                result.stopped = True
                result.released += reminders_release(token=token)
                raise _Stop
            if deadline is not None and monotonic() >= deadline:
                # The run's time is spent (a big batch to a slow server): the rest goes
                # back, for the next run, which the task queues at once.
                result.more = True
                result.released += reminders_release(token=token)
                raise _Stop
            lost_server = None
            try:
                build_ahead(index)
                message = built.pop(index).result()
                build_ahead(index + 1)
                mail.send_messages([message])
            except smtplib.SMTPServerDisconnected as exc:
                # The connection is gone: this row's send counts (it may or may not have
                # been taken); the rest go back untried, for the next batch's connection.
                outcome, changes = _retry_or_fail(reminder, describe_send_error(exc), now=now)
                lost_server = exc
            except (smtplib.SMTPException, OSError) as exc:
                outcome, changes = _retry_or_fail(reminder, describe_send_error(exc), now=now)
            except (_Stop, SoftTimeLimitExceeded):
                # The task's soft time limit is not this row's fault: the run's handler
                # puts the batch's unsent claims back (issue 10).
                raise
            except Exception as exc:
                # A row that cannot even be built (a template or data fault) must not hold
                # up the rest of the batch: log it, retry it with backoff, then fail it.
                logger.exception("Reminder %s could not be built or sent", reminder.pk)
                outcome, changes = _retry_or_fail(reminder, f"{type(exc).__name__}: {exc}", now=now)
            else:
                # Only now has the server accepted it: record it whatever the database does.
                accepted = reminder.pk
                outcome = "sent"
                changes = _sent_now()
            try:
                ours = _with_fresh_connection(
                    _record, token, {reminder.pk: changes}, after, now=timezone.now()
                )
            except DatabaseError:
                logger.exception("Could not record reminder %s as %s", reminder.pk, outcome)
                result.released += reminders_release(
                    token=token, ids=[r.pk for r in to_send[index + 1 :]]
                )
                raise _Stop from None
            accepted = None
            result.count(outcome)
            if lost_server is not None:
                result.released += reminders_release(
                    token=token, ids=[r.pk for r in to_send[index + 1 :]]
                )
                return
    except BaseException:
        # A time limit (or any fault) between the server's answer and our record of it:
        # the accepted email is recorded as sent, never put back to go again. One whose
        # answer never came goes back with the rest of the batch (the caller releases
        # it) and is sent again, with its same Message-ID.
        if accepted is not None:
            with contextlib.suppress(DatabaseError):
                _with_fresh_connection(
                    _record, token, {accepted: _sent_now()}, None, now=timezone.now()
                )
        raise
    finally:
        _wait_for_disk(True)
        builder.shutdown(wait=True, cancel_futures=True)
        sys.setswitchinterval(switch_interval)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            mail.close()


def reminders_dispatch(
    *,
    batch: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    budget_seconds: float | None = None,
) -> DispatchResult:
    """Send every reminder that is due, in batches of ``batch`` (one claim token and one
    mail connection each), until none is due or ``budget_seconds`` are spent
    (``REMINDER_DISPATCH_BUDGET_SECONDS``; then ``result.more`` says to run again).

    ``should_stop`` is asked before each claim and each email: when it says so, the run
    finishes the email in hand, claims nothing more and puts its unsent claims back. An
    error (a time limit) does the same on its way out. While the mail server is
    unreachable (``mail_backoff_until``) nothing is claimed."""
    batch = batch or settings.REMINDER_BATCH_SIZE
    if budget_seconds is None:
        budget_seconds = settings.REMINDER_DISPATCH_BUDGET_SECONDS
    deadline = monotonic() + budget_seconds
    result = DispatchResult()
    result.paused_until, failures = mail_backoff_until(now=timezone.now())
    if result.paused_until is not None:
        return result
    while True:
        if should_stop is not None and should_stop():
            result.stopped = True
            break
        if monotonic() >= deadline:
            result.more = True
            break
        token = uuid.uuid4().hex
        claimed = _claim(now=timezone.now(), batch=batch, token=token)
        if not claimed:
            break
        try:
            _send_batch(
                claimed,
                token=token,
                result=result,
                should_stop=should_stop,
                backoff_failures=failures,
                deadline=deadline,
            )
        except _Stop:
            break
        except BaseException:
            # A time limit or a fault mid-batch: what was not sent goes back now rather
            # than waiting out the reclaim timeout.
            try:
                reminders_release(token=token)
            except DatabaseError:
                logger.exception("Could not release the claims of batch %s", token)
            raise
        failures = 0
    return result
