"""Issue 13, "Booking without back and forth": the series preview marks every problem on
its own row, a row takes its nearest free time or another date without moving the
others, the sessions and weeks follow a new age band, and a plan with cancelled sessions
says how many remain to rebook and books them."""

from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.roles import Role
from protocols.models import Plan, Protocol
from sessions_app.models import DayOff, Session, WorkingHours
from sessions_app.series import sessions_to_rebook
from sessions_app.services import session_book, session_cancel
from tests.factories import ClientFactory, ClosedDayFactory, PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, local, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
START = date(2027, 3, 1)  # a Monday
MON, THU = 0, 3
# Mondays and Thursdays over 7 weeks: the 10 days the series takes (test_series.py).
DAYS = [
    date(2027, 3, 1),
    date(2027, 3, 4),
    date(2027, 3, 11),
    date(2027, 3, 15),
    date(2027, 3, 22),
    date(2027, 3, 25),
    date(2027, 4, 1),
    date(2027, 4, 5),
    date(2027, 4, 12),
    date(2027, 4, 15),
]


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def later(minutes: int):
    """The clock a few minutes on: a rebooking comes after the cancellation it makes up."""
    return time_machine.travel(NOW + timedelta(minutes=minutes), tick=False)


@pytest.fixture
def plan(bookable, esthetician):
    """Ana is 41 on the start date: "35 to 50", 10-15 sessions over 4-7 weeks."""
    return PlanFactory(client=bookable, start_date=START, created_by=esthetician)


@pytest.fixture
def body(esthetician, working_hours, room, device):
    def make(**overrides):
        data = {
            "esthetician": esthetician.pk,
            "room": room.pk,
            "device": device.pk,
            "time": "10:00",
            "weekdays": [MON, THU],
        }
        return {**data, **overrides}

    return make


def preview(api, plan, data) -> list[dict]:
    response = api.post(f"/api/plans/{plan.pk}/book/", {**data, "preview": True}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["sessions"]


def by_day(rows) -> dict[str, dict]:
    return {row["day"]: row for row in rows}


# Every problem on its own row -------------------------------------------------------------


@pytest.mark.sqlite_too
def test_the_preview_marks_every_problem_on_its_own_row(
    api_est, plan, body, esthetician, other_esthetician, other_bookable, room, other_device
):
    # Thursdays: only from 13:00, so 10:00 is outside the hours on every Thursday.
    WorkingHours.objects.filter(esthetician=esthetician, weekday=THU).update(starts_at=time(13))
    # Mar 22: the room is taken.
    taken = SessionFactory(
        client=other_bookable,
        esthetician=other_esthetician,
        room=room,
        device=other_device,
        start=at(date(2027, 3, 22), "10:00"),
    )
    # Two rows moved by hand: onto a closed day and onto the esthetician's day off.
    ClosedDayFactory(date=date(2027, 3, 2), reason="Inventory")
    DayOff.objects.create(esthetician=esthetician, date=date(2027, 3, 16), reason="Course")
    moves = [
        {"day": "2027-03-01", "start": "2027-03-02T10:00"},
        {"day": "2027-03-15", "start": "2027-03-16T10:00"},
    ]

    rows = by_day(preview(api_est, plan, body(moves=moves)))

    assert "The clinic is closed on Tue Mar 2, 2027 (Inventory)." in rows["2027-03-01"]["problems"]
    assert rows["2027-03-01"]["moved"] is True
    assert any("is off on Tue Mar 16, 2027 (Course)" in p for p in rows["2027-03-15"]["problems"])
    for thursday in ("2027-03-04", "2027-03-11", "2027-03-25", "2027-04-01", "2027-04-15"):
        assert any("working hours (13:00–18:00)" in p for p in rows[thursday]["problems"])
        # The nearest free time of a Thursday is that afternoon.
        assert local(rows[thursday]["alternative"]).time() == time(13)
    assert rows["2027-03-22"]["problems"] == []
    assert [(c["resource"], c["session"]) for c in rows["2027-03-22"]["clashes"]] == [
        ("room", taken.pk)
    ]
    free = sorted(day for day, row in rows.items() if row["free"])
    assert free == ["2027-04-05", "2027-04-12"]
    assert all(row["alternative"] for row in rows.values() if not row["free"])
    assert not Plan.objects.exclude(pk=plan.pk).exists()
    assert not plan.sessions.exists()


@pytest.mark.sqlite_too
def test_booking_with_a_row_that_cannot_be_booked_is_a_400_and_books_nothing(
    api_est, plan, body, esthetician
):
    ClosedDayFactory(date=date(2027, 3, 2))
    response = api_est.post(
        f"/api/plans/{plan.pk}/book/",
        body(moves=[{"day": "2027-03-01", "start": "2027-03-02T10:00"}]),
        format="json",
    )
    assert response.status_code == 400
    assert "The clinic is closed on Tue Mar 2, 2027" in response.json()["moves"][0]
    assert not plan.sessions.exists()


def test_a_row_moved_onto_another_rows_day_is_marked_on_both(api_est, plan, body):
    rows = by_day(
        preview(api_est, plan, body(moves=[{"day": "2027-03-22", "start": "2027-03-25T15:00"}]))
    )
    for day in ("2027-03-22", "2027-03-25"):
        assert any("Another session of this series" in p for p in rows[day]["problems"])
    assert rows["2027-03-22"]["alternative"] is not None
    assert local(rows["2027-03-22"]["alternative"]).date() not in DAYS[:4] + DAYS[5:]


def test_a_row_moved_outside_the_plans_window_is_marked(api_est, plan, body):
    rows = by_day(
        preview(api_est, plan, body(moves=[{"day": "2027-04-15", "start": "2027-04-20T10:00"}]))
    )
    assert any("is outside Plan" in p for p in rows["2027-04-15"]["problems"])
    alternative = local(rows["2027-04-15"]["alternative"]).date()
    assert START <= alternative <= plan.last_day


def test_a_move_naming_a_day_no_session_falls_on_is_a_400_naming_moves(api_est, plan, body):
    response = api_est.post(
        f"/api/plans/{plan.pk}/book/",
        body(preview=True, moves=[{"day": "2027-03-02", "start": "2027-03-03T10:00"}]),
        format="json",
    )
    assert response.status_code == 400
    assert "No session of the series falls on Mar 2, 2027" in response.json()["moves"][0]


# One date changed, the others left where they are ---------------------------------------


@pytest.mark.sqlite_too
def test_changing_one_date_moves_that_session_only_and_books_it_there(api_est, plan, body):
    before = preview(api_est, plan, body())
    moves = [{"day": "2027-03-22", "start": "2027-03-23T11:30"}]

    after = preview(api_est, plan, body(moves=moves))
    response = api_est.post(f"/api/plans/{plan.pk}/book/", body(moves=moves), format="json")

    changed = {
        row["day"]: row["start"]
        for row in after
        if row["start"] not in {b["start"] for b in before}
    }
    assert list(changed) == ["2027-03-22"]
    assert local(changed["2027-03-22"]) == at(date(2027, 3, 23), "11:30")
    assert all(row["free"] for row in after)
    assert response.status_code == 201, response.json()
    booked = sorted(local(s["start"]) for s in response.json()["sessions"])
    expected = sorted(at(d, "10:00") for d in DAYS if d != date(2027, 3, 22))
    assert booked == sorted([*expected, at(date(2027, 3, 23), "11:30")])


# The page: "Take this time" and "Move", one row at a time --------------------------------


def series_form(esthetician, room, device, **extra) -> dict:
    return {
        "start_date": "2027-03-01",
        "time": "10:00",
        "sessions": "10",
        "weeks": "7",
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
        "weekdays": ["0", "3"],
        **extra,
    }


@pytest.fixture
def series_page(page_as, bookable):
    browser = page_as(Role.ESTHETICIAN)
    url = reverse("sessions:book-series", args=[bookable.pk])
    return lambda data: browser.post(url, data)


def test_take_this_time_moves_that_row_to_its_nearest_free_time_only(
    series_page, esthetician, working_hours, room, device
):
    WorkingHours.objects.filter(esthetician=esthetician, weekday=THU).update(starts_at=time(13))
    form = series_form(esthetician, room, device)

    first = series_page({**form, "preview": "1"}).content.decode()
    take = 'name="take" value="2027-03-04|2027-03-04T13:00"'
    assert take in first
    taken = series_page({**form, "take": "2027-03-04|2027-03-04T13:00"}).content.decode()

    assert 'name="move-2027-03-04" value="2027-03-04T13:00"' in taken
    assert taken.count('type="hidden" name="move-') == 1
    # Mar 4 is free at 1 PM now; Mar 11, another Thursday, is still marked.
    assert 'value="2027-03-11|2027-03-11T13:00"' in taken
    assert 'value="2027-03-04|2027-03-04T13:00"' not in taken
    assert "Thu Mar 4, 2027" in taken


def test_move_puts_one_row_at_the_typed_date_and_book_keeps_it(
    series_page, esthetician, working_hours, room, device, bookable
):
    form = series_form(esthetician, room, device)
    moved = series_page(
        {
            **form,
            "change": "2027-03-22",
            "row-2027-03-22-date": "2027-03-24",
            "row-2027-03-22-time": "16:15",
        }
    ).content.decode()
    assert 'name="move-2027-03-22" value="2027-03-24T16:15"' in moved

    response = series_page({**form, "move-2027-03-22": "2027-03-24T16:15", "book": "1"})

    assert response.status_code == 302
    starts = sorted(s.start for s in Session.objects.filter(client=bookable))
    assert at(date(2027, 3, 24), "16:15") in starts
    assert at(date(2027, 3, 22), "10:00") not in starts
    assert len(starts) == 10


def test_put_back_undoes_a_move(series_page, esthetician, working_hours, room, device):
    form = series_form(esthetician, room, device, **{"move-2027-03-22": "2027-03-24T16:15"})
    html = series_page({**form, "unmove": "2027-03-22"}).content.decode()
    assert 'name="move-2027-03-22"' not in html
    assert "Mon Mar 22, 2027" in html


# The sessions and weeks follow the age band ------------------------------------------------


def test_a_start_date_in_another_age_band_brings_its_sessions_and_weeks(
    page_as, esthetician, working_hours, room, device
):
    client = ClientFactory(first_name="Cleo", date_of_birth=date(1992, 3, 10))  # 35 on Mar 10
    screen(client)
    under_35 = Protocol.objects.get(name="Under 35")
    browser = page_as(Role.ESTHETICIAN)
    url = reverse("sessions:book-series", args=[client.pk])
    opened = browser.get(url).content.decode()
    assert f'name="band" value="{under_35.pk}"' in opened  # tomorrow she is 34

    form = {
        **series_form(esthetician, room, device),
        "start_date": "2027-03-15",
        "sessions": "5",
        "weeks": "3",
        "band": str(under_35.pk),
        "book": "1",
    }
    followed = browser.post(url, form)

    html = followed.content.decode()
    assert followed.status_code == 200  # shown first, not booked
    assert "Cleo" in html
    assert "is 35 on Mar 15: the 35 to 50 plan" in html
    assert 'name="sessions" value="10"' in html
    assert 'name="weeks" value="7"' in html
    band = Protocol.objects.get(name="35 to 50")
    assert f'name="band" value="{band.pk}"' in html
    assert html.count('class="slot-') == 10
    assert not Session.objects.filter(client=client).exists()

    booked = browser.post(url, {**form, "sessions": "10", "weeks": "7", "band": str(band.pk)})
    assert booked.status_code == 302
    assert Session.objects.filter(client=client).count() == 10
    assert Plan.objects.get(client=client).protocol == band


# A plan with cancelled sessions: how many remain, and booking them ------------------------


@pytest.fixture
def booked_plan(api_est, plan, body, esthetician):
    response = api_est.post(f"/api/plans/{plan.pk}/book/", body(), format="json")
    assert response.status_code == 201, response.json()
    with later(5):
        for session in plan.sessions.order_by("start")[2:4]:  # Mar 11 and Mar 15
            session_cancel(session=session, by=esthetician)
    return plan


def test_a_plan_with_cancelled_sessions_says_how_many_remain_to_rebook(api_est, booked_plan):
    answer = api_est.get(f"/api/plans/{booked_plan.pk}/").json()
    assert answer["sessions_to_rebook"] == 2
    assert answer["sessions_booked"] == 8
    assert sessions_to_rebook(booked_plan) == 2


def test_a_session_booked_for_the_plan_after_a_cancellation_counts_as_rebooked(
    booked_plan, bookable, esthetician, room, device
):
    with later(10):
        session_book(
            client=bookable,
            esthetician=esthetician,
            room=room,
            device=device,
            plan=booked_plan,
            start=at(date(2027, 3, 9), "10:00"),
            by=esthetician,
        )
    assert sessions_to_rebook(booked_plan) == 1


def test_a_cancelled_plan_has_nothing_to_rebook(booked_plan, esthetician):
    from sessions_app.plans import plan_cancel

    plan_cancel(plan=booked_plan, by=esthetician)
    assert sessions_to_rebook(booked_plan) == 0


@pytest.mark.sqlite_too
def test_rebooking_books_the_remaining_sessions_on_days_the_client_is_free(
    api_est, booked_plan, body
):
    kept = {local(s.start).date() for s in booked_plan.sessions.live()}

    shown = api_est.post(
        f"/api/plans/{booked_plan.pk}/rebook/", body(preview=True), format="json"
    ).json()
    with later(10):
        response = api_est.post(f"/api/plans/{booked_plan.pk}/rebook/", body(), format="json")

    assert len(shown["sessions"]) == 2
    assert response.status_code == 201, response.json()
    new = [local(s["start"]) for s in response.json()["sessions"]]
    assert [local(s["start"]) for s in shown["sessions"]] == new
    assert len(new) == 2
    assert not {d.date() for d in new} & kept
    assert all(START <= d.date() <= booked_plan.last_day for d in new)
    assert booked_plan.sessions.live().count() == 10
    assert sessions_to_rebook(booked_plan) == 0
    again = api_est.post(f"/api/plans/{booked_plan.pk}/rebook/", body(), format="json")
    assert again.status_code == 409
    assert booked_plan.sessions.live().count() == 10


def test_rebooking_more_than_remain_is_a_400_naming_sessions(api_est, booked_plan, body):
    response = api_est.post(f"/api/plans/{booked_plan.pk}/rebook/", body(sessions=3), format="json")
    assert response.status_code == 400
    assert response.json()["sessions"] == ["1–2 sessions remain to rebook, not 3."]
    assert booked_plan.sessions.live().count() == 8


def test_the_client_page_offers_to_rebook_and_the_page_books_them(
    page_as, booked_plan, bookable, esthetician, room, device
):
    browser = page_as(Role.FRONT_DESK)
    client_page = browser.get(reverse("clients:detail", args=[bookable.pk])).content.decode()
    rebook = reverse("sessions:plan-rebook", args=[booked_plan.pk])
    assert "2 cancelled sessions to rebook" in client_page
    assert f'href="{rebook}"' in client_page

    opened = browser.get(rebook).content.decode()
    assert "2 remain to rebook" in opened
    assert 'name="start_date"' not in opened
    assert f'<option value="{esthetician.pk}" selected>' in opened  # where they were

    with later(10):
        response = browser.post(
            rebook,
            {
                "time": "10:00",
                "sessions": "2",
                "esthetician": esthetician.pk,
                "room": room.pk,
                "device": device.pk,
                "weekdays": ["0", "3"],
                "book": "1",
            },
        )
    assert response.status_code == 302
    assert booked_plan.sessions.live().count() == 10
    after = browser.get(reverse("clients:detail", args=[bookable.pk])).content.decode()
    assert "to rebook" not in after


# Rebooking only where it can do something --------------------------------------------------
AFTER_THE_WINDOW = datetime(2027, 4, 20, 9, 0, tzinfo=LA)  # the plan ran Mar 1 to Apr 18


def test_once_the_plans_window_is_over_the_client_page_says_why_it_cannot_rebook(
    page_as, booked_plan, bookable
):
    rebook = reverse("sessions:plan-rebook", args=[booked_plan.pk])
    with time_machine.travel(AFTER_THE_WINDOW, tick=False):
        browser = page_as(Role.FRONT_DESK)  # logged in that day (sessions idle out)
        client_page = browser.get(reverse("clients:detail", args=[bookable.pk])).content.decode()
    assert "2 cancelled sessions not rebooked" in client_page
    assert "The plan&#x27;s window ended on Apr 18, 2027" in client_page
    assert f'href="{rebook}"' not in client_page


def test_once_the_plans_window_is_over_the_rebook_page_says_so_and_books_nothing(
    page_as, api_est, booked_plan, bookable, body, esthetician, room, device
):
    rebook = reverse("sessions:plan-rebook", args=[booked_plan.pk])
    form = {
        "time": "10:00",
        "sessions": "2",
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
        "weekdays": ["0", "3"],
        "book": "1",
    }
    with time_machine.travel(AFTER_THE_WINDOW, tick=False):
        browser = page_as(Role.FRONT_DESK)
        opened = browser.get(rebook).content.decode()
        posted = browser.post(rebook, form)
        answer = api_est.post(f"/api/plans/{booked_plan.pk}/rebook/", body(), format="json")
    assert "can no longer be rebooked in it. Book a new series instead." in opened
    assert 'name="weekdays"' not in opened  # no form that could only fail
    assert reverse("sessions:book-series", args=[bookable.pk]) in opened
    assert posted.status_code == 200
    assert "can no longer be rebooked" in posted.content.decode()
    assert answer.status_code == 409
    assert answer.json()["plan"] == [
        "The plan's window ended on Apr 18, 2027, so its cancelled sessions can no longer be "
        "rebooked in it. Book a new series instead."
    ]
    assert booked_plan.sessions.live().count() == 8


def test_rebooking_with_too_few_days_left_says_plainly_what_would_work(api_est, booked_plan, body):
    """Apr 12: Mondays and Thursdays left in the window are the client's own (Apr 12, 15)."""
    url = f"/api/plans/{booked_plan.pk}/rebook/"
    with time_machine.travel(datetime(2027, 4, 12, 8, 0, tzinfo=LA), tick=False):
        none_left = api_est.post(url, body(preview=True), format="json")
        one_left = api_est.post(url, body(preview=True, weekdays=[MON, 1, THU]), format="json")
        fewer = api_est.post(
            url, body(preview=True, weekdays=[MON, 1, THU], sessions=1), format="json"
        )
    assert none_left.status_code == 400
    assert none_left.json()["weekdays"] == [
        "2 sessions need 2 open days, but Mondays, Thursdays to Apr 18, 2027 from today give "
        "0. Choose more weekdays."
    ]
    assert one_left.status_code == 400
    assert one_left.json()["weekdays"][0].endswith(
        "give 1. Rebook fewer sessions, or choose more weekdays."
    )
    assert fewer.status_code == 200, fewer.json()
    assert [local(s["start"]).date() for s in fewer.json()["sessions"]] == [date(2027, 4, 13)]


def test_nothing_left_to_rebook_says_so_instead_of_a_form(page_as, booked_plan, api_est, body):
    with later(10):
        answer = api_est.post(f"/api/plans/{booked_plan.pk}/rebook/", body(), format="json")
    assert answer.status_code == 201
    browser = page_as(Role.FRONT_DESK)
    opened = browser.get(reverse("sessions:plan-rebook", args=[booked_plan.pk])).content.decode()
    assert "Nothing remains to rebook" in opened
    assert 'name="weekdays"' not in opened
