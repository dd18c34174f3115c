"""Dispatching the reminder outbox in-process to a real SMTP server (aiosmtpd) on a
local port: every due row sent exactly once, retries with exponential backoff, rows
abandoned by a dead worker picked up after the timeout, unsubscribed clients' maintenance
reminders skipped with a reason, and two dispatchers racing on PostgreSQL."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.utils import timezone

from clinic.errors import Conflict
from sessions_app.models import Reminder, Session
from sessions_app.reminders import reminder_resend, reminders_claim, reminders_dispatch
from tests.factories import ClientFactory, ReminderFactory, SessionFactory
from tests.sessions_app.helpers import LA

Kind, Status = Reminder.Kind, Reminder.Status
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=LA).astimezone(UTC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """A real SMTP server on a free local port that keeps every message it accepts.

    ``refuse_data`` / ``refuse_rcpt`` make it answer with that reply instead (a busy or
    full server); ``stop()`` takes it off the network and ``start()`` brings it back on
    the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.peers: set[tuple] = set()  # the SMTP connections that delivered something
        self.refuse_data: str | None = None
        self.refuse_rcpt: str | None = None
        self._controller: Controller | None = None

    def start(self) -> Inbox:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.refuse_data:
            return self.refuse_data
        return self.accept(session, envelope)

    def accept(self, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.peers.add(session.peer)
        return "250 Message accepted for delivery"

    def reminder_ids(self) -> Counter[int]:
        """How many times the server got each reminder."""
        return Counter(int(m["X-Clinic-Reminder"]) for m in self.messages)


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10


@pytest.fixture
def inbox(settings):
    box = Inbox().start()
    use_smtp(settings, box.port)
    yield box
    box.stop()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def due(kind: str = Kind.HYDRATION_BEFORE, *, at: datetime | None = None, **fields) -> Reminder:
    """An outbox row for a booked session tomorrow, due ``at`` (default now)."""
    return ReminderFactory(kind=kind, due_at=at or timezone.now(), **fields)


def reload(*reminders: Reminder) -> list[Reminder]:
    for reminder in reminders:
        reminder.refresh_from_db()
    return list(reminders)


# Every due row once --------------------------------------------------------------------------
@pytest.mark.django_db
def test_every_due_reminder_is_sent_exactly_once(clock, inbox, settings):
    settings.REMINDER_BATCH_SIZE = 3
    session = SessionFactory()
    ready = [
        due(Kind.BOOKING_CONFIRMATION, session=session),
        due(Kind.HYDRATION_BEFORE, session=session),
        *(due(at=NOW - timedelta(minutes=m)) for m in range(1, 5)),
        due(Kind.HYDRATION_AFTER, session=SessionFactory(status=Session.Status.COMPLETED)),
    ]

    first = reminders_dispatch()
    second = reminders_dispatch()

    assert (first.sent, second.sent) == (7, 0)
    assert inbox.reminder_ids() == {r.pk: 1 for r in ready}
    for reminder in reload(*ready):
        assert (reminder.status, reminder.sent_at, reminder.attempts) == (Status.SENT, NOW, 1)
        assert reminder.last_error == ""
    # One SMTP connection a batch: 7 rows in batches of 3.
    assert len(inbox.peers) == 3
    by_id = {int(m["X-Clinic-Reminder"]): m for m in inbox.messages}
    assert by_id[ready[0].pk]["To"] == session.client.email
    calendars = [p for p in by_id[ready[0].pk].walk() if p.get_content_type() == "text/calendar"]
    assert len(calendars) == 1


@pytest.mark.django_db
def test_a_reminder_not_yet_due_waits_for_its_time(clock, inbox):
    later = due(at=NOW + timedelta(minutes=1))

    assert reminders_dispatch().sent == 0
    clock.shift(timedelta(seconds=59))
    assert reminders_dispatch().sent == 0
    (later,) = reload(later)
    assert (later.status, later.attempts) == (Status.SCHEDULED, 0)
    assert inbox.messages == []

    clock.shift(timedelta(seconds=1))

    assert reminders_dispatch().sent == 1
    assert inbox.reminder_ids() == {later.pk: 1}


# Retries with backoff ------------------------------------------------------------------------
def refuse(inbox: Inbox, how: str) -> None:
    if how == "server-down":
        inbox.stop()
    elif how == "busy-on-data":
        inbox.refuse_data = "451 4.3.0 Try again later"
    else:
        inbox.refuse_rcpt = "452 4.2.2 Mailbox full, try again later"


def recover(inbox: Inbox, how: str) -> None:
    if how == "server-down":
        inbox.start()
    inbox.refuse_data = inbox.refuse_rcpt = None


# Refusals of one email count an attempt against its row; a server that cannot be reached
# at all backs off the whole dispatcher instead (test_reminders_faults.py).
ERRORS = {
    "busy-on-data": "451",
    "mailbox-full-on-rcpt": "452",
}


@pytest.mark.django_db
@pytest.mark.parametrize("how", list(ERRORS))
def test_a_refusing_server_means_retries_with_backoff_then_one_send(clock, inbox, settings, how):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    reminder = due()
    refuse(inbox, how)

    for attempt, wait in [(1, 60), (2, 120), (3, 240)]:
        failed_at = timezone.now()
        assert reminders_dispatch().retried == 1
        (reminder,) = reload(reminder)
        assert (reminder.status, reminder.attempts) == (Status.SCHEDULED, attempt)
        assert reminder.due_at == failed_at + timedelta(seconds=wait)
        assert ERRORS[how] in reminder.last_error
        assert "b'" not in reminder.last_error  # words for a manager, not a bytes repr
        # Not before the backoff has passed.
        clock.move_to(reminder.due_at - timedelta(seconds=1))
        assert reminders_dispatch().retried == 0
        clock.move_to(reminder.due_at)
    recover(inbox, how)

    assert reminders_dispatch().sent == 1
    assert reminders_dispatch().sent == 0

    (reminder,) = reload(reminder)
    assert (reminder.status, reminder.attempts, reminder.last_error) == (Status.SENT, 4, "")
    assert inbox.reminder_ids() == {reminder.pk: 1}


@pytest.mark.django_db
def test_after_the_last_attempt_a_reminder_fails_and_a_resend_sends_it(clock, inbox, settings):
    settings.REMINDER_MAX_ATTEMPTS = 3
    # For a session a week away: still worth sending when the resend comes a day later.
    reminder = due(session=SessionFactory(start=NOW + timedelta(days=7)))
    inbox.refuse_data = "451 4.3.0 Try again later"
    for _ in range(3):
        reminders_dispatch()
        (reminder,) = reload(reminder)
        clock.move_to(max(reminder.due_at, timezone.now()))

    clock.shift(timedelta(days=1))
    assert reminders_dispatch().sent == 0
    (reminder,) = reload(reminder)
    assert (reminder.status, reminder.attempts) == (Status.FAILED, 3)
    assert reminder.last_error == "The mail server answered 451 4.3.0 Try again later."
    inbox.refuse_data = None
    assert inbox.messages == []

    reminder_resend(reminder=reminder)
    assert reminders_dispatch().sent == 1

    (reminder,) = reload(reminder)
    assert (reminder.status, reminder.attempts, reminder.last_error) == (Status.SENT, 1, "")
    assert inbox.reminder_ids() == {reminder.pk: 1}
    with pytest.raises(Conflict, match="Only a failed reminder can be resent"):
        reminder_resend(reminder=reminder)


# Workers that die ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_row_stuck_in_sending_is_claimed_again_after_the_timeout(clock, inbox, settings):
    timeout = timedelta(seconds=settings.REMINDER_SENDING_TIMEOUT_SECONDS)
    stale = due(status=Status.SENDING, attempts=1, claimed_at=NOW - timeout - timedelta(seconds=1))
    fresh = due(status=Status.SENDING, attempts=1, claimed_at=NOW - timeout + timedelta(seconds=1))

    assert reminders_dispatch().sent == 1

    stale, fresh = reload(stale, fresh)
    assert (stale.status, stale.attempts) == (Status.SENT, 2)
    assert (fresh.status, fresh.attempts) == (Status.SENDING, 1)
    assert inbox.reminder_ids() == {stale.pk: 1}

    clock.shift(timedelta(seconds=2))

    assert reminders_dispatch().sent == 1
    assert inbox.reminder_ids() == {stale.pk: 1, fresh.pk: 1}


@pytest.mark.django_db
def test_a_worker_killed_after_claiming_loses_nothing(clock, inbox, settings):
    rows = [due(at=NOW - timedelta(seconds=s)) for s in range(5)]
    claimed = reminders_claim(now=NOW, batch=10)  # ... and the worker dies here
    assert sorted(claimed) == sorted(r.pk for r in rows)

    assert reminders_dispatch().sent == 0  # another worker leaves them alone for now
    clock.shift(timedelta(seconds=settings.REMINDER_SENDING_TIMEOUT_SECONDS + 1))
    assert reminders_dispatch().sent == 5

    assert inbox.reminder_ids() == {r.pk: 1 for r in rows}
    assert {(r.status, r.attempts) for r in reload(*rows)} == {(Status.SENT, 2)}


@pytest.mark.django_db
def test_a_row_every_worker_died_on_is_given_up(clock, inbox, settings):
    settings.REMINDER_MAX_ATTEMPTS = 3
    long_ago = NOW - timedelta(hours=1)
    poison = due(status=Status.SENDING, attempts=3, claimed_at=long_ago)

    assert reminders_dispatch().failed == 1

    (poison,) = reload(poison)
    assert (poison.status, poison.last_error) == (Status.FAILED, "Gave up after 3 attempts.")
    assert inbox.messages == []


# Skipped rows --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_unsubscribed_clients_maintenance_reminders_are_skipped_with_a_reason(clock, inbox):
    gone = ClientFactory(unsubscribed_at=datetime(2027, 3, 1, 12, 0, tzinfo=LA))
    session = SessionFactory(client=gone, status=Session.Status.COMPLETED)
    skipped = [
        due(kind, session=session) for kind in (Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE)
    ]
    still_sent = [
        due(kind, session=session) for kind in (Kind.BOOKING_CONFIRMATION, Kind.HYDRATION_AFTER)
    ]
    subscribed = due(Kind.MAINTENANCE_DUE, session=SessionFactory(status=Session.Status.COMPLETED))

    result = reminders_dispatch()

    assert (result.sent, result.skipped) == (3, 2)
    assert inbox.reminder_ids() == {r.pk: 1 for r in [*still_sent, subscribed]}
    for reminder in reload(*skipped):
        assert (reminder.status, reminder.sent_at) == (Status.CANCELLED, None)
        assert reminder.last_error == (
            "Skipped: the client unsubscribed from maintenance reminders on March 1, 2027."
        )
    assert {r.status for r in reload(*still_sent, subscribed)} == {Status.SENT}


@pytest.mark.django_db
def test_a_hydration_prompt_for_a_session_no_longer_booked_is_skipped(clock, inbox):
    reminder = due(session=SessionFactory(status=Session.Status.CANCELLED))

    assert reminders_dispatch().skipped == 1

    (reminder,) = reload(reminder)
    assert (reminder.status, reminder.last_error) == (
        Status.CANCELLED,
        "Skipped: the session is cancelled.",
    )
    assert inbox.messages == []


@pytest.mark.django_db
def test_a_confirmation_for_a_session_cancelled_before_it_went_is_skipped(clock, inbox):
    session = SessionFactory(status=Session.Status.CANCELLED)
    stale = due(Kind.BOOKING_CONFIRMATION, session=session, client=session.client)
    notice = due(
        Kind.BOOKING_CONFIRMATION,
        session=session,
        client=session.client,
        event=Reminder.Event.CANCELLED,
        key="confirm:cancelled",
    )

    result = reminders_dispatch()

    stale, notice = reload(stale, notice)
    assert (result.sent, result.skipped) == (1, 1)
    assert stale.status == Status.CANCELLED
    assert "cancelled before this confirmation went out" in stale.last_error
    assert notice.status == Status.SENT


@pytest.mark.django_db
def test_a_row_that_cannot_be_built_does_not_hold_up_the_batch(clock, inbox, settings):
    broken = due(Kind.MAINTENANCE_DUE)
    fine = due(Kind.HYDRATION_AFTER)
    # An email kind with no templates: building it raises, not an SMTP error.
    Reminder.objects.filter(pk=broken.pk).update(kind="no_such_kind")

    result = reminders_dispatch()

    broken, fine = reload(broken, fine)
    assert result.sent == 1
    assert fine.status == Status.SENT
    assert broken.status == Status.SCHEDULED
    assert "TemplateDoesNotExist" in broken.last_error
    assert len(inbox.messages) == 1


# Racing dispatchers (PostgreSQL row locks) ---------------------------------------------------
def in_thread(target, *args):
    """Run ``target`` on its own thread (and so its own database connection)."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = target(*args)
        except BaseException as exc:  # reported to the test below
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_racing_send_each_reminder_once(clock, inbox):
    rows = [due(at=NOW - timedelta(seconds=s)) for s in range(30)]
    barrier = threading.Barrier(2, timeout=10)

    def dispatcher():
        barrier.wait()
        return reminders_dispatch(batch=3)

    running = [in_thread(dispatcher) for _ in range(2)]
    for thread, _ in running:
        thread.join(timeout=60)
    outcomes = [outcome for _, outcome in running]

    assert [o.get("error") for o in outcomes] == [None, None]
    assert sum(o["value"].sent for o in outcomes) == 30
    assert len(inbox.messages) == 30
    assert inbox.reminder_ids() == {r.pk: 1 for r in rows}
    assert {(r.status, r.attempts) for r in reload(*rows)} == {(Status.SENT, 1)}


@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_rows_another_worker_holds_without_waiting(clock):
    rows = [due(at=NOW - timedelta(seconds=s)) for s in range(6)]
    held = sorted(r.pk for r in rows[:3])

    with transaction.atomic():
        locked = list(
            Reminder.objects.select_for_update().filter(pk__in=held).values_list("pk", flat=True)
        )
        thread, outcome = in_thread(lambda: reminders_claim(now=NOW, batch=10))
        thread.join(timeout=10)
        assert not thread.is_alive()

    assert sorted(locked) == held
    assert "error" not in outcome
    assert sorted(outcome["value"]) == sorted(r.pk for r in rows[3:])
    assert sorted(reminders_claim(now=NOW, batch=10)) == held
