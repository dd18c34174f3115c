"""Cancel and no-show ask once more before they are done (issue 13, item 5), without
JavaScript: the first press shows the question, "Yes" posts again with confirmed=yes."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.roles import Role
from sessions_app.models import Session
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(page_as):
    return page_as(Role.FRONT_DESK)


def detail(session) -> str:
    return reverse("sessions:detail", args=[session.pk])


def test_cancel_asks_first_and_changes_nothing(desk):
    session = SessionFactory(client__first_name="Ana", client__last_name="Lopez")
    response = desk.post(detail(session), {"action": "cancel", "reason": "Flu"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Cancel Ana Lopez's session?</h1>" in html
    assert 'name="confirmed" value="yes"' in html
    assert 'value="Flu"' in html  # the reason typed, still editable
    assert "Yes, cancel the session" in html
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED


def test_yes_cancels_with_the_reason_and_the_page_shows_it(desk, front_desk):
    session = SessionFactory()
    data = {"action": "cancel", "reason": "Flu", "confirmed": "yes"}
    response = desk.post(detail(session), data, follow=True)

    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert (session.cancel_reason, session.cancelled_by) == ("Flu", front_desk)
    html = response.content.decode()
    assert "Session cancelled" in html
    assert "reason: Flu" in html


def test_a_reason_too_long_is_refused_before_the_question(desk):
    session = SessionFactory()
    response = desk.post(detail(session), {"action": "cancel", "reason": "x" * 501})
    assert response.status_code == 200
    assert "at most 500 characters" in response.content.decode()
    assert "Yes, cancel the session" not in response.content.decode()


def test_a_session_already_cancelled_is_not_asked_about_but_refused(desk):
    session = SessionFactory(status=Session.Status.CANCELLED, cancelled_at=timezone.now())
    response = desk.post(detail(session), {"action": "cancel"}, follow=True)
    html = response.content.decode()
    assert "Yes, cancel the session" not in html
    assert "This session is cancelled; it cannot be cancelled." in html


def test_no_show_asks_first_then_marks_it(desk, front_desk):
    start = timezone.now() - timedelta(minutes=30)
    session = SessionFactory(start=start, end=start + timedelta(minutes=45))

    asked = desk.post(detail(session), {"action": "no_show"})
    assert "Yes, mark as a no-show" in asked.content.decode()
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED

    desk.post(detail(session), {"action": "no_show", "confirmed": "yes"})
    session.refresh_from_db()
    assert (session.status, session.no_show_by) == (Session.Status.NO_SHOW, front_desk)


def test_the_api_cancels_at_once_with_its_reason(api_as):
    session = SessionFactory()
    response = api_as(Role.FRONT_DESK).post(
        f"/api/sessions/{session.pk}/cancel/", {"reason": "Moved away"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["cancel_reason"] == "Moved away"
