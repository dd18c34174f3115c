"""Real servers for the production tests: a private redis-server, gunicorn and the
``make serve`` processes as subprocesses, and a small HTTP client (the standard
library's, so the requests are exactly what a load balancer or a proxy sends).

Every wait polls with a deadline for another process to get somewhere; nothing here
moves a clock under test."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path

import redis
from django.conf import settings as django_settings
from django.utils import timezone

from tests.sessions_app.helpers import LA, at
from tests.sessions_app.test_reminders_dispatch import free_port
from tests.sessions_app.test_reminders_worker import POLL_SECONDS

BIN = Path(sys.executable).parent
# Loaded 2-core machine: a Django process takes seconds to import and start.
START_SECONDS = 60


def until(condition, what: str, seconds: float = START_SECONDS):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {seconds} s waiting for {what}.")
        time.sleep(POLL_SECONDS)  # waits for another process; no clock under test moves


def strong_key() -> str:
    return secrets.token_urlsafe(50)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def http(
    method: str,
    url: str,
    *,
    body=None,
    form: dict | None = None,
    headers=None,
    timeout: float = 30,
    opener: urllib.request.OpenerDirector | None = None,
) -> Answer:
    """One request, ``body`` as JSON or ``form`` as a form post; redirects are answers,
    not followed. ``opener``: one that keeps cookies (``StaffBrowser``)."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with (opener or _opener).open(request, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())


class StaffBrowser:
    """A member of staff's browser without JavaScript: it keeps its cookies (session,
    CSRF) and sends the CSRF token with each form, as the page's hidden field would."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(
            _NoRedirects, urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def get(self, path: str, **kwargs) -> Answer:
        return http("GET", self.base + path, opener=self.opener, **kwargs)

    def post(self, path: str, form: dict, **kwargs) -> Answer:
        token = self.cookie("csrftoken")
        assert token, "GET a page with a form first: it sets the CSRF cookie"
        form = {**form, "csrfmiddlewaretoken": token}
        return http("POST", self.base + path, form=form, opener=self.opener, **kwargs)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def log_in(self, username: str, password: str) -> None:
        assert self.get("/accounts/login/").status == 200
        answer = self.post("/accounts/login/", {"username": username, "password": password})
        assert answer.status == 302, answer.body.decode(errors="replace")
        assert self.cookie("sessionid")


def answers(url: str) -> bool:
    try:
        return http("GET", url, timeout=5).status == 200
    except OSError:
        return False


class Service:
    """A command in a process group of its own (as systemd and honcho run one), its
    output in a log file; ``stop()`` sends SIGTERM to the group, then SIGKILL."""

    def __init__(self, args: list[str], *, env: dict, log: Path, cwd: Path | None = None):
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (our own venv's programs, fixed args)
            args,
            cwd=cwd or django_settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.process.args} exited:\n{self.log()}")
        return True

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


class PrivateRedis:
    """A redis-server of our own on a free port, to stop and pause as we like (the
    machine's Redis is never touched)."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._tmp = tmp
        self.start()

    def start(self) -> None:
        """Start (again, after ``stop()``) on the same port, with no data (nothing saved)."""
        tmp = self._tmp
        self.service = Service(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp),
            ],
            env=dict(os.environ),
            log=tmp / f"redis-{self.port}.log",
            cwd=tmp,
        )
        until(self._pings, "the private redis-server to answer", seconds=20)

    def _pings(self) -> bool:
        self.service.alive()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing ever answers."""
        os.kill(self.service.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.service.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.service.process.poll() is None:
            self.resume()
        self.service.stop()


def gunicorn_command() -> list[str]:
    """The ``web:`` line of Procfile.prod, with this venv's gunicorn."""
    return procfile_command("web")


def procfile_command(name: str) -> list[str]:
    """A line of Procfile.prod (with no ``${...}`` in it) as arguments, with this venv's
    program."""
    line = procfile_line(name)
    program, *args = line.split()
    assert program.startswith(".venv/bin/"), line
    assert "$" not in line, line
    return [str(BIN / program.removeprefix(".venv/bin/")), *args]


def procfile_line(name: str) -> str:
    procfile = Path(django_settings.BASE_DIR, "Procfile.prod").read_text()
    for line in procfile.splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"Procfile.prod has no {name!r} process")


def bookable_slots(count: int) -> list:
    """``count`` start times on one day three days ahead, 10:00 clinic time on, an hour
    apart (inside the factories' 09:00-18:00 hours, never in the past)."""
    day = (timezone.now().astimezone(LA) + timedelta(days=3)).date()
    return [at(day, f"{10 + i}:00") for i in range(count)]
