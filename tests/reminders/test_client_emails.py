"""Emails a client trusts (issue 11, items 1, 3 and 7): every link in every kind of email
resolves to the right page, in plain text and HTML alike; the client's own page is in
each; cancel links only where cancelling will still be open; the series confirmation
links each session; the sender names the clinic; the calendar file names the client and
the clinic; and links use the address ``make run`` serves when SITE_URL is unset."""

import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client as Browser
from django.urls import resolve
from icalendar import Calendar

from clinic.roles import Role
from sessions_app.emails import reminder_message
from sessions_app.models import Reminder, Session
from tests.factories import ClientFactory, PlanFactory, ReminderFactory, SessionFactory, UserFactory
from tests.reminders.conftest import LA

pytestmark = pytest.mark.django_db

Kind, Event = Reminder.Kind, Reminder.Event
ROOT = Path(__file__).resolve().parents[2]


class Hrefs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href")


def hrefs_in(html: str) -> list[str]:
    parser = Hrefs()
    parser.feed(html)
    return parser.hrefs


def urls_in_text(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def html_of(message) -> str:
    ((html, _),) = message.alternatives
    return html


@pytest.fixture
def people(clock):
    client = ClientFactory(first_name="Ana", last_name="O'Neil", email="ana@example.com")
    esthetician = UserFactory(username="esme", first_name="Esme", role=Role.ESTHETICIAN)
    return client, esthetician


def make(case: str, people) -> Reminder:
    client, esthetician = people
    ours = {"client": client, "esthetician": esthetician}
    if case == "confirmation-series":
        plan = PlanFactory(client=client, start_date=date(2027, 3, 8))
        for start in (datetime(2027, 3, 11, 10, tzinfo=LA), datetime(2027, 3, 15, 10, tzinfo=LA)):
            SessionFactory(**ours, plan=plan, kind=Session.Kind.SERIES, start=start)
        return ReminderFactory(
            kind=Kind.BOOKING_CONFIRMATION, client=client, session=None, plan=plan
        )
    if case in ("hydration-after", "maintenance-due", "maintenance-overdue"):
        done = SessionFactory(
            **ours, start=datetime(2027, 2, 10, 10, tzinfo=LA), status=Session.Status.COMPLETED
        )
        kind = {
            "hydration-after": Kind.HYDRATION_AFTER,
            "maintenance-due": Kind.MAINTENANCE_DUE,
            "maintenance-overdue": Kind.MAINTENANCE_OVERDUE,
        }[case]
        return ReminderFactory(kind=kind, session=done)
    session = SessionFactory(**ours, start=datetime(2027, 3, 17, 10, tzinfo=LA))
    if case == "hydration-before":
        return ReminderFactory(kind=Kind.HYDRATION_BEFORE, session=session)
    return ReminderFactory(
        kind=Kind.BOOKING_CONFIRMATION, session=session, event=case.removeprefix("confirmation-")
    )


CASES = [
    "confirmation-booked",
    "confirmation-series",
    "confirmation-rescheduled",
    "confirmation-cancelled",
    "hydration-before",
    "hydration-after",
    "maintenance-due",
    "maintenance-overdue",
]
# What each kind of link opens: (route name, a phrase of the page).
PAGES = {
    "confirm": ("action", "Confirm your session"),
    "cancel": ("action", "Cancel your session?"),
    "unsubscribe": ("action", "Stop maintenance reminders?"),
    "boost": ("boost", "Book your maintenance boost"),
    "client": ("client-page", "Ana, your sessions"),
    # Ana has no screening: her booking confirmations link to the online one.
    "screening": ("screening", "A few health questions"),
}


@pytest.mark.parametrize("case", CASES)
def test_every_link_in_every_email_opens_the_right_page(people, case):
    message = reminder_message(make(case, people))

    in_text = urls_in_text(message.body)
    in_html = [h for h in hrefs_in(html_of(message)) if h.startswith("http")]
    assert in_text, message.body
    assert set(in_text) == set(in_html)
    assert not [h for h in hrefs_in(html_of(message)) if not h.startswith(("http", "mailto:"))]
    actions = set()
    for url in in_text:
        assert url.startswith(f"{django_settings.SITE_URL}/e/")
        path = url.removeprefix(django_settings.SITE_URL)
        match = resolve(path)
        route, phrase = PAGES[match.kwargs["action"]]
        assert match.url_name == route
        response = Browser().get(path)
        assert response.status_code == 200, url
        assert phrase in response.text, url
        actions.add(match.kwargs["action"])
    # The client's own page is in every email, in both parts.
    assert "client" in actions
    assert "Your sessions and email preferences" in message.body
    assert ">Your sessions and email preferences</a>" in html_of(message)


def test_the_series_confirmation_links_each_session(people):
    message = reminder_message(make("confirmation-series", people))
    ids = sorted(Session.objects.values_list("pk", flat=True))

    text = message.body
    for part in (text, html_of(message)):
        links = urls_in_text(part) if part is text else hrefs_in(part)
        confirms = [
            resolve(u.removeprefix(django_settings.SITE_URL)) for u in links if "/e/confirm/" in u
        ]
        cancels = [u for u in links if "/e/cancel/" in u]
        assert len(confirms) == 2
        # The first is 25 hours away now: by the time the email is read it is inside the
        # 24-hour notice, so it has no cancel link; the second has one.
        assert len(set(cancels)) == 1
    assert "Thu Mar 11, 2027 at 10:00 AM PST (45 minutes) with Esme" in text
    assert text.count("  Confirm: ") == 2
    assert text.count("  Cancel: ") == 1
    assert "call us on" in text
    assert len(ids) == 2


def test_the_evening_before_prompt_offers_no_dead_cancel_link(people, clock):
    client, esthetician = people
    session = SessionFactory(
        client=client, esthetician=esthetician, start=datetime(2027, 3, 11, 10, tzinfo=LA)
    )
    reminder = ReminderFactory(kind=Kind.HYDRATION_BEFORE, session=session)
    clock.move_to(datetime(2027, 3, 10, 18, tzinfo=LA))  # sent the evening before: 16 hours

    message = reminder_message(reminder)

    for part in (message.body, html_of(message)):
        assert "/e/cancel/" not in part
        assert "/e/confirm/" in part
        assert (
            f"Need to cancel or change it? Please call us on {django_settings.CLINIC_PHONE}" in part
        )


@pytest.mark.parametrize(("hours", "offered"), [(25, False), (26, True)])
def test_a_confirmation_offers_cancel_only_if_still_open_when_read(people, clock, hours, offered):
    client, esthetician = people
    start = datetime(2027, 3, 10, 9, tzinfo=LA) + timedelta(hours=hours)
    session = SessionFactory(client=client, esthetician=esthetician, start=start)

    message = reminder_message(ReminderFactory(kind=Kind.BOOKING_CONFIRMATION, session=session))

    assert ("/e/cancel/" in message.body) is offered
    assert ("/e/cancel/" in html_of(message)) is offered


def test_the_sender_names_the_clinic(people, settings):
    settings.CLINIC_NAME = "Lumen, Café & Co"
    settings.DEFAULT_FROM_EMAIL = "hello@lumen.example"

    message = reminder_message(make("confirmation-booked", people))

    wire = message_from_bytes(message.message().as_bytes(), policy=policy.default)
    raw = message.message().as_bytes().decode()
    (address,) = wire["From"].addresses
    assert address.display_name == "Lumen, Café & Co"
    assert address.addr_spec == "hello@lumen.example"
    assert "Café" not in raw.split("\n\n", 1)[0]  # the header is encoded, not raw 8-bit


def test_the_calendar_file_names_the_client_and_the_clinic(people):
    message = reminder_message(make("confirmation-booked", people))

    ((_, ics, mimetype),) = message.attachments
    assert mimetype.startswith("text/calendar")
    (event,) = Calendar.from_ical(ics).walk("VEVENT")
    organizer, attendee = event["ORGANIZER"], event["ATTENDEE"]
    assert str(organizer) == f"mailto:{django_settings.DEFAULT_FROM_EMAIL}"
    assert organizer.params["CN"] == django_settings.CLINIC_NAME
    assert str(attendee) == "mailto:ana@example.com"
    assert attendee.params["CN"] == "Ana O'Neil"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WEB_PORT": "8123"}, "http://127.0.0.1:8123"),
        ({}, "http://127.0.0.1:8000"),
        (
            {"WEB_PORT": "8123", "SITE_URL": "https://book.lumen.example/"},
            "https://book.lumen.example",
        ),
    ],
)
def test_links_use_the_port_make_run_serves_unless_site_url_is_set(env, expected):
    clean = {k: v for k, v in os.environ.items() if k not in ("WEB_PORT", "SITE_URL")}
    clean.update(env, DJANGO_SETTINGS_MODULE="clinic.settings")
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    )

    out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "-c", code],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert out.stdout.strip() == expected
