"""The reminder outbox dispatched by real Celery workers (subprocesses) on the real Redis
broker, against the test database, to a real SMTP server (aiosmtpd) in the test: every
due row sent exactly once, two workers racing send each row once, and a worker killed
in the middle of a batch loses nothing (the rows are sent again after the timeout).

The workers run on a queue of their own, so nothing else on the broker feeds them. The
test waits for the worker process by polling its log and the database with a deadline;
no time is passed for the code under test, which runs on the real clock."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from clinic.celery import app as celery_app
from sessions_app.models import Reminder
from sessions_app.reminders import reminders_dispatch
from sessions_app.tasks import dispatch_due_reminders
from tests.factories import ReminderFactory, SessionFactory
from tests.sessions_app.test_reminders_dispatch import Inbox, use_smtp

pytestmark = pytest.mark.django_db(transaction=True)

Kind, Status = Reminder.Kind, Reminder.Status
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
CELERY = Path(sys.executable).with_name("celery")
DEADLINE_SECONDS = 30
POLL_SECONDS = 0.05


def until(condition, what: str, seconds: float = DEADLINE_SECONDS):
    """Wait for another process to get somewhere (polling, with a deadline)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {seconds} s waiting for {what}.")
        time.sleep(POLL_SECONDS)  # waits for the worker process; no clock under test moves


def worker_database_url() -> str:
    """The pytest test database, as a URL for the worker's ``DATABASE_URL``."""
    db = connection.settings_dict
    user, password = quote(db["USER"] or ""), quote(db["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """``celery -A clinic worker`` on our queue, its output in a log file."""

    def __init__(self, *, name: str, queue: str, env: dict, log: Path, pool: str = "solo") -> None:
        self.name = name
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (our own venv's celery, fixed args)
            [
                str(CELERY),
                "-A",
                "clinic",
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "--prefetch-multiplier=1",
                "-Q",
                queue,
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=django_settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # A process group of its own, like a service: a test can signal the worker and
            # its pool children together (``os.killpg``), as systemd and honcho do.
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        until(lambda: self._alive() and " ready." in self.log(), f"{self.name} to start")

    def results(self) -> dict[str, dict]:
        """Each task this worker finished, by id, with what it returned."""
        found = re.findall(r"\[([0-9a-f-]{36})\] succeeded in [\d.e-]+s: (\{.*?\})", self.log())
        return {task_id: ast.literal_eval(value) for task_id, value in found}

    def kill(self) -> None:
        if self.process.poll() is None:
            # SIGKILL to the group: no chance to tidy up, as when a machine dies.
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def _alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.log()}")
        return True


@pytest.fixture
def queue():
    """A queue of our own on the test broker, purged before and removed after."""
    name = f"test-reminders-{uuid.uuid4().hex[:12]}"
    with celery_app.connection_for_write(REDIS_URL) as conn:
        conn.default_channel.queue_purge(name)
    yield name
    broker = redis.Redis.from_url(REDIS_URL)
    broker.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
    # A worker killed holding a message leaves it "unacked", to be put back on our queue
    # an hour later; nobody will read that queue again.
    for tag, entry in broker.hgetall("unacked").items():
        _message, exchange, routing_key = json.loads(entry)
        if name in (exchange, routing_key):
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)
    broker.close()


@pytest.fixture
def workers(transactional_db, queue, tmp_path):
    """Start workers with ``start(inbox, batch=...)``; all are SIGKILLed at the end,
    before the test database is flushed."""
    started: list[Worker] = []

    def start(inbox: Inbox, *, batch: int = 20, pool: str = "solo", **settings) -> Worker:
        """``settings`` are more environment variables for the worker (short limits)."""
        n = len(started) + 1
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": REDIS_URL,
            "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
            "CLINIC_VAR_DIR": str(tmp_path / "var"),
            "SECRET_KEY": django_settings.SECRET_KEY,
            "SITE_URL": django_settings.SITE_URL,
            "CLINIC_TIME_ZONE": django_settings.CLINIC_TIME_ZONE,
            "REMINDER_BATCH_SIZE": str(batch),
            "REMINDER_SENDING_TIMEOUT_SECONDS": str(
                django_settings.REMINDER_SENDING_TIMEOUT_SECONDS
            ),
            "CONN_MAX_AGE": "0",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **{name: str(value) for name, value in settings.items()},
        }
        worker = Worker(
            name=f"w{n}-{queue}", queue=queue, env=env, log=tmp_path / f"w{n}.log", pool=pool
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def send(queue: str, **options) -> str:
    """Enqueue one dispatch run (as Celery beat does every minute) on our queue. The
    sender writes the task's time limits into the message (``options`` to change them)."""
    with celery_app.connection_for_write(REDIS_URL) as conn:
        return dispatch_due_reminders.apply_async(queue=queue, connection=conn, **options).id


def finished(worker_list: list[Worker], task_ids: list[str]) -> dict[str, dict]:
    """Wait until every task has succeeded on some worker; what each returned."""

    def all_done():
        done = {}
        for worker in worker_list:
            done.update(worker.results())
        return done if set(task_ids) <= set(done) else None

    try:
        return until(all_done, f"tasks {task_ids} to finish")
    except AssertionError as waited:
        logs = "\n".join(worker.log() for worker in worker_list)
        raise AssertionError(f"{waited}\nThe workers' logs:\n{logs}") from None


def due_rows(count: int) -> list[Reminder]:
    now = timezone.now()
    kinds = [Kind.BOOKING_CONFIRMATION, Kind.HYDRATION_BEFORE]
    return [
        ReminderFactory(
            kind=kinds[i % 2], session=SessionFactory(), due_at=now - timedelta(seconds=i)
        )
        for i in range(count)
    ]


def statuses(rows: list[Reminder]) -> dict[int, tuple]:
    return {
        r.pk: (r.status, r.attempts)
        for r in Reminder.objects.filter(pk__in=[row.pk for row in rows])
    }


@pytest.fixture
def inbox():
    box = Inbox().start()
    yield box
    box.stop()


# One worker ----------------------------------------------------------------------------------
def test_a_worker_sends_every_due_reminder_exactly_once(workers, queue, inbox):
    rows = due_rows(12)
    later = ReminderFactory(due_at=timezone.now() + timedelta(hours=1))
    worker = workers(inbox, batch=5)
    worker.wait_ready()

    first = send(queue)
    results = finished([worker], [first])

    assert results[first] == {
        "sent": 12,
        "retried": 0,
        "failed": 0,
        "skipped": 0,
        "released": 0,
        "stopped": False,
        "more": False,
    }
    assert statuses(rows) == {r.pk: (Status.SENT, 1) for r in rows}
    assert inbox.reminder_ids() == {r.pk: 1 for r in rows}
    assert len(inbox.peers) == 3  # 12 rows in batches of 5, one SMTP connection each
    later.refresh_from_db()
    assert (later.status, later.attempts) == (Status.SCHEDULED, 0)

    # The next run (a minute later, from beat) finds nothing left to send.
    second = send(queue)
    assert finished([worker], [second])[second]["sent"] == 0
    assert len(inbox.messages) == 12


# Two workers racing --------------------------------------------------------------------------
class MeetingInbox(Inbox):
    """Holds the first message of each connection until two connections are both in the
    middle of sending: proof that the two workers really sent at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.meeting = threading.Barrier(2, timeout=DEADLINE_SECONDS)
        self.held = 0  # only touched on the server's event loop

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        # A connection's next message waits for the answer to this one, so the first
        # two held messages come from two different connections.
        if self.held < 2:
            self.held += 1
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, self.meeting.wait)
            except threading.BrokenBarrierError:
                return "451 4.3.0 Nobody came"
        return self.accept(session, envelope)


@pytest.fixture
def meeting_inbox():
    box = MeetingInbox().start()
    yield box
    box.meeting.abort()
    box.stop()


def test_two_workers_racing_send_each_reminder_once(workers, queue, meeting_inbox):
    rows = due_rows(20)
    pair = [workers(meeting_inbox, batch=2), workers(meeting_inbox, batch=2)]
    for worker in pair:
        worker.wait_ready()

    first = send(queue)
    # The first worker is now held inside its first send, so the second task can only
    # go to the other worker.
    until(lambda: meeting_inbox.meeting.n_waiting == 1, "the first worker to start sending")
    second = send(queue)
    results = finished(pair, [first, second])

    assert {task for worker in pair for task in worker.results()} == {first, second}
    assert all(worker.results() for worker in pair), "each worker ran one of the tasks"
    assert results[first]["sent"] + results[second]["sent"] == 20
    assert results[first]["sent"] > 0
    assert results[second]["sent"] > 0
    assert len(meeting_inbox.messages) == 20
    assert meeting_inbox.reminder_ids() == {r.pk: 1 for r in rows}
    assert statuses(rows) == {r.pk: (Status.SENT, 1) for r in rows}


# A worker killed mid-batch ---------------------------------------------------------------------
class HoldingInbox(Inbox):
    """Keeps the first message waiting (never accepted) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if not self.holding.is_set():
            self.holding.set()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.release.wait, DEADLINE_SECONDS)
            return "451 4.3.0 The sender went away"
        return self.accept(session, envelope)


@pytest.fixture
def holding_inbox():
    box = HoldingInbox().start()
    yield box
    box.release.set()
    box.stop()


def test_a_worker_killed_mid_batch_loses_nothing(workers, queue, holding_inbox, settings):
    rows = due_rows(4)
    worker = workers(holding_inbox, batch=10)
    worker.wait_ready()

    send(queue)
    assert holding_inbox.holding.wait(DEADLINE_SECONDS), worker.log()
    # The worker claimed the whole batch and is in the middle of sending the first row.
    assert statuses(rows) == {r.pk: (Status.SENDING, 1) for r in rows}
    worker.kill()
    holding_inbox.release.set()
    assert holding_inbox.messages == []

    # Another worker (here, in this process) leaves the rows alone until the timeout ...
    use_smtp(settings, holding_inbox.port)
    assert reminders_dispatch().sent == 0
    assert statuses(rows) == {r.pk: (Status.SENDING, 1) for r in rows}
    # ... and then sends each one once.
    timeout = timedelta(seconds=settings.REMINDER_SENDING_TIMEOUT_SECONDS + 1)
    with time_machine.travel(timezone.now() + timeout, tick=False):
        assert reminders_dispatch().sent == 4

    assert holding_inbox.reminder_ids() == {r.pk: 1 for r in rows}
    assert statuses(rows) == {r.pk: (Status.SENT, 2) for r in rows}
