"""Journey: a client books their maintenance boost from the reminder email (issue 11).
The email is sent the real way: a Celery worker subprocess on the test broker runs
``dispatch_due_reminders`` against the live server's database and writes the ``.eml``
to a folder (the embedded-default email backend). The client opens its link; their
screening has expired, so they answer the six questions first; the booking then
appears on the esthetician's calendar marked as booked online."""

import os
import re
from datetime import time, timedelta
from email import message_from_bytes, policy

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from clinic.clinic_time import localdate
from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.models import Reminder, Session
from tests.browser.conftest import shot
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, UserFactory
from tests.sessions_app import test_reminders_worker as worker_tests
from tests.sessions_app.helpers import full_week, screen
from tests.sessions_app.test_reminders_worker import (
    REDIS_URL,
    Worker,
    finished,
    send,
    until,
    worker_database_url,
)

pytestmark = pytest.mark.django_db(transaction=True)
# A queue of our own on the test broker, so nothing else feeds our worker.
queue = worker_tests.queue

QUESTIONS = [
    "Do you have a cardiac pacemaker?",
    "Are you pregnant, or could you be?",
    "Do you have a neurological disorder such as epilepsy?",
    "Have you had surgery in the last",
    "Are you having cancer treatment",
    "Do you have an implanted defibrillator?",
]


@pytest.fixture
def folder_worker(transactional_db, queue, tmp_path, live_server):
    """A worker sending with the folder backend (no ``EMAIL_URL``) into ``tmp_path``,
    its links pointing at the live server; SIGKILLed before the database is flushed."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": REDIS_URL,
        "EMAIL_URL": "",  # empty: clinic.mail.FolderEmailBackend, in CLINIC_VAR_DIR/emails
        "CLINIC_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": django_settings.SECRET_KEY,  # the links are signed with it
        "SITE_URL": live_server.url,
        "CLINIC_TIME_ZONE": django_settings.CLINIC_TIME_ZONE,
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    worker = Worker(name=f"mail-{queue}", queue=queue, env=env, log=tmp_path / "worker.log")
    yield worker, tmp_path / "var" / "emails"
    worker.kill()


def test_client_books_the_boost_from_the_reminder_after_answering_the_screening(
    visit, page, folder_worker, queue
):
    worker, outbox = folder_worker
    esme = UserFactory(username="esme", first_name="Esme", last_name="Ray", role=Role.ESTHETICIAN)
    full_week(esme)
    room, device = RoomFactory(), DeviceFactory()
    client = ClientFactory(first_name="Ava", last_name="Nguyen")
    screen(client, recorded_at=timezone.now() - timedelta(days=400))  # expired
    last = local_datetime(localdate() - timedelta(weeks=4), time(10))
    Session.objects.create(
        client=client,
        esthetician=esme,
        room=room,
        device=device,
        start=last,
        end=last + timedelta(minutes=45),
        status=Session.Status.COMPLETED,
        booked_by=esme,
    )
    reminder = Reminder.objects.create(
        kind=Reminder.Kind.MAINTENANCE_DUE,
        client=client,
        due_at=timezone.now(),
        key=f"maintenance:{client.pk}:browser",
    )
    worker.wait_ready()
    task = send(queue)
    assert finished([worker], [task])[task]["sent"] == 1, worker.log()
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.SENT

    # One .eml in the folder: the maintenance email to the client, link to the live server.
    files = until(lambda: list(outbox.glob("*.eml")), "the email file")
    assert len(files) == 1, files
    email = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert email["To"] == client.email
    assert email["X-Clinic-Kind"] == Reminder.Kind.MAINTENANCE_DUE
    assert email["X-Clinic-Reminder"] == str(reminder.pk)
    text = email.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"Book your boost: (\S+)", text).group(1)
    assert link.startswith(visit.base)

    # Opening the link shows the next free times; nothing is booked.
    visit.go(link.removeprefix(visit.base))
    shot(page, "client-boost-page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book your maintenance boost")
    assert not Session.objects.filter(kind=Session.Kind.MAINTENANCE).exists()

    # Choosing a time asks the six questions first (the screening has expired).
    page.locator(".boost-times button").first.click()
    visit.landed("client-boost-screening")
    expect(page.get_by_role("heading", level=1)).to_have_text("A few health questions")
    for question in QUESTIONS:
        page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label("No").check()
    page.get_by_role("button", name="Send my answers and book").click()
    visit.landed("client-boost-booked")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your maintenance boost is booked")
    boost = Session.objects.get(kind=Session.Kind.MAINTENANCE)
    assert boost.booked_online
    assert boost.esthetician == esme
    assert client.screenings.filter(answered_online=True).exists()

    # The esthetician sees it on the calendar, marked as booked online.
    visit.login("esme")
    visit.go(f"/calendar/?date={localdate(boost.start):%Y-%m-%d}")
    item = page.locator(".cal-item", has_text="Ava Nguyen").filter(has_text="Booked online")
    expect(item).to_have_count(1)
