"""Shared by the production tests: the real Celery workers, their private queue and the
SMTP server of the reminder worker tests; a front desk login that a gunicorn process
can check; and a day the clinic can book."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from clinic.roles import Role
from tests.factories import ClientFactory, DeviceFactory, RoomFactory, UserFactory
from tests.production.helpers import http
from tests.sessions_app.helpers import full_week, screen
from tests.sessions_app.test_reminders_worker import (
    REDIS_URL,
    inbox,
    queue,
    worker_database_url,
    workers,
)

__all__ = ["inbox", "queue", "workers"]

STAFF_PASSWORD = "production-test-password-2027"


def app_env(*, tmp_path: Path, smtp_port: int, queue: str, **more) -> dict[str, str]:
    """What every process of one installation shares (its one ``.env``)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_QUEUE": queue,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "CLINIC_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": django_settings.SECRET_KEY,
        "SITE_URL": django_settings.SITE_URL,
        "CLINIC_TIME_ZONE": django_settings.CLINIC_TIME_ZONE,
        "DEBUG": "false",
        "CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
        **more,
    }


@pytest.fixture
def staff(settings, transactional_db):
    """A front desk login the subprocesses can check: their settings hash with PBKDF2,
    not the fast hasher of the in-process tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = UserFactory(username="desk", role=Role.FRONT_DESK)
    user.set_password(STAFF_PASSWORD)
    user.save()
    return user


@pytest.fixture
def clinic_day(transactional_db):
    """An esthetician working 09:00-18:00 every day, a room, a device, and eight clients
    with a current eligible screening."""
    esthetician = UserFactory(username="est-prod", role=Role.ESTHETICIAN)
    full_week(esthetician)
    clients = [ClientFactory(email=f"client{i}@example.com", first_name=f"C{i}") for i in range(8)]
    for client in clients:
        # Recorded by the esthetician: a new user each would hash a password (PBKDF2).
        screen(client, recorded_by=esthetician)
    return {
        "esthetician": esthetician,
        "room": RoomFactory(name="Willow room"),
        "device": DeviceFactory(name="NuFACE Pro", serial_number="MC-P"),
        "clients": clients,
    }


def booking(clinic_day: dict, client, start) -> dict:
    """The body of POST /api/sessions/ for ``client`` at ``start``."""
    return {
        "client": client.pk,
        "esthetician": clinic_day["esthetician"].pk,
        "room": clinic_day["room"].pk,
        "device": clinic_day["device"].pk,
        "start": start.isoformat(),
    }


def desk_token(base: str) -> dict[str, str]:
    """The front desk's API token from the gunicorn at ``base``, as request headers."""
    got = http(
        "POST", f"{base}/api/auth/token/", body={"username": "desk", "password": STAFF_PASSWORD}
    )
    assert got.status == 200, got.body
    return {"Authorization": f"Token {got.json()['token']}"}
