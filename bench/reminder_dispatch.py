"""Benchmark: how fast the outbox drains through a real SMTP server, side by side with
raw Django ``send_messages`` over one connection for the same messages (issue 10).

Run by hand (not part of ``make test``):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python bench/reminder_dispatch.py --reminders 2000

Loads ``--reminders`` due emails (every kind: single and series confirmations with their
calendar file, hydration prompts, maintenance reminders) into a flushed database, starts
aiosmtpd on a free port in a process of its own (so no sender shares its interpreter with
the server), then, in one run, ``--rounds`` times each:

- **raw**: the same messages, built beforehand, sent by one ``send_messages`` call over
  one SMTP connection (the ceiling: what the server and the network cost);
- **dispatch ×1**: ``reminders_dispatch`` in one process until nothing is due (claims,
  skip checks, building, recording each send);
- **dispatch ×2**: the same in two processes at once (each claims its own batches).

Between rounds every row goes back to scheduled. The median of each is printed, with its
ratio to raw. Results go in docs/benchmarks.md.
"""

import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import time as clock
from datetime import timedelta
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

import django

django.setup()

from django.apps import apps
from django.conf import settings
from django.core.mail import get_connection
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from clients.models import Client
from clinic.models import User
from clinic.roles import Role
from protocols.models import Plan, Protocol
from sessions_app.emails import reminder_message, reminders_prefetch
from sessions_app.models import Device, MailServerBackoff, Reminder, Room, Session
from sessions_app.reminders import reminders_dispatch

Kind, Status = Reminder.Kind, Reminder.Status


def serve(port: int, count, ready) -> None:
    """The SMTP server, in its own process: counts what it accepts."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per command otherwise

    class Count:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            with count.get_lock():
                count.value += 1
            return "250 OK"

    smtp = Controller(Count(), hostname="127.0.0.1", port=port)
    smtp.start()
    ready.set()
    try:
        while True:
            clock.sleep(3600)
    finally:
        smtp.stop()


def load(total: int) -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    import_module("protocols.migrations.0002_seed_age_bands").seed(apps, None)
    est = User.objects.create_user("bench-est", password="x", role=Role.ESTHETICIAN)
    room, device = Room.objects.create(name="R"), Device.objects.create(name="D", serial_number="S")
    clients = Client.objects.bulk_create(
        Client(
            first_name="F", last_name=f"L{i}", email=f"c{i}@example.com", date_of_birth="1980-01-01"
        )
        for i in range(total)
    )
    now = timezone.now()
    start = now + timedelta(days=2)
    protocol = Protocol.objects.order_by("pk").first()
    rows = []
    for i, c in enumerate(clients):
        shape = i % 5  # every kind of email, as a day's outbox has them
        if shape == 0:
            plan = Plan.objects.create(
                client=c,
                start_date=start.date(),
                age_at_start=46,
                protocol=protocol,
                sessions_min=protocol.sessions_min,
                sessions_max=protocol.sessions_max,
                weeks_min=protocol.weeks_min,
                weeks_max=protocol.weeks_max,
                session_minutes=protocol.session_minutes,
                modality=protocol.default_modality,
                created_by=est,
            )
            for k in range(3):
                # Distinct hours for every session: rooms and devices never clash.
                at = start + timedelta(hours=i + total * k)
                Session.objects.create(
                    client=c,
                    plan=plan,
                    esthetician=est,
                    room=room,
                    device=device,
                    start=at,
                    end=at + timedelta(minutes=45),
                    booked_by=est,
                )
            rows.append(Reminder(kind=Kind.BOOKING_CONFIRMATION, client=c, plan=plan))
            continue
        if shape in (3, 4):
            at = now - timedelta(weeks=4, hours=i)
            status = Session.Status.COMPLETED
            kind = Kind.MAINTENANCE_DUE if shape == 3 else Kind.MAINTENANCE_OVERDUE
        else:
            at = start + timedelta(hours=i)
            status = Session.Status.BOOKED
            kind = Kind.BOOKING_CONFIRMATION if shape == 1 else Kind.HYDRATION_BEFORE
        session = Session.objects.create(
            client=c,
            esthetician=est,
            room=room,
            device=device,
            start=at,
            end=at + timedelta(minutes=45),
            status=status,
            booked_by=est,
        )
        rows.append(Reminder(kind=kind, client=c, session=session))
    for i, row in enumerate(rows):
        row.due_at, row.key = now, f"bench:{i}"
    Reminder.objects.bulk_create(rows)


def reset() -> None:
    Reminder.objects.update(
        status=Status.SCHEDULED,
        due_at=timezone.now(),
        attempts=0,
        claimed_at=None,
        claim_token="",
        sent_at=None,
        last_error="",
    )
    MailServerBackoff.objects.all().delete()


def use_smtp(port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


def drain(port: int) -> None:
    """One dispatcher process: run until nothing is due."""
    connections.close_all()  # never share the parent's database connection
    use_smtp(port)
    while reminders_dispatch(budget_seconds=3600).sent:
        pass
    connections.close_all()


def raw_round(messages) -> float:
    mail = get_connection()
    began = clock.perf_counter()
    mail.open()
    sent = mail.send_messages(messages)
    mail.close()
    elapsed = clock.perf_counter() - began
    assert sent == len(messages)
    return elapsed


def dispatch_round(port: int, workers: int) -> float:
    reset()
    connections.close_all()
    processes = [multiprocessing.Process(target=drain, args=(port,)) for _ in range(workers)]
    began = clock.perf_counter()
    if workers == 1:
        drain(port)  # in this process, as the raw round
    else:
        for p in processes:
            p.start()
        for p in processes:
            p.join()
    elapsed = clock.perf_counter() - began
    sent = Reminder.objects.filter(status=Status.SENT).count()
    assert sent == Reminder.objects.count(), (sent, Reminder.objects.count())
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one dispatch x1 round")
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "run against PostgreSQL (DATABASE_URL)"
    multiprocessing.set_start_method("fork")
    load(args.reminders)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    count, ready = multiprocessing.Value("i", 0), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, count, ready), daemon=True)
    server.start()
    ready.wait(10)
    use_smtp(port)
    try:
        reminders = list(
            Reminder.objects.select_related("client", "session__esthetician", "plan").order_by("pk")
        )
        reminders_prefetch(reminders)
        messages = [reminder_message(r) for r in reminders]
        if args.profile:
            import cProfile

            cProfile.runctx("dispatch_round(port, 1)", globals(), locals(), sort="cumtime")
            return
        times: dict[str, list[float]] = {"raw": [], "dispatch x1": [], "dispatch x2": []}
        for _ in range(args.rounds):
            times["raw"].append(raw_round(messages))
            times["dispatch x1"].append(dispatch_round(port, 1))
            times["dispatch x2"].append(dispatch_round(port, 2))
    finally:
        server.terminate()
    expected = args.reminders * 3 * args.rounds
    assert count.value == expected, (count.value, expected)
    raw = statistics.median(times["raw"])
    print(
        f"{args.reminders} emails, batch {settings.REMINDER_BATCH_SIZE}, "
        f"median of {args.rounds} rounds"
    )
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:12} {median:6.2f} s  {args.reminders / median:5.0f} emails/s  "
            f"{raw / median:4.2f}x raw"
        )


if __name__ == "__main__":
    main()
