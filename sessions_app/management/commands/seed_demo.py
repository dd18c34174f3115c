"""Demo data for a first run: one user per role, ~30 clients in every screening state,
rooms and devices. Safe to run again: what exists is left as it is.

Guarded (issue 12, item 7): it refuses a database that holds a clinic's real data (staff
or clients it did not put there) unless given ``--allow-real-data``, and it never changes
an existing account: its password, name, role and whether it is active stay as they are."""

from datetime import date, time, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from clients import services as client_services
from clients.models import Client
from clinic.clinic_time import local_datetime, localdate, plus
from clinic.models import DemoData, User
from clinic.roles import Role
from protocols.models import Plan
from protocols.rules import age_on, spread_evenly, window_days
from protocols.services import protocol_for_age
from sessions_app.maintenance import maintenance_cycle_sync
from sessions_app.models import (
    ClosedDay,
    DayOff,
    Device,
    Reminder,
    Room,
    Session,
    TreatmentRecord,
    WorkingHours,
)
from sessions_app.reminders import hydration_before_due

DEMO_PASSWORD = "glow-demo-2026"  # noqa: S105 - printed for newcomers on purpose

STAFF = [
    ("frontdesk", "Fiona", "Desk", Role.FRONT_DESK),
    ("esthetician", "Esme", "Carter", Role.ESTHETICIAN),
    ("esthetician2", "Noah", "Patel", Role.ESTHETICIAN),
    ("manager", "Maya", "Lindqvist", Role.MANAGER),
]
# Each demo esthetician's working days and the day's shifts, with a lunch break between
# (issue 13: the grid shades it). Esme works every day, so the sessions the demo books
# for today and yesterday are always within her hours; Noah has Sundays and Mondays off.
# Every demo session below starts and ends inside one of these shifts.
SHIFTS = {
    "esthetician": (range(7), [(time(9), time(12, 30)), (time(13, 30), time(18))]),
    "esthetician2": (range(1, 6), [(time(10), time(13)), (time(14), time(19))]),
}
ROOMS = ["Willow room", "Cedar room", "Birch room"]
DEVICES = [("NuFACE Pro 1", "MC-1001"), ("NuFACE Pro 2", "MC-1002"), ("Myolift QT", "MC-2001")]

NO = dict.fromkeys(
    [
        "pacemaker",
        "pregnant",
        "neurological_disorder",
        "recent_surgery",
        "cancer_treatment",
        "implanted_defibrillator",
    ],
    False,
)

# (first, last, birth date, screening answers that are "yes" or None for never screened,
#  days since screening, clearance: None or (conditions, days since issued))
CLIENTS = [
    ("Ava", "Nguyen", date(1996, 3, 14), [], 10, None),
    ("Liam", "Garcia", date(1992, 7, 2), [], 20, None),
    ("Sofia", "Rossi", date(1988, 11, 23), [], 5, None),
    ("Olivia", "Chen", date(1985, 2, 28), [], 40, None),
    ("Mia", "Johnson", date(1980, 6, 9), [], 60, None),
    ("Isabella", "Martin", date(1979, 9, 30), [], 1, None),
    ("Emma", "Kowalski", date(1974, 1, 17), [], 14, None),
    ("Grace", "O'Brien", date(1968, 5, 5), [], 30, None),
    ("Hannah", "Schmidt", date(1962, 12, 12), [], 75, None),
    ("Chloe", "Dubois", date(1958, 4, 21), [], 3, None),
    ("Zoe", "Andersen", date(1990, 8, 8), ["recent_surgery"], 2, None),
    ("Lily", "Okafor", date(1983, 10, 1), ["neurological_disorder"], 8, None),
    ("Ella", "Moreau", date(1966, 3, 3), ["cancer_treatment"], 12, None),
    ("Aria", "Silva", date(1970, 7, 19), ["implanted_defibrillator", "recent_surgery"], 4, None),
    ("Nora", "Haddad", date(1987, 2, 11), ["recent_surgery"], 15, (["recent_surgery"], 10)),
    (
        "Ruby",
        "Kim",
        date(1976, 11, 6),
        ["neurological_disorder"],
        25,
        (["neurological_disorder"], 20),
    ),
    ("Stella", "Ivanova", date(1955, 9, 14), ["cancer_treatment"], 9, (["cancer_treatment"], 9)),
    ("Luna", "Fischer", date(1981, 12, 24), ["recent_surgery"], 30, (["recent_surgery"], 400)),
    (
        "Leah",
        "Novak",
        date(1973, 6, 27),
        ["neurological_disorder"],
        45,
        (["neurological_disorder"], 380),
    ),
    ("Maria", "Lopez", date(1984, 4, 4), ["pacemaker"], 6, None),
    ("Sarah", "Brown", date(1993, 1, 29), ["pregnant"], 11, None),
    ("Alice", "Walker", date(1960, 8, 16), ["pacemaker", "recent_surgery"], 18, None),
    ("Julia", "Tanaka", date(1989, 5, 13), [], 120, None),
    ("Clara", "Petrov", date(1977, 3, 8), [], 200, None),
    ("Eva", "Lindgren", date(1964, 10, 20), ["recent_surgery"], 150, None),
    ("Ivy", "Morgan", date(1998, 12, 2), [], 95, None),
    ("Naomi", "Reyes", date(1991, 9, 9), None, None, None),
    ("Audrey", "Klein", date(1986, 6, 16), None, None, None),
    ("Daisy", "Park", date(1969, 2, 2), None, None, None),
    ("Paula", "Costa", date(1952, 11, 11), None, None, None),
]


def real_data() -> str:
    """What the database holds that seed_demo would be mixed into, in words ("" if empty)."""
    staff, clients = User.objects.count(), Client.objects.count()
    found = [
        f"{count} {noun}{'s' if count != 1 else ''}"
        for count, noun in ((staff, "staff account"), (clients, "client"))
        if count
    ]
    return " and ".join(found)


class Command(BaseCommand):
    help = "Load demo staff, clients, rooms and devices (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-real-data",
            action="store_true",
            help="Add the demo data even though this database holds staff or clients that "
            "seed_demo did not create. Existing accounts are still never changed.",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if not DemoData.objects.exists():
            real = real_data()
            if real and not options["allow_real_data"]:
                raise CommandError(
                    f"This database already holds {real}, not made by seed_demo. It looks like "
                    "a clinic's real data, so no demo clients, staff or sessions were added. "
                    "Point DATABASE_URL at an empty database for a demo, or run "
                    "`manage.py seed_demo --allow-real-data` if you mean to mix them in."
                )
            DemoData.objects.create(seeded_at=timezone.now())
        self.kept: list[str] = []
        staff = {
            username: self._staff(username, first, last, role)
            for username, first, last, role in STAFF
        }
        for name in ROOMS:
            Room.objects.get_or_create(name=name)
        for name, serial in DEVICES:
            Device.objects.get_or_create(serial_number=serial, defaults={"name": name})
        created = sum(self._client(n, row, staff["frontdesk"]) for n, row in enumerate(CLIENTS))
        self._hours(staff)
        if not Session.objects.exists():
            self._sessions(staff)
            self._reminders()
            self._day_off(staff["esthetician2"])
        self.stdout.write(
            f"Demo data ready: {Client.objects.count()} clients ({created} new), "
            f"{Room.objects.count()} rooms, {Device.objects.count()} devices, "
            f"{Plan.objects.count()} plans, {Session.objects.count()} sessions."
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, _first, _last, role in STAFF:
            kept = " (its own password, not this one: left as it is)" * (username in self.kept)
            self.stdout.write(f"  {username:<14} {role.label}{kept}")

    def _staff(self, username, first, last, role) -> User:
        """The demo account, made once. One that exists (the demo's own from an earlier
        run, or a real account by that name) is never changed, its password least of all."""
        user = User.objects.filter(username=username).first()
        if user is not None:
            if not user.check_password(DEMO_PASSWORD):
                self.kept.append(username)
            return user
        user = User(
            username=username,
            first_name=first,
            last_name=last,
            role=role,
            email=f"{username}@example.com",
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        return user

    def _client(self, n, row, by) -> bool:
        first, last, born, flags, screened_days_ago, clearance = row
        email = f"{first}.{last}".lower().replace("'", "") + "@example.com"
        if Client.objects.filter(email=email).exists():
            return False
        client = client_services.client_create(
            by=by,
            first_name=first,
            last_name=last,
            email=email,
            phone=f"+1415555{1000 + n:04d}",
            date_of_birth=born,
        )
        now = timezone.now()
        if flags is not None:
            answers = {**NO, **dict.fromkeys(flags, True)}
            at = now - timedelta(days=screened_days_ago)
            client_services.screening_record(client=client, answers=answers, by=by, at=at)
        if clearance is not None:
            conditions, issued_days_ago = clearance
            client_services.clearance_record(
                client=client,
                physician="Dr. Helen Marsh",
                issued_on=localdate() - timedelta(days=issued_days_ago),
                conditions=conditions,
                by=by,
            )
        return True

    def _hours(self, staff) -> None:
        for username, (weekdays, shifts) in SHIFTS.items():
            person = staff[username]
            for weekday in weekdays:
                # A day that has any shift is left as it is (a manager's hours, or an
                # earlier demo's one long shift): only a day with none gets the demo's.
                if WorkingHours.objects.filter(esthetician=person, weekday=weekday).exists():
                    continue
                WorkingHours.objects.bulk_create(
                    WorkingHours(esthetician=person, weekday=weekday, starts_at=a, ends_at=b)
                    for a, b in shifts
                )
        today = localdate()
        for month, day, reason in [(12, 25, "Christmas Day"), (1, 1, "New Year's Day")]:
            year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
            ClosedDay.objects.get_or_create(
                date=date(year, month, day), defaults={"reason": reason}
            )

    @staticmethod
    def _day_off(person) -> None:
        """One day off, so the grid shows one: Noah's next Wednesday but one, a day none
        of the demo's sessions falls on (his series are on Tuesdays and Fridays)."""
        today = localdate()
        wednesday = today + timedelta(days=(2 - today.weekday()) % 7 + 7)
        DayOff.objects.get_or_create(
            esthetician=person, date=wednesday, defaults={"reason": "Training course"}
        )

    def _sessions(self, staff) -> None:
        """Plans and series in every state, so the calendar is full on the first run. Each
        lies inside a shift of ``SHIFTS``, none in a lunch break."""
        today = localdate()
        est, est2, desk = staff["esthetician"], staff["esthetician2"], staff["frontdesk"]
        rooms = list(Room.objects.order_by("name"))
        devices = list(Device.objects.order_by("serial_number"))
        monday = today - timedelta(days=today.weekday())
        # A series in progress: the first half done, today's session waiting.
        self._series(
            "olivia.chen@example.com",
            monday - timedelta(weeks=3),
            [0, 3],
            time(10),
            est,
            rooms[0],
            devices[0],
            desk,
            today_too=True,
        )
        # A series booked wholly in the future.
        self._series(
            "ava.nguyen@example.com",
            today + timedelta(days=1),
            [1, 4],
            time(14),
            est2,
            rooms[1],
            devices[1],
            desk,
        )
        # A finished series: due a maintenance boost soon.
        self._series(
            "chloe.dubois@example.com",
            monday - timedelta(weeks=8),
            [0, 2, 4],
            time(15),
            est,
            rooms[2],
            devices[2],
            desk,
        )
        # A series finished six weeks ago: past the 4-week maintenance mark.
        self._series(
            "grace.obrien@example.com",
            monday - timedelta(weeks=13),
            [1, 3, 5],
            time(11),
            est2,
            rooms[2],
            devices[2],
            desk,
        )
        # Single sessions today, one cancelled and one no-show yesterday.
        for email, hour, status in [
            ("liam.garcia@example.com", time(11, 30), Session.Status.BOOKED),
            ("sofia.rossi@example.com", time(16), Session.Status.BOOKED),
        ]:
            self._single(email, today, hour, est, rooms[1], devices[1], desk, status)
        yesterday = today - timedelta(days=1)
        self._single(
            "mia.johnson@example.com",
            yesterday,
            time(11),
            est,
            rooms[1],
            devices[1],
            desk,
            Session.Status.CANCELLED,
        )
        self._single(
            "emma.kowalski@example.com",
            yesterday,
            time(14),
            est,
            rooms[1],
            devices[1],
            desk,
            Session.Status.NO_SHOW,
        )

    def _series(self, email, start, weekdays, at, est, room, device, by, today_too=False):
        client = Client.objects.get(email=email)
        age = age_on(client.date_of_birth, start)
        protocol = protocol_for_age(age)
        plan = Plan.objects.create(
            client=client,
            protocol=protocol,
            start_date=start,
            age_at_start=age,
            sessions_min=protocol.sessions_min,
            sessions_max=protocol.sessions_max,
            weeks_min=protocol.weeks_min,
            weeks_max=protocol.weeks_max,
            session_minutes=protocol.session_minutes,
            modality=protocol.default_modality,
            created_by=by,
        )
        today = localdate()
        chosen = spread_evenly(
            window_days(start, protocol.weeks_max, weekdays), protocol.sessions_min
        )
        if today_too and today not in chosen:
            nearest = min(chosen, key=lambda d: abs(d - today))
            chosen = sorted({*chosen} - {nearest} | {today})
        for day in chosen:
            status = Session.Status.COMPLETED if day < today else Session.Status.BOOKED
            self._session(
                client,
                day,
                at,
                est,
                room,
                device,
                by,
                status,
                plan=plan,
                minutes=protocol.session_minutes,
            )

    def _single(self, email, day, at, est, room, device, by, status):
        client = Client.objects.get(email=email)
        self._session(client, day, at, est, room, device, by, status)

    def _session(self, client, day, at, est, room, device, by, status, plan=None, minutes=45):
        start = local_datetime(day, at)
        session = Session.objects.create(
            client=client,
            esthetician=est,
            room=room,
            device=device,
            plan=plan,
            start=start,
            end=plus(start, timedelta(minutes=minutes)),
            kind=Session.Kind.SERIES if plan else Session.Kind.SINGLE,
            status=status,
            booked_by=by,
            **self._who_acted(status, start, minutes, est, by),
        )
        if status == Session.Status.COMPLETED:
            record = TreatmentRecord.objects.create(
                session=session,
                modality="static",
                intensity_microamps=200,
                frequency_hz=Decimal("0.50"),
                duration_minutes=minutes,
                areas=["forehead", "cheeks", "jawline"],
                add_ons=["led"],
                recorded_by=est,
            )
            # Recorded when the session ended, as the session page and the correction
            # page say ("recorded ... on"), not when the demo was loaded.
            TreatmentRecord.objects.filter(pk=record.pk).update(recorded_at=session.completed_at)
        return session

    @staticmethod
    def _who_acted(status, start, minutes, est, desk) -> dict:
        """Who checked in, completed, cancelled or marked a no-show, and when, as the
        session page shows it: the esthetician treats, the front desk takes the calls."""
        if status == Session.Status.COMPLETED:
            return {
                "checked_in_at": start,
                "checked_in_by": est,
                "completed_at": start + timedelta(minutes=minutes),
                "completed_by": est,
            }
        if status == Session.Status.CANCELLED:
            return {
                "cancelled_at": start - timedelta(days=2),
                "cancelled_by": desk,
                "cancel_reason": "The client called: a cold, will book again next week.",
            }
        if status == Session.Status.NO_SHOW:
            return {"no_show_at": start + timedelta(minutes=20), "no_show_by": desk}
        return {}

    def _reminders(self) -> None:
        """An outbox with a history: what was sent for past sessions, what is scheduled
        for coming ones (today's hydration prompts go out on the first dispatch), the
        maintenance cycle of finished series and boosts (``maintenance_cycle_sync``), and
        one failure to resend."""
        now = timezone.now()
        rows = []

        def row(kind, key, client, due_at, **fields):
            sent = due_at <= now and kind != Reminder.Kind.HYDRATION_BEFORE
            rows.append(
                Reminder(
                    kind=kind,
                    key=key,
                    client=client,
                    due_at=due_at,
                    status=Reminder.Status.SENT if sent else Reminder.Status.SCHEDULED,
                    sent_at=due_at if sent else None,
                    attempts=1 if sent else 0,
                    **fields,
                )
            )

        for plan in Plan.objects.select_related("client"):
            first = plan.sessions.order_by("start").first()
            booked = min(first.start - timedelta(days=7), now)
            row(
                Reminder.Kind.BOOKING_CONFIRMATION,
                f"confirm:plan:{plan.pk}",
                plan.client,
                booked,
                plan=plan,
            )
        for session in Session.objects.select_related("client"):
            if session.status == Session.Status.COMPLETED:
                row(
                    Reminder.Kind.HYDRATION_AFTER,
                    f"hydrate-after:{session.pk}",
                    session.client,
                    session.completed_at,
                    session=session,
                )
            elif session.status == Session.Status.BOOKED:
                row(
                    Reminder.Kind.HYDRATION_BEFORE,
                    f"hydrate-before:{session.pk}",
                    session.client,
                    hydration_before_due(session.start, booked_at=now),
                    session=session,
                )
        Reminder.objects.bulk_create(rows)
        # The maintenance cycle of every finished series or boost, by its one owner.
        for client_id in Session.objects.values_list("client_id", flat=True).distinct():
            maintenance_cycle_sync(client_id=client_id, at=now)
        # One that the mail server refused for good, for the manager to resend: a series
        # confirmation with sessions still ahead (a stale email could not be resent).
        failed = Reminder.objects.filter(
            kind=Reminder.Kind.BOOKING_CONFIRMATION,
            plan__sessions__status=Session.Status.BOOKED,
            plan__sessions__start__gt=now,
        ).order_by("-due_at")
        Reminder.objects.filter(pk__in=failed.values("pk")[:1]).update(
            status=Reminder.Status.FAILED,
            sent_at=None,
            attempts=6,
            last_error="SMTPRecipientsRefused: 452 mailbox full, try again later",
        )
