"""The signed links in client emails: a GET only shows a page with a button, only the
POST changes anything, and a tampered, expired or misused link gets a clear page."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client as Browser
from django.urls import reverse

from sessions_app.links import link_token
from sessions_app.models import Reminder, Session
from tests.factories import SessionFactory
from tests.reminders.conftest import NOW

pytestmark = pytest.mark.django_db


def link(action: str, pk: int, token: str | None = None) -> str:
    return reverse("links:action", args=[action, token or link_token(action, pk)])


@pytest.fixture
def visitor():
    """A mail recipient's visitor: no login, and CSRF checked as in production."""
    return Browser(enforce_csrf_checks=True)


def snapshot(session: Session) -> tuple:
    session.refresh_from_db()
    session.client.refresh_from_db()
    return (
        session.status,
        session.client_confirmed_at,
        session.cancelled_at,
        session.client.unsubscribed_at,
        Reminder.objects.count(),
    )


@pytest.mark.parametrize(
    ("action", "button"),
    [
        ("confirm", "Yes, I will come"),
        ("cancel", "Cancel this session"),
        ("unsubscribe", "Stop maintenance reminders"),
    ],
)
def test_get_shows_a_button_and_changes_nothing(visitor, session, action, button):
    before = snapshot(session)
    pk = session.client_id if action == "unsubscribe" else session.pk

    response = visitor.get(link(action, pk))

    assert response.status_code == 200
    assert '<form method="post">' in response.text
    assert f">{button}</button>" in response.text
    assert snapshot(session) == before


def test_post_confirm_records_the_clients_confirmation(visitor, session):
    response = visitor.post(link("confirm", session.pk))

    assert response.status_code == 200
    assert "Thank you, see you soon" in response.text
    session.refresh_from_db()
    assert session.client_confirmed_at == NOW
    assert session.status == Session.Status.BOOKED


def test_confirming_twice_keeps_the_first_time(visitor, session, clock):
    visitor.post(link("confirm", session.pk))
    clock.move_to(NOW + timedelta(hours=1))

    response = visitor.post(link("confirm", session.pk))

    session.refresh_from_db()
    assert session.client_confirmed_at == NOW
    assert "is confirmed" in response.text


def test_post_cancel_cancels_the_session_and_plans_the_update(visitor, session):
    response = visitor.post(link("cancel", session.pk))

    assert response.status_code == 200
    assert "Your session is cancelled" in response.text
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert session.cancelled_at == NOW
    update = Reminder.objects.get(session=session, kind=Reminder.Kind.BOOKING_CONFIRMATION)
    assert (update.event, update.status, update.due_at) == ("cancelled", "scheduled", NOW)


def test_cancel_inside_the_notice_period_is_refused_as_too_late(visitor, session, clock):
    clock.move_to(session.start - timedelta(hours=settings.CANCEL_NOTICE_HOURS - 1))
    before = snapshot(session)

    shown = visitor.get(link("cancel", session.pk))
    pressed = visitor.post(link("cancel", session.pk))

    for response in (shown, pressed):
        assert "Please call us to cancel" in response.text
        assert f"less than {settings.CANCEL_NOTICE_HOURS} hours away" in response.text
        assert "<form" not in response.text
    assert snapshot(session) == before


def test_cancel_just_outside_the_notice_period_is_allowed(visitor, session, clock):
    clock.move_to(session.start - timedelta(hours=settings.CANCEL_NOTICE_HOURS, minutes=1))

    visitor.post(link("cancel", session.pk))

    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED


def test_one_click_unsubscribe_needs_no_csrf_token(visitor, session):
    response = visitor.post(
        link("unsubscribe", session.client_id),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    session.client.refresh_from_db()
    assert session.client.unsubscribed_at == NOW


def test_unsubscribing_keeps_the_session_and_its_confirmations(visitor, session):
    visitor.post(link("unsubscribe", session.client_id))

    assert snapshot(session)[:3] == (Session.Status.BOOKED, None, None)
    assert (
        "You will get no more maintenance reminders"
        in visitor.get(link("unsubscribe", session.client_id)).text
    )


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_token_gets_a_400_page_saying_the_link_is_not_valid(visitor, session, method):
    token = link_token("confirm", session.pk)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    before = snapshot(session)

    response = getattr(visitor, method)(link("confirm", session.pk, tampered))

    assert response.status_code == 400
    assert "This link is not valid" in response.text
    assert snapshot(session) == before


def test_another_sessions_id_in_a_resigned_looking_token_is_refused(visitor, session):
    other = SessionFactory()
    token = link_token("cancel", session.pk)
    forged = f"{other.pk}:{token.split(':', 1)[1]}"

    response = visitor.post(link("cancel", other.pk, forged))

    assert response.status_code == 400
    other.refresh_from_db()
    assert other.status == Session.Status.BOOKED


@pytest.mark.parametrize("method", ["get", "post"])
def test_expired_token_gets_a_410_page_saying_it_expired(visitor, session, clock, method):
    url = link("cancel", session.pk)
    clock.move_to(NOW + timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS, minutes=1))
    before = snapshot(session)

    response = getattr(visitor, method)(url)

    assert response.status_code == 410
    assert "This link has expired" in response.text
    assert snapshot(session) == before


def test_token_still_works_on_its_last_day(visitor, session, clock):
    url = link("confirm", session.pk)
    clock.move_to(NOW + timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS) - timedelta(minutes=1))
    Session.objects.filter(pk=session.pk).update(
        start=NOW + timedelta(days=100), end=NOW + timedelta(days=100, minutes=45)
    )

    assert visitor.get(url).status_code == 200


def test_token_for_confirm_is_refused_on_the_cancel_url(visitor, session):
    token = link_token("confirm", session.pk)

    response = visitor.post(reverse("links:action", args=["cancel", token]))

    assert response.status_code == 400
    assert "This link is not valid" in response.text
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


def test_unknown_action_is_a_404_page(visitor, session):
    response = visitor.get(reverse("links:action", args=["delete", "x"]))

    assert response.status_code == 404
    assert "This link is not valid" in response.text
