"""Issue 10: managers resend every failed email at once (each by the same staleness rule
as a single resend), and the Reminders page shows how the outbox keeps up: the age of the
oldest due row and any row long in "sending"."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import Role
from sessions_app.models import Reminder
from sessions_app.reminders import reminders_resend_failed
from sessions_app.selectors import outbox_health
from tests.factories import ClientFactory, ReminderFactory, SessionFactory
from tests.reminders.conftest import NOW

pytestmark = pytest.mark.django_db
FD, ES, MG = Role.FRONT_DESK, Role.ESTHETICIAN, Role.MANAGER
LIST = reverse("sessions:reminders")
RESEND_ALL = reverse("sessions:reminders-resend-failed")
STALE_REASON = (
    "Not resent: the two hours after the session (completed on Wed Mar 3, 2027 at "
    "9:00 AM PST) are over; a prompt to drink water in them no longer makes sense."
)


@pytest.fixture
def stale_failed(clock, a_client):
    """A "thank you for coming in today" that failed a week ago: no longer makes sense."""
    done = NOW - timedelta(days=7)
    visit = SessionFactory(
        client=a_client, start=done - timedelta(minutes=45), status="completed", completed_at=done
    )
    return ReminderFactory(
        session=visit, kind="hydration_after", due_at=done, status="failed", attempts=6
    )


@pytest.fixture
def failed_rows(session):
    """Three failed prompts before sessions still ahead: each still makes sense."""
    return [
        ReminderFactory(
            session=SessionFactory(client=ClientFactory(), start=session.start),
            status="failed",
            attempts=6,
            last_error="The mail server answered 452 mailbox full.",
        )
        for _ in range(3)
    ]


def state(row) -> tuple:
    row.refresh_from_db()
    return (row.status, row.attempts, row.due_at, row.last_error)


# The service -------------------------------------------------------------------------


def test_resend_all_queues_every_failed_row_that_still_makes_sense(
    outbox, failed_rows, stale_failed, clock
):
    clock.move_to(NOW + timedelta(hours=1))
    later = NOW + timedelta(hours=1)
    untouched = {k: state(outbox[k]) for k in ("scheduled", "sending", "sent", "cancelled")}

    outcome = reminders_resend_failed()

    assert outcome.resent == 4
    for row in [*failed_rows, outbox["failed"]]:
        assert state(row) == ("scheduled", 0, later, "")
    assert [(r.pk, reason) for r, reason in outcome.refused] == [
        (stale_failed.pk, STALE_REASON.removeprefix("Not resent: "))
    ]
    stale_failed.refresh_from_db()
    assert (stale_failed.status, stale_failed.last_error) == ("cancelled", STALE_REASON)
    assert {k: state(outbox[k]) for k in untouched} == untouched


def test_resend_all_with_nothing_failed_changes_nothing(outbox):
    outbox["failed"].delete()

    outcome = reminders_resend_failed()

    assert (outcome.resent, outcome.refused) == (0, [])
    assert not Reminder.objects.filter(status="failed").exists()


def test_resend_all_runs_as_many_queries_for_30_rows_as_for_3(session, clock):
    def queries(count: int) -> int:
        for _ in range(count):
            ReminderFactory(
                session=SessionFactory(client=ClientFactory(), start=session.start),
                status="failed",
            )
        with CaptureQueriesContext(connection) as captured:
            assert reminders_resend_failed().resent == count
        return len(captured)

    assert queries(30) == queries(3)


# The page ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [FD, ES])
def test_resend_all_is_refused_to_other_roles_and_changes_nothing(page_as, failed_rows, role):
    assert page_as(role).post(RESEND_ALL).status_code == 403
    assert all(state(row)[:2] == ("failed", 6) for row in failed_rows)


def test_resend_all_answers_only_post(page_as, failed_rows):
    assert page_as(MG).get(RESEND_ALL).status_code == 405
    assert all(state(row)[0] == "failed" for row in failed_rows)


def test_resend_all_says_how_many_were_resent_and_refused_and_why(
    page_as, failed_rows, stale_failed
):
    response = page_as(MG).post(RESEND_ALL, {"next": f"{LIST}?tab=failed"}, follow=True)

    assert response.redirect_chain == [(f"{LIST}?tab=failed", 302)]
    assert "3 emails queued again; they go out with the next dispatch" in response.text
    assert (
        "1 email not resent because they no longer make sense, and cancelled: "
        "“Hydration after” to Ana Lopez: the two hours after the session" in response.text
    )
    assert all(state(row)[:2] == ("scheduled", 0) for row in failed_rows)
    assert state(stale_failed)[::3] == ("cancelled", STALE_REASON)


def test_resend_all_names_a_few_refusals_and_counts_the_rest(page_as, stale_failed, a_client):
    for _ in range(6):
        ReminderFactory(
            session=stale_failed.session,
            kind="hydration_after",
            due_at=stale_failed.due_at,
            status="failed",
        )

    response = page_as(MG).post(RESEND_ALL, follow=True)

    assert "7 emails not resent" in response.text
    assert "… and 2 emails more (each row&#x27;s note says why)." in response.text
    assert not Reminder.objects.filter(status="failed").exists()


def test_resend_all_with_nothing_failed_says_so(page_as, outbox):
    outbox["failed"].delete()

    response = page_as(MG).post(RESEND_ALL, follow=True)

    assert "No failed emails: nothing to resend." in response.text


def test_resend_all_never_redirects_off_site(page_as, failed_rows):
    response = page_as(MG).post(RESEND_ALL, {"next": "https://evil.example/"})

    assert response["Location"] == LIST


def test_the_resend_all_button_counts_every_failed_row(page_as, outbox, failed_rows):
    # Even with a filter that hides them: the button resends every failed email.
    response = page_as(MG).get(LIST, {"kind": "booking_confirmation"})

    assert "Resend all 4 failed emails" in response.text
    assert f'action="{RESEND_ALL}"' in response.text


def test_no_resend_all_button_without_failed_rows(page_as, outbox):
    outbox["failed"].delete()

    assert "Resend all" not in page_as(MG).get(LIST).text


# Outbox health -------------------------------------------------------------------------


def test_the_page_shows_the_age_of_the_oldest_due_row(page_as, session, clock):
    ReminderFactory(session=session, due_at=NOW - timedelta(hours=2, minutes=5))
    ReminderFactory(session=session, due_at=NOW - timedelta(minutes=3))
    ReminderFactory(session=session, due_at=NOW + timedelta(hours=1))  # not due yet
    ReminderFactory(session=session, due_at=NOW - timedelta(days=3), status="sent")

    text = page_as(MG).get(LIST).text

    assert "2 emails due now; the oldest has waited 2\xa0hours, 5\xa0minutes" in text


def test_the_page_says_when_nothing_is_waiting(page_as, session, clock):
    ReminderFactory(session=session, due_at=NOW + timedelta(hours=1))

    assert "Nothing waiting: every email that is due has gone out." in page_as(MG).get(LIST).text


def test_the_page_names_rows_long_in_sending(page_as, session, clock, settings):
    settings.REMINDER_TASK_TIME_LIMIT = 120
    settings.REMINDER_SENDING_TIMEOUT_SECONDS = 180
    stuck = ReminderFactory(
        session=session,
        status="sending",
        attempts=1,
        claimed_at=NOW - timedelta(minutes=2, seconds=30),
    )
    ReminderFactory(  # claimed a moment ago: a live worker is sending it
        session=session, status="sending", attempts=1, claimed_at=NOW - timedelta(seconds=30)
    )

    text = page_as(MG).get(LIST).text

    assert (
        "1 email has been in “sending” for more than 2 minutes: the worker sending it "
        "stopped. Each is sent again once it has been in “sending” for 3 minutes."
    ) in text
    assert f'href="/reminders/{stuck.pk}/preview/">Hydration before to Ana Lopez</a>' in text
    assert text.count("sending since") == 1


def test_outbox_health_runs_two_queries_however_big_the_outbox(session, clock):
    def run(count: int):
        for i in range(count):
            ReminderFactory(session=session, due_at=NOW - timedelta(minutes=i))
            ReminderFactory(
                session=session, status="sending", claimed_at=NOW - timedelta(hours=1, minutes=i)
            )
            ReminderFactory(session=session, status="failed")
        with CaptureQueriesContext(connection) as captured:
            health = outbox_health(at=NOW, shown=10)
            names = [r.client.full_name for r in health.long_sending]
        return len(captured), health, names

    one, health, names = run(1)
    assert (one, health.due_count, health.long_sending_count, health.failed_count) == (2, 1, 1, 1)
    many, health, names = run(20)
    assert many == 2
    assert (health.due_count, health.long_sending_count, health.failed_count) == (21, 21, 21)
    assert len(names) == 10
    assert health.oldest_due_age == timedelta(minutes=19)
