"""Benchmark: how fast the outbox drains through a real SMTP server.

Run by hand (not part of ``make test``):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python bench/reminder_dispatch.py --reminders 2000

Loads ``--reminders`` due hydration prompts into a flushed ``clinic_bench`` database,
starts aiosmtpd on a free port, and times ``reminders_dispatch`` (one process, batches
of ``REMINDER_BATCH_SIZE`` over one SMTP connection each). Results go in
docs/benchmarks.md.
"""

import argparse
import os
import socket
import sys
import time as clock
from datetime import timedelta
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

import django

django.setup()

from aiosmtpd.controller import Controller
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from clients.models import Client
from clinic.models import User
from clinic.roles import Role
from sessions_app.models import Device, Reminder, Room, Session
from sessions_app.reminders import reminders_dispatch


class Count:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=2000)
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "run against PostgreSQL (DATABASE_URL)"
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    import_module("protocols.migrations.0002_seed_age_bands").seed(apps, None)
    est = User.objects.create_user("bench-est", password="x", role=Role.ESTHETICIAN)
    room, device = Room.objects.create(name="R"), Device.objects.create(name="D", serial_number="S")
    clients = Client.objects.bulk_create(
        Client(
            first_name="F", last_name=f"L{i}", email=f"c{i}@example.com", date_of_birth="1980-01-01"
        )
        for i in range(args.reminders)
    )
    start = timezone.now() + timedelta(days=1)
    sessions = Session.objects.bulk_create(
        Session(
            client=c,
            esthetician=est,
            room=room,
            device=device,
            start=start + timedelta(hours=i),
            end=start + timedelta(hours=i, minutes=45),
            booked_by=est,
        )
        for i, c in enumerate(clients)
    )
    Reminder.objects.bulk_create(
        Reminder(
            kind=Reminder.Kind.HYDRATION_BEFORE,
            client=s.client,
            session=s,
            due_at=timezone.now(),
            key=f"bench:{s.pk}",
        )
        for s in sessions
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Count()
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    smtp.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    try:
        began = clock.perf_counter()
        result = reminders_dispatch()
        while result.sent:
            result = reminders_dispatch()
        elapsed = clock.perf_counter() - began
    finally:
        smtp.stop()
    sent = Reminder.objects.filter(status=Reminder.Status.SENT).count()
    assert sent == handler.n == args.reminders, (sent, handler.n)
    print(
        f"{sent} reminders sent in {elapsed:.1f} s: {sent / elapsed:.0f} emails/s "
        f"(batch {settings.REMINDER_BATCH_SIZE})"
    )


if __name__ == "__main__":
    main()
