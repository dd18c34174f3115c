"""The maintenance-boost cycle, decided in one place (issue 9, rule 1; SPEC "Maintenance
and hydration"): a series has ended when none of its sessions is booked or checked in
and one was completed, and the cycle counts from its last completed session whatever
happened to the sessions after it, in whatever order; a completed boost starts the next
cycle; while the client has a session booked ahead no maintenance reminder goes out and
the client is not maintenance due, and when that booking is cancelled the open cycle
resumes. Driven through the real lifecycle services, on the real database."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.roles import Role
from sessions_app.maintenance import (
    maintenance_cycle_sync,
    maintenance_due_clients,
    maintenance_resume_lapsed,
)
from sessions_app.models import Reminder, Session
from sessions_app.reminders import reminders_dispatch
from sessions_app.services import (
    session_book,
    session_cancel,
    session_check_in,
    session_complete,
    session_no_show,
)
from sessions_app.tasks import dispatch_due_reminders
from tests.factories import PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, screen

pytestmark = pytest.mark.django_db

Kind, Status = Reminder.Kind, Reminder.Status
MAINTENANCE = [Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE]
NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday; clocks spring forward 2027-03-14
TREATMENT = {
    "modality": "static",
    "intensity_microamps": 200,
    "frequency_hz": Decimal("2.00"),
    "duration_minutes": 40,
}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ours(clock, a_client, esthetician, working_hours, room, device):
    screen(a_client)
    return {"client": a_client, "esthetician": esthetician, "room": room, "device": device}


def series(ours, *days: date) -> list[Session]:
    """A series of Ana's at 10:00 clinic time on ``days``, booked now."""
    plan = PlanFactory(client=ours["client"], created_by=ours["esthetician"])
    return [
        SessionFactory(
            client=ours["client"],
            esthetician=ours["esthetician"],
            room=ours["room"],
            device=ours["device"],
            plan=plan,
            kind=Session.Kind.SERIES,
            start=at(day, "10:00"),
        )
        for day in days
    ]


def check_in(clock, session: Session, by) -> Session:
    clock.move_to(session.start)
    return session_check_in(session=session, nothing_changed=True, by=by)


def finish(clock, session: Session, by, *, when: datetime | None = None) -> Session:
    """Check in when the session starts (unless it is already), complete at ``when``."""
    session.refresh_from_db()
    if session.status == Session.Status.BOOKED:
        check_in(clock, session, by)
    clock.move_to(when or session.end)
    return session_complete(session=session, by=by, **TREATMENT)


def cancel(clock, session: Session, by, *, when: datetime) -> Session:
    clock.move_to(when)
    session.refresh_from_db()
    return session_cancel(session=session, by=by)


def no_show(clock, session: Session, by, *, when: datetime) -> Session:
    clock.move_to(when)
    session.refresh_from_db()
    return session_no_show(session=session, by=by)


def boost(ours, start: datetime) -> Session:
    return session_book(**ours, start=start, by=ours["esthetician"], kind=Session.Kind.MAINTENANCE)


def cycle(client, **filters) -> list[Reminder]:
    rows = Reminder.objects.filter(client=client, kind__in=MAINTENANCE, **filters)
    return list(rows.order_by("due_at", "pk"))


def weeks_later(moment: datetime, weeks: int) -> datetime:
    """The same clinic time of day ``weeks`` later, whatever the clocks did between."""
    return moment.astimezone(LA) + timedelta(weeks=weeks)


def maintenance_sent() -> list[str]:
    return [
        m.extra_headers["X-Clinic-Kind"]
        for m in mail.outbox
        if "maintenance" in m.extra_headers["X-Clinic-Kind"]
    ]


MAR_1, MAR_4, MAR_8 = date(2027, 3, 1), date(2027, 3, 4), date(2027, 3, 8)


# When a series ends ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "story",
    [
        "complete-then-cancel-the-last",
        "cancel-the-last-then-complete",
        "complete-then-no-show-the-last",
        "no-show-the-last-then-complete",
    ],
)
def test_a_series_ending_with_a_cancelled_or_missed_last_session_starts_the_cycle(
    clock, ours, story
):
    """The cycle counts from the last completed session's completion, 4 and 6 weeks on
    at the same clinic time (across the change to daylight-saving time on March 14)."""
    by = ours["esthetician"]
    first, middle, last = series(ours, MAR_1, MAR_4, MAR_8)
    finish(clock, first, by)
    if story == "complete-then-cancel-the-last":
        done = finish(clock, middle, by)
        cancel(clock, last, by, when=at(date(2027, 3, 6), "12:00"))
    elif story == "cancel-the-last-then-complete":
        cancel(clock, last, by, when=at(date(2027, 3, 2), "12:00"))
        done = finish(clock, middle, by)
    elif story == "complete-then-no-show-the-last":
        done = finish(clock, middle, by)
        no_show(clock, last, by, when=at(MAR_8, "10:30"))
    else:
        # Checked in on the 4th, not completed until after the 8th was a no-show.
        check_in(clock, middle, by)
        no_show(clock, last, by, when=at(MAR_8, "10:30"))
        done = finish(clock, middle, by, when=at(MAR_8, "11:00"))

    due, overdue = cycle(ours["client"])

    assert (due.kind, due.session, due.status) == (Kind.MAINTENANCE_DUE, done, Status.SCHEDULED)
    assert due.due_at == weeks_later(done.completed_at, 4)
    assert (overdue.kind, overdue.session) == (Kind.MAINTENANCE_OVERDUE, done)
    assert overdue.due_at == weeks_later(done.completed_at, 6)
    assert {r.due_at.astimezone(LA).time() for r in (due, overdue)} == {
        done.completed_at.astimezone(LA).time()
    }


def test_a_series_with_a_session_still_booked_has_not_ended(clock, ours):
    by = ours["esthetician"]
    first, middle, last = series(ours, MAR_1, MAR_4, MAR_8)
    finish(clock, first, by)
    cancel(clock, middle, by, when=at(date(2027, 3, 2), "12:00"))

    assert cycle(ours["client"]) == []

    finish(clock, last, by)

    assert [r.session for r in cycle(ours["client"])] == [last, last]


def test_a_series_with_nothing_completed_starts_no_cycle(clock, ours):
    by = ours["esthetician"]
    first, last = series(ours, MAR_1, MAR_4)
    cancel(clock, first, by, when=at(date(2027, 2, 25), "12:00"))
    no_show(clock, last, by, when=at(MAR_4, "10:30"))

    assert cycle(ours["client"]) == []


def test_a_series_cycle_sends_its_reminders_at_4_and_6_weeks(clock, ours):
    by = ours["esthetician"]
    first, last = series(ours, MAR_1, MAR_4)
    done = finish(clock, first, by)
    no_show(clock, last, by, when=at(MAR_4, "11:00"))

    clock.move_to(weeks_later(done.completed_at, 4))
    reminders_dispatch()
    clock.move_to(weeks_later(done.completed_at, 6))
    reminders_dispatch()

    assert maintenance_sent() == [Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE]


# Boosts -------------------------------------------------------------------------------


def test_a_boost_booked_before_the_series_ends_holds_the_cycle_then_starts_the_next(clock, ours):
    """Booked on the first day of the series for six weeks after its end: no maintenance
    reminder goes out while it is booked, the client is not due, and completing it
    starts the next cycle."""
    by = ours["esthetician"]
    first, last = series(ours, MAR_1, MAR_4)
    clock.move_to(at(MAR_1, "08:00"))
    the_boost = boost(ours, at(date(2027, 4, 15), "10:00"))
    finish(clock, first, by)
    done = finish(clock, last, by)

    held = cycle(ours["client"])
    assert [r.session for r in held] == [done, done]
    assert {r.status for r in held} == {Status.CANCELLED}
    assert all("session booked for Thu Apr 15, 2027 at 10:00 AM PDT" in r.last_error for r in held)
    clock.move_to(weeks_later(done.completed_at, 4) + timedelta(days=1))
    reminders_dispatch()
    assert maintenance_sent() == []
    assert ours["client"] not in maintenance_due_clients(at=timezone.now())

    boosted = finish(clock, the_boost, by)

    following = [r for r in cycle(ours["client"]) if r.session == boosted]
    assert [(r.kind, r.due_at, r.status) for r in following] == [
        (Kind.MAINTENANCE_DUE, weeks_later(boosted.completed_at, 4), Status.SCHEDULED),
        (Kind.MAINTENANCE_OVERDUE, weeks_later(boosted.completed_at, 6), Status.SCHEDULED),
    ]


@pytest.fixture
def boosted(clock, ours):
    """Ana completed a boost on Wed Feb 24 at 10:45 PST: due Mar 24, overdue Apr 7."""
    the_boost = boost(ours, at(date(2027, 2, 24), "10:00"))
    return finish(clock, the_boost, ours["esthetician"])


def test_a_completed_boost_starts_the_next_cycle_and_ends_the_one_before(clock, ours, boosted):
    by = ours["esthetician"]
    clock.move_to(at(date(2027, 3, 20), "12:00"))
    again = finish(clock, boost(ours, at(date(2027, 3, 22), "10:00")), by)

    earlier = [r for r in cycle(ours["client"]) if r.session == boosted]
    following = [r for r in cycle(ours["client"]) if r.session == again]
    assert {r.status for r in earlier} == {Status.CANCELLED}
    assert [r.due_at for r in following] == [
        weeks_later(again.completed_at, 4),
        weeks_later(again.completed_at, 6),
    ]
    assert {r.status for r in following} == {Status.SCHEDULED}


# A session booked ahead -------------------------------------------------------------------


def test_a_session_booked_ahead_skips_the_maintenance_reminder_with_the_reason(
    clock, ours, boosted
):
    """A booking the planner never saw (an import, a back-fill): dispatch still asks."""
    SessionFactory(client=ours["client"], start=at(date(2027, 3, 30), "10:00"))
    clock.move_to(at(date(2027, 3, 24), "10:45"))

    reminders_dispatch()

    due = cycle(ours["client"])[0]
    assert maintenance_sent() == []
    assert (due.status, due.sent_at) == (Status.CANCELLED, None)
    assert due.last_error == (
        "Skipped: the client has a session booked for Tue Mar 30, 2027 at 10:00 AM PDT; "
        "this reminder comes back if that booking is cancelled."
    )


@pytest.mark.parametrize(
    ("cancelled_on", "due_status", "overdue_status", "sent_at_once"),
    [
        pytest.param(
            date(2027, 3, 20), Status.SCHEDULED, Status.SCHEDULED, [], id="before-4-weeks"
        ),
        pytest.param(
            date(2027, 3, 30),
            Status.SCHEDULED,
            Status.SCHEDULED,
            [Kind.MAINTENANCE_DUE],
            id="between-4-and-6-weeks",
        ),
        pytest.param(date(2027, 4, 9), Status.CANCELLED, Status.CANCELLED, [], id="after-6-weeks"),
    ],
)
def test_cancelling_the_booking_brings_the_open_cycles_reminders_back(
    clock, ours, boosted, cancelled_on, due_status, overdue_status, sent_at_once
):
    by = ours["esthetician"]
    clock.move_to(at(date(2027, 3, 10), "12:00"))
    booked = boost(ours, at(date(2027, 4, 20), "10:00"))
    assert {r.status for r in cycle(ours["client"])} == {Status.CANCELLED}
    # Dispatch runs on (and skips nothing that is held) until the booking is cancelled.
    clock.move_to(at(cancelled_on, "08:00"))
    reminders_dispatch()

    cancel(clock, booked, by, when=at(cancelled_on, "09:00"))

    due, overdue = cycle(ours["client"])
    assert (due.status, overdue.status) == (due_status, overdue_status)
    # Still at their own times: the list and the page read them.
    assert due.due_at == weeks_later(boosted.completed_at, 4)
    assert overdue.due_at == weeks_later(boosted.completed_at, 6)
    reminders_dispatch()
    assert maintenance_sent() == sent_at_once
    if due_status == Status.SCHEDULED:
        assert (due.last_error, due.attempts) == ("", 0)
        clock.move_to(overdue.due_at)
        reminders_dispatch()
        assert maintenance_sent()[-1] == Kind.MAINTENANCE_OVERDUE


def test_a_missed_boost_brings_the_reminders_back_too(clock, ours, boosted):
    by = ours["esthetician"]
    clock.move_to(at(date(2027, 3, 10), "12:00"))
    booked = boost(ours, at(date(2027, 3, 26), "10:00"))

    no_show(clock, booked, by, when=at(date(2027, 3, 26), "10:30"))
    reminders_dispatch()

    assert maintenance_sent() == [Kind.MAINTENANCE_DUE]
    assert ours["client"] in maintenance_due_clients(at=timezone.now())


@pytest.mark.parametrize(
    ("lapsed_on", "due_status"),
    [
        pytest.param(date(2027, 3, 30), Status.SCHEDULED, id="between-4-and-6-weeks"),
        pytest.param(date(2027, 4, 9), Status.CANCELLED, id="after-6-weeks"),
    ],
)
def test_a_booking_that_passes_unmarked_resumes_the_held_cycle(
    clock, ours, boosted, lapsed_on, due_status
):
    """Nobody cancelled the boost nor marked it: once its time has passed nothing is
    booked ahead, so the list shows the client and the reminders agree with it."""
    clock.move_to(at(date(2027, 3, 10), "12:00"))
    booked = boost(ours, at(date(2027, 3, 26), "10:00"))
    assert {r.status for r in cycle(ours["client"])} == {Status.CANCELLED}
    clock.move_to(at(lapsed_on, "08:00"))

    resumed = maintenance_resume_lapsed()

    booked.refresh_from_db()
    assert booked.status == Session.Status.BOOKED
    assert resumed == 1
    assert ours["client"] in maintenance_due_clients(at=timezone.now())
    due, overdue = cycle(ours["client"])
    assert (due.status, overdue.status) == (due_status, due_status)
    if due_status == Status.CANCELLED:
        assert not due.last_error.startswith("Held:")
    # Settled: the next run finds nothing held any more.
    assert maintenance_resume_lapsed() == 0


def test_the_periodic_dispatch_resumes_a_cycle_whose_booking_passed_unmarked(clock, ours, boosted):
    clock.move_to(at(date(2027, 3, 10), "12:00"))
    boost(ours, at(date(2027, 3, 26), "10:00"))
    clock.move_to(at(date(2027, 3, 30), "08:00"))

    dispatch_due_reminders()

    assert maintenance_sent() == [Kind.MAINTENANCE_DUE]


def test_a_booking_still_ahead_keeps_the_cycle_held(clock, ours, boosted):
    clock.move_to(at(date(2027, 3, 10), "12:00"))
    boost(ours, at(date(2027, 3, 26), "10:00"))

    assert maintenance_resume_lapsed() == 0
    assert {r.status for r in cycle(ours["client"])} == {Status.CANCELLED}


# The Maintenance due list ----------------------------------------------------------------


def test_the_list_leaves_out_a_client_with_a_session_booked_ahead_and_takes_them_back(
    clock, ours, boosted
):
    by = ours["esthetician"]
    clock.move_to(at(date(2027, 3, 10), "12:00"))
    booked = boost(ours, at(date(2027, 3, 30), "10:00"))
    after_4_weeks = at(date(2027, 3, 25), "12:00")
    assert ours["client"] not in maintenance_due_clients(at=after_4_weeks)

    cancel(clock, booked, by, when=after_4_weeks)

    assert list(maintenance_due_clients(at=after_4_weeks)) == [ours["client"]]


def test_a_missed_boost_puts_the_client_back_on_the_list(clock, ours, boosted):
    clock.move_to(at(date(2027, 3, 10), "12:00"))
    booked = SessionFactory(
        client=ours["client"], kind=Session.Kind.MAINTENANCE, start=at(date(2027, 3, 12), "10:00")
    )
    Session.objects.filter(pk=booked.pk).update(status=Session.Status.NO_SHOW)

    assert list(maintenance_due_clients(at=at(date(2027, 3, 25), "12:00"))) == [ours["client"]]


@pytest.mark.parametrize(
    ("moment", "overdue"),
    [
        # The boost was completed at 10:45 PST on Feb 24.
        pytest.param(datetime(2027, 4, 7, 10, 44, tzinfo=LA), False, id="before-the-6-week-time"),
        # 10:45 PDT: six weeks on the clinic's clocks, 41 days 23 hours of real time.
        pytest.param(datetime(2027, 4, 7, 10, 45, tzinfo=LA), True, id="at-the-6-week-time"),
    ],
)
def test_overdue_is_the_cycles_6_week_time(clock, ours, boosted, page_as, moment, overdue):
    clock.move_to(moment)

    (client,) = maintenance_due_clients(at=moment)
    html = page_as(Role.FRONT_DESK).get(reverse("sessions:maintenance-due")).text

    assert client.maintenance_overdue is overdue
    assert ('<span class="badge badge-overdue">Overdue</span>' in html) is overdue


# Queries ----------------------------------------------------------------------------------


def _sync_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        maintenance_cycle_sync(client_id=client.pk)
    return len(queries)


def test_deciding_the_cycle_costs_as_many_queries_for_15_sessions_as_for_3(clock, ours):
    days = [date(2027, 3, 1) + timedelta(days=2 * n) for n in range(18)]
    short = series(ours, *days[:3])
    Session.objects.filter(pk__in=[s.pk for s in short]).update(
        status=Session.Status.COMPLETED, completed_at=NOW
    )
    three = _sync_queries(ours["client"])
    long = series(ours, *days[3:])
    Session.objects.filter(pk__in=[s.pk for s in long]).update(
        status=Session.Status.COMPLETED, completed_at=NOW + timedelta(hours=1)
    )

    assert _sync_queries(ours["client"]) == three
    assert {r.session for r in cycle(ours["client"], status=Status.SCHEDULED)} == {long[-1]}
