"""The client's own page behind the signed link in every email (issue 11, "The client's
own page"): tampered, expired and revoked links are refused, a GET never acts, a POST
acts only on the client's own sessions, cancelling keeps to the notice period, and the
email preferences toggle. Also the manager's revoke button."""

from datetime import date, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client as Browser
from django.urls import reverse

from sessions_app.links import link_token
from sessions_app.models import Session
from tests.factories import ClientFactory, PlanFactory, SessionFactory
from tests.reminders.conftest import LA, NOW

pytestmark = pytest.mark.django_db


def page(client_pk: int, token: str | None = None) -> str:
    return reverse("links:client-page", args=[token or link_token("client", client_pk)])


@pytest.fixture
def visitor():
    """A mail recipient: no login, and CSRF checked as in production."""
    return Browser(enforce_csrf_checks=True)


def state(session: Session) -> tuple:
    session.refresh_from_db()
    session.client.refresh_from_db()
    return (
        session.status,
        session.client_confirmed_at,
        session.cancelled_at,
        session.client.unsubscribed_at,
    )


# The link ------------------------------------------------------------------------------
def test_the_link_opens_the_clients_page(visitor, session):
    response = visitor.get(page(session.client_id))

    assert response.status_code == 200
    assert f"Hello {session.client.first_name}, your sessions" in response.text
    assert "Wed Mar 17, 2027 at 10:00 AM PDT" in response.text
    assert ">Confirm I will come</button>" in response.text
    assert ">Cancel this session</button>" in response.text
    assert "Maintenance reminders are <strong>on</strong>" in response.text


def test_a_tampered_link_is_refused(visitor, session):
    token = link_token("client", session.client_id)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = visitor.get(page(0, tampered))

    assert response.status_code == 400
    assert "This link is not valid" in response.text
    assert session.client.first_name not in response.text


def test_a_link_for_another_action_or_a_guessed_id_is_refused(visitor, session):
    other_action = link_token("unsubscribe", session.client_id)

    assert visitor.get(page(0, other_action)).status_code == 400
    assert visitor.get(page(0, str(session.client_id))).status_code == 400


def test_an_expired_link_is_refused(visitor, session, clock):
    path = page(session.client_id)
    clock.shift(timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS, seconds=1))

    response = visitor.get(path)

    assert response.status_code == 410
    assert "This link has expired" in response.text


def test_a_revoked_link_is_refused_and_a_fresh_one_works(visitor, session, clock, manager):
    old = page(session.client_id)
    clock.shift(timedelta(minutes=5))
    staff = Browser()
    staff.force_login(manager)

    response = staff.post(reverse("links:revoke", args=[session.client_id]))

    assert response.status_code == 302
    session.client.refresh_from_db()
    assert session.client.links_revoked_at == NOW + timedelta(minutes=5)
    refused = visitor.post(old, {"do": "cancel", "session": session.pk})
    assert refused.status_code == 410
    assert state(session)[0] == Session.Status.BOOKED
    # The session links issued before the revocation stop too.
    action = reverse("links:action", args=["cancel", link_token("cancel", session.pk)])
    clock.shift(timedelta(minutes=-10))
    stale_action = reverse("links:action", args=["cancel", link_token("cancel", session.pk)])
    clock.shift(timedelta(minutes=10))
    assert visitor.post(stale_action).status_code == 410
    assert state(session)[0] == Session.Status.BOOKED
    assert visitor.get(action).status_code == 200
    assert visitor.get(page(session.client_id)).status_code == 200


@pytest.mark.parametrize(("role", "status"), [("front_desk", 403), ("esthetician", 403)])
def test_only_a_manager_revokes_links(session, page_as, role, status):
    response = page_as(role).post(reverse("links:revoke", args=[session.client_id]))

    assert response.status_code == status
    session.client.refresh_from_db()
    assert session.client.links_revoked_at is None


def test_revoking_is_a_post_and_the_button_is_on_the_managers_client_page(session, page_as):
    manager = page_as("manager")

    assert manager.get(reverse("links:revoke", args=[session.client_id])).status_code == 405
    detail = manager.get(reverse("clients:detail", args=[session.client_id]))
    assert ">Revoke email links</button>" in detail.text
    front_desk = page_as("front_desk").get(reverse("clients:detail", args=[session.client_id]))
    assert "Revoke email links" not in front_desk.text


# GET never acts ------------------------------------------------------------------------
@pytest.mark.parametrize("do", ["confirm", "cancel", "reminders_off"])
def test_get_never_acts(visitor, session, do):
    before = state(session)

    response = visitor.get(page(session.client_id), {"do": do, "session": session.pk})

    assert response.status_code == 200
    assert state(session) == before


# Confirm and cancel --------------------------------------------------------------------
def test_post_confirm_records_the_confirmation_and_redirects(visitor, session):
    path = page(session.client_id)

    response = visitor.post(path, {"do": "confirm", "session": session.pk})

    assert response.status_code == 302
    assert response.url == f"{path}?done=confirmed"
    session.refresh_from_db()
    assert session.client_confirmed_at == NOW
    after = visitor.get(response.url)
    assert "Thank you: your session is confirmed." in after.text
    assert ">Confirm I will come</button>" not in after.text
    assert "Confirmed</span>" in after.text


def test_post_cancel_cancels_through_the_service_as_the_client(visitor, session):
    path = page(session.client_id)

    response = visitor.post(path, {"do": "cancel", "session": session.pk})

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert session.cancelled_by_client is True
    assert session.cancelled_by is None
    after = visitor.get(response.url)
    assert "Your session is cancelled." in after.text
    assert "You have no sessions booked." in after.text


def test_another_clients_session_is_not_found_and_not_touched(visitor, session):
    other = SessionFactory(client=ClientFactory(), start=session.start + timedelta(days=1))
    before = state(other)

    for do in ("confirm", "cancel"):
        response = visitor.post(page(session.client_id), {"do": do, "session": other.pk})
        assert response.status_code == 404
        assert "That session is not one of yours." in response.text
    assert state(other) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [({"do": "cancel"}, "session"), ({"do": "cancel", "session": "x"}, "session"), ({}, "do")],
)
def test_bad_input_is_a_400_naming_the_field(visitor, session, data, field):
    before = state(session)

    response = visitor.post(page(session.client_id), data)

    assert response.status_code == 400
    assert f"(field {field})" in response.text
    assert state(session) == before


def test_inside_the_notice_period_the_page_gives_the_phone_and_no_cancel_button(
    visitor, session, clock
):
    clock.move_to(session.start - timedelta(hours=settings.CANCEL_NOTICE_HOURS - 1))

    response = visitor.get(page(session.client_id))

    assert ">Cancel this session</button>" not in response.text
    assert ">Confirm I will come</button>" in response.text
    assert 'please call us on <a href="tel:' in response.text
    assert settings.CLINIC_PHONE in response.text
    refused = visitor.post(page(session.client_id), {"do": "cancel", "session": session.pk})
    assert refused.status_code == 409
    assert "too close to cancel online" in refused.text
    assert state(session)[0] == Session.Status.BOOKED


def test_just_outside_the_notice_period_cancelling_still_works(visitor, session, clock):
    clock.move_to(session.start - timedelta(hours=settings.CANCEL_NOTICE_HOURS, minutes=1))

    response = visitor.post(page(session.client_id), {"do": "cancel", "session": session.pk})

    assert response.status_code == 302
    assert state(session)[0] == Session.Status.CANCELLED


def test_a_past_session_cannot_be_changed(visitor, session, clock):
    clock.move_to(session.start + timedelta(hours=1))

    response = visitor.post(page(session.client_id), {"do": "confirm", "session": session.pk})

    assert response.status_code == 409
    assert state(session)[1] is None


# Progress, past sessions, preferences --------------------------------------------------
def test_the_page_shows_the_plans_progress_and_past_sessions(visitor, session):
    client = session.client
    plan = PlanFactory(client=client, start_date=date(2027, 2, 1))
    SessionFactory(
        client=client,
        plan=plan,
        kind=Session.Kind.SERIES,
        start=datetime(2027, 2, 3, 10, tzinfo=LA),
        status=Session.Status.COMPLETED,
    )
    SessionFactory(
        client=client,
        plan=plan,
        kind=Session.Kind.SERIES,
        start=datetime(2027, 3, 20, 10, tzinfo=LA),
    )

    response = visitor.get(page(client.pk))

    assert f"<strong>{plan.protocol.name}</strong> from Feb 1, 2027" in response.text
    assert "1 of 2 sessions completed" in response.text
    assert "Wed Feb 3, 2027 at 10:00 AM PST</strong>: completed" in response.text


def test_a_session_cancelled_ahead_of_its_time_is_not_listed_as_past(visitor, session):
    later = SessionFactory(
        client=session.client,
        start=datetime(2027, 4, 20, 10, tzinfo=LA),
        status=Session.Status.CANCELLED,
    )

    response = visitor.get(page(session.client_id))

    past = response.context["past"]
    assert later not in [row["session"] for row in past]


def test_the_preferences_toggle_maintenance_reminders(visitor, session):
    path = page(session.client_id)

    off = visitor.post(path, {"do": "reminders_off"})

    assert off.status_code == 302
    session.client.refresh_from_db()
    assert session.client.unsubscribed_at == NOW
    shown = visitor.get(off.url).text
    assert "Maintenance reminders are <strong>off</strong>" in shown
    assert "care instructions for the sessions you book always come" in shown

    on = visitor.post(path, {"do": "reminders_on"})

    assert on.status_code == 302
    session.client.refresh_from_db()
    assert session.client.unsubscribed_at is None
