"""Never stale (issue 9, rule 9): an email that no longer makes sense is skipped at
dispatch with the reason on its row, and a manager's resend of it is refused with the
same reason. One rule, ``reminder_skip_reasons``, answers both."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from clinic.errors import Conflict
from sessions_app.models import Reminder, Session
from sessions_app.reminders import reminder_resend, reminders_dispatch
from tests.factories import PlanFactory, ReminderFactory, SessionFactory
from tests.sessions_app.helpers import LA

pytestmark = pytest.mark.django_db

Kind, Status, Event = Reminder.Kind, Reminder.Status, Reminder.Event
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=LA).astimezone(UTC)
START = datetime(2027, 3, 10, 10, 0, tzinfo=LA)  # Ana's session this morning, 45 minutes


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def session(clock, a_client):
    return SessionFactory(client=a_client, start=START)


def completed(session: Session, at: datetime) -> Session:
    Session.objects.filter(pk=session.pk).update(
        status=Session.Status.COMPLETED, checked_in_at=session.start, completed_at=at
    )
    session.refresh_from_db()
    return session


def dispatched_at(clock, moment: datetime, reminder: Reminder) -> Reminder:
    clock.move_to(moment)
    reminders_dispatch()
    reminder.refresh_from_db()
    return reminder


def sent_kinds() -> list[str]:
    return [m.extra_headers["X-Clinic-Kind"] for m in mail.outbox]


# Hydration before the session ------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "sent"),
    [
        pytest.param(START - timedelta(minutes=1), True, id="a-minute-before-the-start"),
        pytest.param(START, False, id="at-the-start"),
        pytest.param(START + timedelta(minutes=20), False, id="during-the-session"),
    ],
)
def test_the_before_prompt_is_skipped_once_the_session_has_started(clock, session, moment, sent):
    prompt = ReminderFactory(session=session, kind=Kind.HYDRATION_BEFORE, due_at=NOW)

    prompt = dispatched_at(clock, moment, prompt)

    assert (prompt.status == Status.SENT) is sent
    assert sent_kinds() == ([Kind.HYDRATION_BEFORE] if sent else [])
    if not sent:
        assert prompt.status == Status.CANCELLED
        assert prompt.last_error == (
            "Skipped: the session started on Wed Mar 10, 2027 at 10:00 AM PST; "
            "a prompt to drink water before it no longer makes sense."
        )


# Hydration after the session -------------------------------------------------------------


@pytest.mark.parametrize(
    ("late", "sent"),
    [
        pytest.param(timedelta(minutes=1), True, id="at-once"),
        pytest.param(timedelta(hours=2), True, id="at-the-end-of-the-two-hours"),
        pytest.param(timedelta(hours=2, minutes=1), False, id="after-the-two-hours"),
        pytest.param(timedelta(days=7), False, id="a-week-of-worker-backlog"),
    ],
)
def test_the_after_prompt_is_skipped_once_its_two_hours_have_passed(clock, session, late, sent):
    done = START + timedelta(minutes=50)
    completed(session, done)
    prompt = ReminderFactory(session=session, kind=Kind.HYDRATION_AFTER, due_at=done)

    prompt = dispatched_at(clock, done + late, prompt)

    assert (prompt.status == Status.SENT) is sent
    if not sent:
        assert (prompt.status, prompt.sent_at) == (Status.CANCELLED, None)
        assert prompt.last_error == (
            "Skipped: the two hours after the session (completed on Wed Mar 10, 2027 at "
            "10:50 AM PST) are over; a prompt to drink water in them no longer makes sense."
        )


# Confirmations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "sent"),
    [
        pytest.param(START + timedelta(minutes=44), True, id="before-it-ends"),
        pytest.param(START + timedelta(minutes=45), False, id="once-it-is-over"),
    ],
)
def test_a_confirmation_of_a_session_already_over_is_skipped(clock, session, moment, sent):
    confirmation = ReminderFactory(session=session, kind=Kind.BOOKING_CONFIRMATION, due_at=NOW)

    confirmation = dispatched_at(clock, moment, confirmation)

    assert (confirmation.status == Status.SENT) is sent
    if not sent:
        assert confirmation.last_error == (
            "Skipped: the session was over (it ended on Wed Mar 10, 2027 at 10:45 AM PST) "
            "before this email went out."
        )


def test_a_series_confirmation_is_skipped_once_every_session_is_over(clock, a_client):
    plan = PlanFactory(client=a_client)
    days = [START + timedelta(days=n) for n in (0, 2)]
    for start in days:
        SessionFactory(client=a_client, plan=plan, kind=Session.Kind.SERIES, start=start)
    confirmation = ReminderFactory(
        session=None, client=a_client, plan=plan, kind=Kind.BOOKING_CONFIRMATION, due_at=NOW
    )
    other = ReminderFactory(
        session=None,
        client=a_client,
        plan=PlanFactory(client=a_client),
        kind=Kind.BOOKING_CONFIRMATION,
        due_at=NOW,
        key="confirm:other",
    )
    SessionFactory(client=a_client, plan=other.plan, start=days[-1] + timedelta(days=1))

    confirmation = dispatched_at(clock, days[-1] + timedelta(hours=1), confirmation)

    other.refresh_from_db()
    assert confirmation.status == Status.CANCELLED
    assert confirmation.last_error == (
        "Skipped: every session of the series was over before this email went out."
    )
    assert other.status == Status.SENT


# Resend ----------------------------------------------------------------------------------


def test_a_week_old_thank_you_can_no_longer_be_resent(clock, session):
    done = START + timedelta(minutes=45)
    completed(session, done)
    failed = ReminderFactory(
        session=session,
        kind=Kind.HYDRATION_AFTER,
        due_at=done,
        status=Status.FAILED,
        attempts=6,
        last_error="The mail server answered 452 mailbox full.",
    )
    clock.move_to(done + timedelta(days=7))

    with pytest.raises(Conflict) as refused:
        reminder_resend(reminder=failed)

    failed.refresh_from_db()
    assert refused.value.message == (
        "Not resent: the two hours after the session (completed on Wed Mar 10, 2027 at "
        "10:45 AM PST) are over; a prompt to drink water in them no longer makes sense."
    )
    assert (failed.status, failed.sent_at) == (Status.CANCELLED, None)
    assert failed.last_error == refused.value.message
    reminders_dispatch()
    assert mail.outbox == []


def test_a_failed_email_that_still_makes_sense_is_resent(clock, session):
    failed = ReminderFactory(
        session=session, kind=Kind.HYDRATION_BEFORE, due_at=NOW, status=Status.FAILED
    )
    clock.move_to(NOW + timedelta(minutes=30))

    reminder_resend(reminder=failed)
    reminders_dispatch()

    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.SENT, 1)
    assert sent_kinds() == [Kind.HYDRATION_BEFORE]


def test_only_a_failed_email_is_resent(clock, session):
    sent = ReminderFactory(session=session, status=Status.SENT, sent_at=NOW)

    with pytest.raises(Conflict) as refused:
        reminder_resend(reminder=sent)

    assert refused.value.message == "Only a failed reminder can be resent; this one is sent."
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_a_maintenance_reminder_is_not_resent_while_a_session_is_booked(clock, a_client):
    boost = SessionFactory(
        client=a_client,
        kind=Session.Kind.MAINTENANCE,
        status=Session.Status.COMPLETED,
        start=NOW - timedelta(weeks=4),
        completed_at=NOW - timedelta(weeks=4),
    )
    failed = ReminderFactory(
        session=boost, kind=Kind.MAINTENANCE_DUE, due_at=NOW, status=Status.FAILED
    )
    SessionFactory(client=a_client, start=NOW + timedelta(days=3))

    with pytest.raises(Conflict) as refused:
        reminder_resend(reminder=failed)

    assert refused.value.message.startswith("Not resent: the client has a session booked for")
