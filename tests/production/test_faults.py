"""Faults in production (issue 12, item 8), with the real parts: gunicorn (Procfile.prod's
command line), a Celery worker and Celery beat, PostgreSQL (the test database), a private
redis-server the test stops and starts, and a real SMTP server (aiosmtpd).

- With Redis stopped, bookings still succeed (API and pages) and /health/ says 503 at once;
  their emails go, each once, when Redis is back (nothing on the booking path needs Redis:
  the outbox rows are the only record, and beat's next run after the worker reconnects
  sends them).
- PostgreSQL connections terminated under load (``pg_terminate_backend`` on every
  connection of the app): the requests in flight at that moment answer 503 with a message
  that says to try again (JSON for the API, a page for the pages), never 500; every
  request after them succeeds (Django opens a new connection: ``CONN_HEALTH_CHECKS``
  finds the dead persistent ones), and no booking is half made.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg2
import pytest
from django.db import connection

from clinic.roles import Role
from protocols.models import Plan
from sessions_app.models import Reminder, Session
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, UserFactory
from tests.production.conftest import STAFF_PASSWORD, app_env, booking, desk_token
from tests.production.helpers import (
    Answer,
    PrivateRedis,
    Service,
    StaffBrowser,
    answers,
    bookable_slots,
    free_port,
    gunicorn_command,
    http,
    procfile_command,
    until,
)
from tests.sessions_app.helpers import full_week, local, screen

pytestmark = pytest.mark.django_db(transaction=True)

Kind, Status = Reminder.Kind, Reminder.Status
BROKER_DOWN = {"status": "unavailable", "checks": {"database": "ok", "broker": "unreachable"}}
# What the worker logs when it notices the broker is gone (celery.worker.consumer).
CONNECTION_LOST = "Connection to broker lost"
EVERY_DAY = list(range(7))


@pytest.fixture
def redis_server(tmp_path):
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()


def web_env(env: dict, **more) -> tuple[str, dict]:
    port = free_port()
    return f"http://127.0.0.1:{port}", {
        **env,
        "WEB_BIND": "127.0.0.1",
        "WEB_PORT": str(port),
        **more,
    }


def test_with_redis_stopped_bookings_succeed_and_their_emails_go_once_it_is_back(
    staff, clinic_day, workers, queue, inbox, redis_server, tmp_path
):
    (tmp_path / "var" / "celery").mkdir(parents=True)
    env = app_env(
        tmp_path=tmp_path,
        smtp_port=inbox.port,
        queue=queue,
        REDIS_URL=redis_server.url,
        REMINDER_DISPATCH_EVERY_SECONDS="1",
    )
    base, env_web = web_env(env, WEB_CONCURRENCY="1")
    web = Service(gunicorn_command(), env=env_web, log=tmp_path / "web.log")
    beat = Service(procfile_command("beat"), env=env, log=tmp_path / "beat.log")
    worker = workers(inbox, REDIS_URL=redis_server.url)
    try:
        until(lambda: web.alive() and answers(f"{base}/health/"), "gunicorn")
        worker.wait_ready()
        # Beat's runs reach the worker while Redis is up.
        until(lambda: beat.alive() and worker.results(), "a dispatch run from beat")

        redis_server.stop()
        until(lambda: CONNECTION_LOST in worker.log(), "the worker to lose the broker")

        started = time.monotonic()
        health = http("GET", f"{base}/health/")
        took = time.monotonic() - started
        assert (health.status, health.json()) == (503, BROKER_DOWN)
        assert took < 10, f"/health/ took {took:.1f} s with Redis stopped"

        # The front desk signs in and books: by token through the API ...
        token = desk_token(base)
        first, second, third = clinic_day["clients"][:3]
        slots = bookable_slots(2)
        single = http(
            "POST",
            f"{base}/api/sessions/",
            headers=token,
            body=booking(clinic_day, first, slots[0]),
        )
        assert single.status == 201, single.body
        start_date = (local(slots[0]) + timedelta(days=1)).date()
        plan = http(
            "POST",
            f"{base}/api/plans/",
            headers=token,
            body={"client": second.pk, "start_date": start_date.isoformat()},
        )
        assert plan.status == 201, plan.body
        resources = {
            "esthetician": clinic_day["esthetician"].pk,
            "room": clinic_day["room"].pk,
            "device": clinic_day["device"].pk,
        }
        series = http(
            "POST",
            f"{base}/api/plans/{plan.json()['id']}/book/",
            headers=token,
            body={**resources, "time": "15:00", "weekdays": EVERY_DAY},
        )
        assert series.status == 201, series.body
        # ... and with the booking page's form.
        browser = StaffBrowser(base)
        browser.log_in("desk", STAFF_PASSWORD)
        assert browser.get(f"/clients/{third.pk}/book/").status == 200
        page = browser.post(
            f"/clients/{third.pk}/book/",
            {
                "kind": "single",
                "date": f"{local(slots[1]):%Y-%m-%d}",
                "time": f"{local(slots[1]):%H:%M}",
                "minutes": "45",
                **resources,
            },
        )
        assert page.status == 302, page.body.decode(errors="replace")

        # Every booking is in the database with its outbox rows, nothing sent yet.
        sessions = Session.objects.filter(esthetician=clinic_day["esthetician"])
        by_client = {
            client.pk: sessions.filter(client=client, status=Session.Status.BOOKED).count()
            for client in (first, second, third)
        }
        assert by_client == {first.pk: 1, second.pk: len(series.json()["sessions"]), third.pk: 1}
        assert page.headers["Location"] == f"/sessions/{sessions.get(client=third).pk}/"
        outbox = Reminder.objects.filter(client__in=[first, second, third])
        confirmations = outbox.filter(kind=Kind.BOOKING_CONFIRMATION)
        assert confirmations.count() == 3
        assert outbox.filter(kind=Kind.HYDRATION_BEFORE).count() == sessions.count()
        assert {(r.status, r.attempts) for r in outbox} == {(Status.SCHEDULED, 0)}
        assert inbox.messages == []

        redis_server.start()
        until(lambda: len(inbox.messages) >= 3, "the confirmations once Redis is back")
        # Two more runs after the emails went: a run in flight while they were sent has
        # finished, and a later one found nothing more to send.
        runs = len(worker.results())
        until(lambda: len(worker.results()) >= runs + 2, "two more dispatch runs")

        assert inbox.reminder_ids() == {row.pk: 1 for row in confirmations}
        assert len(inbox.messages) == 3
        assert {(r.status, r.attempts) for r in confirmations.all()} == {(Status.SENT, 1)}
        # The hydration prompts are for later: still waiting in the outbox.
        later = outbox.filter(kind=Kind.HYDRATION_BEFORE)
        assert {(r.status, r.attempts) for r in later} == {(Status.SCHEDULED, 0)}
    finally:
        web.stop()
        beat.stop()


# PostgreSQL connections terminated under load ------------------------------------------------
@dataclass
class Call:
    """One request of the load, with when it began and ended (monotonic seconds)."""

    thread: str
    what: str
    began: float
    ended: float
    answer: Answer

    @property
    def ok(self) -> bool:
        return 200 <= self.answer.status < 300


class Load:
    """A few clients sending one request after another, each from a thread of its own,
    until told to stop. A thread is a generator: it yields ``(what, send)`` and gets the
    answer back; a 503 is sent again at once (a write with the same Idempotency-Key), as
    the answer asks."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._crashed: list[str] = []

    def start(self, name: str, body: Iterator) -> None:
        thread = threading.Thread(target=self._run, args=(name, body), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, name: str, body) -> None:
        try:
            answer = None
            while not self.stop.is_set():
                what, send = body.send(answer)
                while True:
                    began = time.monotonic()
                    answer = send()
                    self.calls.append(Call(name, what, began, time.monotonic(), answer))
                    if answer.status != 503 or self.stop.is_set():
                        break
        except StopIteration:
            self._crashed.append(f"{name}: ran out of things to do")
        except Exception as error:  # the thread's end is reported by check()
            self._crashed.append(f"{name}: {error!r}")

    def check(self) -> bool:
        """Raise at once on a thread's end or an answer other than success or 503."""
        bad = [c for c in list(self.calls) if not c.ok and c.answer.status != 503]
        if bad or self._crashed:
            details = [f"{c.what} answered {c.answer.status}: {c.answer.body[:300]!r}" for c in bad]
            raise AssertionError("\n".join(self._crashed + details))
        return True

    def succeeded(self, *, since: float = 0.0) -> dict[str, int]:
        counts = {thread.name: 0 for thread in self._threads}
        for call in list(self.calls):
            if call.ok and call.began > since:
                counts[call.thread] += 1
        return counts

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def pg_connect():
    """A connection of the test's own to the test database, beside pytest's."""
    return psycopg2.connect(**connection.get_connection_params())


@pytest.fixture
def series_desk(staff):
    """A second esthetician, room and device, and clients under 35 (5 sessions over 2-3
    weeks) with a current screening: series booked here never clash with ``clinic_day``."""
    esthetician = UserFactory(username="est-series", role=Role.ESTHETICIAN)
    full_week(esthetician)
    clients = []
    for i in range(20):
        client = ClientFactory(email=f"series{i}@example.com", date_of_birth=date(2000, 1, 1))
        # Recorded by the front desk: a new user each would hash a password (PBKDF2).
        screen(client, recorded_by=staff)
        clients.append(client)
    return {
        "esthetician": esthetician,
        "room": RoomFactory(name="Cedar room"),
        "device": DeviceFactory(name="NuFACE Trinity", serial_number="MC-T"),
        "clients": clients,
    }


def test_postgresql_connections_terminated_under_load_answer_503_then_all_succeed(
    staff, clinic_day, series_desk, queue, tmp_path
):
    (tmp_path / "var").mkdir()
    # Nothing sends mail here: no worker runs.
    env = app_env(tmp_path=tmp_path, smtp_port=free_port(), queue=queue)
    # Persistent connections, as in production (settings: CONN_MAX_AGE 60), so the kill
    # also hits idle ones; threads enough that the four clients are all served at once.
    base, env_web = web_env(env, CONN_MAX_AGE="60", WEB_CONCURRENCY="2", WEB_THREADS="4")
    web = Service(gunicorn_command(), env=env_web, log=tmp_path / "web.log")
    load = Load()
    locker, killer = pg_connect(), pg_connect()
    killer.autocommit = True
    try:
        until(lambda: web.alive() and answers(f"{base}/health/"), "gunicorn")
        token = desk_token(base)
        browser = StaffBrowser(base)
        browser.log_in("desk", STAFF_PASSWORD)

        day = local(bookable_slots(1)[0]).date()
        some = clinic_day["clients"][0]

        def api_reads():
            while True:
                for path in (
                    f"/api/sessions/?date={day}",
                    "/api/clients/",
                    f"/api/sessions/?client={some.pk}",
                ):
                    yield f"GET {path}", lambda path=path: http("GET", base + path, headers=token)

        def page_reads():
            while True:
                for path in (f"/schedule/?date={day}", "/clients/", f"/clients/{some.pk}/"):
                    yield f"GET {path}", lambda path=path: browser.get(path)

        single_slots = [start + timedelta(days=n) for n in range(6) for start in bookable_slots(8)]

        def singles():
            for i, start in enumerate(single_slots):
                client = clinic_day["clients"][i % len(clinic_day["clients"])]
                once = {**token, "Idempotency-Key": str(uuid.uuid4())}
                yield (
                    f"POST /api/sessions/ {start:%m-%d %H:%M}",
                    lambda c=client, s=start, h=once: http(
                        "POST", f"{base}/api/sessions/", headers=h, body=booking(clinic_day, c, s)
                    ),
                )
            yield from api_reads()  # out of slots: a slow run still has a client here

        series_resources = {
            "esthetician": series_desk["esthetician"].pk,
            "room": series_desk["room"].pk,
            "device": series_desk["device"].pk,
            "weekdays": EVERY_DAY,
        }

        def series():
            for i, client in enumerate(series_desk["clients"]):
                # A different hour each, and three weeks on after every nine.
                start_date = day + timedelta(weeks=3 * (i // 9))
                plan_body = {"client": client.pk, "start_date": start_date.isoformat()}
                once = {**token, "Idempotency-Key": str(uuid.uuid4())}
                plan = yield (
                    "POST /api/plans/",
                    lambda b=plan_body, h=once: http(
                        "POST", f"{base}/api/plans/", headers=h, body=b
                    ),
                )
                if plan.status != 201:
                    continue  # check() reports it
                book = f"/api/plans/{plan.json()['id']}/book/"
                book_body = {**series_resources, "time": f"{9 + i % 9:02d}:00"}
                once = {**token, "Idempotency-Key": str(uuid.uuid4())}
                yield (
                    f"POST {book}",
                    lambda path=book, b=book_body, h=once: http(
                        "POST", base + path, headers=h, body=b
                    ),
                )
            yield from api_reads()

        for name, body in (
            ("api", api_reads()),
            ("pages", page_reads()),
            ("singles", singles()),
            ("series", series()),
        ):
            load.start(name, body)
        until(lambda: load.check() and min(load.succeeded().values()) >= 1, "the load to run")

        # Every client's next request touching sessions waits on this lock: then each has
        # a request in flight, with its connection in the middle of a query, at the kill.
        with locker.cursor() as cursor:
            cursor.execute("SET lock_timeout = '30s'")
            cursor.execute(f"LOCK TABLE {Session._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        database = connection.settings_dict["NAME"]

        def waiting() -> int:
            with killer.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = %s AND wait_event_type = 'Lock'",
                    [database],
                )
                return cursor.fetchone()[0]

        until(lambda: load.check() and waiting() == 4, "all four clients to wait on the lock")
        # Every connection to the test database but the killer's, the locker's and pytest's.
        connection.ensure_connection()
        spared = [locker.get_backend_pid(), connection.connection.get_backend_pid()]
        killed_at = time.monotonic()
        with killer.cursor() as cursor:
            cursor.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> ALL(%s)",
                [database, spared],
            )
            killed = [pid for pid, terminated in cursor.fetchall() if terminated]

        def gone() -> bool:
            with killer.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [killed]
                )
                return cursor.fetchone()[0] == 0

        until(gone, "the terminated connections to end")
        locker.rollback()
        back_at = time.monotonic()
        assert len(killed) >= 4, killed  # the four in flight, and any idle ones

        # The series client's successes count its plans too: wait as well for the three
        # series bookings the checks below need (a slow machine may not have them yet).
        def series_booked() -> int:
            return sum(1 for c in list(load.calls) if c.what.endswith("/book/") and c.ok)

        until(
            lambda: (
                load.check()
                and min(load.succeeded(since=back_at).values()) >= 3
                and series_booked() >= 3
            ),
            "three successes of each client after the kill, three series booked",
        )
        load.finish()
        load.check()

        calls = list(load.calls)
        before = [c for c in calls if c.ended < killed_at]
        after = [c for c in calls if c.began > back_at]
        assert before, "requests answered before the kill"
        failed = [(c.what, c.answer.status) for c in before + after if not c.ok]
        assert failed == [], "only the requests in flight at the kill may fail"
        # Each client's request in flight at the kill answered 503, saying to try again.
        in_flight = [c for c in calls if c.began < killed_at < c.ended]
        assert sorted(c.thread for c in in_flight) == ["api", "pages", "series", "singles"]
        for call in in_flight:
            answer = call.answer
            assert answer.status == 503, (call.what, answer.status, answer.body[:300])
            assert answer.headers.get("Retry-After"), call.what
            if call.thread == "pages":
                assert answer.headers["Content-Type"].startswith("text/html")
                text = answer.body.decode()
            else:
                assert answer.headers["Content-Type"] == "application/json"
                text = answer.json()["detail"]
            assert "database" in text, text
            assert "try again" in text.lower(), text

        # The bookings: each one answered 201 is in the database once, with its outbox
        # rows; nothing else (the ones that answered 503 were sent again and booked once).
        booked_singles = [
            datetime.fromisoformat(c.answer.json()["start"])
            for c in calls
            if c.thread == "singles" and c.answer.status == 201
        ]
        singles_in_db = Session.objects.filter(esthetician=clinic_day["esthetician"])
        assert sorted(s.start for s in singles_in_db) == sorted(booked_singles)
        assert len(set(booked_singles)) == len(booked_singles)
        for session in singles_in_db:
            assert sorted(session.reminders.values_list("kind", flat=True)) == sorted(
                [Kind.BOOKING_CONFIRMATION, Kind.HYDRATION_BEFORE]
            )
        # Every series is all or nothing: its five sessions and one confirmation, or none.
        booked_plans = {
            int(c.what.split("/")[3])
            for c in calls
            if c.what.endswith("/book/") and c.answer.status == 201
        }
        plans = Plan.objects.filter(client__in=series_desk["clients"])
        assert plans.count() == len(
            [c for c in calls if c.what == "POST /api/plans/" and c.answer.status == 201]
        )
        for plan in plans:
            sessions = plan.sessions.filter(status=Session.Status.BOOKED).count()
            confirmations = plan.reminders.filter(kind=Kind.BOOKING_CONFIRMATION).count()
            expected = (5, 1) if plan.pk in booked_plans else (0, 0)
            assert (sessions, confirmations) == expected, plan
        assert len(booked_plans) >= 3
    finally:
        load.finish()
        locker.close()
        killer.close()
        web.stop()
