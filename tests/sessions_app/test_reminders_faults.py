"""The reminder dispatcher under faults (issue 10), on real PostgreSQL and a real SMTP
server (aiosmtpd): a sender only touches rows its batch still owns, "sent" is recorded
across a dropped database connection, every attempt carries the row's own Message-ID, an
unreachable mail server backs the whole dispatcher off without burning attempts, a
dispatcher told to stop puts its claims back, and building a batch costs a fixed number
of queries."""

from __future__ import annotations

import threading
from datetime import timedelta
from email import message_from_bytes, policy

import psycopg2
import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app import reminders as reminders_module
from sessions_app.emails import reminder_message, reminder_message_id, reminders_prefetch
from sessions_app.models import MailServerBackoff, Reminder, Session
from sessions_app.reminders import reminder_resend, reminders_dispatch, reminders_release
from tests.factories import PlanFactory, ReminderFactory, SessionFactory
from tests.sessions_app.test_reminders_dispatch import NOW, Inbox, due, reload, use_smtp

Kind, Status = Reminder.Kind, Reminder.Status


class FaultyInbox(Inbox):
    """An ``Inbox`` that also runs ``on_data(n)`` when the n-th message's DATA arrives
    (after it was accepted), and remembers the Message-ID of every attempt, refused
    ones included."""

    def __init__(self) -> None:
        super().__init__()
        self.on_data = None
        self.attempted_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.attempted_ids.append(message["Message-ID"])
        if self.refuse_data:
            return self.refuse_data
        reply = self.accept(session, envelope)
        if self.on_data is not None:
            self.on_data(len(self.messages))
        return reply


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def inbox(settings):
    box = FaultyInbox().start()
    use_smtp(settings, box.port)
    yield box
    box.stop()


def from_another_thread(work):
    """Run ``work`` on its own thread, so on its own database connection."""
    failure: list[BaseException] = []

    def run():
        try:
            work()
        except BaseException as exc:
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    assert not failure, failure


# 1. A sender only touches rows it owns ----------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_rows_another_worker_retook_mid_batch_are_left_alone(inbox):
    rows = [due(at=timezone.now() - timedelta(seconds=10 - s)) for s in range(5)]
    retaken = [r.pk for r in rows[2:]]

    def another_worker_retakes_the_rest(n):
        # While our first email is with the server, another worker's claim takes the
        # rest (as after a stall past the reclaim timeout).
        if n == 1:
            from_another_thread(
                lambda: Reminder.objects.filter(pk__in=retaken).update(
                    claim_token="another-worker", claimed_at=timezone.now()
                )
            )

    inbox.on_data = another_worker_retakes_the_rest
    result = reminders_dispatch(batch=5)

    assert result.sent == 2
    assert set(inbox.reminder_ids()) == {rows[0].pk, rows[1].pk}
    for reminder in reload(*rows[2:]):
        assert (reminder.status, reminder.claim_token) == (Status.SENDING, "another-worker")
        assert reminder.sent_at is None


@pytest.mark.django_db
def test_a_release_touches_only_its_own_batch(clock):
    mine = due(status=Status.SENDING, attempts=1, claimed_at=NOW, claim_token="mine")
    theirs = due(status=Status.SENDING, attempts=1, claimed_at=NOW, claim_token="theirs")

    assert reminders_release(token="mine") == 1

    mine, theirs = reload(mine, theirs)
    assert (mine.status, mine.attempts, mine.claimed_at) == (Status.SCHEDULED, 0, None)
    assert (theirs.status, theirs.attempts) == (Status.SENDING, 1)


# 3. "Sent" is recorded even when the database blips ----------------------------------------
def terminate_backend(pid: int) -> None:
    """What a failover or a network drop does to the dispatcher's connection."""
    params = connection.get_connection_params()
    with psycopg2.connect(**params) as other, other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()


@pytest.mark.django_db(transaction=True)
def test_the_database_connection_dropped_just_after_the_server_accepted(inbox):
    rows = [due(at=timezone.now() - timedelta(seconds=s)) for s in range(6)]
    connection.ensure_connection()
    pid = connection.connection.get_backend_pid()
    killed = []

    def drop_the_dispatchers_connection(n):
        if n == 3:
            terminate_backend(pid)
            killed.append(pid)

    inbox.on_data = drop_the_dispatchers_connection
    result = reminders_dispatch(batch=6)

    assert killed == [pid]
    assert connection.connection.get_backend_pid() != pid  # it went on on a fresh one
    assert result.sent == 6
    assert inbox.reminder_ids() == {r.pk: 1 for r in rows}
    assert {(r.status, r.attempts) for r in reload(*rows)} == {(Status.SENT, 1)}
    assert not Reminder.objects.filter(status=Status.SENDING).exists()
    assert reminders_dispatch().sent == 0
    assert len(inbox.messages) == 6


# 4. One Message-ID per reminder ----------------------------------------------------------
@pytest.mark.django_db
def test_every_attempt_and_resend_carries_the_same_message_id(clock, inbox, settings):
    settings.REMINDER_MAX_ATTEMPTS = 2
    settings.SITE_URL = "https://book.lumen.example:8443/app"
    reminder = due(session=SessionFactory(start=NOW + timedelta(days=7)))
    other = due(session=SessionFactory(start=NOW + timedelta(days=7)))
    expected = reminder_message_id(reminder)
    assert expected.startswith("<reminder-")
    assert expected.endswith("@book.lumen.example>")
    assert reminder_message_id(other) != expected

    inbox.refuse_data = "451 4.3.0 Try again later"
    reminders_dispatch()  # attempt 1, refused
    clock.move_to(reload(reminder)[0].due_at)
    reminders_dispatch()  # attempt 2, refused: failed
    inbox.refuse_data = None
    (reminder,) = reload(reminder)
    assert reminder.status == Status.FAILED
    reminder_resend(reminder=reminder)
    assert reminders_dispatch().sent == 1
    # A manager's second send of a sent row (the page's "send again") would carry it too.
    assert reminder_message(reload(reminder)[0]).message()["Message-ID"] == expected

    mine = [mid for mid in inbox.attempted_ids if mid == expected]
    assert len(mine) == 3
    assert [m["Message-ID"] for m in inbox.messages if m["Message-ID"] == expected] == [expected]


# 6. Outages don't burn attempts --------------------------------------------------------------
@pytest.mark.django_db
def test_a_mail_server_down_longer_than_the_ladder_fails_no_row(clock, inbox, settings):
    settings.REMINDER_MAX_ATTEMPTS = 3
    settings.REMINDER_RETRY_BASE_SECONDS = 2
    settings.REMINDER_OUTAGE_MAX_SECONDS = 8
    rows = [due(at=NOW - timedelta(seconds=s)) for s in range(4)]
    inbox.stop()

    steps = []
    for attempt in range(1, 9):  # far past REMINDER_MAX_ATTEMPTS and the top of the ladder
        began = timezone.now()
        result = reminders_dispatch(batch=10)
        assert (result.released, result.retried, result.failed) == (4, 0, 0)
        step = min(2 * 2 ** (attempt - 1), 8)
        # Jitter: half the step plus up to half again.
        assert began + timedelta(seconds=step / 2) <= result.paused_until
        assert result.paused_until <= began + timedelta(seconds=step)
        steps.append(result.paused_until - began)
        for reminder in reload(*rows):
            assert (reminder.status, reminder.attempts) == (Status.SCHEDULED, 0)
            assert "Could not reach the mail server" in reminder.last_error
        # Every dispatcher respects the back-off: nobody even tries the server.
        clock.move_to(result.paused_until - timedelta(milliseconds=1))
        assert reminders_dispatch().paused_until == result.paused_until
        clock.move_to(result.paused_until)
    assert not Reminder.objects.filter(status=Status.FAILED).exists()
    inbox.start()

    result = reminders_dispatch(batch=10)

    assert (result.sent, result.paused_until) == (4, None)
    assert inbox.reminder_ids() == {r.pk: 1 for r in rows}
    assert {(r.status, r.attempts, r.last_error) for r in reload(*rows)} == {(Status.SENT, 1, "")}
    # The next outage starts again from the bottom of the ladder.
    assert MailServerBackoff.objects.get().failures == 0


@pytest.mark.django_db
def test_a_refusal_of_one_email_still_counts_against_its_row(clock, inbox):
    refused = due(at=NOW - timedelta(seconds=1))
    fine = due()
    inbox.refuse_data = "554 5.7.1 Message rejected"
    result = reminders_dispatch()

    assert (result.retried, result.sent, result.paused_until) == (2, 0, None)
    refused, fine = reload(refused, fine)
    assert (refused.status, refused.attempts) == (Status.SCHEDULED, 1)
    assert refused.last_error == "The mail server answered 554 5.7.1 Message rejected."
    assert not MailServerBackoff.objects.exists()


# 5 (the dispatcher's side). Stopping cleanly -----------------------------------------------
@pytest.mark.django_db
def test_a_dispatcher_told_to_stop_finishes_the_email_in_hand_and_puts_the_rest_back(clock, inbox):
    rows = [due(at=NOW - timedelta(seconds=10 - s)) for s in range(6)]
    inbox.on_data = lambda n: None

    result = reminders_dispatch(batch=4, should_stop=lambda: len(inbox.messages) >= 2)

    assert (result.sent, result.released, result.stopped) == (2, 2, True)
    assert inbox.reminder_ids() == {rows[0].pk: 1, rows[1].pk: 1}
    after = reload(*rows)
    assert [(r.status, r.attempts) for r in after[2:4]] == [(Status.SCHEDULED, 0)] * 2
    assert [(r.status, r.attempts) for r in after[4:]] == [(Status.SCHEDULED, 0)] * 2  # unclaimed
    assert reminders_dispatch().sent == 4


class TimeLimit(Exception):
    """Stands in for Celery's SoftTimeLimitExceeded, raised in the middle of a batch."""


@pytest.mark.django_db
def test_an_error_mid_batch_puts_the_unsent_claims_back(clock, inbox):
    rows = [due(at=NOW - timedelta(seconds=10 - s)) for s in range(4)]

    def time_is_up():
        if len(inbox.messages) == 1:
            raise TimeLimit
        return False

    with pytest.raises(TimeLimit):
        reminders_dispatch(should_stop=time_is_up)

    first, *rest = reload(*rows)
    assert first.status == Status.SENT
    assert {(r.status, r.attempts) for r in rest} == {(Status.SCHEDULED, 0)}


@pytest.mark.django_db
def test_a_time_limit_between_the_servers_yes_and_our_record_records_it_as_sent(
    clock, inbox, monkeypatch
):
    """The server said yes; the time limit strikes before "sent" is written: it is
    written on the way out, never put back to go again."""
    rows = [due(at=NOW - timedelta(seconds=10 - s)) for s in range(3)]
    record = reminders_module._record
    struck = []

    def time_limit_before_the_first_sent_record(token, outcomes, *args, **kwargs):
        if not struck and any(c.get("status") == Status.SENT for c in outcomes.values()):
            struck.append(True)
            raise SoftTimeLimitExceeded
        return record(token, outcomes, *args, **kwargs)

    monkeypatch.setattr(reminders_module, "_record", time_limit_before_the_first_sent_record)

    with pytest.raises(SoftTimeLimitExceeded):
        reminders_dispatch()

    first, *rest = reload(*rows)
    assert len(inbox.messages) == 1
    assert (first.status, first.sent_at) == (Status.SENT, NOW)
    assert {(r.status, r.attempts) for r in rest} == {(Status.SCHEDULED, 0)}


@pytest.mark.django_db
def test_a_time_limit_while_the_server_has_the_email_puts_it_back_with_its_message_id(
    clock, inbox, settings
):
    """Its answer never came (the server took it, but the time limit struck first): it
    goes back with the rest of the batch, nothing is left in sending, and the copy sent
    again carries the same Message-ID, so the receiver drops it."""
    rows = [due(at=NOW - timedelta(seconds=10 - s)) for s in range(3)]
    settings.EMAIL_BACKEND = "tests.sessions_app.mail_backends.TimeLimitAfterAccept"

    with pytest.raises(SoftTimeLimitExceeded):
        reminders_dispatch()

    assert {(r.status, r.attempts) for r in reload(*rows)} == {(Status.SCHEDULED, 0)}
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert reminders_dispatch().sent == 3
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 4
    assert len(set(ids)) == 3


@pytest.mark.django_db
def test_a_big_batch_to_a_slow_server_stops_at_the_runs_time_budget(clock, inbox):
    """The budget is checked before each email, not only between batches: a run never
    holds a big batch past it; the rest goes back for the next run, queued at once."""
    rows = [due(at=NOW - timedelta(seconds=20 - s)) for s in range(12)]
    # The server's own slowness (not the test waiting): 50 ms before each reply.
    inbox.on_data = lambda _count: threading.Event().wait(0.05)

    result = reminders_dispatch(batch=12, budget_seconds=0.2)

    assert result.more
    assert 0 < result.sent < 12
    now = reload(*rows)
    assert {r.status for r in now} == {Status.SENT, Status.SCHEDULED}
    assert {r.attempts for r in now if r.status == Status.SCHEDULED} == {0}
    assert len(inbox.messages) == result.sent


@pytest.mark.django_db
def test_a_run_goes_on_past_many_batches_until_its_time_budget(clock, inbox):
    rows = [due(at=NOW - timedelta(seconds=s)) for s in range(7)]

    assert reminders_dispatch(batch=2).sent == 7  # four batches in one run
    assert {r.status for r in reload(*rows)} == {Status.SENT}

    later = [due() for _ in range(3)]
    result = reminders_dispatch(batch=2, budget_seconds=0)
    assert (result.sent, result.more) == (0, True)
    assert {r.status for r in reload(*later)} == {Status.SCHEDULED}


# 7. A fixed number of queries per batch ------------------------------------------------------
def mixed_outbox(count: int) -> list[Reminder]:
    """Every kind of email, as a batch has them: single and series confirmations,
    hydration prompts, maintenance reminders."""
    rows = []
    for i in range(count):
        shape = i % 5
        if shape == 0:
            plan = PlanFactory()
            first = SessionFactory(client=plan.client, plan=plan)
            SessionFactory(client=plan.client, plan=plan, start=first.start + timedelta(days=7))
            rows.append(
                ReminderFactory(
                    kind=Kind.BOOKING_CONFIRMATION,
                    session=None,
                    client=plan.client,
                    plan=plan,
                )
            )
        elif shape == 1:
            rows.append(ReminderFactory(kind=Kind.BOOKING_CONFIRMATION))
        elif shape == 2:
            rows.append(ReminderFactory(kind=Kind.HYDRATION_BEFORE))
        else:
            done = SessionFactory(
                status=Session.Status.COMPLETED, start=NOW - timedelta(weeks=4, hours=1)
            )
            kind = Kind.MAINTENANCE_DUE if shape == 3 else Kind.MAINTENANCE_OVERDUE
            rows.append(ReminderFactory(kind=kind, session=done, due_at=NOW - timedelta(minutes=1)))
    return rows


def build_batch(ids: list[int]) -> list:
    reminders = list(
        Reminder.objects.filter(pk__in=ids)
        .select_related("client", "session__esthetician", "plan")
        .order_by("pk")
    )
    reminders_prefetch(reminders)
    return [reminder_message(r) for r in reminders]


@pytest.mark.django_db
def test_building_a_batch_costs_the_same_queries_for_5_and_40(clock, django_assert_max_num_queries):
    small = [r.pk for r in mixed_outbox(5)]
    large = [r.pk for r in mixed_outbox(40)]

    with CaptureQueriesContext(connection) as five:
        messages = build_batch(small)
    assert len(messages) == 5
    with django_assert_max_num_queries(len(five)):
        assert len(build_batch(large)) == 40
    # The rows, the series' sessions, the last completed sessions, and the screenings,
    # clearances and health changes of the confirmations' clients (their screening link).
    assert len(five) <= 6
    subjects = {m.subject for m in messages}
    assert any("maintenance" in s.lower() for s in subjects)
    assert any("sessions are booked" in s for s in subjects)


@pytest.mark.django_db
def test_dispatch_costs_one_query_per_email_beyond_a_fixed_batch_cost(clock, inbox):
    mixed_outbox(5)
    with CaptureQueriesContext(connection) as five:
        assert reminders_dispatch(batch=50).sent == 5
    mixed_outbox(40)
    with CaptureQueriesContext(connection) as forty:
        assert reminders_dispatch(batch=50).sent == 40

    # Claim (with the rows), skip checks and prefetch once a batch; per email only the
    # UPDATE that records it and extends the next row's claim, one round trip (on
    # PostgreSQL the batch turns the disk-flush wait off once and back on once).
    assert len(forty) - len(five) == 35
    flush_switches = 2 if connection.vendor == "postgresql" else 0
    assert sum("synchronous_commit" in q["sql"] for q in forty) == flush_switches
