"""The manager's Reminders page, resending, previews, and the client page's emails."""

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import Role
from sessions_app.emails import reminder_message
from sessions_app.models import Reminder
from tests.factories import ClientFactory, PlanFactory, ReminderFactory, SessionFactory
from tests.reminders.conftest import LA, NOW

pytestmark = pytest.mark.django_db
FD, ES, MG = Role.FRONT_DESK, Role.ESTHETICIAN, Role.MANAGER
LIST = reverse("sessions:reminders")


def rows(response) -> list[int]:
    """The reminder ids of the table's rows, in order (read from their preview links)."""
    return [int(pk) for pk in re.findall(r'href="/reminders/(\d+)/preview/"', response.text)]


def preview_url(reminder) -> str:
    return reverse("sessions:reminder-preview", args=[reminder.pk])


def resend_url(reminder) -> str:
    return reverse("sessions:reminder-resend", args=[reminder.pk])


# Who may see what ------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [(FD, 403), (ES, 403), (MG, 200)])
def test_reminders_page_is_for_managers(page_as, outbox, role, status):
    assert page_as(role).get(LIST).status_code == status


@pytest.mark.parametrize(("role", "status"), [(FD, 403), (ES, 403), (MG, 200)])
def test_preview_is_for_managers(page_as, outbox, role, status):
    assert page_as(role).get(preview_url(outbox["sent"])).status_code == status


@pytest.mark.parametrize("role", [FD, ES])
def test_resend_is_refused_to_other_roles_and_changes_nothing(page_as, outbox, role):
    failed = outbox["failed"]

    response = page_as(role).post(resend_url(failed))

    assert response.status_code == 403
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 6)


def test_resend_answers_only_post(page_as, outbox):
    assert page_as(MG).get(resend_url(outbox["failed"])).status_code == 405


@pytest.mark.parametrize(("role", "sees_reminders"), [(FD, False), (ES, False), (MG, True)])
def test_nav_shows_reminders_to_managers_and_maintenance_due_to_all(
    page_as, clock, role, sees_reminders
):
    html = page_as(role).get(reverse("clients:list")).text

    assert 'href="/maintenance-due/"' in html
    assert ('href="/reminders/"' in html) is sees_reminders


# The list ------------------------------------------------------------------------------


def test_page_counts_every_status(page_as, outbox):
    ReminderFactory.create_batch(2, session=outbox["sent"].session, status="sent")

    response = page_as(MG).get(LIST)

    counts = dict(
        (label, int(count))
        for count, label in re.findall(
            r'<span class="count">(\d+)</span> <span class="badge reminder-\w+">([\w ]+)</span>',
            response.text,
        )
    )
    assert counts == {"Scheduled": 1, "Sending": 1, "Sent": 3, "Failed": 1, "Cancelled": 1}


def test_page_lists_every_row_with_its_status_badge_and_client(page_as, outbox):
    response = page_as(MG).get(LIST)

    assert sorted(rows(response)) == sorted(r.pk for r in outbox.values())
    for status, label in Reminder.Status.choices:
        assert f'<span class="badge reminder-{status}">{label}</span>' in response.text
    assert reverse("clients:detail", args=[outbox["sent"].client_id]) in response.text
    assert "SMTPRecipientsRefused: 452 mailbox full" in response.text
    assert "The session was cancelled." in response.text


def test_due_times_are_shown_in_clinic_time(page_as, session):
    ReminderFactory(session=session, due_at=datetime(2027, 3, 16, 18, 0, tzinfo=LA))

    response = page_as(MG).get(LIST)

    assert 'Mar 16, 2027<br><span class="small">6:00 PM</span>' in response.text


@pytest.mark.parametrize(
    ("tab", "shown"),
    [
        ("due", ["scheduled", "sending"]),
        ("sent", ["sent"]),
        ("failed", ["failed"]),
        ("cancelled", ["cancelled"]),
        ("all", ["scheduled", "sending", "sent", "failed", "cancelled"]),
    ],
)
def test_tabs_show_their_statuses(page_as, outbox, tab, shown):
    response = page_as(MG).get(LIST, {"tab": tab})

    assert sorted(rows(response)) == sorted(outbox[s].pk for s in shown)


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"status": "sending"}, ["sending"]),
        ({"kind": "hydration_after"}, ["failed"]),
        ({"kind": "hydration_before", "tab": "due"}, ["scheduled", "sending"]),
        ({"kind": "maintenance_due"}, []),
    ],
)
def test_filters_by_kind_and_status(page_as, outbox, params, shown):
    response = page_as(MG).get(LIST, params)

    assert response.status_code == 200
    assert sorted(rows(response)) == sorted(outbox[s].pk for s in shown)


def test_filter_by_client_names_the_client(page_as, outbox, clock):
    other = ReminderFactory(session=SessionFactory(client=ClientFactory(first_name="Bea")))

    response = page_as(MG).get(LIST, {"client": other.client_id})

    assert rows(response) == [other.pk]
    assert f'Showing emails to <a href="/clients/{other.client_id}/">Bea' in response.text


def test_due_tab_lists_what_goes_out_next_first(page_as, session):
    later = ReminderFactory(session=session, due_at=NOW + timedelta(hours=5))
    sooner = ReminderFactory(session=session, due_at=NOW + timedelta(hours=1))

    assert rows(page_as(MG).get(LIST, {"tab": "due"})) == [sooner.pk, later.pk]
    assert rows(page_as(MG).get(LIST)) == [later.pk, sooner.pk]


def test_resend_button_only_on_failed_rows(page_as, outbox):
    html = page_as(MG).get(LIST).text

    # One row's button (the page's "Resend all failed" button is apart from the rows).
    assert len(re.findall(r'action="/reminders/\d+/resend/"', html)) == 1
    assert f'action="{resend_url(outbox["failed"])}"' in html


def test_page_is_paginated(page_as, session):
    ReminderFactory.create_batch(30, session=session)

    first = page_as(MG).get(LIST)
    second = page_as(MG).get(LIST, {"page": 2})

    assert len(rows(first)) == 25
    assert len(rows(second)) == 5
    assert "Page 1 of 2 (30 emails)" in first.text


def _page_queries(page, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = page.get(LIST, params)
    assert response.status_code == 200
    return len(queries)


def test_page_runs_as_many_queries_for_25_rows_as_for_5(page_as, session, clock):
    page = page_as(MG)
    for _ in range(5):
        ReminderFactory(session=SessionFactory(client=ClientFactory()))
    five = _page_queries(page)
    for _ in range(25):
        ReminderFactory(session=SessionFactory(client=ClientFactory()), status="failed")
    assert _page_queries(page) == five
    assert _page_queries(page, kind="hydration_before", client=session.client_id) <= five + 1


# Resend ------------------------------------------------------------------------------


def test_resend_moves_a_failed_row_back_to_scheduled(page_as, outbox, clock):
    failed = outbox["failed"]
    clock.move_to(NOW + timedelta(hours=2))

    response = page_as(MG).post(resend_url(failed), {"next": f"{LIST}?tab=failed"}, follow=True)

    failed.refresh_from_db()
    assert failed.status == "scheduled"
    assert failed.attempts == 0
    assert failed.last_error == ""
    assert failed.due_at == NOW + timedelta(hours=2)
    assert response.redirect_chain == [(f"{LIST}?tab=failed", 302)]
    assert "The “Hydration after” email to Ana Lopez is queued again" in response.text


def test_resend_does_nothing_to_a_sent_row(page_as, outbox):
    sent = outbox["sent"]

    response = page_as(MG).post(resend_url(sent), follow=True)

    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, NOW)
    assert "Only a failed reminder can be resent; this one is sent." in response.text


def test_resend_of_a_week_old_thank_you_is_refused_with_the_reason(page_as, clock, a_client):
    """The walk-through resent "thank you for coming in today" a week late (issue 9)."""
    done = NOW - timedelta(days=7)
    visit = SessionFactory(
        client=a_client, start=done - timedelta(minutes=45), status="completed", completed_at=done
    )
    failed = ReminderFactory(
        session=visit, kind="hydration_after", due_at=done, status="failed", attempts=6
    )

    response = page_as(MG).post(resend_url(failed), {"next": f"{LIST}?tab=failed"}, follow=True)

    failed.refresh_from_db()
    reason = (
        "Not resent: the two hours after the session (completed on Wed Mar 3, 2027 at "
        "9:00 AM PST) are over; a prompt to drink water in them no longer makes sense."
    )
    assert (failed.status, failed.sent_at, failed.last_error) == ("cancelled", None, reason)
    assert reason in response.text
    assert "queued again" not in response.text


def test_resend_never_redirects_off_site(page_as, outbox):
    response = page_as(MG).post(resend_url(outbox["failed"]), {"next": "https://evil.example/"})

    assert response["Location"] == LIST


def test_resend_of_a_missing_reminder_is_404(page_as, db):
    assert page_as(MG).post(reverse("sessions:reminder-resend", args=[999])).status_code == 404


# Preview -----------------------------------------------------------------------------


def test_preview_of_a_confirmation_shows_subject_text_html_and_the_calendar_file(page_as, session):
    confirmation = ReminderFactory(session=session, kind="booking_confirmation")
    expected = reminder_message(confirmation)

    response = page_as(MG).get(preview_url(confirmation))

    html = response.text
    assert response.status_code == 200
    assert (
        expected.subject
        == "Your microcurrent session on Wed Mar 17, 2027 at 10:00 AM PDT is booked"
    )
    assert f"<strong>{expected.subject}</strong>" in html
    assert "Your microcurrent session is booked:" in html  # The plain text.
    assert "ana.lopez@example.com" in html
    frame = re.search(r'<iframe class="email-frame" sandbox="" src="([^"]*)" title="([^"]*)"', html)
    assert frame is not None
    assert frame.group(2) == "The HTML email as Ana sees it"
    email_html = page_as(MG).get(frame.group(1)).text  # its own URL, its own policy
    assert email_html.lower().startswith("<!doctype html>")
    assert "Confirm I will come" in email_html
    assert "<strong>sessions.ics</strong>" in html
    assert "BEGIN:VCALENDAR" in html
    assert f"UID:session-{session.pk}@" in html


def test_preview_of_a_hydration_prompt_has_no_attachment(page_as, outbox):
    response = page_as(MG).get(preview_url(outbox["scheduled"]))

    assert "Your session soon: drink water beforehand" in response.text
    assert "<dt>Attachments</dt><dd>None</dd>" in response.text


def test_preview_of_a_series_confirmation_lists_every_session(page_as, a_client, clock):
    plan = PlanFactory(client=a_client)
    for day in (17, 19, 22):
        SessionFactory(client=a_client, plan=plan, start=datetime(2027, 3, day, 10, tzinfo=LA))
    confirmation = ReminderFactory(
        session=None, client=a_client, plan=plan, kind="booking_confirmation"
    )

    response = page_as(MG).get(preview_url(confirmation))

    assert "Your 3 microcurrent sessions are booked" in response.text
    assert response.text.count("BEGIN:VEVENT") == 3


def test_preview_of_a_failed_row_offers_resend(page_as, outbox):
    response = page_as(MG).get(preview_url(outbox["failed"]))

    assert f'action="{resend_url(outbox["failed"])}"' in response.text


# The client page ---------------------------------------------------------------------


def client_page(page, client):
    return page.get(reverse("clients:detail", args=[client.pk]))


def test_client_page_lists_the_clients_emails_newest_first(page_as, outbox, clock):
    newer = ReminderFactory(session=outbox["sent"].session, due_at=NOW + timedelta(days=6))
    ReminderFactory(session=SessionFactory(client=ClientFactory()))  # Someone else's.

    response = client_page(page_as(MG), outbox["sent"].client)

    ids = rows(response)
    assert ids[0] == newer.pk
    assert sorted(ids) == sorted([newer.pk, *(r.pk for r in outbox.values())])
    assert "Sent Mar 10, 2027, 9:00 AM" in response.text
    assert "Due Mar 16, 2027, 10:00 AM" in response.text  # Daylight-saving time since the 14th.


@pytest.mark.parametrize("role", [FD, ES])
def test_client_page_shows_emails_without_previews_to_other_roles(page_as, outbox, role):
    response = client_page(page_as(role), outbox["sent"].client)

    assert "Emails to Ana" in response.text
    assert '<span class="badge reminder-failed">Failed</span>' in response.text
    assert rows(response) == []


def test_client_page_runs_as_many_queries_for_30_emails_as_for_3(page_as, session):
    page = page_as(MG)
    ReminderFactory.create_batch(3, session=session)
    with CaptureQueriesContext(connection) as three:
        client_page(page, session.client)
    ReminderFactory.create_batch(27, session=session)
    with CaptureQueriesContext(connection) as thirty:
        response = client_page(page, session.client)

    assert len(rows(response)) == 20
    assert "All 30 emails" in response.text
    # The 20 shown and one count of all 30: one query more than without a "more" link.
    assert len(thirty) <= len(three) + 1


def test_preview_escapes_what_a_client_typed(page_as, clock):
    client = ClientFactory(first_name='<img src=x onerror="alert(1)">')
    reminder = ReminderFactory(session=SessionFactory(client=client), kind="hydration_after")

    response = page_as(MG).get(preview_url(reminder))

    assert response.status_code == 200
    assert "<img src=x" not in response.text
    assert "&lt;img src=x" in response.text  # In the plain text, shown as typed.


def test_failed_tab_says_when_nothing_needs_resending(page_as, session):
    ReminderFactory(session=session, status="sent")

    response = page_as(MG).get(LIST, {"tab": "failed"})

    assert rows(response) == []
    assert "No failed emails: nothing needs resending." in response.text
