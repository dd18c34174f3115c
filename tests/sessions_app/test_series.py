"""Booking a plan's whole series through POST /api/plans/{id}/book/: placement (count,
window, weekdays, local time across DST, one a day), all or nothing, preview, bad input."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from sessions_app.models import Session
from tests.factories import ClientFactory, ClosedDayFactory, PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, local, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
START = date(2027, 3, 1)  # a Monday; spring forward is Sunday 2027-03-14
MON, WED, THU, FRI = 0, 2, 3, 4


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def plan(bookable, esthetician):
    """Ana is 41 on the start date: "35 to 50", 10-15 sessions over 4-7 weeks."""
    return PlanFactory(client=bookable, start_date=START, created_by=esthetician)


@pytest.fixture
def book_series(api_est, esthetician, working_hours, room, device):
    def post(plan, **overrides):
        body = {
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
            "time": "10:00",
            "weekdays": [MON, THU],
        }
        body.update(overrides)
        return api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")

    return post


def starts(response) -> list[datetime]:
    return [local(s["start"]) for s in response.json()["sessions"]]


# Placement ---------------------------------------------------------------------------


def test_plan_is_in_the_35_to_50_band(plan):
    assert (plan.protocol.name, plan.sessions_min, plan.sessions_max) == ("35 to 50", 10, 15)


def test_series_books_the_plans_fewest_sessions_by_default(plan, book_series):
    response = book_series(plan)

    assert response.status_code == 201, response.json()
    assert len(response.json()["sessions"]) == 10
    assert plan.sessions.count() == 10


@pytest.mark.parametrize("count", [10, 12, 15])
def test_series_books_the_number_of_sessions_asked_within_the_protocol(plan, book_series, count):
    response = book_series(plan, sessions=count, weekdays=[MON, WED, FRI])

    assert response.status_code == 201, response.json()
    assert len(response.json()["sessions"]) == count
    assert plan.sessions.filter(kind=Session.Kind.SERIES, status="booked").count() == count


@pytest.mark.parametrize("weeks", [4, 5, 7])
def test_series_sessions_all_fall_inside_the_window(plan, book_series, weeks):
    response = book_series(plan, weeks=weeks, weekdays=[MON, WED, FRI])

    assert response.status_code == 201, response.json()
    days = [s.date() for s in starts(response)]
    window_end = START + timedelta(weeks=weeks)
    assert all(START <= day < window_end for day in days)
    # Spread over the whole window: the first and the last usable weekday are used.
    assert days[0] == START
    assert days[-1] == window_end - timedelta(days=3)  # the window's last Friday


def test_series_sessions_fall_only_on_the_weekdays_asked(plan, book_series):
    response = book_series(plan, weekdays=[THU, MON])

    assert response.status_code == 201, response.json()
    assert {s.weekday() for s in starts(response)} == {MON, THU}


def test_series_never_puts_two_sessions_on_one_day(plan, book_series):
    response = book_series(plan, sessions=15, weekdays=[MON, WED, FRI])

    days = [s.date() for s in starts(response)]
    assert len(set(days)) == len(days) == 15


def test_series_spreads_its_sessions_evenly(plan, book_series):
    # Mon/Thu over 7 weeks gives 14 days; 10 sessions take the first, the last and
    # evenly stepped ones between, never more than a week apart.
    response = book_series(plan)

    days = [s.date() for s in starts(response)]
    assert [(d.month, d.day) for d in days] == [
        (3, 1),
        (3, 4),
        (3, 11),
        (3, 15),
        (3, 22),
        (3, 25),
        (4, 1),
        (4, 5),
        (4, 12),
        (4, 15),
    ]


def test_series_keeps_10_00_clinic_time_across_spring_forward(plan, book_series):
    response = book_series(plan)  # 2027-03-01 .. 2027-04-15, DST from 2027-03-14

    assert response.status_code == 201, response.json()
    sessions = starts(response)
    assert {(s.hour, s.minute) for s in sessions} == {(10, 0)}
    utc_hours = [(s.date(), s.astimezone(UTC).hour) for s in sessions]
    assert {h for d, h in utc_hours if d < date(2027, 3, 14)} == {18}
    assert {h for d, h in utc_hours if d > date(2027, 3, 14)} == {17}


def test_series_keeps_10_00_clinic_time_across_fall_back(bookable, esthetician, book_series):
    # Fall back is Sunday 2027-11-07.
    plan = PlanFactory(client=bookable, start_date=date(2027, 10, 18), created_by=esthetician)

    response = book_series(plan)

    assert response.status_code == 201, response.json()
    sessions = starts(response)
    assert {(s.hour, s.minute) for s in sessions} == {(10, 0)}
    utc_hours = [(s.date(), s.astimezone(UTC).hour) for s in sessions]
    assert {h for d, h in utc_hours if d < date(2027, 11, 7)} == {17}
    assert {h for d, h in utc_hours if d > date(2027, 11, 7)} == {18}


def test_series_stored_times_are_utc(plan, book_series):
    book_series(plan)

    first = plan.sessions.order_by("start").first()
    assert first.start == datetime(2027, 3, 1, 18, 0, tzinfo=UTC)
    assert first.end - first.start == timedelta(minutes=45)


def test_series_skips_a_closed_day(plan, book_series):
    closed = date(2027, 3, 8)  # the second Monday
    ClosedDayFactory(date=closed)

    response = book_series(plan)

    assert response.status_code == 201, response.json()
    assert closed not in {s.date() for s in starts(response)}


def test_series_leaves_out_a_day_whose_time_has_passed(bookable, esthetician, book_series):
    plan = PlanFactory(client=bookable, start_date=NOW.date(), created_by=esthetician)

    with time_machine.travel(NOW.replace(hour=11), tick=False):
        response = book_series(plan, weekdays=list(range(7)))

    assert response.status_code == 201, response.json()
    assert starts(response)[0] == at(date(2027, 2, 21), "10:00")


# All or nothing ------------------------------------------------------------------------


@pytest.mark.sqlite_too
def test_series_with_one_clashing_date_books_nothing_and_answers_409(
    plan, book_series, other_bookable, other_esthetician, other_device, room
):
    busy = SessionFactory(
        client=other_bookable,
        esthetician=other_esthetician,
        room=room,
        device=other_device,
        start=at(date(2027, 3, 22), "10:00"),
    )

    response = book_series(plan)

    assert response.status_code == 409
    clashes = response.json()["clashes"]
    assert [(c["resource"], c["session"]) for c in clashes] == [("room", busy.pk)]
    assert local(clashes[0]["wished_start"]) == at(date(2027, 3, 22), "10:00")
    assert plan.sessions.count() == 0
    assert Session.objects.count() == 1


@pytest.mark.sqlite_too
def test_series_409_lists_every_clash_each_with_the_nearest_free_alternative(
    plan,
    book_series,
    other_bookable,
    other_room,
    other_device,
    other_esthetician,
    esthetician,
    device,
):
    on_esthetician = SessionFactory(
        client=other_bookable,
        esthetician=esthetician,
        room=other_room,
        device=other_device,
        start=at(date(2027, 3, 4), "10:00"),
    )
    on_device = SessionFactory(
        client=other_bookable,
        esthetician=other_esthetician,
        room=other_room,
        device=device,
        start=at(date(2027, 4, 5), "10:00"),
    )

    response = book_series(plan)

    assert response.status_code == 409
    clashes = response.json()["clashes"]
    assert [(c["resource"], c["session"]) for c in clashes] == [
        ("esthetician", on_esthetician.pk),
        ("device", on_device.pk),
    ]
    # 09:15-10:00 touches the busy 10:00 session: the nearest free start that day.
    assert [local(c["alternative"]) for c in clashes] == [
        at(date(2027, 3, 4), "09:15"),
        at(date(2027, 4, 5), "09:15"),
    ]
    assert "2 of 10 sessions clash. Nothing was booked." in response.json()["detail"]
    assert plan.sessions.count() == 0


@pytest.mark.sqlite_too
def test_series_refuses_a_day_the_client_already_has_a_session(
    plan, book_series, bookable, other_esthetician, other_room, other_device
):
    # No overlap with 10:00-10:45, but a client is never booked twice on one day.
    afternoon = SessionFactory(
        client=bookable,
        esthetician=other_esthetician,
        room=other_room,
        device=other_device,
        start=at(date(2027, 3, 11), "15:00"),
    )

    response = book_series(plan)

    assert response.status_code == 409
    clashes = response.json()["clashes"]
    assert [(c["resource"], c["session"]) for c in clashes] == [("client", afternoon.pk)]
    assert "never booked twice on one day" in clashes[0]["message"]
    alternative = local(clashes[0]["alternative"])
    assert alternative.date() != date(2027, 3, 11)
    assert plan.sessions.count() == 0


@pytest.mark.sqlite_too
def test_series_ignores_cancelled_sessions_in_its_slots(
    plan, book_series, other_bookable, esthetician, room, device
):
    SessionFactory(
        client=other_bookable,
        esthetician=esthetician,
        room=room,
        device=device,
        start=at(date(2027, 3, 4), "10:00"),
        status=Session.Status.CANCELLED,
    )

    response = book_series(plan)

    assert response.status_code == 201, response.json()
    assert plan.sessions.count() == 10


@pytest.mark.sqlite_too
def test_series_for_a_plan_already_booked_is_a_409(plan, book_series):
    book_series(plan)

    response = book_series(plan, time="14:00")

    assert response.status_code == 409
    assert "already booked" in response.json()["plan"][0]
    assert plan.sessions.count() == 10


# Preview ---------------------------------------------------------------------------------


def test_series_preview_returns_the_proposed_dates_and_books_nothing(plan, book_series):
    response = book_series(plan, preview=True)

    assert response.status_code == 200
    body = response.json()
    assert body["preview"] is True
    assert body["clashing"] == 0
    assert len(body["sessions"]) == 10
    assert all(s["free"] for s in body["sessions"])
    assert local(body["sessions"][0]["start"]) == at(START, "10:00")
    assert not Session.objects.exists()


def test_series_preview_marks_a_clash_with_its_alternative(
    plan, book_series, other_bookable, other_esthetician, other_device, room
):
    SessionFactory(
        client=other_bookable,
        esthetician=other_esthetician,
        room=room,
        device=other_device,
        start=at(date(2027, 3, 22), "10:00"),
    )

    body = book_series(plan, preview=True).json()

    assert body["clashing"] == 1
    marked = [s for s in body["sessions"] if not s["free"]]
    assert [local(s["start"]).date() for s in marked] == [date(2027, 3, 22)]
    assert local(marked[0]["alternative"]) == at(date(2027, 3, 22), "09:15")
    assert Session.objects.count() == 1


def test_series_preview_matches_what_is_then_booked(plan, book_series):
    preview = [s["start"] for s in book_series(plan, preview=True).json()["sessions"]]

    booked = book_series(plan)

    assert [local(s) for s in preview] == starts(booked)


# Bad input (400) ---------------------------------------------------------------------------


def test_series_with_too_few_weekdays_is_a_400_naming_weekdays(plan, book_series):
    response = book_series(plan, weekdays=[MON])  # 7 Mondays for 10 sessions

    assert response.status_code == 400
    message = response.json()["weekdays"][0]
    assert "10 sessions need 10 open days" in message
    assert "Mondays" in message
    assert "Choose more weekdays" in message
    assert not Session.objects.exists()


@pytest.mark.parametrize("count", [9, 16])
def test_series_with_sessions_outside_the_plan_is_a_400(plan, book_series, count):
    response = book_series(plan, sessions=count, weekdays=[MON, WED, FRI])

    assert response.status_code == 400
    assert response.json()["sessions"] == [f"This plan has 10–15 sessions, not {count}."]
    assert not Session.objects.exists()


@pytest.mark.parametrize("weeks", [3, 8])
def test_series_with_weeks_outside_the_plan_is_a_400(plan, book_series, weeks):
    response = book_series(plan, weeks=weeks, weekdays=[MON, WED, FRI])

    assert response.status_code == 400
    assert response.json()["weeks"] == [f"This plan runs 4–7 weeks, not {weeks}."]


@pytest.mark.parametrize("weekdays", [[], [7], [-1]])
def test_series_with_no_or_unknown_weekdays_is_a_400(plan, book_series, weekdays):
    response = book_series(plan, weekdays=weekdays)

    assert response.status_code == 400
    assert "weekdays" in response.json()


def test_series_outside_working_hours_is_a_400_naming_time(plan, book_series):
    response = book_series(plan, time="17:30")

    assert response.status_code == 400
    assert "working hours" in response.json()["time"][0]
    assert not Session.objects.exists()


def test_series_with_a_device_out_of_service_is_a_400(plan, book_series, device):
    device.in_service = False
    device.save()

    response = book_series(plan)

    assert response.status_code == 400
    assert "out of service" in response.json()["device"][0]


def test_series_for_an_over_50_plan_books_fifteen(esthetician, book_series):
    client = ClientFactory(date_of_birth=date(1960, 5, 1))
    screen(client)
    plan = PlanFactory(client=client, start_date=START, created_by=esthetician)

    response = book_series(plan, weekdays=[MON, WED, FRI])

    assert plan.protocol.name == "Over 50"
    assert response.status_code == 201, response.json()
    assert len(response.json()["sessions"]) == 15


def test_a_plan_of_one_session_count_names_that_count_alone(esthetician, book_series):
    client = ClientFactory(date_of_birth=date(1960, 5, 1))
    screen(client)
    plan = PlanFactory(client=client, start_date=START, created_by=esthetician)

    response = book_series(plan, sessions=10, weekdays=[MON, WED, FRI])

    assert response.status_code == 400
    assert response.json()["sessions"] == ["This plan has 15 sessions, not 10."]
