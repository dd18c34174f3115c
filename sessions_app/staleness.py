"""Whether an outbox row still makes sense to send (issue 9, "Never stale"; SPEC,
"Maintenance and hydration"). The dispatcher asks before each send and skips a row
with the reason on it; a manager's resend asks the same question and is refused with
the same reason. A reason is a clause: callers say "Skipped: …" or "Not resent: …"."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Max

from sessions_app.emails import when
from sessions_app.maintenance import maintenance_skip_reasons
from sessions_app.models import Reminder, Session

Kind, Event = Reminder.Kind, Reminder.Event

# SPEC: "after each completed session, a prompt to drink two to four glasses in the two
# hours after". Past those two hours the prompt asks for something that can't be done.
HYDRATION_AFTER_WINDOW = timedelta(hours=2)


def reminder_stale_reason(
    reminder: Reminder, *, at: datetime, series_last_end: datetime | None = None
) -> str:
    """Why ``reminder`` no longer makes sense at ``at``, or "" when it still does.

    - the prompt before a session, once the session is no longer booked or has started;
    - the prompt after a session, once the two hours after its completion (its end, if
      it has none) are over;
    - a booking confirmation or update, once the session is over, and a confirmation
      still waiting when what it confirms was cancelled. For a series confirmation,
      ``series_last_end`` is the end of the series' last live session (None: none left).
    """
    session = reminder.session
    if reminder.kind == Kind.HYDRATION_BEFORE and session is not None:
        if session.status != Session.Status.BOOKED:
            return f"the session is {session.get_status_display().lower()}."
        if session.start <= at:
            return (
                f"the session started on {when(session.start)}; a prompt to drink water "
                "before it no longer makes sense."
            )
    elif reminder.kind == Kind.HYDRATION_AFTER and session is not None:
        done = session.completed_at or session.end
        if at > done + HYDRATION_AFTER_WINDOW:
            how = "completed" if session.completed_at else "ended"
            return (
                f"the two hours after the session ({how} on {when(done)}) are over; a "
                "prompt to drink water in them no longer makes sense."
            )
    elif reminder.kind == Kind.BOOKING_CONFIRMATION:
        booked = reminder.event == Event.BOOKED
        if session is not None:
            # A confirmation still waiting when the session was cancelled: the
            # cancellation notice says what the client needs to know.
            if booked and session.status == Session.Status.CANCELLED:
                return "the session was cancelled before this confirmation went out."
            if session.end <= at:
                return (
                    f"the session was over (it ended on {when(session.end)}) before this "
                    "email went out."
                )
        elif reminder.plan_id is not None:
            if series_last_end is None:
                return "the series was cancelled before this confirmation went out."
            if series_last_end <= at:
                return "every session of the series was over before this email went out."
    return ""


def reminder_skip_reasons(reminders: Iterable[Reminder], *, at: datetime) -> dict[int, str]:
    """Why each of ``reminders`` must not go out at ``at``, by id (absent: it may): the
    client was erased, the maintenance cycle's answer (``sessions_app.maintenance``) or
    the staleness rule.
    A fixed number of queries for the whole batch; select ``client``, ``session`` and
    ``plan`` with the rows."""
    reminders = list(reminders)
    plans = {
        r.plan_id
        for r in reminders
        if r.kind == Kind.BOOKING_CONFIRMATION and r.session_id is None and r.plan_id
    }
    last_ends: dict[int, datetime] = {}
    if plans:
        last_ends = dict(
            Session.objects.live()
            .filter(plan_id__in=plans)
            .order_by()
            .values("plan_id")
            .annotate(last_end=Max("end"))
            .values_list("plan_id", "last_end")
        )
    reasons = maintenance_skip_reasons(reminders, at=at)
    for reminder in reminders:
        if reminder.client.erased_at is not None:
            # Nothing ever goes to an erased client (issue 12), whatever planned it.
            reasons[reminder.pk] = "the client's data was erased."
        if reminder.pk in reasons:
            continue
        reason = reminder_stale_reason(
            reminder, at=at, series_last_end=last_ends.get(reminder.plan_id)
        )
        if reason:
            reasons[reminder.pk] = reason
    return reasons
