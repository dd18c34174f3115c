"""Issue 9, rules 2 and 3: a plan is booked once, a session that names a plan follows the
series rules, and a client has one active plan at a time (finish or cancel it first)."""

from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.errors import Conflict
from clinic.roles import Role
from protocols.models import Plan
from sessions_app.booking import plan_label
from sessions_app.models import Reminder, Session
from sessions_app.plans import ActivePlanExists, plan_cancel, plan_create, plans_active
from sessions_app.reminders import reminders_dispatch
from sessions_app.series import series_ended_q, series_has_ended
from sessions_app.services import series_book, session_book
from tests.factories import ClientFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def plan(bookable, esthetician):
    """Ana (41): 10-15 sessions over 4-7 weeks from Monday March 1."""
    return plan_create(client=bookable, start_date=MONDAY, by=esthetician)


@pytest.fixture
def where(esthetician, working_hours, room, device):
    return {"esthetician": esthetician, "room": room, "device": device}


def book_series(plan, where, by, **extra):
    args = {"at": time(10), "weekdays": [0, 2, 4], **extra}
    return series_book(plan=plan, **where, by=by, **args)


def session_body(client, where, **extra):
    body = {"client": client.pk, **{name: obj.pk for name, obj in where.items()}}
    for name, value in extra.items():
        body[name] = value.isoformat() if isinstance(value, datetime) else value
    return body


# Rule 2: a plan is booked once -----------------------------------------------------------


@pytest.mark.sqlite_too
def test_booking_a_booked_plan_again_is_a_409_naming_the_plan(api_est, plan, where, esthetician):
    book_series(plan, where, esthetician)
    body = {**{n: o.pk for n, o in where.items()}, "time": "14:00", "weekdays": [1, 3]}

    response = api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")

    assert response.status_code == 409
    assert plan_label(plan) in response.json()["plan"][0]
    assert plan.sessions.count() == 10


@pytest.mark.sqlite_too
def test_a_cancelled_plan_cannot_be_booked(plan, where, esthetician):
    plan_cancel(plan=plan, by=esthetician)

    with pytest.raises(Conflict, match="cancelled"):
        book_series(plan, where, esthetician)

    assert not Session.objects.exists()


# A session that names a plan follows the series rules ---------------------------------


@pytest.mark.sqlite_too
def test_a_session_naming_a_plan_is_a_series_session(api_est, plan, bookable, where):
    response = api_est.post(
        "/api/sessions/",
        session_body(bookable, where, plan=plan.pk, start=at(MONDAY, "10:00")),
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "series"
    assert Session.objects.get().kind == Session.Kind.SERIES


@pytest.mark.sqlite_too
def test_a_session_naming_a_plan_is_never_the_clients_second_that_day(
    api_est, plan, bookable, where, esthetician
):
    first = session_book(client=bookable, **where, start=at(MONDAY, "10:00"), by=esthetician)

    response = api_est.post(
        "/api/sessions/",
        session_body(bookable, where, plan=plan.pk, start=at(MONDAY, "15:00")),
        format="json",
    )

    assert response.status_code == 409, response.json()
    clashes = response.json()["clashes"]
    assert [(c["resource"], c["session"]) for c in clashes] == [("client", first.pk)]
    assert Session.objects.count() == 1


@pytest.mark.sqlite_too
def test_a_session_naming_a_full_plan_is_a_409_naming_the_plan(
    api_est, plan, bookable, where, esthetician
):
    for day in range(plan.sessions_max):
        SessionFactory(
            client=bookable,
            plan=plan,
            kind="series",
            start=at(MONDAY + timedelta(days=day), "9:00"),
        )

    response = api_est.post(
        "/api/sessions/",
        session_body(bookable, where, plan=plan.pk, start=at(MONDAY + timedelta(days=20), "10:00")),
        format="json",
    )

    assert response.status_code == 409, response.json()
    assert f"allows {plan.sessions_max} sessions" in response.json()["plan"][0]
    assert plan.sessions.count() == plan.sessions_max


def test_cancelled_sessions_do_not_count_against_the_plan(plan, bookable, where, esthetician):
    for day in range(plan.sessions_max):
        SessionFactory(
            client=bookable,
            plan=plan,
            kind="series",
            status="cancelled",
            start=at(MONDAY + timedelta(days=day), "9:00"),
        )

    session = session_book(
        client=bookable, **where, plan=plan, start=at(MONDAY, "10:00"), by=esthetician
    )

    assert session.plan == plan


@pytest.mark.sqlite_too
@pytest.mark.parametrize(
    "start",
    [
        pytest.param(at(MONDAY - timedelta(days=1), "10:00"), id="the-day-before"),
        pytest.param(at(MONDAY + timedelta(weeks=7), "10:00"), id="the-day-after-the-last"),
    ],
)
def test_a_session_naming_a_plan_outside_its_window_is_a_400_naming_start(
    api_est, plan, bookable, where, start
):
    response = api_est.post(
        "/api/sessions/", session_body(bookable, where, plan=plan.pk, start=start), format="json"
    )

    assert response.status_code == 400
    assert "window" in response.json()["start"][0]
    assert not Session.objects.exists()


def test_a_session_on_the_last_day_of_the_plans_window_is_booked(
    plan, bookable, where, esthetician
):
    last_day = MONDAY + timedelta(weeks=7) - timedelta(days=1)

    session = session_book(
        client=bookable, **where, plan=plan, start=at(last_day, "10:00"), by=esthetician
    )

    assert session.kind == Session.Kind.SERIES


def test_a_session_naming_another_clients_plan_is_a_400_naming_plan(
    api_est, plan, other_bookable, where
):
    response = api_est.post(
        "/api/sessions/",
        session_body(other_bookable, where, plan=plan.pk, start=at(MONDAY, "10:00")),
        format="json",
    )

    assert response.status_code == 400
    assert "another client" in response.json()["plan"][0]
    assert not Session.objects.exists()


@pytest.mark.parametrize("kind", ["single", "maintenance"])
def test_a_session_naming_a_plan_with_another_kind_is_a_400_naming_kind(
    api_est, plan, bookable, where, kind
):
    response = api_est.post(
        "/api/sessions/",
        session_body(bookable, where, plan=plan.pk, kind=kind, start=at(MONDAY, "10:00")),
        format="json",
    )

    assert response.status_code == 400
    assert "series" in response.json()["kind"][0]


def test_a_series_session_without_a_plan_is_a_400_naming_plan(api_est, bookable, where):
    response = api_est.post(
        "/api/sessions/",
        session_body(bookable, where, kind="series", start=at(MONDAY, "10:00")),
        format="json",
    )

    assert response.status_code == 400
    assert "plan" in response.json()


def test_a_single_session_without_a_plan_stays_single(api_est, bookable, where):
    response = api_est.post(
        "/api/sessions/", session_body(bookable, where, start=at(MONDAY, "10:00")), format="json"
    )

    assert response.status_code == 201
    assert response.json()["kind"] == "single"


def test_rescheduling_keeps_a_single_session_free_of_the_one_a_day_rule(
    api_est, bookable, where, esthetician
):
    """The guard shared with booking only applies one-a-day to series sessions."""
    session_book(client=bookable, **where, start=at(MONDAY, "10:00"), by=esthetician)
    second = session_book(
        client=bookable, **where, start=at(MONDAY + timedelta(days=1), "10:00"), by=esthetician
    )

    response = api_est.post(
        f"/api/sessions/{second.pk}/reschedule/",
        {"start": at(MONDAY, "15:00").isoformat()},
        format="json",
    )

    assert response.status_code == 200, response.json()


# Rule 3: one active plan per client ------------------------------------------------------


def post_plan(api, client, start):
    return api.post(
        "/api/plans/", {"client": client.pk, "start_date": start.isoformat()}, format="json"
    )


def test_a_plan_overlapping_an_active_plan_is_a_409_naming_it(api_est, plan, bookable):
    response = post_plan(api_est, bookable, MONDAY + timedelta(weeks=3))

    assert response.status_code == 409, response.json()
    body = response.json()
    assert plan_label(plan) in body["start_date"][0]
    assert "finish or cancel it first" in body["start_date"][0].lower()
    assert body["active_plan"] == plan.pk
    assert Plan.objects.filter(client=bookable).count() == 1


def test_a_plan_starting_before_an_active_plan_and_reaching_into_it_is_refused(
    plan, bookable, esthetician
):
    with pytest.raises(ActivePlanExists):
        plan_create(client=bookable, start_date=MONDAY - timedelta(days=7), by=esthetician)


def test_a_plan_starting_the_day_the_active_plans_window_ends_is_allowed(api_est, plan, bookable):
    response = post_plan(api_est, bookable, plan.end_date)

    assert response.status_code == 201, response.json()


def test_a_plan_overlapping_a_finished_plan_is_allowed(api_est, plan, bookable, where):
    SessionFactory(client=bookable, plan=plan, status="completed", start=at(MONDAY, "10:00"))
    SessionFactory(client=bookable, plan=plan, status="no_show", start=at(MONDAY, "12:00"))
    SessionFactory(client=bookable, plan=plan, status="cancelled", start=at(MONDAY, "14:00"))

    response = post_plan(api_est, bookable, MONDAY + timedelta(weeks=2))

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    "statuses",
    [
        pytest.param([], id="nothing-booked-yet"),
        pytest.param(["cancelled", "no_show"], id="only-cancelled-and-missed"),
        pytest.param(["completed", "booked"], id="still-booked"),
        pytest.param(["completed", "checked_in"], id="one-checked-in"),
    ],
)
def test_a_plan_not_cancelled_and_not_ended_is_active(plan, bookable, statuses):
    for hour, status in enumerate(statuses, start=9):
        SessionFactory(client=bookable, plan=plan, status=status, start=at(MONDAY, f"{hour}:00"))

    assert list(plans_active()) == [plan]


@pytest.mark.parametrize(
    ("statuses", "ended"),
    [
        pytest.param([], False, id="nothing"),
        pytest.param(["completed"], True, id="completed"),
        pytest.param(["completed", "cancelled"], True, id="last-cancelled"),
        pytest.param(["no_show", "completed", "no_show"], True, id="missed-around"),
        pytest.param(["cancelled", "no_show"], False, id="none-completed"),
        pytest.param(["completed", "booked"], False, id="one-booked"),
        pytest.param(["completed", "checked_in"], False, id="one-checked-in"),
    ],
)
def test_series_ended_reads_the_same_in_python_and_in_the_database(plan, bookable, statuses, ended):
    for hour, status in enumerate(statuses, start=9):
        SessionFactory(client=bookable, plan=plan, status=status, start=at(MONDAY, f"{hour}:00"))

    assert series_has_ended(statuses) is ended
    assert Plan.objects.filter(series_ended_q(), pk=plan.pk).exists() is ended


def test_a_plan_overlapping_a_cancelled_plan_is_allowed(api_est, plan, bookable, esthetician):
    plan_cancel(plan=plan, by=esthetician)

    response = post_plan(api_est, bookable, MONDAY)

    assert response.status_code == 201, response.json()


def test_another_clients_plan_does_not_count(api_est, plan, other_bookable):
    response = post_plan(api_est, other_bookable, MONDAY)

    assert response.status_code == 201


# Cancelling a plan -------------------------------------------------------------------------


def test_cancelling_a_plan_cancels_its_booked_sessions_and_tells_the_client(
    plan, where, esthetician, front_desk
):
    booked = book_series(plan, where, esthetician)
    reminders_dispatch()  # the client has the series confirmation

    plan_cancel(plan=plan, by=front_desk)

    plan.refresh_from_db()
    assert plan.cancelled_at == NOW
    assert plan.cancelled_by == front_desk
    statuses = set(Session.objects.filter(plan=plan).values_list("status", flat=True))
    assert statuses == {Session.Status.CANCELLED}
    assert set(Session.objects.values_list("cancelled_by", flat=True)) == {front_desk.pk}
    updates = Reminder.objects.filter(
        kind=Reminder.Kind.BOOKING_CONFIRMATION, event="cancelled", session__plan=plan
    )
    assert updates.count() == len(booked)
    assert not plans_active().exists()


def test_cancelling_a_plan_keeps_its_completed_sessions(plan, bookable, where, esthetician):
    done = SessionFactory(client=bookable, plan=plan, status="completed", start=at(MONDAY, "9:00"))
    later = SessionFactory(client=bookable, plan=plan, start=at(MONDAY + timedelta(days=2), "9:00"))

    plan_cancel(plan=plan, by=esthetician)

    done.refresh_from_db()
    later.refresh_from_db()
    assert (done.status, later.status) == ("completed", "cancelled")


def test_cancelling_a_plan_twice_is_a_409(plan, esthetician):
    plan_cancel(plan=plan, by=esthetician)

    with pytest.raises(Conflict, match="already cancelled"):
        plan_cancel(plan=plan, by=esthetician)


def test_cancelling_a_finished_plan_is_a_409(plan, bookable, esthetician):
    SessionFactory(client=bookable, plan=plan, status="completed", start=at(MONDAY, "9:00"))

    with pytest.raises(Conflict, match="finished"):
        plan_cancel(plan=plan, by=esthetician)

    plan.refresh_from_db()
    assert plan.cancelled_at is None


def test_cancelling_a_plan_with_a_session_checked_in_is_a_409(plan, bookable, esthetician):
    SessionFactory(client=bookable, plan=plan, status="checked_in", start=at(MONDAY, "9:00"))

    with pytest.raises(Conflict, match="checked in"):
        plan_cancel(plan=plan, by=esthetician)


@pytest.mark.parametrize("role", list(Role))
def test_api_cancel_a_plan(api_as, plan, where, esthetician, role):
    book_series(plan, where, esthetician)

    response = api_as(role).post(f"/api/plans/{plan.pk}/cancel/")

    assert response.status_code == 200, response.json()
    assert response.json()["cancelled_at"] is not None
    assert not plan.sessions.live().exists()


def test_api_cancel_a_cancelled_plan_is_a_409(api_est, plan, esthetician):
    plan_cancel(plan=plan, by=esthetician)

    response = api_est.post(f"/api/plans/{plan.pk}/cancel/")

    assert response.status_code == 409
    assert "already cancelled" in response.json()["plan"][0]


def test_api_cancel_needs_a_login(api, plan):
    response = api.post(f"/api/plans/{plan.pk}/cancel/")

    assert response.status_code in (401, 403)
    plan.refresh_from_db()
    assert plan.cancelled_at is None


# Pages -------------------------------------------------------------------------------------


def series_form(where, start: date, **extra):
    return {
        "start_date": start.isoformat(),
        "esthetician": where["esthetician"].pk,
        "room": where["room"].pk,
        "device": where["device"].pk,
        "weekdays": ["0", "2", "4"],
        "time": "10:00",
        "sessions": 10,
        "weeks": 7,
        **extra,
    }


@pytest.mark.parametrize("button", ["book", "preview"])
def test_series_page_refuses_a_second_active_plan_and_links_to_it(
    page_as, plan, bookable, where, button
):
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:book-series", args=[bookable.pk]),
        series_form(where, MONDAY + timedelta(weeks=1), **{button: "1"}),
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert plan_label(plan) in page
    assert "Finish or cancel it first" in page
    assert f"{reverse('clients:detail', args=[bookable.pk])}#plan-{plan.pk}" in page
    assert Plan.objects.filter(client=bookable).count() == 1
    assert not Session.objects.exists()


def test_series_page_says_at_once_that_the_client_has_an_active_plan(page_as, plan, bookable):
    url = reverse("sessions:book-series", args=[bookable.pk])

    page = page_as(Role.ESTHETICIAN).get(url).content.decode()

    assert "already has an active plan" in page
    assert f"{reverse('clients:detail', args=[bookable.pk])}#plan-{plan.pk}" in page


def test_series_page_for_a_client_without_an_active_plan_says_nothing_of_one(page_as, bookable):
    url = reverse("sessions:book-series", args=[bookable.pk])

    assert "already has an active plan" not in page_as(Role.ESTHETICIAN).get(url).content.decode()


def test_series_page_with_the_start_date_cleared_is_a_form_error(page_as, bookable, where):
    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:book-series", args=[bookable.pk]),
        series_form(where, MONDAY, start_date="", preview="1"),
    )

    assert response.status_code == 200
    assert "start_date" in response.context["form"].errors


def test_client_page_offers_cancel_on_an_active_plan_and_cancelling_works(
    page_as, plan, bookable, where, esthetician
):
    book_series(plan, where, esthetician)
    page = page_as(Role.FRONT_DESK)
    detail = reverse("clients:detail", args=[bookable.pk])
    cancel_url = reverse("sessions:plan-cancel", args=[plan.pk])

    before = page.get(detail).content.decode()
    response = page.post(cancel_url)
    after = page.get(detail).content.decode()

    assert f'id="plan-{plan.pk}"' in before
    assert cancel_url in before
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.cancelled_at is not None
    assert not plan.sessions.live().exists()
    assert cancel_url not in after
    assert "Cancelled" in after


def test_client_page_cancel_of_a_finished_plan_shows_why(page_as, plan, bookable):
    SessionFactory(client=bookable, plan=plan, status="completed", start=at(MONDAY, "9:00"))
    page = page_as(Role.FRONT_DESK)

    response = page.post(reverse("sessions:plan-cancel", args=[plan.pk]), follow=True)

    assert "nothing to cancel" in response.content.decode()
    plan.refresh_from_db()
    assert plan.cancelled_at is None


def test_a_plan_created_for_a_client_under_35_on_the_page_books(page_as, where):
    young = ClientFactory(date_of_birth=date(2000, 1, 1))
    screen(young)

    response = page_as(Role.ESTHETICIAN).post(
        reverse("sessions:book-series", args=[young.pk]),
        series_form(where, MONDAY, sessions=5, weeks=3, book="1"),
    )

    assert response.status_code == 302
    assert Session.objects.filter(client=young, kind="series").count() == 5
