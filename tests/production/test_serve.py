"""The production run: ``make serve`` itself (its migrate, collectstatic and honcho with
Procfile.prod: gunicorn, a Celery worker, Celery beat) against the test database and
Redis, with https settings as the README gives them, behind a "proxy" (the test sends
``X-Forwarded-Proto: https`` as nginx does). It serves /health/, a static file through
whitenoise (hashed, compressed, cached for a year), a booking by token, and beat's
dispatch sends the booking's confirmation to a real SMTP server (aiosmtpd).

``-o install`` only skips the pip step: ``make test`` has just installed."""

from __future__ import annotations

import re

import pytest

from sessions_app.models import Reminder
from tests.production.conftest import STAFF_PASSWORD, app_env, booking
from tests.production.helpers import (
    Service,
    answers,
    bookable_slots,
    free_port,
    http,
    strong_key,
    until,
)

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "https://book.example-clinic.test"
PROXIED = {"X-Forwarded-Proto": "https", "Host": "book.example-clinic.test"}


@pytest.fixture
def served(staff, inbox, queue, tmp_path):
    """``make serve`` running; yields its base URL and the service."""
    port = free_port()
    env = app_env(
        tmp_path=tmp_path,
        smtp_port=inbox.port,
        queue=queue,
        SECRET_KEY=strong_key(),
        SITE_URL=SITE,
        ALLOWED_HOSTS="book.example-clinic.test,127.0.0.1",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
        STATIC_ROOT=str(tmp_path / "static"),
        WEB_PORT=str(port),
        WEB_CONCURRENCY="1",
        CELERY_WORKER_CONCURRENCY="1",
        REMINDER_DISPATCH_EVERY_SECONDS="1",
    )
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "STATIC_COLLECTED"):
        env.pop(name, None)
    service = Service(["make", "-o", "install", "serve"], env=env, log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        until(lambda: service.alive() and answers(f"{base}/health/"), "make serve's gunicorn")
        yield base, service
    finally:
        service.stop()


def test_make_serve_serves_health_static_files_and_a_booking_and_sends_its_email(
    served, clinic_day, inbox, tmp_path
):
    base, service = served

    health = http("GET", f"{base}/health/")
    assert health.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert "no-store" in health.headers["Cache-Control"]

    # Plain HTTP to a page is sent to https; through the proxy it is served, with HSTS.
    plain = http("GET", f"{base}/accounts/login/", headers={"Host": PROXIED["Host"]})
    assert plain.status == 301
    assert plain.headers["Location"] == f"{SITE}/accounts/login/"
    login = http("GET", f"{base}/accounts/login/", headers=PROXIED)
    assert login.status == 200
    assert login.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )

    # The page names the hashed copy collectstatic wrote; whitenoise serves it gzipped.
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', login.body.decode())
    assert stylesheet, "the login page links no hashed stylesheet"
    css = http("GET", base + stylesheet.group(1), headers={**PROXIED, "Accept-Encoding": "gzip"})
    assert css.status == 200
    assert css.headers["Content-Encoding"] == "gzip"
    assert "immutable" in css.headers["Cache-Control"]
    assert (tmp_path / "static" / "staticfiles.json").exists()

    # A booking by token, through the proxy.
    token = http(
        "POST",
        f"{base}/api/auth/token/",
        headers=PROXIED,
        body={"username": "desk", "password": STAFF_PASSWORD},
    )
    assert token.status == 200, token.body
    client = clinic_day["clients"][0]
    booked = http(
        "POST",
        f"{base}/api/sessions/",
        headers={**PROXIED, "Authorization": f"Token {token.json()['token']}"},
        body=booking(clinic_day, client, bookable_slots(1)[0]),
    )
    assert booked.status == 201, booked.body
    confirmation = Reminder.objects.get(
        session_id=booked.json()["id"], kind=Reminder.Kind.BOOKING_CONFIRMATION
    )

    # Beat (every second here) queues a dispatch run; the worker sends it.
    until(lambda: inbox.messages, "the confirmation to reach the SMTP server")
    until(
        lambda: Reminder.objects.get(pk=confirmation.pk).status == Reminder.Status.SENT,
        "the confirmation to be marked sent",
    )
    assert inbox.reminder_ids() == {confirmation.pk: 1}
    assert client.email in inbox.messages[0]["To"]
    # The links in it point at the public https address.
    assert f"{SITE}/e/" in inbox.messages[0].get_body(("plain",)).get_content()

    # honcho ran the three processes of Procfile.prod.
    log = service.log()
    for process in ("web.1", "worker.1", "beat.1"):
        assert re.search(rf"{re.escape(process)}\s+\| ", log), log
