"""Planning the reminder outbox (issue 5): the booking services themselves write the
right rows, due at the right moment in UTC for rules stated in clinic time (across
daylight-saving changes too); planning twice makes no second row; cancel and reschedule
update what is pending."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db.models import F

from clinic.errors import BookingClash
from sessions_app.models import Reminder, Session
from sessions_app.reminders import (
    reminders_dispatch,
    reminders_plan_booking,
    reminders_plan_completion,
)
from sessions_app.services import (
    series_book,
    session_book,
    session_cancel,
    session_check_in,
    session_complete,
    session_reschedule,
)
from tests.factories import PlanFactory
from tests.sessions_app.helpers import LA, at, screen

pytestmark = pytest.mark.django_db

Kind, Status, Event = Reminder.Kind, Reminder.Status, Reminder.Event
NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
SERIES_START = date(2027, 3, 1)  # a Monday; clocks spring forward on Sunday 2027-03-14
MON, THU = 0, 3
TREATMENT = {
    "modality": "dynamic",
    "intensity_microamps": 250,
    "frequency_hz": Decimal("1.50"),
    "duration_minutes": 45,
}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ours(clock, a_client, esthetician, working_hours, room, device):
    """Ana (41, screened now) and what she is booked with."""
    screen(a_client)
    return {"client": a_client, "esthetician": esthetician, "room": room, "device": device}


def book(ours, start: datetime, **kwargs) -> Session:
    return session_book(**ours, start=start, by=ours["esthetician"], **kwargs)


def book_series(ours) -> list[Session]:
    """Ana's "35 to 50" plan from Monday 2027-03-01: 10 sessions on Mondays and
    Thursdays at 10:00 over 7 weeks, across the change to daylight-saving time."""
    plan = PlanFactory(
        client=ours["client"], start_date=SERIES_START, created_by=ours["esthetician"]
    )
    return series_book(
        plan=plan,
        esthetician=ours["esthetician"],
        room=ours["room"],
        device=ours["device"],
        at=time(10, 0),
        weekdays=[MON, THU],
        by=ours["esthetician"],
    )


def complete(clock, session: Session, by) -> Session:
    """Check the client in when the session starts and complete it when it ends."""
    clock.move_to(session.start)
    session_check_in(session=session, nothing_changed=True, by=by)
    clock.move_to(session.end)
    return session_complete(session=session, by=by, **TREATMENT)


def rows(**filters) -> list[Reminder]:
    return list(Reminder.objects.filter(**filters).order_by("due_at", "pk"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Booking one session ---------------------------------------------------------------------


def test_booking_a_session_plans_a_confirmation_now_and_a_hydration_prompt(ours):
    session = book(ours, at(date(2027, 2, 24), "10:00"))

    confirmation, hydration = rows(client=ours["client"])

    assert (confirmation.kind, confirmation.session, confirmation.plan) == (
        Kind.BOOKING_CONFIRMATION,
        session,
        None,
    )
    assert confirmation.event == Event.BOOKED
    assert confirmation.due_at == NOW
    assert (hydration.kind, hydration.session) == (Kind.HYDRATION_BEFORE, session)
    # The evening before at 18:00 PST is 02:00 UTC on the day of the session.
    assert hydration.due_at == utc(2027, 2, 24, 2, 0)
    assert {r.status for r in (confirmation, hydration)} == {Status.SCHEDULED}
    assert {r.attempts for r in (confirmation, hydration)} == {0}


@pytest.mark.parametrize(
    ("booked_at", "start", "due"),
    [
        pytest.param(
            datetime(2027, 2, 23, 17, 59, tzinfo=LA),
            datetime(2027, 2, 24, 10, 0, tzinfo=LA),
            utc(2027, 2, 24, 2, 0),
            id="booked-before-18h-evening-before",
        ),
        pytest.param(
            datetime(2027, 2, 23, 18, 0, tzinfo=LA),
            datetime(2027, 2, 24, 10, 0, tzinfo=LA),
            utc(2027, 2, 24, 2, 0),
            id="booked-at-18h-sharp-due-at-once",
        ),
        pytest.param(
            datetime(2027, 2, 23, 19, 30, tzinfo=LA),
            datetime(2027, 2, 24, 10, 0, tzinfo=LA),
            utc(2027, 2, 24, 15, 0),  # 07:00 PST, 3 hours before
            id="booked-after-18h-three-hours-before",
        ),
        pytest.param(
            datetime(2027, 2, 24, 9, 0, tzinfo=LA),
            datetime(2027, 2, 24, 10, 30, tzinfo=LA),
            utc(2027, 2, 24, 17, 0),  # now: 3 hours before was already past
            id="booked-same-morning-never-before-now",
        ),
        pytest.param(
            datetime(2027, 3, 13, 20, 0, tzinfo=LA),
            datetime(2027, 3, 14, 10, 0, tzinfo=LA),
            utc(2027, 3, 14, 14, 0),  # 07:00 PDT, the morning after clocks sprang forward
            id="booked-late-the-night-before-spring-forward",
        ),
    ],
)
def test_hydration_prompt_due_the_evening_before_or_three_hours_before(
    clock, ours, booked_at, start, due
):
    clock.move_to(booked_at)

    session = book(ours, start)

    (hydration,) = rows(kind=Kind.HYDRATION_BEFORE, session=session)
    assert hydration.due_at == due
    assert hydration.due_at >= booked_at


@pytest.mark.parametrize(
    ("start", "due"),
    [
        # Spring forward: Sunday 2027-03-14 02:00 PST becomes 03:00 PDT.
        pytest.param(
            datetime(2027, 3, 15, 10, 0, tzinfo=LA),
            utc(2027, 3, 15, 1, 0),  # Sunday 18:00 PDT (UTC-7)
            id="monday-after-spring-forward",
        ),
        pytest.param(
            datetime(2027, 3, 14, 10, 0, tzinfo=LA),
            utc(2027, 3, 14, 2, 0),  # Saturday 18:00 PST (UTC-8), session in PDT
            id="sunday-of-spring-forward",
        ),
        # Fall back: Sunday 2026-11-01 02:00 PDT becomes 01:00 PST.
        pytest.param(
            datetime(2026, 11, 2, 10, 0, tzinfo=LA),
            utc(2026, 11, 2, 2, 0),  # Sunday 18:00 PST (UTC-8)
            id="monday-after-fall-back",
        ),
        pytest.param(
            datetime(2026, 11, 1, 10, 0, tzinfo=LA),
            utc(2026, 11, 1, 1, 0),  # Saturday 18:00 PDT (UTC-7), session in PST
            id="sunday-of-fall-back",
        ),
    ],
)
def test_hydration_prompt_is_at_18h_clinic_time_across_daylight_saving(
    clock, a_client, esthetician, working_hours, room, device, start, due
):
    clock.move_to(start - timedelta(days=10))
    screen(a_client)

    session = session_book(
        client=a_client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        by=esthetician,
    )

    (hydration,) = rows(kind=Kind.HYDRATION_BEFORE, session=session)
    assert hydration.due_at == due
    assert hydration.due_at.astimezone(LA).time() == time(18, 0)


def test_a_clashing_booking_plans_nothing(ours, other_bookable):
    start = at(date(2027, 2, 24), "10:00")
    book(ours, start)
    before = Reminder.objects.count()

    with pytest.raises(BookingClash):
        session_book(**{**ours, "client": other_bookable}, start=start, by=ours["esthetician"])

    assert Reminder.objects.count() == before
    assert not Reminder.objects.filter(client=other_bookable).exists()


# Booking a series ------------------------------------------------------------------------


def test_booking_a_series_plans_one_confirmation_and_a_hydration_prompt_per_session(ours):
    sessions = book_series(ours)
    plan = sessions[0].plan

    confirmations = rows(kind=Kind.BOOKING_CONFIRMATION)
    hydration = rows(kind=Kind.HYDRATION_BEFORE)

    assert len(sessions) == 10
    assert [(c.plan, c.session, c.due_at, c.event) for c in confirmations] == [
        (plan, None, NOW, Event.BOOKED)
    ]
    assert [h.session for h in hydration] == sessions
    for session, reminder in zip(sessions, hydration, strict=True):
        evening_before = datetime.combine(
            session.start.astimezone(LA).date() - timedelta(days=1), time(18, 0), tzinfo=LA
        )
        assert reminder.due_at == evening_before
    assert Reminder.objects.count() == 11


def test_a_series_across_spring_forward_keeps_18h_local_while_utc_moves(ours):
    sessions = book_series(ours)

    hydration = rows(kind=Kind.HYDRATION_BEFORE)

    before = [h.due_at for h, s in zip(hydration, sessions, strict=True) if _in_pst(s)]
    after = [h.due_at for h, s in zip(hydration, sessions, strict=True) if not _in_pst(s)]
    assert before
    assert after
    assert {d.astimezone(UTC).hour for d in before} == {2}  # 18:00 PST
    assert {d.astimezone(UTC).hour for d in after} == {1}  # 18:00 PDT
    assert {d.astimezone(LA).time() for d in before + after} == {time(18, 0)}


def _in_pst(session: Session) -> bool:
    return session.start.astimezone(LA).utcoffset() == timedelta(hours=-8)


# Planning twice --------------------------------------------------------------------------


def test_planning_a_booking_twice_makes_no_second_row(clock, ours):
    session = book(ours, at(date(2027, 2, 24), "10:00"))
    planned = {(r.key, r.due_at) for r in rows()}
    clock.shift(timedelta(hours=2))

    reminders_plan_booking(sessions=[session])
    reminders_plan_booking(sessions=[session])

    assert {(r.key, r.due_at) for r in rows()} == planned
    assert Reminder.objects.count() == 2


def test_planning_a_series_twice_makes_no_second_row(clock, ours):
    sessions = book_series(ours)
    planned = {(r.key, r.due_at) for r in rows()}
    clock.shift(timedelta(hours=1))

    reminders_plan_booking(sessions=sessions, plan=sessions[0].plan)

    assert {(r.key, r.due_at) for r in rows()} == planned
    assert Reminder.objects.filter(kind=Kind.BOOKING_CONFIRMATION).count() == 1


def test_planning_a_completion_twice_makes_no_second_row(clock, ours):
    session = complete(
        clock, book(ours, at(date(2027, 2, 24), "10:00"), kind="maintenance"), ours["esthetician"]
    )
    planned = {(r.key, r.due_at) for r in rows()}
    clock.shift(timedelta(minutes=30))

    reminders_plan_completion(session=session)

    assert {(r.key, r.due_at) for r in rows()} == planned
    assert Reminder.objects.filter(kind=Kind.HYDRATION_AFTER).count() == 1
    assert Reminder.objects.filter(kind=Kind.MAINTENANCE_DUE).count() == 1


def test_rebooking_a_cancelled_series_sends_a_new_confirmation(clock, ours):
    sessions = book_series(ours)
    plan = sessions[0].plan
    for session in sessions:
        session_cancel(session=session, by=ours["esthetician"])
    clock.shift(timedelta(hours=1))

    again = series_book(
        plan=plan,
        esthetician=ours["esthetician"],
        room=ours["room"],
        device=ours["device"],
        at=time(14, 0),
        weekdays=[MON, THU],
        by=ours["esthetician"],
    )

    booked = rows(kind=Kind.BOOKING_CONFIRMATION, plan=plan)
    assert [(c.event, c.due_at) for c in booked] == [
        (Event.BOOKED, NOW),
        (Event.BOOKED, NOW + timedelta(hours=1)),
    ]
    assert {h.session for h in rows(kind=Kind.HYDRATION_BEFORE, status=Status.SCHEDULED)} == set(
        again
    )


# Completing ------------------------------------------------------------------------------


def test_completing_a_session_plans_a_hydration_prompt_at_once(clock, ours):
    session = complete(clock, book(ours, at(date(2027, 2, 24), "10:00")), ours["esthetician"])

    (after,) = rows(kind=Kind.HYDRATION_AFTER)

    assert (after.session, after.status) == (session, Status.SCHEDULED)
    assert after.due_at == session.completed_at == at(date(2027, 2, 24), "10:45")
    # A single session outside a plan starts no maintenance cycle.
    assert not rows(kind__in=[Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE])


def attended(sessions: list[Session]) -> None:
    """Earlier sessions of the series, recorded as completed (a series has ended only
    when none of its sessions is still booked or checked in)."""
    Session.objects.filter(pk__in=[s.pk for s in sessions]).update(
        status=Session.Status.COMPLETED, completed_at=F("end")
    )


def test_completing_the_last_session_of_a_series_plans_maintenance_at_4_and_6_weeks(clock, ours):
    *earlier, last = book_series(ours)
    attended(earlier)

    complete(clock, last, ours["esthetician"])

    due, overdue = rows(kind__in=[Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE])
    done = last.end  # completed when it ended
    assert (due.kind, due.session, due.due_at) == (
        Kind.MAINTENANCE_DUE,
        last,
        done + timedelta(weeks=4),
    )
    assert (overdue.kind, overdue.session, overdue.due_at) == (
        Kind.MAINTENANCE_OVERDUE,
        last,
        done + timedelta(weeks=6),
    )
    assert {due.status, overdue.status} == {Status.SCHEDULED}


def test_completing_a_middle_session_of_a_series_plans_no_maintenance(clock, ours):
    sessions = book_series(ours)

    complete(clock, sessions[4], ours["esthetician"])

    assert [r.kind for r in rows(session=sessions[4])] == [
        Kind.HYDRATION_BEFORE,
        Kind.HYDRATION_AFTER,
    ]
    assert not rows(kind__in=[Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE])


def test_the_last_session_is_the_last_one_not_cancelled(clock, ours):
    *earlier, second_last, last = book_series(ours)
    attended(earlier)
    session_cancel(session=last, by=ours["esthetician"])

    complete(clock, second_last, ours["esthetician"])

    assert [r.kind for r in rows(kind__in=[Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE])] == [
        Kind.MAINTENANCE_DUE,
        Kind.MAINTENANCE_OVERDUE,
    ]


@pytest.mark.parametrize(
    ("start", "due", "overdue"),
    [
        pytest.param(
            datetime(2027, 2, 10, 10, 0, tzinfo=LA),
            datetime(2027, 3, 10, 10, 45, tzinfo=LA),
            datetime(2027, 3, 24, 10, 45, tzinfo=LA),  # 17:45 UTC, PDT
            id="six-weeks-cross-spring-forward",
        ),
        pytest.param(
            datetime(2027, 2, 25, 10, 0, tzinfo=LA),
            datetime(2027, 3, 25, 10, 45, tzinfo=LA),  # 17:45 UTC, not 18:45
            datetime(2027, 4, 8, 10, 45, tzinfo=LA),
            id="both-cross-spring-forward",
        ),
        pytest.param(
            datetime(2026, 10, 15, 10, 0, tzinfo=LA),
            datetime(2026, 11, 12, 10, 45, tzinfo=LA),  # 18:45 UTC, not 17:45
            datetime(2026, 11, 26, 10, 45, tzinfo=LA),
            id="both-cross-fall-back",
        ),
    ],
)
def test_completing_a_maintenance_boost_starts_the_next_cycle_in_clinic_time(
    clock, a_client, esthetician, working_hours, room, device, start, due, overdue
):
    """Four and six weeks later at the same time of day in the clinic, whatever the
    clocks did in between."""
    clock.move_to(start - timedelta(days=7))
    screen(a_client)
    boost = session_book(
        client=a_client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        by=esthetician,
        kind=Session.Kind.MAINTENANCE,
    )

    complete(clock, boost, esthetician)

    planned = rows(kind__in=[Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE])
    assert [(r.kind, r.due_at) for r in planned] == [
        (Kind.MAINTENANCE_DUE, due),
        (Kind.MAINTENANCE_OVERDUE, overdue),
    ]
    assert {r.due_at.astimezone(LA).time() for r in planned} == {time(10, 45)}


def test_booking_a_boost_cancels_both_pending_maintenance_reminders(clock, ours):
    boost = book(ours, at(date(2027, 2, 24), "10:00"), kind=Session.Kind.MAINTENANCE)
    complete(clock, boost, ours["esthetician"])
    clock.move_to(at(date(2027, 3, 20), "12:00"))  # 3.5 weeks on, nothing sent yet

    book(ours, at(date(2027, 3, 24), "10:00"), kind=Session.Kind.MAINTENANCE)

    maintenance = rows(kind__in=[Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE])
    assert [r.status for r in maintenance] == [Status.CANCELLED, Status.CANCELLED]
    assert {r.last_error for r in maintenance} == {
        "Held: the client has a session booked for Wed Mar 24, 2027 at 10:00 AM PDT; "
        "this reminder comes back if that booking is cancelled."
    }
    # The hydration prompt after the completed boost is not maintenance: untouched.
    assert rows(kind=Kind.HYDRATION_AFTER)[0].status == Status.SCHEDULED


def test_booking_after_the_4_week_reminder_went_cancels_only_the_6_week_one(clock, ours):
    boost = book(ours, at(date(2027, 2, 24), "10:00"), kind=Session.Kind.MAINTENANCE)
    complete(clock, boost, ours["esthetician"])
    clock.move_to(at(date(2027, 3, 25), "09:00"))  # 4 weeks and a day after
    reminders_dispatch()
    assert [m.extra_headers["X-Clinic-Kind"] for m in mail.outbox][-1] == Kind.MAINTENANCE_DUE

    book(ours, at(date(2027, 3, 29), "10:00"), kind=Session.Kind.MAINTENANCE)

    due, overdue = rows(kind__in=[Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE])
    assert (due.status, overdue.status) == (Status.SENT, Status.CANCELLED)
    # Nothing after the 6-week one: the cycle ends until the next boost is completed.
    assert (
        Reminder.objects.filter(kind__in=[Kind.MAINTENANCE_DUE, Kind.MAINTENANCE_OVERDUE]).count()
        == 2
    )


def test_completing_a_boost_plans_only_the_two_maintenance_reminders(clock, ours):
    boost = book(ours, at(date(2027, 2, 24), "10:00"), kind=Session.Kind.MAINTENANCE)

    complete(clock, boost, ours["esthetician"])

    assert sorted(r.kind for r in rows()) == sorted(
        [
            Kind.BOOKING_CONFIRMATION,
            Kind.HYDRATION_BEFORE,
            Kind.HYDRATION_AFTER,
            Kind.MAINTENANCE_DUE,
            Kind.MAINTENANCE_OVERDUE,
        ]
    )


# Cancel and reschedule -------------------------------------------------------------------


def test_cancelling_cancels_the_hydration_prompt_and_plans_an_update(clock, ours):
    session = book(ours, at(date(2027, 2, 24), "10:00"))
    reminders_dispatch()  # the client has the confirmation
    clock.shift(timedelta(hours=1))

    session_cancel(session=session, by=ours["esthetician"])

    (hydration,) = rows(kind=Kind.HYDRATION_BEFORE)
    assert hydration.status == Status.CANCELLED
    assert hydration.last_error == "The session was cancelled."
    booked, update = rows(kind=Kind.BOOKING_CONFIRMATION)
    assert (booked.event, booked.status) == (Event.BOOKED, Status.SENT)
    assert (update.event, update.session, update.status) == (
        Event.CANCELLED,
        session,
        Status.SCHEDULED,
    )
    assert update.due_at == NOW + timedelta(hours=1)
    session.refresh_from_db()
    assert session.sequence == 1


def test_cancelling_before_the_confirmation_went_sends_no_notice(clock, ours):
    """The client never heard of the booking: no "Cancelled" email for it, and the
    confirmation still waiting is skipped with the reason."""
    session = book(ours, at(date(2027, 2, 24), "10:00"))

    session_cancel(session=session, by=ours["esthetician"])
    reminders_dispatch()

    (confirmation,) = rows(kind=Kind.BOOKING_CONFIRMATION)
    assert (confirmation.event, confirmation.status) == (Event.BOOKED, Status.CANCELLED)
    assert "cancelled before this confirmation went out" in confirmation.last_error


def test_rescheduling_before_the_confirmation_went_confirms_the_new_time_only(clock, ours):
    session = book(ours, at(date(2027, 2, 24), "10:00"))

    session_reschedule(
        session=session, start=at(date(2027, 2, 25), "11:00"), by=ours["esthetician"]
    )

    (confirmation,) = rows(kind=Kind.BOOKING_CONFIRMATION)
    assert (confirmation.event, confirmation.status) == (Event.BOOKED, Status.SCHEDULED)
    reminders_dispatch()
    confirmation.refresh_from_db()
    assert confirmation.status == Status.SENT
    (email,) = mail.outbox
    assert "Thursday, February 25" in email.body or "Thu Feb 25" in email.body, email.body


def test_rescheduling_moves_the_hydration_prompt_and_plans_an_update(clock, ours):
    session = book(ours, at(date(2027, 3, 11), "10:00"))  # a Thursday, PST
    reminders_dispatch()  # the client has the confirmation
    clock.shift(timedelta(hours=1))

    session = session_reschedule(
        session=session, start=at(date(2027, 3, 15), "14:00"), by=ours["esthetician"]
    )  # to the Monday after clocks sprang forward

    (hydration,) = rows(kind=Kind.HYDRATION_BEFORE)
    assert hydration.status == Status.SCHEDULED
    assert hydration.due_at == utc(2027, 3, 15, 1, 0)  # Sunday 18:00 PDT
    booked, update = rows(kind=Kind.BOOKING_CONFIRMATION)
    assert booked.event == Event.BOOKED
    assert (update.event, update.session, update.due_at) == (
        Event.RESCHEDULED,
        session,
        NOW + timedelta(hours=1),
    )
    assert session.sequence == 1


def test_rescheduling_late_moves_the_prompt_to_three_hours_before(clock, ours):
    session = book(ours, at(date(2027, 2, 24), "10:00"))
    clock.move_to(at(date(2027, 2, 23), "20:00"))

    session_reschedule(
        session=session, start=at(date(2027, 2, 24), "15:00"), by=ours["esthetician"]
    )

    (hydration,) = rows(kind=Kind.HYDRATION_BEFORE)
    assert hydration.due_at == at(date(2027, 2, 24), "12:00")


def test_each_change_plans_its_own_update_replacing_one_still_waiting(clock, ours):
    session = book(ours, at(date(2027, 2, 24), "10:00"))
    reminders_dispatch()  # the client has the confirmation
    session = session_reschedule(
        session=session, start=at(date(2027, 2, 25), "10:00"), by=ours["esthetician"]
    )
    session = session_reschedule(
        session=session, start=at(date(2027, 2, 26), "10:00"), by=ours["esthetician"]
    )
    session_cancel(session=session, by=ours["esthetician"])

    assert [(r.event, r.status) for r in rows(kind=Kind.BOOKING_CONFIRMATION)] == [
        (Event.BOOKED, Status.SENT),
        (Event.RESCHEDULED, Status.CANCELLED),
        (Event.RESCHEDULED, Status.CANCELLED),
        (Event.CANCELLED, Status.SCHEDULED),
    ]


def test_rescheduling_after_the_hydration_prompt_went_plans_one_for_the_new_time(clock, ours):
    session = book(ours, at(date(2027, 2, 24), "10:00"))
    clock.move_to(at(date(2027, 2, 23), "18:05"))
    reminders_dispatch()
    assert rows(kind=Kind.HYDRATION_BEFORE)[0].status == Status.SENT

    session_reschedule(session=session, start=at(date(2027, 3, 3), "10:00"), by=ours["esthetician"])

    sent, pending = rows(kind=Kind.HYDRATION_BEFORE)
    assert (sent.status, sent.due_at) == (Status.SENT, at(date(2027, 2, 23), "18:00"))
    assert (pending.status, pending.due_at) == (Status.SCHEDULED, at(date(2027, 3, 2), "18:00"))


def test_cancelling_a_series_session_leaves_the_series_confirmation(clock, ours):
    sessions = book_series(ours)
    reminders_dispatch()  # the client has the series confirmation

    session_cancel(session=sessions[3], by=ours["esthetician"])

    series, update = rows(kind=Kind.BOOKING_CONFIRMATION)
    assert (series.plan, series.event, series.status) == (
        sessions[0].plan,
        Event.BOOKED,
        Status.SENT,
    )
    assert (update.session, update.event) == (sessions[3], Event.CANCELLED)
    cancelled = rows(kind=Kind.HYDRATION_BEFORE, status=Status.CANCELLED)
    assert [r.session for r in cancelled] == [sessions[3]]
    assert len(rows(kind=Kind.HYDRATION_BEFORE, status=Status.SCHEDULED)) == 9
