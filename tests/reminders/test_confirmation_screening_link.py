"""The first booking confirmation for a client without a current screening links to the
online screening (issue 11, "The screening online"), decided by ``client_eligibility``
when the email is built; a client whose screening is current gets no such link."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client as Browser
from django.urls import resolve

from sessions_app.emails import reminder_message
from sessions_app.links import link_read
from sessions_app.models import Reminder
from tests.factories import ReminderFactory, ScreeningFactory
from tests.reminders.conftest import NOW

pytestmark = pytest.mark.django_db

Kind, Event = Reminder.Kind, Reminder.Event
PHRASE = "six short health questions"


def html_of(message) -> str:
    ((html, _),) = message.alternatives
    return html


def screening_urls(text: str) -> list[str]:
    return [
        word.rstrip(".,")
        for word in text.split()
        if word.startswith(django_settings.SITE_URL) and "/screening/" in word
    ]


def confirmation(session, event=Event.BOOKED):
    return ReminderFactory(kind=Kind.BOOKING_CONFIRMATION, session=session, event=event)


def test_a_confirmation_for_an_expired_screening_links_to_the_screening_page(session, a_client):
    expired = NOW - timedelta(days=django_settings.SCREENING_VALID_DAYS + 1)
    ScreeningFactory(client=a_client, recorded_at=expired)

    message = reminder_message(confirmation(session))

    (url,) = screening_urls(message.body)
    assert PHRASE in message.body
    assert f'href="{url}"' in html_of(message)
    assert PHRASE in html_of(message)
    path = url.removeprefix(django_settings.SITE_URL)
    match = resolve(path)
    assert (match.namespace, match.url_name) == ("links", "screening")
    assert link_read("screening", match.kwargs["token"]) == a_client.pk
    page = Browser().get(path)
    assert page.status_code == 200
    assert "A few health questions" in page.text
    assert f"Hello {a_client.first_name}" in page.text


def test_a_confirmation_for_a_never_screened_client_links_to_the_screening(session):
    message = reminder_message(confirmation(session))
    assert len(screening_urls(message.body)) == 1


def test_an_eligible_clients_confirmation_has_no_screening_link(session, a_client):
    ScreeningFactory(client=a_client, recorded_at=NOW - timedelta(days=3))

    message = reminder_message(confirmation(session))

    assert not screening_urls(message.body)
    assert PHRASE not in message.body
    assert "/screening/" not in html_of(message)


def test_a_cancellation_never_asks_for_a_screening(session):
    message = reminder_message(confirmation(session, event=Event.CANCELLED))
    assert "/screening/" not in message.body
    assert "/screening/" not in html_of(message)
