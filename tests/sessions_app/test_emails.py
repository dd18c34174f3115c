"""Every client email, as ``reminder_message`` builds it for an outbox row: each kind
renders its subject, plain text and HTML; times are in clinic time with the zone named;
RFC 8058 one-click unsubscribe headers; the links are signed and lead to the link pages;
and names with apostrophes read right in plain text."""

import re
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from html import unescape

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client as Browser
from django.urls import resolve
from django.utils import timezone

from clinic.roles import Role
from sessions_app.emails import reminder_message
from sessions_app.links import LinkExpired, LinkInvalid, link_read
from sessions_app.models import Reminder, Session
from tests.factories import ClientFactory, PlanFactory, ReminderFactory, SessionFactory, UserFactory
from tests.sessions_app.helpers import LA

pytestmark = pytest.mark.django_db

Kind, Event = Reminder.Kind, Reminder.Event
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=LA)
SESSION_START = datetime(2027, 3, 17, 10, 0, tzinfo=LA)  # a Wednesday, PDT
WHEN = "Wed Mar 17, 2027 at 10:00 AM PDT"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people():
    client = ClientFactory(first_name="D'Arcy", last_name="O'Neil", email="darcy@example.com")
    esthetician = UserFactory(
        username="siobhan", first_name="Siobhán", last_name="O'Hara", role=Role.ESTHETICIAN
    )
    return client, esthetician


def make(case: str, people) -> Reminder:
    """The outbox row of one case below, with what its email is about."""
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
    session = SessionFactory(**ours, start=SESSION_START)
    if case == "hydration-before":
        return ReminderFactory(kind=Kind.HYDRATION_BEFORE, session=session)
    event = case.removeprefix("confirmation-")
    return ReminderFactory(kind=Kind.BOOKING_CONFIRMATION, session=session, event=event)


# case: (subject, a phrase of the body, the link actions in the email). D'Arcy has no
# screening, so her booking confirmations link to the online one (issue 11).
CASES = {
    "confirmation-booked": (
        f"Your microcurrent session on {WHEN} is booked",
        f"{WHEN} (45 minutes) with Siobhán O'Hara",
        {"confirm", "cancel", "unsubscribe", "client", "screening"},
    ),
    "confirmation-series": (
        "Your 2 microcurrent sessions are booked",
        "Your series of 2 microcurrent sessions is booked",
        # Each session its own links (issue 11).
        {"confirm", "cancel", "unsubscribe", "client", "screening"},
    ),
    "confirmation-rescheduled": (
        f"Moved: your session is now {WHEN}",
        "Your session has moved. Here is the new time:",
        {"confirm", "cancel", "unsubscribe", "client", "screening"},
    ),
    "confirmation-cancelled": (
        f"Cancelled: your session on {WHEN}",
        f"Your session on {WHEN} is cancelled.",
        {"unsubscribe", "client"},
    ),
    "hydration-before": (
        f"Your session soon: drink water beforehand ({WHEN})",
        "Please drink at least two glasses of water in the two hours before you come.",
        {"confirm", "cancel", "unsubscribe", "client"},
    ),
    "hydration-after": (
        "After your session: two to four glasses of water",
        "please drink two to four glasses of water",
        {"unsubscribe", "client"},
    ),
    "maintenance-due": (
        "Time for your maintenance boost",
        "four weeks since your last microcurrent session on Wed Feb 10, 2027",
        {"boost", "unsubscribe", "client"},
    ),
    "maintenance-overdue": (
        "Your maintenance boost is due",
        "six weeks since your last microcurrent session on Wed Feb 10, 2027",
        {"boost", "unsubscribe", "client"},
    ),
}
LEFTOVERS = ("{{", "}}", "{%", "%}")


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def visible_text(html: str) -> str:
    """What a reader of the HTML part sees, without tags and entities."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def links_in(text: str) -> list[str]:
    return re.findall(rf"{re.escape(django_settings.SITE_URL)}/e/[^\s\"'<>]+/", text)


@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_renders_subject_text_and_html(people, case):
    reminder = make(case, people)
    subject, phrase, _ = CASES[case]

    message = reminder_message(reminder)

    html = html_of(message)
    assert message.subject == subject
    assert message.to == ["darcy@example.com"]
    # The clinic's name as the sender (issue 11).
    assert (
        message.from_email
        == f"{django_settings.CLINIC_NAME} <{django_settings.DEFAULT_FROM_EMAIL}>"
    )
    assert message.body.startswith("Dear D'Arcy,\n")
    assert phrase in message.body
    assert html.startswith("<!doctype html>")
    assert phrase in visible_text(html)
    for text in (message.subject, message.body, html):
        assert not any(mark in text for mark in LEFTOVERS), text
    for part in (message.body, html):
        assert django_settings.CLINIC_NAME in part
        assert django_settings.CLINIC_ADDRESS in part
        assert django_settings.CLINIC_PHONE in part
    # Only confirmations carry a calendar file.
    calendars = [a for a in message.attachments if a.mimetype.startswith("text/calendar")]
    assert len(calendars) == (1 if reminder.kind == Kind.BOOKING_CONFIRMATION else 0)


def test_times_are_in_clinic_time_with_the_zone_named(people):
    reminder = make("confirmation-series", people)

    # Whatever zone the process happens to run in, the client reads clinic time.
    with timezone.override("UTC"):
        message = reminder_message(reminder)

    html = html_of(message)
    for part in (message.body, html):
        assert "Thu Mar 11, 2027 at 10:00 AM PST" in part  # 18:00 UTC
        assert "Mon Mar 15, 2027 at 10:00 AM PDT" in part  # 17:00 UTC
        assert "All times are in clinic time (America/Los_Angeles)." in part
        assert not re.search(r"\b(5|6):00 PM\b", part)


@pytest.mark.parametrize("case", list(CASES))
def test_every_email_has_one_click_unsubscribe_headers(people, case):
    reminder = make(case, people)

    message = reminder_message(reminder)

    wire = message_from_bytes(message.message().as_bytes(), policy=policy.default)
    header = wire["List-Unsubscribe"].strip()  # a long header is folded onto its own line
    assert header.startswith("<")
    assert header.endswith(">")
    url = header[1:-1]
    assert wire["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = resolve(url.removeprefix(django_settings.SITE_URL))
    assert match.kwargs["action"] == "unsubscribe"
    assert link_read("unsubscribe", match.kwargs["token"]) == reminder.client_id
    assert url in message.body


@pytest.mark.parametrize("case", list(CASES))
def test_the_links_in_an_email_are_signed_and_resolve(people, case):
    reminder = make(case, people)
    _, _, actions = CASES[case]
    client, _ = people
    about = (
        {reminder.session_id}
        if reminder.session_id
        else set(Session.objects.filter(plan=reminder.plan_id).values_list("pk", flat=True))
    )

    message = reminder_message(reminder)

    in_text = links_in(message.body)
    in_html = links_in(html_of(message))
    assert set(in_text) == set(in_html)
    seen = set()
    for url in in_text:
        path = url.removeprefix(django_settings.SITE_URL)
        match = resolve(path)
        assert match.namespace == "links"
        action, token = match.kwargs["action"], match.kwargs["token"]
        if action in ("boost", "unsubscribe", "client", "screening"):
            assert link_read(action, token) == client.pk
        else:
            assert link_read(action, token) in about
        assert Browser().get(path).status_code == 200
        seen.add(action)
    assert seen == actions


def tokens_in(message) -> dict[str, str]:
    found = {}
    for url in links_in(message.body):
        kwargs = resolve(url.removeprefix(django_settings.SITE_URL)).kwargs
        found[kwargs["action"]] = kwargs["token"]
    return found


def test_a_link_is_good_for_its_own_action_only_and_not_forever(clock, people):
    token = tokens_in(reminder_message(make("hydration-before", people)))["confirm"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    with pytest.raises(LinkInvalid):
        link_read("cancel", token)
    with pytest.raises(LinkInvalid):
        link_read("confirm", tampered)
    clock.shift(timedelta(days=django_settings.EMAIL_LINK_MAX_AGE_DAYS, seconds=1))
    with pytest.raises(LinkExpired):
        link_read("confirm", token)


@pytest.mark.parametrize("case", list(CASES))
def test_apostrophes_are_not_html_escaped_in_plain_text(people, settings, case):
    settings.CLINIC_NAME = "Lumen & Co's Studio"

    message = reminder_message(make(case, people))

    html = html_of(message)
    for text in (message.subject, message.body):
        assert "&#x27;" not in text
        assert "&#39;" not in text
        assert "&amp;" not in text
    assert "Dear D'Arcy," in message.body
    assert "Lumen & Co's Studio" in message.body
    assert "Dear D&#x27;Arcy," in html
    assert "Lumen &amp; Co&#x27;s Studio" in html


def test_the_esthetician_s_name_reads_right_in_plain_text(people):
    message = reminder_message(make("hydration-before", people))

    assert f"Your microcurrent session is on {WHEN} with Siobhán O'Hara." in message.body
    assert "with Siobhán O&#x27;Hara." in html_of(message)
