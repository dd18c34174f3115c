"""``/health/`` for a load balancer: 200 when the database and the broker answer, 503
naming the one that does not, within a bounded time; no login, nothing secret, never
cached. The broker is a private redis-server that the tests stop and pause; the
database a real PostgreSQL connection pointed at a port where nothing listens."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from tests.production.helpers import PrivateRedis
from tests.sessions_app.test_reminders_dispatch import free_port

pytestmark = pytest.mark.django_db

HEALTHY = {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
BROKER_DOWN = {"status": "unavailable", "checks": {"database": "ok", "broker": "unreachable"}}


@pytest.fixture
def private_redis(tmp_path, settings):
    server = PrivateRedis(tmp_path)
    settings.CELERY_BROKER_URL = server.url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    yield server
    server.stop()


def test_health_is_200_when_database_and_broker_answer(client, private_redis):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == HEALTHY
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]


def test_health_is_503_naming_the_broker_once_redis_is_stopped(client, private_redis):
    assert client.get("/health/").status_code == 200
    private_redis.stop()

    started = time.monotonic()
    response = client.get("/health/")

    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json() == BROKER_DOWN
    assert "no-store" in response["Cache-Control"]
    # Nothing about where the broker is, or why it failed.
    assert str(private_redis.port) not in response.content.decode()


def test_health_does_not_hang_on_a_redis_that_never_answers(client, private_redis, settings):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    private_redis.pause()  # still accepts the connection, never replies

    started = time.monotonic()
    response = client.get("/health/")
    took = time.monotonic() - started

    private_redis.resume()
    assert response.status_code == 503
    assert response.json() == BROKER_DOWN
    assert took < 3, f"the health check waited {took:.1f} s"


@pytest.mark.django_db(transaction=True)
def test_health_is_503_naming_the_database_when_it_cannot_be_reached(client, private_redis):
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = free_port()  # nothing listens there
    try:
        response = client.get("/health/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unreachable", "broker": "ok"},
    }
    assert client.get("/health/").status_code == 200  # and back once it answers


def test_health_checks_the_filesystem_broker_folder(client, settings, tmp_path):
    folder = tmp_path / "broker"
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
    }
    missing = client.get("/health/")
    folder.mkdir()
    present = client.get("/health/")

    assert (missing.status_code, missing.json()) == (503, BROKER_DOWN)
    assert (present.status_code, present.json()) == (200, HEALTHY)


def test_health_needs_no_login_and_is_not_redirected_to_https(client, private_redis, settings):
    """A load balancer probes over plain HTTP inside the network, without a session."""
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/health/").status_code == 200
    login = client.get("/accounts/login/")
    assert login.status_code == 301
    assert login["Location"].startswith("https://")


def test_health_only_answers_reads(client, private_redis):
    assert client.head("/health/").status_code == 200
    assert client.post("/health/").status_code == 405
