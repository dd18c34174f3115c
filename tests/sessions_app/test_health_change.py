"""Issue 9, rule 4 "A reported change holds": a change in health reported at check-in
is recorded (who, when, which session) and the client needs a new screening before
any check-in or booking; the page asks with two buttons, so no forgotten tick is read
as a change."""

import json
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients.models import Client, HealthChange
from clients.selectors import client_eligibility, clients_for_eligibility
from clients.services import screening_record
from clinic.errors import Conflict, DomainError, NotEligible, RuleViolation
from clinic.roles import Role
from sessions_app.models import Session
from sessions_app.services import session_check_in
from tests.factories import ClientFactory, SessionFactory, UserFactory, screening_answers
from tests.sessions_app.helpers import LA, at, full_week, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)  # a Saturday
TODAY = NOW.date()
MONDAY = date(2027, 3, 1)
LATER = NOW + timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rosa(db):
    return UserFactory(username="rosa", first_name="Rosa", last_name="Diaz", role=Role.ESTHETICIAN)


@pytest.fixture
def todays_session(bookable, rosa, room, device):
    # Screened an hour before the report, as the front desk would at registration.
    Client.objects.get(pk=bookable.pk).screenings.update(recorded_at=NOW - timedelta(hours=1))
    return SessionFactory(
        client=bookable, esthetician=rosa, room=room, device=device, start=at(TODAY, "10:00")
    )


@pytest.fixture
def api_rosa(api, rosa):
    api.force_authenticate(rosa)
    return api


def check_in(api, session, body, fmt="json"):
    return api.post(f"/api/sessions/{session.pk}/check-in/", body, format=fmt)


def rescreen(client, by, when=LATER):
    with time_machine.travel(when, tick=False):
        return screening_record(client=client, answers=screening_answers(), by=by)


# The service ---------------------------------------------------------------------------


def test_a_reported_change_is_recorded_with_who_when_and_the_session(todays_session, rosa):
    with pytest.raises(Conflict) as refused:
        session_check_in(
            session=todays_session, nothing_changed=False, by=rosa, note="New medication"
        )

    assert "new screening" in refused.value.message
    change = HealthChange.objects.get()
    assert change.client == todays_session.client
    assert change.reported_by == rosa
    assert change.reported_at == NOW
    assert change.note == "New medication"
    todays_session.refresh_from_db()
    assert todays_session.health_change == change
    assert todays_session.status == Session.Status.BOOKED
    assert todays_session.checked_in_at is None


def test_after_a_reported_change_eligibility_is_screening_required_naming_the_report(
    todays_session, rosa
):
    with pytest.raises(Conflict):
        session_check_in(session=todays_session, nothing_changed=False, by=rosa)

    eligibility = client_eligibility(client=todays_session.client, at=LATER)

    assert eligibility.outcome == "screening_required"
    assert eligibility.health_change == HealthChange.objects.get()
    reason = " ".join(eligibility.reasons)
    assert "change in health was reported at check-in on Feb 20, 2027" in reason
    assert "Rosa Diaz" in reason
    assert eligibility.screening is None


def test_a_retry_with_nothing_changed_is_refused_until_a_new_screening(todays_session, rosa):
    with pytest.raises(Conflict):
        session_check_in(session=todays_session, nothing_changed=False, by=rosa)

    with pytest.raises(NotEligible) as refused:
        session_check_in(session=todays_session, nothing_changed=True, by=rosa)

    assert refused.value.outcome == "screening_required"
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


def test_a_new_screening_after_the_report_lets_the_client_check_in(todays_session, rosa):
    with pytest.raises(Conflict):
        session_check_in(session=todays_session, nothing_changed=False, by=rosa)
    rescreen(todays_session.client, rosa)

    with time_machine.travel(LATER + timedelta(minutes=1), tick=False):
        session_check_in(session=todays_session, nothing_changed=True, by=rosa)

    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.CHECKED_IN
    eligibility = client_eligibility(client=todays_session.client, at=LATER + timedelta(minutes=1))
    assert eligibility.outcome == "eligible"


def test_a_screening_dated_before_the_report_does_not_clear_it(todays_session, rosa):
    with pytest.raises(Conflict):
        session_check_in(session=todays_session, nothing_changed=False, by=rosa)
    # Recorded later, but backdated to before the report (e.g. typed in from paper).
    screening_record(
        client=todays_session.client,
        answers=screening_answers(),
        by=rosa,
        at=NOW - timedelta(minutes=5),
    )

    assert client_eligibility(client=todays_session.client).outcome == "screening_required"


def test_reporting_twice_at_one_check_in_records_one_change(todays_session, rosa):
    for _ in range(2):
        with pytest.raises(Conflict):
            session_check_in(session=todays_session, nothing_changed=False, by=rosa)

    assert HealthChange.objects.count() == 1


def test_nothing_is_recorded_when_the_session_cannot_be_checked_in(bookable, rosa):
    other_day = SessionFactory(client=bookable, start=at(MONDAY, "10:00"))
    cancelled = SessionFactory(
        client=bookable, start=at(TODAY, "15:00"), status=Session.Status.CANCELLED
    )

    for session in (other_day, cancelled):
        with pytest.raises(DomainError):
            session_check_in(session=session, nothing_changed=False, by=rosa)

    assert not HealthChange.objects.exists()
    assert client_eligibility(client=bookable).outcome == "eligible"


def test_a_note_with_nothing_changed_is_refused_naming_the_note(todays_session, rosa):
    with pytest.raises(RuleViolation) as refused:
        session_check_in(session=todays_session, nothing_changed=True, by=rosa, note="Pregnant")

    assert refused.value.field == "note"
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


# The API -------------------------------------------------------------------------------


def test_api_records_the_change_and_answers_409_saying_a_screening_is_needed(
    api_rosa, todays_session, rosa
):
    response = check_in(api_rosa, todays_session, {"nothing_changed": False, "note": "Pregnant"})

    assert response.status_code == 409
    body = response.json()
    assert "recorded" in body["nothing_changed"][0].lower()
    assert "new screening" in body["nothing_changed"][0]
    assert body["eligibility"] == "screening_required"
    change = HealthChange.objects.get()
    assert body["health_change"] == change.pk
    assert (change.reported_by, change.note) == (rosa, "Pregnant")
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED
    assert todays_session.health_change == change
    assert api_rosa.get(f"/api/sessions/{todays_session.pk}/").json()["health_change"] == (
        change.pk
    )


def test_api_retry_with_nothing_changed_is_refused_until_a_new_screening(
    api_rosa, todays_session, rosa
):
    check_in(api_rosa, todays_session, {"nothing_changed": False})

    retry = check_in(api_rosa, todays_session, {"nothing_changed": True})

    assert retry.status_code == 400
    assert retry.json()["eligibility"] == "screening_required"
    assert "reported at check-in" in " ".join(retry.json()["reasons"])
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED

    rescreen(todays_session.client, rosa)
    with time_machine.travel(LATER + timedelta(minutes=1), tick=False):
        after = check_in(api_rosa, todays_session, {"nothing_changed": True})

    assert after.status_code == 200, after.json()
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.CHECKED_IN
    assert todays_session.checked_in_by == rosa


def test_booking_is_refused_after_a_reported_change(api_rosa, todays_session, rosa):
    check_in(api_rosa, todays_session, {"nothing_changed": False})
    body = {
        "client": todays_session.client_id,
        "esthetician": rosa.pk,
        "room": todays_session.room_id,
        "device": todays_session.device_id,
        "start": at(MONDAY, "10:00").isoformat(),
    }
    full_week(rosa)

    response = api_rosa.post("/api/sessions/", body, format="json")

    assert response.status_code == 400
    assert response.json()["eligibility"] == "screening_required"
    assert not Session.objects.filter(start=at(MONDAY, "10:00")).exists()


@pytest.mark.parametrize("body", [[], ["nothing_changed"], "x", "nothing_changed", 1, True, None])
def test_a_check_in_body_that_is_not_an_object_is_a_400(api_rosa, todays_session, body):
    response = api_rosa.post(
        f"/api/sessions/{todays_session.pk}/check-in/",
        data=json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert not HealthChange.objects.exists()
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_nothing_changed_must_be_given_explicitly(api_rosa, todays_session, fmt):
    response = check_in(api_rosa, todays_session, {"note": ""} if fmt == "json" else {}, fmt)

    assert response.status_code == 400
    assert "nothing_changed" in response.json()
    assert not HealthChange.objects.exists()
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


def test_nothing_changed_must_be_given_explicitly_form_encoded(api_rosa, todays_session):
    response = api_rosa.post(
        f"/api/sessions/{todays_session.pk}/check-in/",
        data="note=",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert "nothing_changed" in response.json()
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


@pytest.mark.parametrize(
    ("fmt", "value", "status"),
    [
        ("multipart", "false", 409),
        ("multipart", "true", 200),
        ("form", "false", 409),
        ("form", "true", 200),
        ("multipart", "", 400),
        ("form", "maybe", 400),
    ],
)
def test_nothing_changed_is_read_alike_in_every_content_type(
    api_rosa, todays_session, fmt, value, status
):
    if fmt == "form":
        response = api_rosa.post(
            f"/api/sessions/{todays_session.pk}/check-in/",
            data=f"nothing_changed={value}",
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = check_in(api_rosa, todays_session, {"nothing_changed": value}, "multipart")

    assert response.status_code == status, response.content
    assert HealthChange.objects.exists() == (status == 409)
    if status == 400:
        assert "nothing_changed" in response.json()


# The session page ----------------------------------------------------------------------


@pytest.fixture
def rosa_page(client, rosa):
    client.force_login(rosa)
    return client


def test_session_page_asks_with_two_clear_buttons(rosa_page, todays_session):
    html = rosa_page.get(reverse("sessions:detail", args=[todays_session.pk])).content.decode()

    assert "Nothing has changed — check in" in html
    assert "Something has changed — record a new screening" in html
    assert 'type="checkbox" name="nothing_changed"' not in html


def test_something_has_changed_records_it_and_opens_the_screening_form(rosa_page, todays_session):
    url = reverse("sessions:detail", args=[todays_session.pk])

    response = rosa_page.post(url, {"action": "check_in", "nothing_changed": "false"})

    assert response.status_code == 302
    assert response["Location"] == reverse("clients:screening", args=[todays_session.client_id])
    change = HealthChange.objects.get()
    todays_session.refresh_from_db()
    assert todays_session.health_change == change
    assert todays_session.status == Session.Status.BOOKED
    follow = rosa_page.get(response["Location"]).content.decode()
    assert "change in their health" in follow


def test_a_check_in_post_without_either_button_records_nothing(rosa_page, todays_session):
    url = reverse("sessions:detail", args=[todays_session.pk])

    response = rosa_page.post(url, {"action": "check_in"})

    assert response.status_code == 200
    assert "Ask the client whether anything has changed" in response.content.decode()
    assert not HealthChange.objects.exists()
    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.BOOKED


def test_nothing_has_changed_checks_the_client_in_from_the_page(rosa_page, todays_session, rosa):
    url = reverse("sessions:detail", args=[todays_session.pk])

    rosa_page.post(url, {"action": "check_in", "nothing_changed": "true"})

    todays_session.refresh_from_db()
    assert todays_session.status == Session.Status.CHECKED_IN
    assert todays_session.checked_in_by == rosa


def test_session_page_names_the_reported_change(rosa_page, todays_session, rosa):
    with pytest.raises(Conflict):
        session_check_in(session=todays_session, nothing_changed=False, by=rosa)

    html = rosa_page.get(reverse("sessions:detail", args=[todays_session.pk])).content.decode()

    assert "change in health was reported at check-in" in html
    screening = reverse("clients:screening", args=[todays_session.client_id])
    assert f'href="{screening}">Record a new screening</a>' in html


# Lists stay flat -----------------------------------------------------------------------


def test_eligibility_of_a_list_costs_the_same_queries_with_reported_changes(rosa):
    def eligibility_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            clients = list(clients_for_eligibility(Client.objects.all()))
            outcomes = [client_eligibility(client=c).outcome for c in clients]
        assert set(outcomes) == {"screening_required"}
        return len(queries)

    def reported(count):
        for _ in range(count):
            client = ClientFactory()
            screen(client, recorded_at=NOW - timedelta(hours=1))
            HealthChange.objects.create(client=client, reported_by=rosa, reported_at=NOW)

    reported(3)
    three = eligibility_queries()
    reported(20)

    assert eligibility_queries() == three
