"""A session's life after booking: reschedule, cancel, no-show, check-in, complete (with
the treatment record), and a plan's progress to a completed series."""

from datetime import date, datetime, timedelta

import pytest
import time_machine

from clinic.errors import RuleViolation
from protocols.models import Plan
from sessions_app.models import Session, TreatmentRecord
from sessions_app.selectors import plans_with_progress
from sessions_app.services import session_complete
from tests.factories import ClientFactory, PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, local, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
TODAY = NOW.date()
MONDAY = date(2027, 3, 1)

TREATMENT = {
    "modality": "dynamic",
    "intensity_microamps": 250,
    "frequency_hz": "1.50",
    "duration_minutes": 45,
    "areas": ["cheeks", "jawline"],
    "add_ons": ["led"],
    "notes": "Tolerated well.",
}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ours(bookable, esthetician, working_hours, room, device):
    return {"client": bookable, "esthetician": esthetician, "room": room, "device": device}


@pytest.fixture
def monday_session(ours):
    return SessionFactory(**ours, start=at(MONDAY, "10:00"))


@pytest.fixture
def todays_session(ours):
    return SessionFactory(**ours, start=at(TODAY, "10:00"))


@pytest.fixture
def checked_in(todays_session):
    Session.objects.filter(pk=todays_session.pk).update(
        status=Session.Status.CHECKED_IN, checked_in_at=NOW
    )
    todays_session.refresh_from_db()
    return todays_session


def act(api, session, verb, body=None):
    return api.post(f"/api/sessions/{session.pk}/{verb}/", body or {}, format="json")


# Reschedule ---------------------------------------------------------------------------


def test_reschedule_moves_the_session_and_raises_its_sequence(api_est, monday_session):
    response = act(api_est, monday_session, "reschedule", {"start": at(MONDAY, "14:00")})

    assert response.status_code == 200, response.json()
    monday_session.refresh_from_db()
    assert local(monday_session.start) == at(MONDAY, "14:00")
    assert local(monday_session.end) == at(MONDAY, "14:45")
    assert monday_session.sequence == 1
    assert monday_session.status == Session.Status.BOOKED


def test_reschedule_may_overlap_the_sessions_own_old_slot(api_est, monday_session):
    response = act(api_est, monday_session, "reschedule", {"start": at(MONDAY, "10:15")})

    assert response.status_code == 200, response.json()
    assert local(response.json()["start"]) == at(MONDAY, "10:15")


@pytest.mark.sqlite_too
def test_reschedule_into_a_taken_slot_is_a_409_and_changes_nothing(
    api_est, monday_session, other_bookable, other_esthetician, other_device, room
):
    busy = SessionFactory(
        client=other_bookable,
        esthetician=other_esthetician,
        room=room,
        device=other_device,
        start=at(MONDAY, "14:00"),
    )

    response = act(api_est, monday_session, "reschedule", {"start": at(MONDAY, "14:30")})

    assert response.status_code == 409
    assert [(c["resource"], c["session"]) for c in response.json()["clashes"]] == [
        ("room", busy.pk)
    ]
    monday_session.refresh_from_db()
    assert local(monday_session.start) == at(MONDAY, "10:00")
    assert monday_session.sequence == 0


def test_reschedule_outside_working_hours_is_a_400(api_est, monday_session):
    response = act(api_est, monday_session, "reschedule", {"start": at(MONDAY, "17:30")})

    assert response.status_code == 400
    assert "working hours" in response.json()["start"][0]


def test_reschedule_into_the_past_is_a_400(api_est, monday_session):
    response = act(api_est, monday_session, "reschedule", {"start": at(TODAY, "08:00")})

    assert response.status_code == 400
    assert "in the past" in response.json()["start"][0]


def test_reschedule_of_a_cancelled_session_is_a_409(api_est, monday_session):
    act(api_est, monday_session, "cancel")

    response = act(api_est, monday_session, "reschedule", {"start": at(MONDAY, "14:00")})

    assert response.status_code == 409
    assert "Only a booked session can be moved" in response.json()["status"][0]


# Cancel ----------------------------------------------------------------------------------


def test_cancel_marks_the_session_cancelled_and_raises_its_sequence(api_est, monday_session):
    response = act(api_est, monday_session, "cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    monday_session.refresh_from_db()
    assert monday_session.sequence == 1
    assert monday_session.cancelled_at == NOW


@pytest.mark.sqlite_too
def test_cancel_frees_the_slot_for_another_client_at_once(
    api_est, monday_session, other_bookable, esthetician, room, device
):
    act(api_est, monday_session, "cancel")
    body = {
        "client": other_bookable.pk,
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
        "start": at(MONDAY, "10:00").isoformat(),
    }

    response = api_est.post("/api/sessions/", body, format="json")

    assert response.status_code == 201, response.json()


def test_front_desk_may_cancel(api, front_desk, monday_session):
    api.force_authenticate(front_desk)

    response = act(api, monday_session, "cancel")

    assert response.status_code == 200


def test_cancelling_twice_is_a_409(api_est, monday_session):
    act(api_est, monday_session, "cancel")

    response = act(api_est, monday_session, "cancel")

    assert response.status_code == 409
    assert "cancelled" in response.json()["status"][0]


def test_cancelling_a_completed_session_is_a_409(api_est, checked_in):
    act(api_est, checked_in, "complete", TREATMENT)

    response = act(api_est, checked_in, "cancel")

    assert response.status_code == 409
    checked_in.refresh_from_db()
    assert checked_in.status == Session.Status.COMPLETED


# No-show ---------------------------------------------------------------------------------


def test_no_show_before_the_session_starts_is_refused(api_est, todays_session):
    response = act(api_est, todays_session, "no-show")

    assert response.status_code == 400
    assert "before it starts" in response.json()["status"][0]
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


def test_no_show_once_the_session_has_started_is_recorded(api_est, todays_session):
    with time_machine.travel(at(TODAY, "10:20"), tick=False):
        response = act(api_est, todays_session, "no-show")

    assert response.status_code == 200
    assert response.json()["status"] == "no_show"


def test_no_show_of_a_checked_in_client_is_a_409(api_est, checked_in):
    with time_machine.travel(at(TODAY, "10:20"), tick=False):
        response = act(api_est, checked_in, "no-show")

    assert response.status_code == 409


# Check-in and complete: wrong transitions ---------------------------------------------------


def test_completing_a_session_that_is_not_checked_in_is_a_409(api_est, todays_session):
    response = act(api_est, todays_session, "complete", TREATMENT)

    assert response.status_code == 409
    assert "booked" in response.json()["status"][0]
    assert not TreatmentRecord.objects.exists()


def test_checking_in_a_cancelled_session_is_a_409(api_est, todays_session):
    act(api_est, todays_session, "cancel")

    response = act(api_est, todays_session, "check-in", {"nothing_changed": True})

    assert response.status_code == 409


def test_completing_twice_is_a_409(api_est, checked_in):
    act(api_est, checked_in, "complete", TREATMENT)

    response = act(api_est, checked_in, "complete", TREATMENT)

    assert response.status_code == 409
    assert TreatmentRecord.objects.count() == 1


# Completing: the treatment record -----------------------------------------------------------


def test_completing_records_the_treatment(api_est, checked_in, esthetician):
    response = act(api_est, checked_in, "complete", TREATMENT)

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "completed"
    record = TreatmentRecord.objects.get(session=checked_in)
    assert record.modality == "dynamic"
    assert record.intensity_microamps == 250
    assert str(record.frequency_hz) == "1.50"
    assert record.areas == ["cheeks", "jawline"]
    assert record.add_ons == ["led"]
    assert record.recorded_by == esthetician


@pytest.mark.parametrize("microamps", [9, 501, 0, -10])
def test_intensity_outside_10_to_500_microamps_is_refused_with_a_clear_message(
    api_est, checked_in, microamps
):
    response = act(api_est, checked_in, "complete", {**TREATMENT, "intensity_microamps": microamps})

    assert response.status_code == 400
    assert response.json()["intensity_microamps"] == [
        "Intensity must be between 10 and 500 µA (microamps)."
    ]
    checked_in.refresh_from_db()
    assert checked_in.status == Session.Status.CHECKED_IN


@pytest.mark.parametrize("microamps", [10, 500])
def test_intensity_at_the_edges_of_10_to_500_microamps_is_accepted(api_est, checked_in, microamps):
    response = act(api_est, checked_in, "complete", {**TREATMENT, "intensity_microamps": microamps})

    assert response.status_code == 200, response.json()
    assert response.json()["treatment"]["intensity_microamps"] == microamps


@pytest.mark.parametrize("microamps", [9, 501])
def test_completing_through_the_service_refuses_intensity_outside_the_range(
    checked_in, esthetician, microamps
):
    fields = {**TREATMENT, "intensity_microamps": microamps, "frequency_hz": 1}

    with pytest.raises(RuleViolation) as caught:
        session_complete(session=checked_in, by=esthetician, **fields)

    assert caught.value.field == "intensity_microamps"
    assert "between 10 and 500" in caught.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("modality", "pulsed"),
        ("add_ons", ["led", "massage"]),
        ("areas", ["scalp"]),
    ],
)
def test_completing_with_an_unknown_code_is_refused_naming_the_field(
    api_est, checked_in, field, value
):
    response = act(api_est, checked_in, "complete", {**TREATMENT, field: value})

    assert response.status_code == 400
    assert field in response.json()
    assert not TreatmentRecord.objects.exists()


@pytest.mark.parametrize("add_on", ["facial", "dermaplaning", "led", "chemical_peel"])
def test_completing_accepts_each_add_on_from_the_spec(api_est, checked_in, add_on):
    response = act(api_est, checked_in, "complete", {**TREATMENT, "add_ons": [add_on]})

    assert response.status_code == 200, response.json()
    assert response.json()["treatment"]["add_ons"] == [add_on]


def test_front_desk_may_not_complete_a_session(api, front_desk, checked_in):
    api.force_authenticate(front_desk)

    response = act(api, checked_in, "complete", TREATMENT)

    assert response.status_code == 403


# Plan progress -------------------------------------------------------------------------------


@pytest.fixture
def booked_plan(api_est, esthetician, working_hours, room, device):
    """An Under-35 plan (5 sessions) booked through the API."""
    client = ClientFactory(date_of_birth=date(2000, 1, 1))
    screen(client)
    plan = PlanFactory(client=client, start_date=MONDAY, created_by=esthetician)
    body = {
        "esthetician": esthetician.pk,
        "room": room.pk,
        "device": device.pk,
        "time": "10:00",
        "weekdays": [0, 2, 4],
    }
    response = api_est.post(f"/api/plans/{plan.pk}/book/", body, format="json")
    assert response.status_code == 201, response.json()
    return plan


def treat(api, session):
    """Check in and complete ``session`` on its day (the screening is re-taken first so
    it stays current)."""
    with time_machine.travel(session.start - timedelta(minutes=10), tick=False):
        screen(session.client)
        assert act(api, session, "check-in", {"nothing_changed": True}).status_code == 200
        assert act(api, session, "complete", TREATMENT).status_code == 200


def progress(api, plan):
    body = api.get(f"/api/plans/{plan.pk}/").json()
    return body["sessions_booked"], body["sessions_completed"]


def test_plan_progress_counts_booked_and_completed_sessions(api_est, booked_plan):
    for session in booked_plan.sessions.order_by("start")[:2]:
        treat(api_est, session)

    assert progress(api_est, booked_plan) == (5, 2)


def test_plan_progress_does_not_count_cancelled_sessions_as_booked(api_est, booked_plan):
    act(api_est, booked_plan.sessions.order_by("start").last(), "cancel")

    assert progress(api_est, booked_plan) == (4, 0)


def test_plan_is_not_complete_before_its_last_session_is(api_est, booked_plan):
    for session in booked_plan.sessions.order_by("start")[:4]:
        treat(api_est, session)

    assert not plans_with_progress().get(pk=booked_plan.pk).series_ended


def test_plan_is_complete_when_its_last_session_is_completed(api_est, booked_plan):
    for session in booked_plan.sessions.order_by("start"):
        treat(api_est, session)

    assert progress(api_est, booked_plan) == (5, 5)
    assert plans_with_progress().get(pk=booked_plan.pk).series_ended


def test_plan_whose_last_session_was_missed_has_ended(api_est, booked_plan):
    sessions = list(booked_plan.sessions.order_by("start"))
    for session in sessions[:4]:
        treat(api_est, session)
    with time_machine.travel(sessions[4].start + timedelta(minutes=5), tick=False):
        assert act(api_est, sessions[4], "no-show").status_code == 200

    assert plans_with_progress().get(pk=booked_plan.pk).series_ended


def test_plan_with_an_earlier_session_still_booked_has_not_ended(api_est, booked_plan):
    sessions = list(booked_plan.sessions.order_by("start"))
    for session in sessions[:3] + sessions[4:]:
        treat(api_est, session)

    assert not plans_with_progress().get(pk=booked_plan.pk).series_ended


def test_plan_without_sessions_is_not_complete(bookable, esthetician):
    plan = PlanFactory(client=bookable, start_date=MONDAY, created_by=esthetician)

    assert not plans_with_progress(Plan.objects.filter(pk=plan.pk)).get().series_ended
