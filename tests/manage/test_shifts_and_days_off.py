"""Issue 13, "Shifts people really work": several shifts a weekday (a lunch break), never
overlapping; days off for one esthetician; and a change of hours that lists, before it
is saved, the booked sessions it would leave outside them."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from clinic.errors import RuleViolation
from clinic.roles import Role
from sessions_app import hours, resource_services
from sessions_app.free_times import free_times
from sessions_app.models import ClosedDay, DayOff, Session, WorkingHours
from sessions_app.services import series_propose, session_book
from tests.factories import (
    ClientFactory,
    DeviceFactory,
    PlanFactory,
    RoomFactory,
    SessionFactory,
    UserFactory,
)
from tests.sessions_app.helpers import at, screen

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=LA)  # a Wednesday
MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def esme(db):
    return UserFactory(
        username="esme", role=Role.ESTHETICIAN, first_name="Esme", last_name="Carter"
    )


@pytest.fixture
def lunch_break(esme):
    """Esme works 09:00–13:00 and 14:00–18:00 every day."""
    for weekday in range(7):
        for starts, ends in ((time(9), time(13)), (time(14), time(18))):
            resource_services.working_hours_save(
                esthetician=esme, weekday=weekday, starts_at=starts, ends_at=ends
            )


@pytest.fixture
def where(esme):
    return {"esthetician": esme, "room": RoomFactory(), "device": DeviceFactory()}


@pytest.fixture
def ana():
    client = ClientFactory(first_name="Ana", last_name="Lopez")
    screen(client)
    return client


def booked(where, client, day, hh_mm, minutes=45):
    start = at(day, hh_mm)
    return SessionFactory(
        client=client, start=start, end=start + timedelta(minutes=minutes), **where
    )


# Several shifts a weekday, never overlapping ---------------------------------------------


@pytest.mark.sqlite_too
@pytest.mark.parametrize(
    ("starts", "ends"), [(time(12), time(15)), (time(8), time(9, 30)), (time(10), time(11))]
)
def test_an_overlapping_shift_is_refused_naming_starts_at(esme, lunch_break, starts, ends):
    with pytest.raises(ValidationError) as caught:
        resource_services.working_hours_save(
            esthetician=esme, weekday=0, starts_at=starts, ends_at=ends
        )
    assert "shifts on one day must not overlap" in caught.value.message_dict["starts_at"][0]
    assert WorkingHours.objects.filter(esthetician=esme, weekday=0).count() == 2


@pytest.mark.sqlite_too
def test_shifts_that_touch_are_two_shifts_back_to_back(esme, lunch_break):
    resource_services.working_hours_save(
        esthetician=esme, weekday=0, starts_at=time(13), ends_at=time(14)
    )
    assert WorkingHours.objects.filter(esthetician=esme, weekday=0).count() == 3


@pytest.mark.sqlite_too
def test_editing_a_shift_does_not_clash_with_itself(esme, lunch_break):
    morning = WorkingHours.objects.get(esthetician=esme, weekday=0, starts_at=time(9))
    saved = resource_services.working_hours_save(
        working_hours=morning, esthetician=esme, weekday=0, starts_at=time(8), ends_at=time(12)
    )
    assert (saved.starts_at, saved.ends_at) == (time(8), time(12))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the constraint is PostgreSQL's")
def test_the_database_itself_refuses_overlapping_shifts(esme, lunch_break):
    """What a race past the service's check would write: the exclusion constraint."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        WorkingHours.objects.create(
            esthetician=esme, weekday=0, starts_at=time(12), ends_at=time(15)
        )
    assert caught.value.__cause__.diag.constraint_name == "shift_no_overlap"


@pytest.mark.sqlite_too
def test_booking_in_the_lunch_break_is_refused_naming_both_shifts(where, ana, lunch_break):
    with pytest.raises(RuleViolation) as caught:
        session_book(client=ana, start=at(MONDAY, "12:30"), by=where["esthetician"], **where)
    assert caught.value.field == "start"
    assert "outside Esme Carter's working hours (09:00–13:00, 14:00–18:00)" in str(caught.value)
    assert not Session.objects.exists()


@pytest.mark.sqlite_too
def test_booking_after_the_lunch_break_is_taken(where, ana, lunch_break):
    session = session_book(client=ana, start=at(MONDAY, "14:00"), by=where["esthetician"], **where)
    assert session.start == at(MONDAY, "14:00")


def test_free_times_skip_the_lunch_break(where, lunch_break):
    found = free_times(date_from=MONDAY, date_to=MONDAY, minutes=45, **where)
    starts = [f.start.astimezone(LA).strftime("%H:%M") for f in found]
    assert "12:15" in starts  # ends 13:00, as the morning shift does
    for in_the_break in ("12:30", "12:45", "13:00", "13:30", "13:45"):
        assert in_the_break not in starts
    assert starts[starts.index("12:15") + 1] == "14:00"


def test_the_api_lists_and_checks_every_shift_of_a_day(api_as, esme, lunch_break, where):
    api = api_as(Role.MANAGER)
    response = api.get(
        "/api/availability/",
        {"date_from": MONDAY, "date_to": MONDAY, "minutes": 45, "esthetician": esme.pk},
    )
    assert response.status_code == 200
    starts = [datetime.fromisoformat(f["start"]).astimezone(LA).time() for f in response.json()]
    assert time(12, 15) in starts
    assert time(12, 30) not in starts
    assert time(14) in starts


# Days off -------------------------------------------------------------------------------


@pytest.fixture
def day_off(esme, lunch_break):
    return resource_services.day_off_add(esthetician=esme, date=MONDAY, reason="Training")


@pytest.mark.sqlite_too
def test_booking_on_a_day_off_is_refused_with_the_reason(where, ana, day_off):
    with pytest.raises(RuleViolation) as caught:
        session_book(client=ana, start=at(MONDAY, "10:00"), by=where["esthetician"], **where)
    assert "Esme Carter is off on Mon Dec 7, 2026 (Training)." in str(caught.value)
    assert not Session.objects.exists()


def test_free_times_skip_a_day_off_and_no_one_else(where, day_off):
    other = UserFactory(username="kim", role=Role.ESTHETICIAN)
    WorkingHours.objects.create(esthetician=other, weekday=0, starts_at=time(9), ends_at=time(10))
    found = free_times(
        date_from=MONDAY, date_to=TUESDAY, minutes=45, room=where["room"], device=where["device"]
    )
    monday = {f.esthetician for f in found if f.start.astimezone(LA).date() == MONDAY}
    assert monday == {other}
    assert any(
        f.esthetician == where["esthetician"] and f.start.astimezone(LA).date() == TUESDAY
        for f in found
    )


def test_a_series_is_never_placed_on_a_day_off(where, ana, day_off):
    plan = PlanFactory(client=ana, start_date=MONDAY)
    proposal = series_propose(plan=plan, at=time(10), weekdays=[0, 1, 3], **where)
    days = [s.start.astimezone(LA).date() for s in proposal.sessions]
    assert MONDAY not in days
    assert days[0] == TUESDAY
    assert all(s.is_free for s in proposal.sessions)


@pytest.mark.parametrize(
    ("when", "message"),
    [(date(2026, 12, 1), "That day is past"), (MONDAY, "already off on that day")],
)
def test_a_day_off_in_the_past_or_twice_is_refused_naming_date(esme, day_off, when, message):
    with pytest.raises(ValidationError) as caught:
        resource_services.day_off_add(esthetician=esme, date=when)
    assert message in caught.value.message_dict["date"][0]
    assert DayOff.objects.count() == 1


def test_days_off_through_the_api(api_as, esme):
    api = api_as(Role.MANAGER)
    created = api.post(
        "/api/days-off/",
        {"esthetician": esme.pk, "date": MONDAY, "reason": "Dentist"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["reason"] == "Dentist"
    again = api.post("/api/days-off/", {"esthetician": esme.pk, "date": MONDAY}, format="json")
    assert again.status_code == 400
    assert "already off" in again.json()["date"][0]
    listed = api.get("/api/days-off/", {"esthetician": esme.pk}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(r["date"], r["reason"]) for r in rows] == [("2026-12-07", "Dentist")]
    assert api.delete(f"/api/days-off/{created.json()['id']}/").status_code == 204
    assert not DayOff.objects.exists()


def test_a_day_off_for_someone_who_is_not_an_esthetician_is_a_400(api_as, front_desk):
    response = api_as(Role.MANAGER).post(
        "/api/days-off/", {"esthetician": front_desk.pk, "date": MONDAY}, format="json"
    )
    assert response.status_code == 400
    assert "esthetician" in response.json()
    assert not DayOff.objects.exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ESTHETICIAN])
def test_only_managers_add_days_off(api_as, esme, role):
    response = api_as(role).post(
        "/api/days-off/", {"esthetician": esme.pk, "date": MONDAY}, format="json"
    )
    assert response.status_code == 403
    assert not DayOff.objects.exists()


# What a change would leave outside the hours --------------------------------------------


def test_shortening_a_shift_lists_the_sessions_it_leaves_outside(where, ana, lunch_break):
    inside = booked(where, ana, MONDAY, "10:00")
    late = booked(where, ClientFactory(), MONDAY, "12:00")
    afternoon = booked(where, ClientFactory(), MONDAY, "15:00")
    morning = WorkingHours.objects.get(
        esthetician=where["esthetician"], weekday=0, starts_at=time(9)
    )

    change = hours.shift_saved(
        working_hours=morning,
        esthetician=where["esthetician"],
        weekday=0,
        starts_at=time(9),
        ends_at=time(11),
    )
    outside = hours.sessions_outside(change)

    assert [o.session for o in outside] == [late]
    assert "outside Esme Carter's working hours (09:00–11:00, 14:00–18:00)" in outside[0].reason
    assert inside not in [o.session for o in outside]
    assert afternoon not in [o.session for o in outside]
    morning.refresh_from_db()
    assert morning.ends_at == time(13)  # asking saves nothing


def test_a_session_already_outside_the_shifts_is_not_listed_again(where, ana, lunch_break):
    booked(where, ana, MONDAY, "12:45")  # 12:45–13:30: across the break already
    change = hours.shift_saved(
        esthetician=where["esthetician"], weekday=0, starts_at=time(19), ends_at=time(20)
    )
    assert hours.sessions_outside(change) == []


def test_removing_a_shift_lists_its_sessions(where, ana, lunch_break):
    afternoon = booked(where, ana, MONDAY, "15:00")
    booked(where, ClientFactory(), TUESDAY, "15:00")  # another weekday: unaffected
    shift = WorkingHours.objects.get(
        esthetician=where["esthetician"], weekday=0, starts_at=time(14)
    )
    outside = hours.sessions_outside(hours.shift_removed(working_hours=shift))
    assert [o.session for o in outside] == [afternoon]


def test_closing_a_day_or_a_day_off_lists_every_session_booked_that_day(where, ana, lunch_break):
    first = booked(where, ana, MONDAY, "10:00")
    second = booked(where, ClientFactory(), MONDAY, "15:00")
    other = UserFactory(username="kim", role=Role.ESTHETICIAN)
    theirs = SessionFactory(esthetician=other, start=at(MONDAY, "11:00"))
    SessionFactory(esthetician=other, start=at(MONDAY, "12:00"), status=Session.Status.CANCELLED)

    closed = hours.sessions_outside(hours.day_closed(date=MONDAY))
    off = hours.sessions_outside(hours.day_off_added(esthetician=where["esthetician"], date=MONDAY))

    # Kim has no hours at all: closing the day lists his session too.
    assert [o.session for o in closed] == [first, theirs, second]
    assert "The clinic is closed on Mon Dec 7, 2026." in closed[0].reason
    assert [o.session for o in off] == [first, second]


def test_asking_costs_the_same_queries_however_many_sessions(
    where, ana, lunch_break, django_assert_max_num_queries
):
    for weeks in range(6):
        booked(where, ClientFactory(), MONDAY + timedelta(weeks=weeks), "15:00")
    shift = WorkingHours.objects.get(
        esthetician=where["esthetician"], weekday=0, starts_at=time(14)
    )
    change = hours.shift_removed(working_hours=shift)
    with django_assert_max_num_queries(4):
        outside = hours.sessions_outside(change)
    assert len(outside) == 6


def test_the_api_answers_what_a_shift_would_leave_outside(api_as, where, ana, lunch_break):
    late = booked(where, ana, MONDAY, "12:00")
    api = api_as(Role.MANAGER)
    morning = WorkingHours.objects.get(
        esthetician=where["esthetician"], weekday=0, starts_at=time(9)
    )
    response = api.get(
        "/api/working-hours/sessions-outside/",
        {
            "esthetician": where["esthetician"].pk,
            "weekday": 0,
            "starts_at": "09:00",
            "ends_at": "11:00",
            "shift": morning.pk,
        },
    )
    assert response.status_code == 200, response.json()
    assert [(r["session"], r["client_name"]) for r in response.json()] == [(late.pk, "Ana Lopez")]
    removal = api.get(f"/api/working-hours/{morning.pk}/sessions-outside-if-removed/")
    assert [r["session"] for r in removal.json()] == [late.pk]
    closing = api.get("/api/closed-days/sessions-outside/", {"date": "2026-12-07"})
    assert [r["session"] for r in closing.json()] == [late.pk]
    off = api.get(
        "/api/days-off/sessions-outside/",
        {"esthetician": where["esthetician"].pk, "date": "2026-12-07"},
    )
    assert [r["session"] for r in off.json()] == [late.pk]
    assert WorkingHours.objects.get(pk=morning.pk).ends_at == time(13)
    assert not ClosedDay.objects.exists()
    assert not DayOff.objects.exists()


def test_the_api_question_with_bad_input_is_a_400_naming_the_field(api_as):
    response = api_as(Role.MANAGER).get(
        "/api/working-hours/sessions-outside/", {"weekday": 9, "starts_at": "nine"}
    )
    assert response.status_code == 400
    assert {"esthetician", "weekday", "starts_at", "ends_at"} <= set(response.json())


# The pages: show the list, then "Save anyway" -------------------------------------------


@pytest.fixture
def mgr(page_as):
    return page_as(Role.MANAGER)


def test_changing_a_shift_with_sessions_outside_asks_first_then_saves_anyway(
    mgr, where, ana, lunch_break
):
    late = booked(where, ana, MONDAY, "12:00")
    morning = WorkingHours.objects.get(
        esthetician=where["esthetician"], weekday=0, starts_at=time(9)
    )
    url = reverse("manage:hours-edit", args=[morning.pk])
    form = {"esthetician": where["esthetician"].pk, "weekday": 0, "starts_at": "09:00"}
    asked = mgr.post(url, {**form, "ends_at": "11:00"})
    html = asked.content.decode()
    assert asked.status_code == 200
    assert "1 booked session would fall outside the hours" in html
    assert "Ana Lopez" in html
    assert f'href="{reverse("sessions:detail", args=[late.pk])}#change-heading"' in html
    morning.refresh_from_db()
    assert morning.ends_at == time(13)

    saved = mgr.post(url, {**form, "ends_at": "11:00", "confirmed": str(late.pk)})
    assert saved.status_code == 302
    morning.refresh_from_db()
    assert morning.ends_at == time(11)
    late.refresh_from_db()
    assert late.status == Session.Status.BOOKED  # moved by staff, never by the change


def test_save_anyway_asks_again_when_the_change_leaves_out_a_session_not_shown(
    mgr, where, ana, lunch_break
):
    first = booked(where, ana, MONDAY, "12:00")
    second = booked(where, ClientFactory(), MONDAY, "10:30")
    morning = WorkingHours.objects.get(
        esthetician=where["esthetician"], weekday=0, starts_at=time(9)
    )
    url = reverse("manage:hours-edit", args=[morning.pk])
    form = {"esthetician": where["esthetician"].pk, "weekday": 0, "starts_at": "09:00"}
    # Shown the 12:00 session for 09:00–11:00, then saved 09:00–10:00 instead.
    again = mgr.post(url, {**form, "ends_at": "10:00", "confirmed": str(first.pk)})
    assert again.status_code == 200
    assert f'value="{second.pk},{first.pk}"' in again.content.decode()
    morning.refresh_from_db()
    assert morning.ends_at == time(13)


def test_a_change_with_nothing_outside_saves_at_once(mgr, where, ana, lunch_break):
    booked(where, ana, MONDAY, "10:00")
    morning = WorkingHours.objects.get(
        esthetician=where["esthetician"], weekday=0, starts_at=time(9)
    )
    response = mgr.post(
        reverse("manage:hours-edit", args=[morning.pk]),
        {
            "esthetician": where["esthetician"].pk,
            "weekday": 0,
            "starts_at": "08:00",
            "ends_at": "12:00",
        },
    )
    assert response.status_code == 302
    morning.refresh_from_db()
    assert (morning.starts_at, morning.ends_at) == (time(8), time(12))


def test_removing_a_shift_page_lists_the_sessions_before_removing(mgr, where, ana, lunch_break):
    afternoon = booked(where, ana, MONDAY, "15:00")
    shift = WorkingHours.objects.get(
        esthetician=where["esthetician"], weekday=0, starts_at=time(14)
    )
    url = reverse("manage:hours-remove", args=[shift.pk])
    html = mgr.get(url).content.decode()
    assert "1 booked session would fall outside the hours" in html
    assert "Remove the shift anyway" in html
    refused = mgr.post(url)
    assert refused.status_code == 200
    assert WorkingHours.objects.filter(pk=shift.pk).exists()
    removed = mgr.post(url, {"confirmed": str(afternoon.pk)})
    assert removed.status_code == 302
    assert not WorkingHours.objects.filter(pk=shift.pk).exists()


def test_a_day_off_page_lists_the_sessions_then_saves_anyway(mgr, where, ana, lunch_break):
    session = booked(where, ana, MONDAY, "10:00")
    url = reverse("manage:day-off-add")
    data = {"esthetician": where["esthetician"].pk, "date": "2026-12-07", "reason": "Course"}
    asked = mgr.post(url, data)
    assert asked.status_code == 200
    assert "Save the day off anyway" in asked.content.decode()
    assert not DayOff.objects.exists()
    saved = mgr.post(url, {**data, "confirmed": str(session.pk)})
    assert saved.status_code == 302
    assert DayOff.objects.get().reason == "Course"
    home = mgr.get(reverse("manage:home")).content.decode()
    assert "Monday, December 7, 2026" in home
    assert reverse("manage:day-off-remove", args=[DayOff.objects.get().pk]) in home


def test_a_day_off_page_shows_the_services_refusal_before_any_list(mgr, where, ana, day_off):
    booked(where, ana, TUESDAY, "10:00")
    response = mgr.post(
        reverse("manage:day-off-add"),
        {"esthetician": where["esthetician"].pk, "date": "2026-12-07"},
    )
    assert response.status_code == 200
    assert "already off on that day" in response.content.decode()
    assert DayOff.objects.count() == 1


def test_removing_a_day_off_asks_then_removes(mgr, day_off):
    url = reverse("manage:day-off-remove", args=[day_off.pk])
    assert "Remove Esme Carter's day off" in mgr.get(url).content.decode()
    assert mgr.post(url).status_code == 302
    assert not DayOff.objects.exists()
