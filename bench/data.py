"""The bench's clinic data: a chain-sized clinic loaded by COPY (``bench.copyrows``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench_big \\
        DJANGO_SETTINGS_MODULE=bench.settings .venv/bin/python -m bench.data --clients 100000

expects a migrated, empty database (``bench/run.py`` makes one) and writes a manifest
(``--manifest``, JSON) that the load rounds read: the staff logins, the ids to ask for, the
clients free to book, the first day with nothing booked.

The shape, the same at every size (only the length of the history changes):

- 20 estheticians, 10 rooms, 10 devices; every esthetician works 08:00-20:00 every day.
- 140 sessions a day: each room has 14 sessions of 45 minutes back to back from 08:00, the
  first seven with one esthetician, the last seven with another, each room with its own
  device (so a front desk's day holds 140 sessions, an esthetician's week 49).
- Days: ``clients x 3 / 140`` of them, the last 42 (at most a third) ahead of today; 100k
  clients give 2,143 days (5.9 years) and 300k sessions, 1k clients 21 days.
- Each of the 140 (room, time) lanes has its own clients (client ``i`` in lane
  ``i mod 140``), so no client is ever in two places at once or twice in a day. In a lane,
  days follow one another in three streams (day mod 3); each stream alternates blocks of
  15 visits: a series (a plan; 15 sessions every third day, 5 for a client under 35, the
  block's rest single sessions) and single sessions of the lane's other clients in turn.
- Past sessions are completed (93 %, with a treatment record and its history row),
  cancelled (4 %) or no-shows (3 %); today's and later ones are booked.
- A screening before a client's first visit and again before any visit more than 80 days
  after the last one (so every client seen in the last 80 days or booked ahead is
  eligible now); one client in 25 answers "recent surgery" and has a doctor's clearance
  for a year from each such screening. Clients never seen still have one screening.
- Reminders as booking and completion plan them: a confirmation per single session or per
  series, a hydration prompt before every session and after every completed one, the
  4- and 6-week maintenance rows after each finished series; sent when due in the past.
- A history row for every client and treatment record, as if made through the pages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time as clock
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

if __name__ == "__main__":  # run as a script or with -m: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from bench.copyrows import Copier, ForeignKeyChecksDeferred, IndexesDeferred, sequences_reset
from bench.shape import DAY_STARTS, SESSION_MINUTES, SHIFT, Shape, visits
from clients.models import Clearance, Client, Screening
from clients.rules import ANSWER_FIELDS, screening_outcome
from clinic.clinic_time import local_datetime, localdate
from clinic.models import User
from clinic.roles import Role
from protocols.models import Plan, Protocol
from sessions_app.models import Device, Reminder, Room, Session, TreatmentRecord, WorkingHours

RESCREEN_DAYS = 80
PASSWORD = "bench-Password-1"  # noqa: S105 - a throwaway database's staff


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Ava Bella Chloe Dana Elena Fiona Grace Hana Iris Jade Kira Lena Maya Nora Olive Paula "
    "Quinn Rosa Sara Tara Uma Vera Wren Xena Yara Zoe Amir Ben Carl Dev Eli Finn Gus Hugo "
    "Ivan Jon Kai Leo Max Nico Omar Paul Raj Sam Theo Ugo Vic Will Yusuf Zane"
)
_PREFIXES = _words(
    "Ab Ash Bar Bel Bran Cal Carr Dal Dun El Fair Fen Gar Glen Hal Hart Hol Ing Kel Kin "
    "Lang Lind Mar Mel Nor Oak Pem Ral Red Ros Sal Shel Stan Tal Thorn Ul Vance Wal West Wint"
)
_SUFFIXES = _words(
    "by bridge brook burn combe court croft dale den field ford gate grave ham hill hurst "
    "ington ley low man mere more ney ridge rington ston stone ter thorpe ton vale ward "
    "well wick win wood worth yard sey"
)
LAST_NAMES = [p + s for p in _PREFIXES for s in _SUFFIXES]


@dataclass
class Manifest:
    """What the load rounds need to know about a built database."""

    clients: int
    sessions: int
    days_back: int
    days_ahead: int
    password: str
    desk: str
    manager: str
    estheticians: list[dict]  # {"id", "username"}
    rooms: list[int]
    devices: list[int]
    probe_client: int  # a client with a long history, for the client page and eligibility
    search: str  # a last name some clients share
    bookable: list[int]  # clients eligible now with nothing booked after the horizon
    bookable_35: list[int]  # those of them 36 to 70 in a year: 15-session plans
    horizon: str  # first day with no session (bookings by the bench go on or after it)
    build_seconds: float = 0.0
    copy_rows: int = 0
    copy_seconds: float = 0.0
    index_seconds: float = 0.0  # rebuilding the indexes and constraints dropped for the load
    index_slowest: list = field(default_factory=list)
    per_table: dict = field(default_factory=dict)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class Builder:
    def __init__(self, shape: Shape, *, today: date | None = None):
        self.shape = shape
        self.today = today or localdate()
        self.now = datetime.now(tz=local_datetime(self.today, DAY_STARTS).tzinfo)
        self.copier = Copier()
        self.ids = {"screening": 0, "clearance": 0, "plan": 0, "session": 0, "reminder": 0}
        self.hist = {"client": 0, "treatment": 0}

    def next_id(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    # Staff and resources: few rows, through the ORM ---------------------------------------
    def staff(self) -> None:
        hashed = make_password(PASSWORD)
        joined = local_datetime(self.today - timedelta(days=self.shape.days_back + 30), time(9))
        people = [
            User(username="bench-desk", role=Role.FRONT_DESK, first_name="Dana", last_name="Desk"),
            User(username="bench-manager", role=Role.MANAGER, first_name="Max", last_name="Boss"),
        ] + [
            User(
                username=f"bench-est{i + 1:02d}",
                role=Role.ESTHETICIAN,
                first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
                last_name=f"Esthetician{i + 1:02d}",
            )
            for i in range(self.shape.estheticians)
        ]
        for person in people:
            person.password = hashed
            person.date_joined = joined
        User.objects.bulk_create(people)
        self.desk = User.objects.get(username="bench-desk")
        self.ests = list(User.objects.filter(role=Role.ESTHETICIAN).order_by("username"))
        self.rooms = Room.objects.bulk_create(
            Room(name=f"Room {i + 1:02d}") for i in range(self.shape.rooms)
        )
        self.devices = Device.objects.bulk_create(
            Device(name=f"Microcurrent {i + 1:02d}", serial_number=f"BENCH-{i + 1:04d}")
            for i in range(self.shape.rooms)
        )
        WorkingHours.objects.bulk_create(
            WorkingHours(esthetician=e, weekday=d, starts_at=SHIFT[0], ends_at=SHIFT[1])
            for e in self.ests
            for d in range(7)
        )
        self.protocols = list(Protocol.objects.order_by("min_age"))

    def protocol_for(self, age: int) -> Protocol:
        for p in self.protocols:
            if p.min_age <= age and (p.max_age is None or age <= p.max_age):
                return p
        return self.protocols[-1]

    # Clients ------------------------------------------------------------------------------
    def client_rows(self) -> None:
        n = self.shape.clients
        first_day = self.today - timedelta(days=self.shape.days_back)
        self.born = []
        self.created = []
        for i in range(n):
            self.born.append(date(1950 + (i * 7) % 55, 1 + (i * 5) % 12, 1 + (i * 11) % 28))
            # Registered before the first day of the data, or spread over it up to yesterday.
            offset = (i * 37) % (self.shape.days_back + 60) - 60
            self.created.append(local_datetime(first_day + timedelta(days=offset), time(7, 30)))

    def client_dicts(self):
        for i in range(self.shape.clients):
            first = FIRST_NAMES[(i * 13) % len(FIRST_NAMES)]
            last = LAST_NAMES[(i * 7919) % len(LAST_NAMES)]
            created = self.created[i]
            if i in self.first_seen:
                created = min(created, self.first_seen[i] - timedelta(days=14))
            yield {
                "id": i + 1,
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}.{last.lower()}{i}@example.com",
                "phone": f"+1{(415, 510, 650)[i % 3]}{2000000 + i:07d}",
                "date_of_birth": self.born[i],
                "notes": "Prefers morning appointments." if i % 9 == 0 else "",
                "created_at": created,
                "updated_at": created,
            }

    # Sessions -----------------------------------------------------------------------------
    def sessions_and_more(self) -> None:
        """Sessions with their plans, treatments and reminders, day by day (COPY streams)."""
        shape = self.shape
        self.first_seen: dict[int, datetime] = {}
        self.visits: dict[int, list[datetime]] = {}
        self.plans: list[dict] = []
        self.plan_of_block: dict[tuple[int, int, int], dict] = {}
        first_day = self.today - timedelta(days=shape.days_back)
        sessions, treatments, reminders = [], [], []
        now = self.now
        opens_on: dict[int, datetime] = {}

        def series_length(client: int, t: int) -> int:
            day = first_day + timedelta(days=t)
            return self.protocol_for(_age(self.born[client], day)).sessions_max

        def flush() -> None:
            self._flush_plans()
            self.copier.copy(Session, sessions)
            self.copier.copy(TreatmentRecord, treatments)
            self.copier.copy(TreatmentRecord.history.model, (self._hist(r) for r in treatments))
            self.copier.copy(Reminder, reminders)
            sessions.clear()
            treatments.clear()
            reminders.clear()

        for v in visits(shape, series_length):
            day = first_day + timedelta(days=v.day)
            if v.day not in opens_on:
                if len(sessions) >= 20_000:
                    flush()
                # No clock change falls between 08:00 and 20:00: one zone lookup a day.
                opens_on = {v.day: local_datetime(day, DAY_STARTS)}
            room_index, slot, est_index = shape.lane(v.lane)
            start = opens_on[v.day] + timedelta(minutes=SESSION_MINUTES * slot)
            end = start + timedelta(minutes=SESSION_MINUTES)
            client = v.client
            plan = self._plan(v.series, client, day) if v.series else None
            self.first_seen.setdefault(client, start)
            self.visits.setdefault(client, []).append(start)
            sid = self.next_id("session")
            est = self.ests[est_index].pk
            status = "booked"
            if end <= now:
                roll = (v.day * 131 + v.lane * 17) % 100
                status = "cancelled" if roll < 4 else "no_show" if roll < 7 else "completed"
            booked_at = plan["created_at"] if plan else start - timedelta(days=3 + (sid % 20))
            row = {
                "id": sid,
                "client_id": client + 1,
                "esthetician_id": est,
                "room_id": self.rooms[room_index].pk,
                "device_id": self.devices[room_index].pk,
                "plan_id": plan["id"] if plan else None,
                "start": start,
                "end": end,
                "kind": "series" if plan else "single",
                "status": status,
                "booked_by_id": self.desk.pk,
                "booked_at": booked_at,
            }
            if status == "completed":
                row |= {
                    "checked_in_at": start - timedelta(minutes=5),
                    "checked_in_by_id": est,
                    "completed_at": end,
                    "completed_by_id": est,
                }
                treatments.append(self._treatment(sid, est, end))
            elif status == "cancelled":
                row |= {
                    "cancelled_at": start - timedelta(days=2),
                    "cancelled_by_id": self.desk.pk,
                    "cancel_reason": "The client called to cancel.",
                }
            elif status == "no_show":
                row |= {"no_show_at": start + timedelta(minutes=15), "no_show_by_id": self.desk.pk}
            sessions.append(row)
            reminders.extend(self._session_reminders(row, plan, v.position))
        flush()

    def _plan(self, key: tuple[int, int, int], client: int, day: date) -> dict:
        plan = self.plan_of_block.get(key)
        if plan is None:
            age = _age(self.born[client], day)
            protocol = self.protocol_for(age)
            plan = {
                "id": self.next_id("plan"),
                "client_id": client + 1,
                "protocol_id": protocol.pk,
                "start_date": day,
                "age_at_start": age,
                "sessions_min": protocol.sessions_min,
                "sessions_max": protocol.sessions_max,
                "weeks_min": protocol.weeks_min,
                "weeks_max": protocol.weeks_max,
                "session_minutes": SESSION_MINUTES,
                "modality": protocol.default_modality,
                "created_by_id": self.desk.pk,
                "created_at": local_datetime(day - timedelta(days=7), time(10)),
                "_flushed": False,
            }
            self.plan_of_block[key] = plan
            self.plans.append(plan)
        return plan

    def _flush_plans(self) -> None:
        fresh = [p for p in self.plans if not p["_flushed"]]
        for p in fresh:
            p["_flushed"] = True
        self.copier.copy(Plan, fresh)

    def _treatment(self, sid: int, est: int, end: datetime) -> dict:
        return {
            "id": sid,
            "session_id": sid,
            "modality": "static" if sid % 3 else "dynamic",
            "intensity_microamps": 100 + (sid % 30) * 10,
            "frequency_hz": Decimal("0.50") if sid % 2 else Decimal("30.00"),
            "duration_minutes": SESSION_MINUTES,
            "areas": ["forehead", "cheeks", "jawline"] if sid % 2 else ["eyes", "neck"],
            "add_ons": ["led"] if sid % 5 == 0 else [],
            "notes": "Slight redness, settled in minutes." if sid % 17 == 0 else "",
            "recorded_by_id": est,
            "recorded_at": end,
        }

    def _hist(self, row: dict) -> dict:
        self.hist["treatment"] += 1
        return row | {
            "history_id": self.hist["treatment"],
            "history_date": row["recorded_at"],
            "history_type": "+",
            "history_change_reason": None,
            "history_user_id": row["recorded_by_id"],
        }

    def _reminder(self, **fields) -> dict:
        due = fields["due_at"]
        sent = due <= self.now
        return {
            "id": self.next_id("reminder"),
            "status": "sent" if sent else "scheduled",
            "sent_at": due + timedelta(seconds=40) if sent else None,
            "attempts": 1 if sent else 0,
            "created_at": fields.pop("created_at"),
            **fields,
        }

    def _session_reminders(self, row: dict, plan: dict | None, position: int):
        sid, client, start = row["id"], row["client_id"], row["start"]
        booked = row["booked_at"]
        if plan is None:
            yield self._reminder(
                kind="booking_confirmation",
                key=f"confirm:session:{sid}:0",
                client_id=client,
                session_id=sid,
                due_at=booked,
                created_at=booked,
            )
        elif position == 0:
            yield self._reminder(
                kind="booking_confirmation",
                key=f"confirm:plan:{plan['id']}:{sid}",
                client_id=client,
                plan_id=plan["id"],
                due_at=booked,
                created_at=booked,
            )
        evening = local_datetime((start - timedelta(days=1)).date(), time(18))
        before = self._reminder(
            kind="hydration_before",
            key=f"hydrate-before:{sid}",
            client_id=client,
            session_id=sid,
            due_at=max(evening, booked),
            created_at=booked,
        )
        if row["status"] == "cancelled" and before["status"] == "scheduled":
            before["status"] = "cancelled"
        yield before
        if row["status"] == "completed":
            yield self._reminder(
                kind="hydration_after",
                key=f"hydrate-after:{sid}",
                client_id=client,
                session_id=sid,
                due_at=row["end"],
                created_at=row["end"],
            )
            if plan is not None and position == plan["sessions_max"] - 1:
                for kind, weeks in (("maintenance_due", 4), ("maintenance_overdue", 6)):
                    yield self._reminder(
                        kind=kind,
                        key=f"{kind}:{sid}",
                        client_id=client,
                        session_id=sid,
                        due_at=row["end"] + timedelta(weeks=weeks),
                        created_at=row["end"],
                    )

    # Screenings and clearances --------------------------------------------------------------
    def screenings(self) -> None:
        clear = screening_outcome(dict.fromkeys(ANSWER_FIELDS, False))
        surgery_answers = dict.fromkeys(ANSWER_FIELDS, False) | {"recent_surgery": True}
        surgery = screening_outcome(surgery_answers)
        valid = timedelta(days=RESCREEN_DAYS)
        screenings, clearances = [], []
        self.last_screened: dict[int, datetime] = {}
        for i in range(self.shape.clients):
            needs_clearance = i % 25 == 0
            taken: list[datetime] = []
            visits = self.visits.get(i, [])
            if not visits:
                taken.append(self.created[i])
            for visit in visits:
                if not taken or visit - taken[-1] > valid:
                    taken.append(min(visit - timedelta(hours=1), self.now - timedelta(days=1)))
            self.last_screened[i] = taken[-1]
            for at in taken:
                answers, result = (surgery_answers, surgery) if needs_clearance else (None, clear)
                screenings.append(
                    {
                        "id": self.next_id("screening"),
                        "client_id": i + 1,
                        **(answers or dict.fromkeys(ANSWER_FIELDS, False)),
                        "outcome": result.outcome.value,
                        "flagged": [c.value for c in result.flagged],
                        "recorded_by_id": self.desk.pk,
                        "recorded_at": at,
                    }
                )
                covered = (
                    clearances
                    and clearances[-1]["client_id"] == i + 1
                    and clearances[-1]["expires_on"] > at.date() + timedelta(days=90)
                )
                if needs_clearance and not covered:
                    issued = at.date() - timedelta(days=3)
                    clearances.append(
                        {
                            "id": self.next_id("clearance"),
                            "client_id": i + 1,
                            "physician": f"Dr. {LAST_NAMES[i % len(LAST_NAMES)]}",
                            "issued_on": issued,
                            "expires_on": issued + timedelta(days=365),
                            "conditions": ["recent_surgery"],
                            "recorded_by_id": self.desk.pk,
                            "recorded_at": at,
                        }
                    )
            if len(screenings) >= 20_000:
                self.copier.copy(Screening, screenings)
                screenings = []
        self.copier.copy(Screening, screenings)
        self.copier.copy(Clearance, clearances)

    # All of it ------------------------------------------------------------------------------
    def build(self) -> Manifest:
        started = clock.perf_counter()
        big = [Session, Reminder, TreatmentRecord, TreatmentRecord.history.model]
        big += [Client, Client.history.model, Screening]
        with transaction.atomic():
            self.staff()
            self.client_rows()
            loaded = [*big, Plan, Clearance]
            checks = ForeignKeyChecksDeferred(loaded)
            checks.__enter__()
            deferred = IndexesDeferred(big)
            deferred.__enter__()
            # Sessions first: they decide when each client was first seen and screened.
            self.sessions_and_more()
            clients = list(self.client_dicts())
            self.copier.copy(Client, clients)
            self.copier.copy(
                Client.history.model,
                (
                    c
                    | {
                        "history_id": c["id"],
                        "history_date": c["created_at"],
                        "history_type": "+",
                        "history_user_id": self.desk.pk,
                    }
                    for c in clients
                ),
            )
            self.screenings()
            deferred.__exit__(None, None, None)
            checks.__exit__(None, None, None)
            self.index_seconds = deferred.seconds + checks.seconds
            slowest = [*deferred.slowest, (round(checks.seconds, 2), "foreign key checks")]
            self.index_slowest = sorted(slowest, reverse=True)[:8]
            sequences_reset(
                [
                    Client,
                    Client.history.model,
                    Screening,
                    Clearance,
                    Plan,
                    Session,
                    TreatmentRecord,
                    TreatmentRecord.history.model,
                    Reminder,
                ]
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return self.manifest(clock.perf_counter() - started)

    def manifest(self, seconds: float) -> Manifest:
        horizon = self.today + timedelta(days=self.shape.days_ahead + 1)
        recent = self.now - timedelta(days=RESCREEN_DAYS - 5)
        # Eligible now: screened in the last 75 days (and not one needing a clearance).
        bookable = [i + 1 for i, at in self.last_screened.items() if at >= recent and i % 25 != 0]
        # The client whose page the front desk opens: booked ahead, the longest history.
        ahead = [i for i, v in self.visits.items() if v[-1] > self.now] or list(self.visits)
        probe = max(ahead, key=lambda i: (len(self.visits[i]), -i))
        return Manifest(
            clients=self.shape.clients,
            sessions=self.ids["session"],
            days_back=self.shape.days_back,
            days_ahead=self.shape.days_ahead,
            password=PASSWORD,
            desk="bench-desk",
            manager="bench-manager",
            estheticians=[{"id": e.pk, "username": e.username} for e in self.ests],
            rooms=[r.pk for r in self.rooms],
            devices=[d.pk for d in self.devices],
            probe_client=probe + 1,
            search=LAST_NAMES[(7 * 7919) % len(LAST_NAMES)],
            bookable=sorted(bookable)[:5000],
            bookable_35=[
                c for c in sorted(bookable) if 36 <= _age(self.born[c - 1], self.today) <= 70
            ][:5000],
            horizon=horizon.isoformat(),
            build_seconds=round(seconds, 1),
            copy_rows=self.copier.rows,
            copy_seconds=round(self.copier.seconds, 2),
            index_seconds=round(self.index_seconds, 2),
            index_slowest=self.index_slowest,
            per_table={
                name: [rows, round(self.copier.per_table_seconds[name], 2)]
                for name, rows in self.copier.per_table.items()
            },
        )


def build(shape: Shape, *, today: date | None = None) -> Manifest:
    assert connection.vendor == "postgresql", "the bench builds on PostgreSQL (COPY)"
    return Builder(shape, today=today).build()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--manifest", type=Path, required=True)
    args = parser.parse_args()
    manifest = build(Shape(clients=args.clients))
    args.manifest.parent.mkdir(parents=True, exist_ok=True)
    args.manifest.write_text(json.dumps(asdict(manifest), indent=1))
    loading = manifest.copy_seconds + manifest.index_seconds
    print(
        f"built {settings.DATABASES['default']['NAME']}: {manifest.clients} clients, "
        f"{manifest.sessions} sessions; {manifest.copy_rows:,} rows by COPY in "
        f"{manifest.copy_seconds:.1f} s + {manifest.index_seconds:.1f} s rebuilding indexes "
        f"= {manifest.copy_rows / loading:,.0f} rows/s; {manifest.build_seconds:.1f} s in all"
    )


if __name__ == "__main__":
    main()
