"""Scaling out: two gunicorn processes (Procfile.prod's command line, each on a port of
its own) and two Celery workers share one PostgreSQL database (the test database) and
one Redis. Sessions booked through both gunicorns' API with token auth get one
confirmation each, sent through the workers to a real SMTP server (aiosmtpd) exactly
once; the same slot asked for through both at the same moment is booked once (the
exclusion constraints hold across processes), the other answer a 409."""

from __future__ import annotations

import threading
from email.utils import parseaddr

import pytest

from sessions_app.models import Reminder, Session
from tests.production.conftest import STAFF_PASSWORD, app_env, booking
from tests.production.helpers import (
    Service,
    answers,
    bookable_slots,
    free_port,
    gunicorn_command,
    http,
    until,
)
from tests.sessions_app.test_reminders_worker import finished, send

pytestmark = pytest.mark.django_db(transaction=True)

Kind, Status = Reminder.Kind, Reminder.Status


def test_two_gunicorns_and_two_workers_book_and_send_each_email_once(
    staff, clinic_day, workers, queue, inbox, tmp_path
):
    (tmp_path / "var").mkdir()
    env = app_env(tmp_path=tmp_path, smtp_port=inbox.port, queue=queue)
    webs = []
    for n in (1, 2):
        port = free_port()
        web_env = {**env, "WEB_BIND": "127.0.0.1", "WEB_PORT": str(port), "WEB_CONCURRENCY": "1"}
        service = Service(gunicorn_command(), env=web_env, log=tmp_path / f"web{n}.log")
        webs.append((f"http://127.0.0.1:{port}", service))
    pair = [workers(inbox, CELERY_QUEUE=queue), workers(inbox, CELERY_QUEUE=queue)]
    try:
        for base, service in webs:
            until(
                lambda base=base, service=service: service.alive() and answers(f"{base}/health/"),
                f"gunicorn at {base}",
            )
        for worker in pair:
            worker.wait_ready()

        tokens = {}
        for base, _service in webs:
            got = http(
                "POST",
                f"{base}/api/auth/token/",
                body={"username": "desk", "password": STAFF_PASSWORD},
            )
            assert got.status == 200, got.body
            tokens[base] = got.json()["token"]

        def book(base: str, client, start) -> object:
            return http(
                "POST",
                f"{base}/api/sessions/",
                headers={"Authorization": f"Token {tokens[base]}"},
                body=booking(clinic_day, client, start),
            )

        # Six sessions, one after another, alternating between the two gunicorns.
        slots = bookable_slots(7)
        bases = [base for base, _service in webs]
        booked = [book(bases[i % 2], clinic_day["clients"][i], slots[i]) for i in range(6)]
        assert [answer.status for answer in booked] == [201] * 6, [a.body for a in booked]

        # The last slot, asked for through both gunicorns at the same moment.
        race: dict[str, object] = {}
        start = threading.Barrier(2)

        def racer(i: int) -> None:
            start.wait()
            race[bases[i]] = book(bases[i], clinic_day["clients"][6 + i], slots[6])

        threads = [threading.Thread(target=racer, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(answer.status for answer in race.values())
        assert statuses == [201, 409], [answer.body for answer in race.values()]
        loser = next(answer for answer in race.values() if answer.status == 409)
        assert "esthetician" in loser.body.decode()

        # Seven bookings in the database, each with one confirmation due now.
        sessions = Session.objects.filter(esthetician=clinic_day["esthetician"])
        assert sessions.count() == 7
        confirmations = Reminder.objects.filter(
            kind=Kind.BOOKING_CONFIRMATION, session__in=sessions
        )
        assert confirmations.count() == 7

        # Two dispatch runs, as beat sends them, one for each worker.
        runs = [send(queue), send(queue)]
        results = finished(pair, runs)
        assert sum(results[run]["sent"] for run in runs) == 7

        assert inbox.reminder_ids() == {row.pk: 1 for row in confirmations}
        assert {row.status for row in confirmations.all()} == {Status.SENT}
        recipients = sorted(parseaddr(m["To"])[1] for m in inbox.messages)
        assert recipients == sorted(s.client.email for s in sessions.select_related("client"))
        # A later run finds nothing more to send.
        again = send(queue)
        assert finished(pair, [again])[again]["sent"] == 0
        assert len(inbox.messages) == 7
    finally:
        for _base, service in webs:
            service.stop()
