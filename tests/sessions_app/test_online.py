"""Clients act online (issue 11, items 4-6): the maintenance reminder's button opens the
boost page, which books through the one booking service; a screening no longer current
is answered online first; the front desk sees what clients did."""

import threading
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients.models import Screening
from clinic.errors import Conflict, NotEligible, RuleViolation
from clinic.roles import Role
from sessions_app import online
from sessions_app.links import client_links_revoke, link_token, link_url
from sessions_app.models import Reminder, Session
from tests.factories import ClientFactory, PlanFactory, SessionFactory
from tests.sessions_app.helpers import LA, at, screen

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=LA)  # a Monday, before opening
TUESDAY = date(2027, 3, 2)

NO = {
    name: "no"
    for name in (
        "pacemaker",
        "pregnant",
        "neurological_disorder",
        "recent_surgery",
        "cancer_treatment",
        "implanted_defibrillator",
    )
}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def where(esthetician, working_hours, room, device):
    return {"esthetician": esthetician, "room": room, "device": device}


def boost_path(client) -> str:
    return reverse("links:boost", kwargs={"token": link_token("boost", client.pk)})


def slot(where, start) -> dict:
    return {
        "start": start.isoformat(),
        "esthetician": where["esthetician"].pk,
        "room": where["room"].pk,
        "device": where["device"].pk,
    }


# Services ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_boost_page_offers_the_next_free_times_a_few_days_at_a_time(bookable, where):
    page = online.boost_page(client=bookable)

    assert [d.day for d in page.days] == [date(2027, 3, 1), TUESDAY, date(2027, 3, 3)]
    assert [t.start for t in page.days[0].times[:2]] == [
        at(date(2027, 3, 1), "09:00"),
        at(date(2027, 3, 1), "09:30"),
    ]
    assert page.later == date(2027, 3, 4)
    assert page.minutes == 45
    later = online.boost_page(client=bookable, date_from=page.later)
    assert later.days[0].day == date(2027, 3, 4)


@pytest.mark.django_db
def test_boost_page_puts_the_clients_usual_esthetician_first(bookable, where, other_esthetician):
    SessionFactory(
        client=bookable,
        esthetician=other_esthetician,
        start=at(date(2027, 2, 1), "10:00"),
        status=Session.Status.COMPLETED,
    )

    page = online.boost_page(client=bookable)

    assert page.days[0].times[0].esthetician == other_esthetician


@pytest.mark.django_db
def test_boost_lasts_as_long_as_the_clients_plan_sessions(bookable, esthetician):
    PlanFactory(client=bookable, created_by=esthetician, session_minutes=60)

    assert online.boost_minutes(bookable) == 60


@pytest.mark.django_db
def test_boost_book_books_a_maintenance_session_online_with_its_confirmation(bookable, where):
    session = online.boost_book(client=bookable, start=at(TUESDAY, "10:00"), **where)

    session.refresh_from_db()
    assert session.kind == Session.Kind.MAINTENANCE
    assert session.booked_online is True
    assert session.booked_by is None
    assert session.end - session.start == timedelta(minutes=45)
    assert Reminder.objects.filter(
        client=bookable, kind=Reminder.Kind.BOOKING_CONFIRMATION
    ).exists()


@pytest.mark.django_db
def test_boost_book_keeps_the_eligibility_gate(a_client, where):
    with pytest.raises(NotEligible):
        online.boost_book(client=a_client, start=at(TUESDAY, "10:00"), **where)
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_boost_book_refuses_a_second_boost(bookable, where):
    online.boost_book(client=bookable, start=at(TUESDAY, "10:00"), **where)

    with pytest.raises(Conflict):
        online.boost_book(client=bookable, start=at(TUESDAY, "15:00"), **where)
    assert Session.objects.count() == 1


@pytest.mark.django_db
def test_screening_answered_online_is_recorded_as_the_clients(a_client):
    screening = online.screening_record_online(
        client=a_client, answers={name: name == "pacemaker" for name in NO}
    )

    screening.refresh_from_db()
    assert screening.answered_online is True
    assert screening.recorded_by is None
    assert screening.outcome == "ineligible"


# Signed links -------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_reminders_boost_link_opens_the_boost_page(bookable, where, client):
    response = client.get(link_url("boost", bookable.pk).split("testserver")[-1])

    assert response.status_code == 200
    assert b"Book your maintenance boost" in response.content
    assert "10:00 AM" in response.content.decode()
    assert not Session.objects.exists()  # GET never books


@pytest.mark.django_db
def test_a_tampered_boost_link_is_refused(bookable, where, client):
    token = link_token("boost", bookable.pk)
    response = client.post(
        reverse("links:boost", kwargs={"token": token[:-2] + "xx"}),
        slot(where, at(TUESDAY, "10:00")),
    )

    assert response.status_code == 400
    assert b"not valid" in response.content
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_a_link_made_for_another_action_is_refused(bookable, where, client):
    token = link_token("unsubscribe", bookable.pk)

    response = client.post(
        reverse("links:boost", kwargs={"token": token}), slot(where, at(TUESDAY, "10:00"))
    )

    assert response.status_code == 400
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_an_expired_boost_link_is_refused(bookable, where, client, settings):
    path = boost_path(bookable)

    with time_machine.travel(NOW + timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS + 1)):
        response = client.post(path, slot(where, at(date(2027, 5, 4), "10:00")))

    assert response.status_code == 410
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_a_revoked_boost_link_is_refused(bookable, where, client):
    path = boost_path(bookable)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        client_links_revoke(client=bookable)

        response = client.post(path, slot(where, at(TUESDAY, "10:00")))

    assert response.status_code == 410
    assert not Session.objects.exists()
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert client.get(boost_path(bookable)).status_code == 200  # a fresh link works


@pytest.mark.django_db
def test_a_boost_link_books_only_for_its_own_client(bookable, other_bookable, where, client):
    response = client.post(boost_path(other_bookable), slot(where, at(TUESDAY, "10:00")))

    assert response.status_code == 200
    assert Session.objects.get().client == other_bookable


@pytest.mark.django_db
def test_a_forged_token_for_a_guessed_id_is_refused(bookable, where, client):
    forged = signing.dumps(bookable.pk, salt="guess", compress=False)

    response = client.get(reverse("links:boost", kwargs={"token": forged}))

    assert response.status_code == 400


# The boost page -----------------------------------------------------------------------
@pytest.mark.django_db
def test_choosing_a_time_books_the_boost_and_says_so(bookable, where, client):
    response = client.post(boost_path(bookable), slot(where, at(TUESDAY, "10:00")))

    assert response.status_code == 200
    assert b"Your maintenance boost is booked" in response.content
    session = Session.objects.get()
    assert (session.start, session.booked_online, session.kind) == (
        at(TUESDAY, "10:00"),
        True,
        Session.Kind.MAINTENANCE,
    )


@pytest.mark.django_db
def test_a_booked_boost_is_shown_instead_of_times(bookable, where, client):
    online.boost_book(client=bookable, start=at(TUESDAY, "10:00"), **where)

    response = client.get(boost_path(bookable))

    assert b"Your maintenance boost is booked" in response.content
    assert b"Later times" not in response.content


@pytest.mark.django_db
def test_a_time_taken_meanwhile_shows_the_next_free_times(bookable, other_bookable, where, client):
    online.boost_book(client=other_bookable, start=at(TUESDAY, "10:00"), **where)

    response = client.post(boost_path(bookable), slot(where, at(TUESDAY, "10:00")))

    assert response.status_code == 409
    assert b"that time was taken a moment ago" in response.content
    assert "11:00 AM" in response.content.decode()
    assert Session.objects.filter(client=bookable).count() == 0


@pytest.mark.django_db
def test_a_made_up_time_is_refused_with_the_times(bookable, where, client):
    response = client.post(boost_path(bookable), {**slot(where, at(TUESDAY, "10:00")), "room": "x"})

    assert response.status_code == 400
    assert b"Choose one of the times" in response.content
    assert not Session.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+00:00",
        "2028-12-04T10:00:00-08:00",  # beyond the 90 days the page offers
        "2027-03-02T10:07:00-08:00",  # not on the page's half-hour steps
    ],
)
@pytest.mark.parametrize("screened", [True, False])
def test_a_crafted_time_is_refused_never_booked_never_a_500(
    a_client, where, client, start, screened
):
    screen(a_client, recorded_at=NOW if screened else NOW - timedelta(days=400))
    chosen = {**slot(where, at(TUESDAY, "10:00")), "start": start}
    token = link_token("boost", a_client.pk)

    booked = client.post(boost_path(a_client), chosen)
    answered = client.post(
        reverse("links:boost-screening", kwargs={"token": token}), {**chosen, **NO}
    )

    for response in (booked, answered):
        assert response.status_code in (200, 302, 400), response.status_code
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_boost_book_refuses_a_time_beyond_the_boost_horizon(bookable, where):
    beyond = NOW + timedelta(days=online.BOOST_HORIZON_DAYS + 1)
    with pytest.raises(RuleViolation):
        online.boost_book(client=bookable, start=beyond, **where)
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_a_client_who_needs_a_clearance_is_told_the_clinic_will_call(a_client, where, client):
    screen(a_client, "pacemaker")

    response = client.get(boost_path(a_client))

    assert b"We will call you" in response.content
    assert b'name="start"' not in response.content


# The screening online -----------------------------------------------------------------
@pytest.mark.django_db
def test_an_expired_screening_is_asked_before_booking_then_the_boost_is_booked(
    a_client, where, client
):
    screen(a_client, recorded_at=NOW - timedelta(days=400))
    chosen = slot(where, at(TUESDAY, "10:00"))

    asked = client.post(boost_path(a_client), chosen)

    assert asked.status_code == 200
    assert b"Do you have a cardiac pacemaker?" in asked.content
    assert not Session.objects.exists()
    action = reverse("links:boost-screening", kwargs={"token": link_token("boost", a_client.pk)})
    done = client.post(action, {**chosen, **NO})
    assert b"Your maintenance boost is booked" in done.content
    screening = Screening.objects.filter(client=a_client).order_by("-recorded_at").first()
    assert (screening.answered_online, screening.recorded_by, screening.outcome) == (
        True,
        None,
        "eligible",
    )
    assert Session.objects.get().start == at(TUESDAY, "10:00")


@pytest.mark.django_db
def test_a_missing_answer_names_the_question_and_records_nothing(a_client, where, client):
    action = reverse("links:boost-screening", kwargs={"token": link_token("boost", a_client.pk)})
    answers = {k: v for k, v in NO.items() if k != "pregnant"}

    response = client.post(action, {**slot(where, at(TUESDAY, "10:00")), **answers})

    assert response.status_code == 400
    assert b"Answer the question about pregnancy" in response.content
    assert not Screening.objects.exists()
    assert not Session.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("yes", ["pacemaker", "recent_surgery"])
def test_an_online_screening_that_needs_a_call_books_nothing(a_client, where, client, yes):
    action = reverse("links:boost-screening", kwargs={"token": link_token("boost", a_client.pk)})

    response = client.post(action, {**slot(where, at(TUESDAY, "10:00")), **NO, yes: "yes"})

    assert b"We will call you" in response.content
    assert not Session.objects.exists()
    screening = Screening.objects.get()
    assert screening.answered_online
    assert screening.outcome in ("needs_clearance", "ineligible")
    assert [i.kind for i in online.client_activity()] == ["screening"]


@pytest.mark.django_db
def test_the_screening_page_get_records_nothing(a_client, client):
    path = reverse("links:screening", kwargs={"token": link_token("screening", a_client.pk)})

    response = client.get(path)

    assert b"Do you have a cardiac pacemaker?" in response.content
    assert not Screening.objects.exists()
    thanks = client.post(path, NO)
    assert b"Your answers are recorded" in thanks.content
    assert Screening.objects.get().answered_online


# Two clients, one time (PostgreSQL, real threads) ---------------------------------------
def race(requests):
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(index, request):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[index] = request()
        except Exception as exc:  # reported by the assertions below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_clients_choosing_one_time_one_gets_it_the_other_sees_the_next_times(where):
    clients = [ClientFactory(), ClientFactory()]
    for each in clients:
        screen(each)
    chosen = slot(where, at(TUESDAY, "10:00"))

    def chooser(each):
        return lambda: Browser(raise_request_exception=False).post(boost_path(each), chosen)

    responses = race([chooser(each) for each in clients])

    assert not [r for r in responses if isinstance(r, Exception)]
    assert sorted(r.status_code for r in responses) == [200, 409]
    gone = next(r for r in responses if r.status_code == 409)
    assert b"that time was taken a moment ago" in gone.content
    assert b'name="start"' in gone.content
    assert Session.objects.count() == 1


# What the front desk sees ---------------------------------------------------------------
@pytest.fixture
def acted(bookable, other_bookable, where, front_desk):
    online.boost_book(client=bookable, start=at(TUESDAY, "10:00"), **where)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        confirmed = SessionFactory(
            client=other_bookable, start=at(date(2027, 3, 5), "11:00"), booked_by=front_desk
        )
        Session.objects.filter(pk=confirmed.pk).update(client_confirmed_at=NOW + timedelta(hours=1))
    Session.objects.filter(pk=SessionFactory(start=at(date(2027, 3, 6), "11:00")).pk).update(
        status=Session.Status.CANCELLED,
        cancelled_at=NOW + timedelta(hours=2),
        cancelled_by_client=True,
    )
    # Long ago: left out.
    SessionFactory(start=at(date(2027, 3, 8), "11:00"), client_confirmed_at=NOW - timedelta(days=9))


@pytest.mark.django_db
def test_client_activity_lists_what_clients_did_newest_first(acted):
    items = online.client_activity(now=NOW + timedelta(hours=3))

    assert [i.kind for i in items] == ["cancelled", "confirmed", "booked_online"]
    assert online.client_activity_count(now=NOW + timedelta(hours=3)) == 3


@pytest.mark.django_db
def test_client_activity_count_is_one_query(acted):
    with CaptureQueriesContext(connection) as queries:
        online.client_activity_count()

    assert len(queries) == 1


@pytest.mark.django_db
def test_client_activity_page_and_its_count_in_the_navigation(acted, page_as):
    browser = page_as(Role.FRONT_DESK)

    with CaptureQueriesContext(connection) as queries:
        response = browser.get(reverse("sessions:client-activity"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Cancelled by the client" in html
    assert "Booked online" in html
    assert 'Client activity <span class="badge badge-muted">3<' in html
    first_count = len(queries)
    for _ in range(5):
        SessionFactory(booked_online=True, booked_by=None)
    with CaptureQueriesContext(connection) as queries:
        browser.get(reverse("sessions:client-activity"))
    assert len(queries) == first_count  # flat however many rows


@pytest.mark.django_db
def test_estheticians_do_not_see_client_activity(page_as):
    response = page_as(Role.ESTHETICIAN).get(reverse("sessions:client-activity"))

    assert response.status_code == 403
    assert b"Client activity" not in page_as(Role.ESTHETICIAN).get(reverse("home")).content


@pytest.mark.django_db
def test_session_page_and_calendar_mark_online_and_confirmed(bookable, where, page_as):
    session = online.boost_book(client=bookable, start=at(TUESDAY, "10:00"), **where)
    Session.objects.filter(pk=session.pk).update(client_confirmed_at=NOW)
    browser = page_as(Role.FRONT_DESK)

    detail = browser.get(reverse("sessions:detail", args=[session.pk])).content.decode()
    calendar = browser.get(reverse("sessions:calendar"), {"date": "2027-03-02"}).content.decode()
    schedule = browser.get(reverse("sessions:schedule"), {"date": "2027-03-02"}).content.decode()

    assert "Booked online by the client" in detail
    assert "Confirmed by the client" in detail
    for html in (calendar, schedule):
        assert "Booked online" in html
        assert "Client confirmed Mar 1, 8:00 AM" in html
