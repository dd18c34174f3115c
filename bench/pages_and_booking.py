"""Benchmark: page and booking latency on PostgreSQL as the clinic's data grows.

Run by hand (not part of ``make test``):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python bench/pages_and_booking.py

It (re)creates the ``clinic_bench`` schema, loads ``--clients`` clients with a year of
sessions, then times the pages staff open most and a 15-session series booking
(rolled back each time), reporting the median of ``--repeat`` runs and the query count.
Results go in docs/benchmarks.md.
"""

import argparse
import os
import statistics
import sys
import time as clock
from datetime import date, time, timedelta
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django

django.setup()

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.models import Client, Screening
from clinic.models import User
from clinic.roles import Role
from sessions_app import services
from sessions_app.availability import local_datetime
from sessions_app.models import Device, Room, Session, WorkingHours
from sessions_app.plans import plan_create


def load(n_clients: int) -> tuple[User, list[Room], list[Device]]:
    call_command("flush", interactive=False, verbosity=0)
    # flush empties the age bands the data migration seeded; seed them again.
    import_module("protocols.migrations.0002_seed_age_bands").seed(apps, None)
    desk = User.objects.create_user("bench-desk", password="x", role=Role.FRONT_DESK)
    ests = [
        User.objects.create_user(
            f"bench-est{i}", password="x", role=Role.ESTHETICIAN, first_name=f"Est{i}"
        )
        for i in range(4)
    ]
    for est in ests:
        WorkingHours.objects.bulk_create(
            WorkingHours(esthetician=est, weekday=d, starts_at=time(8), ends_at=time(20))
            for d in range(7)
        )
    rooms = [Room.objects.create(name=f"Room {i}") for i in range(4)]
    devices = [Device.objects.create(name=f"Dev {i}", serial_number=f"SN{i}") for i in range(4)]
    clients = Client.objects.bulk_create(
        Client(
            first_name=f"First{i}",
            last_name=f"Last{i:05d}",
            email=f"c{i}@example.com",
            date_of_birth=date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
        )
        for i in range(n_clients)
    )
    Screening.objects.bulk_create(
        Screening(
            client=c,
            pacemaker=False,
            pregnant=False,
            neurological_disorder=False,
            recent_surgery=False,
            cancer_treatment=False,
            implanted_defibrillator=False,
            outcome="eligible",
            flagged=[],
            recorded_by=desk,
        )
        for c in clients
    )
    # A year of sessions: each esthetician 8 a day, at hourly slots, round-robin clients.
    today = timezone.localdate()
    rows, n = [], 0
    for offset in range(-180, 180):
        day = today + timedelta(days=offset)
        for e, est in enumerate(ests):
            for hour in range(9, 17):
                start = local_datetime(day, time(hour))
                rows.append(
                    Session(
                        client=clients[n % len(clients)],
                        esthetician=est,
                        room=rooms[e],
                        device=devices[e],
                        start=start,
                        end=start + timedelta(minutes=45),
                        booked_by=desk,
                        status="completed" if offset < 0 else "booked",
                    )
                )
                n += 1
    Session.objects.bulk_create(rows, batch_size=2000)
    return desk, rooms, devices


def timed(fn, repeat: int) -> tuple[float, int]:
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = clock.perf_counter()
            fn()
            times.append((clock.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "run against PostgreSQL (DATABASE_URL)"
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    desk, rooms, devices = load(args.clients)
    est = User.objects.filter(role=Role.ESTHETICIAN).first()
    browser = Browser()
    browser.force_login(desk)
    client = Client.objects.order_by("pk").last()

    def book_series():
        with transaction.atomic():
            plan = plan_create(
                client=client, start_date=timezone.localdate() + timedelta(days=200), by=desk
            )
            sessions = services.series_book(
                plan=plan,
                esthetician=est,
                room=rooms[0],
                device=devices[0],
                at=time(18),
                weekdays=[0, 2, 4],
                sessions=plan.sessions_max,
                weeks=plan.weeks_max,
                by=desk,
            )
            assert sessions
            transaction.set_rollback(True)

    cases = {
        "client list (25 rows)": lambda: browser.get("/clients/"),
        "client search": lambda: browser.get("/clients/?q=Last0499"),
        "client page": lambda: browser.get(f"/clients/{client.pk}/"),
        "week calendar (56 sessions)": lambda: browser.get(f"/calendar/?esthetician={est.pk}"),
        "day schedule (32 sessions)": lambda: browser.get("/schedule/"),
        "API sessions ?date= (32)": lambda: browser.get(
            f"/api/sessions/?date={timezone.localdate():%Y-%m-%d}"
        ),
        "book a series (service, rolled back)": book_series,
    }
    print(f"{Session.objects.count()} sessions, {Client.objects.count()} clients")
    print("| case | median ms | queries |\n|---|---:|---:|")
    for name, fn in cases.items():
        ms, q = timed(fn, args.repeat)
        print(f"| {name} | {ms:.1f} | {q} |")


if __name__ == "__main__":
    main()
