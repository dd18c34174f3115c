"""``make bench``: build the databases, serve the clinic and django-appointment with
gunicorn, load every measured page and endpoint with wrk against a floor served by the same
process, and write the table to docs/benchmarks.md (method: that file, and below).

    .venv/bin/python bench/run.py                    # what make bench runs
    .venv/bin/python bench/run.py --clients 2000 --small-clients 1000 --seconds 2 --no-docs

Steps (each timed and reported):

1. Databases, built fresh each run (``--reuse`` keeps ones built today with the same
   size and not measured yet): ``clinic_bench_big`` (``--clients``, 100k) and
   ``clinic_bench_small`` (1k), each created, migrated with ``bench.settings`` and filled
   by ``bench.data`` (COPY); the peer's ``appointment_bench`` by ``bench.peer`` in its
   own virtualenv, the same volume.
2. Three gunicorn servers, each with the app's ``gunicorn.conf.py``: 2 sync workers, one
   thread, keep-alive, no access log; DEBUG off, a strong random SECRET_KEY, persistent
   database connections (``CONN_MAX_AGE`` 60 s with health checks): ours on each database
   under ``bench.settings``, the peer under its generated project.
3. Logins over HTTP as staff would (the login form for pages, ``/api/auth/token/`` for the
   API; the admin's login for the peer), then query counts (one request each with
   ``X-Bench-Queries: 1``, counted by ``bench.queries``, after a warm-up).
4. ``--rounds`` rounds; in each, every case runs for ``--seconds`` right after a
   ``--floor-seconds`` round of the one-primary-key-SELECT floor on the same server with the
   same headers; wrk keeps ``--connections`` (16) connections busy. Bookings send a new free
   slot with every request. Ratios are per round (case over its own floor), median of rounds.
5. The 16-way race for one slot on both, counted in each database afterwards.
6. The table (printed), docs/benchmarks.md's "latest run" section, docs/bench-latency.png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time as clock
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, peer, report  # noqa: E402 - after the path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
BIN = ROOT / ".venv" / "bin"
PG = {"host": os.environ.get("PG_HOST", "127.0.0.1"), "user": "postgres", "port": "5432"}
DB_BIG, DB_SMALL, DB_PEER = "clinic_bench_big", "clinic_bench_small", "appointment_bench"
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
REDIS_DB = {DB_BIG: 12, DB_SMALL: 13}
SLOTS_A_DAY = 16  # 45-minute starts from 08:00 to 19:15
SESSION_MINUTES = 45


CLINIC_ZONE = ZoneInfo(os.environ.get("CLINIC_TIME_ZONE", "America/Los_Angeles"))


def today() -> date:
    """The clinic's day (the data is built around it)."""
    return datetime.now(CLINIC_ZONE).date()


def log(message: str) -> None:
    print(f"[bench {datetime.now(CLINIC_ZONE):%H:%M:%S}] {message}", flush=True)


def db_url(name: str) -> str:
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


def psql(database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-h", PG["host"], "-U", PG["user"], "-d", database, "-tAc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def fresh_database(name: str) -> None:
    subprocess.run(
        ["dropdb", "-h", PG["host"], "-U", PG["user"], "--if-exists", "--force", name],
        check=True,
    )
    subprocess.run(["createdb", "-h", PG["host"], "-U", PG["user"], name], check=True)


def database_exists(name: str) -> bool:
    sql = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 - our own names
    return psql("postgres", sql) == "1"


def clinic_env(database: str, secret_key: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url(database),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": secret_key,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    # Each clinic server has a Redis database of its own, as a deployment would: the page
    # cache and its data version (clinic.dataversion) live there, and are emptied before
    # the servers start so no run sees another's entries. Bookings' tasks wait there for
    # a worker the bench does not run.
    env["REDIS_URL"] = f"{REDIS_BASE}/{REDIS_DB[database]}"
    return env


def redis_flush(database: str) -> None:
    host, port = REDIS_BASE.removeprefix("redis://").split(":")
    subprocess.run(
        ["redis-cli", "-h", host, "-p", port, "-n", str(REDIS_DB[database]), "FLUSHDB"],
        check=True,
        capture_output=True,
    )


# 1. Databases -------------------------------------------------------------------------------
def reusable(manifest: dict, clients: int) -> bool:
    """Built today with this many clients and not measured yet: a measured database holds
    the bookings and the race of its run, which the next run's free slots and counts
    assume are not there."""
    return (
        manifest.get("clients") == clients
        and manifest.get("built_on") == str(today())
        and not manifest.get("measured")
    )


def mark_measured() -> None:
    for name in (DB_BIG, DB_SMALL, DB_PEER):
        path = VAR / f"{name}.json"
        if path.exists():
            manifest = json.loads(path.read_text())
            path.write_text(json.dumps({**manifest, "measured": True}, indent=1))


def build_clinic(database: str, clients: int, secret_key: str, reuse: bool) -> dict:
    manifest_path = VAR / f"{database}.json"
    env = clinic_env(database, secret_key)
    if reuse and manifest_path.exists() and database_exists(database):
        manifest = json.loads(manifest_path.read_text())
        if reusable(manifest, clients):
            log(f"{database}: reusing today's build ({clients:,} clients)")
            subprocess.run([BIN / "python", "manage.py", "migrate", "-v0"], check=True, env=env)
            manifest["reused"] = True
            return manifest
    log(f"{database}: creating, migrating and loading {clients:,} clients")
    fresh_database(database)
    started = clock.perf_counter()
    subprocess.run([BIN / "python", "manage.py", "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    migrated = clock.perf_counter() - started
    subprocess.run(
        [
            BIN / "python",
            "-m",
            "bench.data",
            "--clients",
            str(clients),
            "--manifest",
            str(manifest_path),
        ],
        check=True,
        env=env,
        cwd=ROOT,
    )
    manifest = json.loads(manifest_path.read_text())
    manifest["built_on"] = str(today())
    manifest["migrate_seconds"] = round(migrated, 1)
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest


def build_peer(clients: int, secret_key: str, reuse: bool) -> dict:
    manifest_path = VAR / f"{DB_PEER}.json"
    peer.generate()
    if reuse and manifest_path.exists() and database_exists(DB_PEER):
        manifest = json.loads(manifest_path.read_text())
        if reusable(manifest, clients):
            log(f"{DB_PEER}: reusing today's build")
            manifest["reused"] = True
            return manifest
    log(f"{DB_PEER}: creating, migrating and loading {clients:,} clients (django-appointment)")
    fresh_database(DB_PEER)
    started = clock.perf_counter()
    peer.migrate(DB_PEER, secret_key)
    migrated = clock.perf_counter() - started
    subprocess.run(
        [
            str(peer.python()),
            str(ROOT / "bench" / "peer.py"),
            "load",
            "--clients",
            str(clients),
            "--manifest",
            str(manifest_path),
        ],
        check=True,
        env=peer.env(DB_PEER, secret_key),
        cwd=peer.PROJECT,
    )
    manifest = json.loads(manifest_path.read_text())
    manifest["built_on"] = str(today())
    manifest["migrate_seconds"] = round(migrated, 1)
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest


# 2. Servers ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn, started in a process group of its own and stopped by that group's id."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **env,
            "WEB_BIND": "127.0.0.1",
            "WEB_PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "1",
            "WEB_TIMEOUT": "120",
            "WEB_ACCESS_LOG": "",
            "LOG_LEVEL": "WARNING",
        }
        (VAR / "logs").mkdir(parents=True, exist_ok=True)
        self.log_path = VAR / "logs" / f"{name}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, seconds: float = 90) -> None:
        deadline = clock.monotonic() + seconds
        while clock.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                status, _, _ = load.request(self.base, "/bench/floor/json/", timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            clock.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer in {seconds} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def serve_clinic(name: str, database: str, secret_key: str) -> Server:
    redis_flush(database)
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "clinic.wsgi"]
    return Server(name, command, clinic_env(database, secret_key), ROOT)


def serve_peer(secret_key: str) -> Server:
    gunicorn = str(peer.VENV / "bin" / "gunicorn")
    command = [gunicorn, "-c", str(ROOT / "gunicorn.conf.py"), "peerproject.wsgi"]
    return Server("peer", command, peer.env(DB_PEER, secret_key), peer.PROJECT)


# 3. Logins ----------------------------------------------------------------------------------
def _cookies(answer) -> dict[str, str]:
    jar = SimpleCookie()
    for header in answer.msg.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def form_login(base: str, login_path: str, username: str, password: str) -> dict[str, str]:
    """Log in through a Django login form; the cookies it leaves (sessionid, csrftoken)."""
    import http.client

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("GET", login_path)
    answer = conn.getresponse()
    page = answer.read().decode()
    cookies = _cookies(answer)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    )
    conn.request(
        "POST",
        login_path,
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    answer = conn.getresponse()
    answer.read()
    cookies |= _cookies(answer)
    conn.close()
    if answer.status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"log-in as {username} at {base}{login_path} failed ({answer.status})")
    return cookies


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def api_token(base: str, username: str, password: str) -> str:
    status, _, body = load.request(
        base,
        "/api/auth/token/",
        method="POST",
        body=json.dumps({"username": username, "password": password}),
        headers={"Content-Type": "application/json"},
    )
    if status != 200:
        raise RuntimeError(f"token for {username} at {base}: {status} {body[:200]!r}")
    return json.loads(body)["token"]


# Booking slots ------------------------------------------------------------------------------
class Slots:
    """Free slots past the data, never handed out twice. Days from ``first`` on: single
    sessions first, then the race's day, then series windows 8 weeks apart (a plan's window
    is at most 7)."""

    def __init__(self, first: date, rooms: int, single_days: int):
        self.first = first
        self.rooms = rooms
        self.per_day = rooms * SLOTS_A_DAY
        self.single_days = single_days
        self.next_single = 0
        self.next_series = 0
        self.race_day = first + timedelta(days=single_days + 1)
        monday = first + timedelta(days=single_days + 7)
        self.series_from = monday + timedelta(days=-monday.weekday() % 7)

    def single(self) -> tuple[date, int, int, time]:
        """(day, room index, esthetician index, start)."""
        k = self.next_single
        self.next_single += 1
        if k >= self.single_days * self.per_day:
            raise RuntimeError("bench: out of single-session slots; raise single_days")
        day = self.first + timedelta(days=k // self.per_day)
        q = k % self.per_day
        room, slot = q % self.rooms, q // self.rooms
        start = datetime.combine(day, time(8)) + timedelta(minutes=SESSION_MINUTES * slot)
        return day, room, room + self.rooms * (slot % 2), start.time()

    def series(self, per_window: int) -> tuple[date, int, int, time, list[int]]:
        """(plan start, room index, esthetician index, time, weekdays) of the next series."""
        k = self.next_series
        self.next_series += 1
        window, lane = divmod(k, per_window)
        start_day = self.series_from + timedelta(weeks=8 * window)
        weekdays = [0, 2, 4] if lane < self.per_day else [1, 3, 5]
        q = lane % self.per_day
        room, slot = q % self.rooms, q // self.rooms
        at = (datetime.combine(start_day, time(8)) + timedelta(minutes=45 * slot)).time()
        return start_day, room, room + self.rooms * (slot % 2), at, weekdays


# 4. Cases -----------------------------------------------------------------------------------
class Case:
    def __init__(self, key, server, path, headers, *, method="GET", floor_pk=1, bodies=None):
        self.key = key
        self.server = server
        self.path = path
        self.headers = headers
        self.method = method
        self.floor_path = f"/bench/floor/pk/{floor_pk}/"
        self.bodies = bodies  # None, or a callable(n) -> (bodies, paths)


def clinic_cases(tag: str, server: Server, manifest: dict, slots: Slots | None) -> list[Case]:
    password = manifest["password"]
    desk = form_login(server.base, "/accounts/login/", manifest["desk"], password)
    est = manifest["estheticians"][0]
    est_cookies = form_login(server.base, "/accounts/login/", est["username"], password)
    token = api_token(server.base, manifest["desk"], password)
    page = {"Cookie": cookie_header(desk)}
    api = {"Authorization": f"Token {token}", "Accept": "application/json"}
    probe = manifest["probe_client"]
    day = today() + timedelta(days=1)
    cases = [
        Case(f"elig.{tag}", server, f"/api/clients/{probe}/eligibility/", api, floor_pk=probe),
        Case(f"list.{tag}", server, "/clients/", page, floor_pk=probe),
        Case(f"search.{tag}", server, f"/clients/?q={manifest['search']}", page, floor_pk=probe),
        Case(
            f"week.{tag}",
            server,
            f"/calendar/?esthetician={est['id']}",
            {"Cookie": cookie_header(est_cookies)},
            floor_pk=probe,
        ),
        Case(f"day.{tag}", server, "/schedule/", page, floor_pk=probe),
        Case(f"client.{tag}", server, f"/clients/{probe}/", page, floor_pk=probe),
        Case(
            f"avail.{tag}",
            server,
            f"/api/availability/?date_from={day}&date_to={day}&minutes=45&esthetician={est['id']}",
            api,
            floor_pk=probe,
        ),
    ]
    if slots is None:
        return cases
    post = {**api, "Content-Type": "application/json"}
    rooms, devices = manifest["rooms"], manifest["devices"]
    ests = [e["id"] for e in manifest["estheticians"]]
    bookable = manifest["bookable"]
    over_35 = manifest["bookable_35"]
    per_window = min(2 * slots.per_day, len(over_35))

    def singles(n: int) -> tuple[list[str], list[str]]:
        bodies = []
        for _ in range(n):
            k = slots.next_single
            day_, room, est_i, at = slots.single()
            bodies.append(
                json.dumps(
                    {
                        "client": bookable[k % len(bookable)],
                        "esthetician": ests[est_i],
                        "room": rooms[room],
                        "device": devices[room],
                        "start": f"{day_}T{at:%H:%M}",
                    }
                )
            )
        return bodies, []

    def series(n: int) -> tuple[list[str], list[str]]:
        """Plans made first (POST /api/plans/, four at a time), then one booking each."""
        wanted = []
        for _ in range(n):
            k = slots.next_series
            start_day, room, est_i, at, weekdays = slots.series(per_window)
            wanted.append((over_35[k % len(over_35)], start_day, room, est_i, at, weekdays))

        def make_plan(item) -> int:
            client, start_day = item[0], item[1]
            status, _, body = load.request(
                server.base,
                "/api/plans/",
                method="POST",
                body=json.dumps({"client": client, "start_date": str(start_day)}),
                headers=post,
            )
            if status != 201:
                raise RuntimeError(f"plan for client {client}: {status} {body[:300]!r}")
            return json.loads(body)["id"]

        with ThreadPoolExecutor(4) as pool:
            plan_ids = list(pool.map(make_plan, wanted))
        bodies, paths = [], []
        for plan_id, (_, _, room, est_i, at, weekdays) in zip(plan_ids, wanted, strict=True):
            paths.append(f"/api/plans/{plan_id}/book/")
            bodies.append(
                json.dumps(
                    {
                        "esthetician": ests[est_i],
                        "room": rooms[room],
                        "device": devices[room],
                        "time": f"{at:%H:%M}",
                        "weekdays": weekdays,
                        "sessions": 15,
                    }
                )
            )
        return bodies, paths

    cases += [
        Case(
            f"single.{tag}",
            server,
            "/api/sessions/",
            post,
            method="POST",
            floor_pk=probe,
            bodies=singles,
        ),
        Case(
            f"series.{tag}",
            server,
            "/api/plans/",
            post,
            method="POST",
            floor_pk=probe,
            bodies=series,
        ),
    ]
    return cases


def peer_cases(server: Server, manifest: dict) -> list[Case]:
    cookies = form_login(server.base, "/admin/login/", manifest["admin"], manifest["password"])
    ajax = {"Cookie": cookie_header(cookies), "X-Requested-With": "XMLHttpRequest"}
    post = {**ajax, "X-CSRFToken": cookies["csrftoken"], "Content-Type": "application/json"}
    staff = [s["id"] for s in manifest["staff"]]
    day = today() + timedelta(days=1)
    probe = manifest["first_client"]
    horizon = date.fromisoformat(manifest["horizon"])
    per_day = len(staff) * SLOTS_A_DAY
    counter = [0]

    def bookings(n: int) -> tuple[list[str], list[str]]:
        bodies = []
        for _ in range(n):
            k = counter[0]
            counter[0] += 1
            q = k % per_day
            member, slot = q % len(staff), q // len(staff)
            at = datetime.combine(today(), time(8)) + timedelta(minutes=45 * slot)
            client = k % manifest["clients"]
            bodies.append(
                json.dumps(
                    {
                        "isCreating": True,
                        "service_id": manifest["service"],
                        "staff_member": staff[member],
                        "date": str(horizon + timedelta(days=k // per_day)),
                        "start_time": f"{at:%H:%M}",
                        "client_email": f"client{client}@example.com",
                        "client_name": f"First{client % 50} Last{client:06d}",
                        "client_phone": "",
                        "client_address": "",
                        "want_reminder": "false",
                        "additional_info": "",
                    }
                )
            )
        return bodies, []

    return [
        Case(
            "peer.slots",
            server,
            f"/appointment/ajax/available_slots/?selected_date={day}&staff_member={staff[0]}"
            f"&service_id={manifest['service']}",
            ajax,
            floor_pk=probe,
        ),
        Case(
            "peer.book",
            server,
            "/appointment/ajax/update_appt_min_info/",
            post,
            method="POST",
            floor_pk=probe,
            bodies=bookings,
        ),
    ]


def count_queries(case: Case) -> int | None:
    """Four requests with X-Bench-Queries (they warm both workers up too); the fewest."""
    counts = []
    for _ in range(4):
        path, body = case.path, None
        if case.bodies is not None:
            bodies, paths = case.bodies(1)
            body, path = bodies[0], (paths[0] if paths else case.path)
        status, headers, answer = load.request(
            case.server.base,
            path,
            method=case.method,
            body=body,
            headers={**case.headers, "X-Bench-Queries": "1"},
        )
        if status >= 400:
            raise RuntimeError(f"{case.key}: {status} {answer[:400]!r}")
        if "x-bench-queries" in headers:
            counts.append(int(headers["x-bench-queries"]))
    return min(counts) if counts else None


def measure(cases: list[Case], args, servers: dict[str, Server]) -> list[report.Round]:
    rounds: list[report.Round] = []
    # Enough free slots for the fastest booking we could see (3x margin).
    pool = {"single": 2500, "series": 200, "peer": 2500}
    for number in range(1, args.rounds + 1):
        log(f"round {number} of {args.rounds}")
        for tag, server in servers.items():
            floor = load.run_round(
                server.base, "/bench/floor/json/", seconds=args.floor_seconds, headers={}
            )
            rounds.append(
                report.Round(
                    f"json.{tag}",
                    number,
                    floor.rps,
                    floor.p50_ms,
                    floor.p99_ms,
                    floor.requests,
                    floor.bad,
                    floor.rps,
                )
            )
        for case in cases:
            floor = load.run_round(
                case.server.base,
                case.floor_path,
                seconds=args.floor_seconds,
                headers=case.headers,
                connections=args.connections,
            )
            load.drain(case.server.base, "/bench/floor/json/", {})
            bodies, paths = None, None
            if case.bodies is not None:
                kind = case.key.split(".")[0]
                bodies, paths = case.bodies(pool.get(kind, pool["peer"]))
            result = load.run_round(
                case.server.base,
                case.path,
                seconds=args.seconds,
                headers=case.headers,
                method=case.method,
                bodies=bodies,
                paths=paths,
                connections=args.connections,
            )
            load.drain(case.server.base, "/bench/floor/json/", {})
            tag = case.key.split(".")[1]
            rounds.append(
                report.Round(
                    f"floor.{tag}",
                    number,
                    floor.rps,
                    floor.p50_ms,
                    floor.p99_ms,
                    floor.requests,
                    floor.bad,
                    floor.rps,
                )
            )
            rounds.append(
                report.Round(
                    case.key,
                    number,
                    result.rps,
                    result.p50_ms,
                    result.p99_ms,
                    result.requests,
                    result.bad,
                    floor.rps,
                )
            )
            note = f" ({result.bad} refused, last {result.last_bad})" if result.bad else ""
            log(
                f"  {case.key:12} {result.rps:8.1f} req/s  p50 {result.p50_ms:8.1f} ms  "
                f"p99 {result.p99_ms:8.1f} ms  floor {floor.rps:7.1f} req/s{note}"
            )
    return rounds


# 5. The race --------------------------------------------------------------------------------
RACERS = 16


def race_ours(server: Server, manifest: dict, slots: Slots) -> dict:
    token = api_token(server.base, manifest["desk"], manifest["password"])
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    est = manifest["estheticians"][0]["id"]
    day = slots.race_day
    bodies = [
        json.dumps(
            {
                "client": manifest["bookable"][-1 - i],
                "esthetician": est,
                "room": manifest["rooms"][0],
                "device": manifest["devices"][0],
                "start": f"{day}T10:00",
            }
        )
        for i in range(RACERS)
    ]
    answers = load.race(server.base, "/api/sessions/", bodies, headers)
    status, _, body = load.request(
        server.base, f"/api/sessions/?esthetician={est}&date={day}", headers=headers
    )
    stored = json.loads(body)["count"] if status == 200 else None
    return {
        "sent": RACERS,
        "accepted": sum(1 for s, _ in answers if s == 201),
        "statuses": sorted(s for s, _ in answers),
        "stored": stored,
    }


def race_peer(server: Server, manifest: dict, cookies_headers: dict) -> dict:
    horizon = date.fromisoformat(manifest["horizon"])
    day = horizon + timedelta(days=400)
    staff = manifest["staff"][0]["id"]
    bodies = [
        json.dumps(
            {
                "isCreating": True,
                "service_id": manifest["service"],
                "staff_member": staff,
                "date": str(day),
                "start_time": "10:00",
                "client_email": f"client{i}@example.com",
                "client_name": f"First{i} Racer",
                "want_reminder": "false",
            }
        )
        for i in range(RACERS)
    ]
    answers = load.race(
        server.base, "/appointment/ajax/update_appt_min_info/", bodies, cookies_headers
    )
    stored = int(
        psql(
            DB_PEER,
            "SELECT COUNT(*) FROM appointment_appointment a JOIN "  # noqa: S608 - our values
            "appointment_appointmentrequest "
            f"r ON r.id = a.appointment_request_id WHERE r.date = '{day}' "
            f"AND r.start_time = '10:00' AND r.staff_member_id = {int(staff)}",
        )
    )
    accepted = 0
    for status, body in answers:
        with contextlib.suppress(ValueError):
            accepted += status == 200 and json.loads(body).get("success") is True
    return {
        "sent": RACERS,
        "accepted": accepted,
        "statuses": sorted(s for s, _ in answers),
        "stored": stored,
    }


# 6. Report ----------------------------------------------------------------------------------
def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    wrk_version = subprocess.run([load.wrk(), "-v"], capture_output=True, text=True).stdout
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": psql("postgres", "SHOW server_version"),
        "wrk": wrk_version.split("[")[0].strip() or "wrk",
    }


def section(res: report.Results, info: dict) -> str:
    m = info["machine"]
    builds = info["builds"]
    t = info["timings"]
    lines = [
        f"## make bench, latest run ({info['date']}, issue 14)",
        "",
        f"`make bench` (bench/run.py; {info['args']}). Written by the run itself; the numbers "
        "are this machine's on that day, whatever they are. Goals are the issue's; "
        '"met" is for this run.',
        "",
        f"**Machine**: {m['cores']} cores ({m['cpu']}), {m['memory']}, {m['os']}; PostgreSQL "
        f"{m['postgresql']} on 127.0.0.1; Python {m['python']}; {m['wrk']}. Load average "
        f"{info['load_before']} before measuring and {info['load_after']} after: the machine "
        "is shared with other engineers' test runs, so absolute numbers move from run to run; "
        "the ratios are from the same run, each round against its own floor.",
        "",
        "**Data** (bulk inserts by COPY, bench/data.py and bench/peer.py):",
        "",
    ]
    for name, b in builds.items():
        rate = b["copy_rows"] / (b["copy_seconds"] + b["index_seconds"])
        extra = " (reused from an earlier run today)" if b.get("reused") else ""
        lines.append(
            f"- `{name}`: {b['clients']:,} clients, {b.get('sessions', b.get('appointments')):,} "
            f"{'sessions' if 'sessions' in b else 'appointments'}; {b['copy_rows']:,} rows in "
            f"{b['copy_seconds']:.1f} s of COPY + {b['index_seconds']:.1f} s rebuilding indexes "
            f"and checking foreign keys = **{rate:,.0f} rows/s**{extra}"
        )
    lines += [
        "",
        "**Method**: each server is gunicorn with the app's `gunicorn.conf.py` (2 sync "
        "workers, keep-alive, no access log), DEBUG off, a random 86-character SECRET_KEY, "
        "persistent connections (`CONN_MAX_AGE` 60 s, health checks). Ours has a Redis "
        "database of its own per server (the page cache and its data version, emptied "
        "before the servers start: the first request of each page computes it). Ours runs under "
        "`bench.settings` (the app's settings plus the floor views and the query counter; "
        "API throttles raised out of the way), the peer (django-appointment 3.12.0, its own "
        "virtualenv, Django 5.2) under a generated minimal project with the same floor views. "
        f"wrk keeps {info['connections']} connections busy; each case runs "
        f"{info['seconds']} s right after {info['floor_seconds']} s of the one-primary-key "
        "SELECT floor on the same server with the same headers (cookie or token), "
        f'{info["rounds"]} rounds interleaved. "× floor" is the case\'s requests per second '
        "over its floor's, per round, median of rounds; P2 divides the 100k ratio by the 1k "
        "one; P6 divides our requests per second by the peer's in the same round. Every "
        "booking request books a different free slot (POST /api/sessions/ as the front desk; "
        "a series: POST /api/plans/{id}/book/ of a plan made just before; the peer: its "
        "staff's create-appointment call). Queries per request: one request each with "
        "`X-Bench-Queries: 1` after a warm-up (bench/queries.py). Pages are logged in through "
        "the login form (front desk; the esthetician for her week), the API with a token. "
        "The race sends 16 bookings of one slot, each on its own connection, at once, then "
        "counts what each database holds.",
        "",
        report.table(res),
        "",
        "Every GET endpoint at both sizes (the plot's data):",
        "",
        report.detail(res),
        "",
        "![p50 latency against data size](bench-latency.png)",
        "",
        f"Race detail: ours {info['races']['ours']}; django-appointment {info['races']['peer']}.",
        "",
        f"**Time**: {t['total']:.0f} s in all for bench/run.py ({t['build']:.0f} s building the "
        f"databases, {t['peer_venv']:.0f} s for the peer's virtualenv, {t['serve']:.0f} s "
        f"starting servers and logging in, {t['measure']:.0f} s measuring).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="make bench (docs/benchmarks.md)")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--small-clients", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--floor-seconds", type=float, default=2)
    parser.add_argument("--connections", type=int, default=load.CONNECTIONS)
    parser.add_argument("--reuse", action="store_true", help="keep databases built today")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    parser.add_argument(
        "--only",
        default="",
        help="while working on one measure: the cases to load, comma-separated key "
        "prefixes (elig, avail.big, peer.slots; see the per-round lines); prints those "
        "lines only, no table, no race, no docs",
    )
    args = parser.parse_args()
    started = clock.perf_counter()
    VAR.mkdir(parents=True, exist_ok=True)
    secret_key = secrets.token_urlsafe(64)
    timings: dict[str, float] = {}

    # The peer's virtualenv installs (network and disk) while our databases build (CPU).
    venv_started = clock.perf_counter()
    venv_error: list[BaseException] = []

    def venv() -> None:
        try:
            peer.venv()
        except BaseException as error:  # reported below
            venv_error.append(error)
        timings["peer_venv"] = clock.perf_counter() - venv_started

    venv_thread = threading.Thread(target=venv)
    venv_thread.start()
    t = clock.perf_counter()
    big = build_clinic(DB_BIG, args.clients, secret_key, args.reuse)
    small = build_clinic(DB_SMALL, args.small_clients, secret_key, args.reuse)
    venv_thread.join()
    if venv_error:
        raise venv_error[0]
    theirs = build_peer(args.clients, secret_key, args.reuse)
    timings["build"] = clock.perf_counter() - t

    t = clock.perf_counter()
    servers = {
        "big": serve_clinic("clinic-big", DB_BIG, secret_key),
        "small": serve_clinic("clinic-small", DB_SMALL, secret_key),
        "peer": serve_peer(secret_key),
    }
    try:
        for server in servers.values():
            server.wait_ready()
        horizon = date.fromisoformat(big["horizon"])
        # Days for single bookings: every round's pool plus the query counts, 160 a day.
        slots = Slots(horizon, len(big["rooms"]), single_days=int(args.rounds * 2600 / 160) + 2)
        cases = clinic_cases("big", servers["big"], big, slots)
        cases += clinic_cases("small", servers["small"], small, None)
        cases += peer_cases(servers["peer"], theirs)
        if args.only:
            # Reading cases leave the databases as they were (reusable with --reuse).
            picked = [c for c in cases if c.key.startswith(tuple(args.only.split(",")))]
            if any(c.bodies is not None for c in picked):
                mark_measured()
            for case in picked:
                log(f"{case.key}: {count_queries(case)} queries")
            measure(picked, args, servers)
            return
        queries = {}
        for case in cases:
            queries[case.key] = count_queries(case)
        for tag, server in servers.items():
            floor = Case(f"floor.{tag}", server, "/bench/floor/pk/1/", cases[0].headers)
            if tag == "peer":
                floor.path = f"/bench/floor/pk/{theirs['first_client']}/"
            queries[f"floor.{tag}"] = count_queries(floor)
            queries[f"json.{tag}"] = count_queries(
                Case(f"json.{tag}", server, "/bench/floor/json/", {})
            )
        log("queries per request: " + ", ".join(f"{k} {v}" for k, v in queries.items()))
        timings["serve"] = clock.perf_counter() - t

        t = clock.perf_counter()
        load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
        mark_measured()
        rounds = measure(cases, args, servers)
        peer_post = next(c for c in cases if c.key == "peer.book").headers
        races = {
            "ours": race_ours(servers["big"], big, slots),
            "peer": race_peer(servers["peer"], theirs, peer_post),
        }
        log(f"race: ours {races['ours']}, peer {races['peer']}")
        load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
        timings["measure"] = clock.perf_counter() - t
    finally:
        for server in servers.values():
            server.stop()

    timings["total"] = clock.perf_counter() - started
    timings.setdefault("peer_venv", 0.0)
    res = report.Results(rounds, queries, races, {"big": args.clients, "small": args.small_clients})
    print()
    print(report.table(res))
    print()
    print(report.detail(res))
    info = {
        "date": str(today()),
        "args": " ".join(sys.argv[1:]) or "defaults",
        "machine": machine(),
        "builds": {DB_BIG: big, DB_SMALL: small, DB_PEER: theirs},
        "timings": timings,
        "load_before": load_before,
        "load_after": load_after,
        "races": races,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "floor_seconds": args.floor_seconds,
        "connections": args.connections,
    }
    (VAR / "results.json").write_text(
        json.dumps(
            {**info, "rounds_measured": [r.__dict__ for r in rounds], "queries": queries},
            indent=1,
            default=str,
        )
    )
    for name, b in info["builds"].items():
        rate = b["copy_rows"] / (b["copy_seconds"] + b["index_seconds"])
        log(f"{name}: {b['copy_rows']:,} rows, {rate:,.0f} rows/s (COPY and index rebuild)")
    log(f"total {timings['total']:.0f} s")
    if not args.no_docs:
        docs = ROOT / "docs"
        report.plot(res, docs / "bench-latency.png")
        report.docs_write(docs / "benchmarks.md", section(res, info))
        log("wrote docs/benchmarks.md (latest run) and docs/bench-latency.png")


if __name__ == "__main__":
    main()
