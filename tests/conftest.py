from importlib import import_module

import pytest
from django.apps import apps
from django.core.cache import caches
from rest_framework.test import APIClient

from clinic.roles import Role
from tests.factories import ClientFactory, UserFactory


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Uploaded clearance letters go to a throwaway folder; passwords hash fast."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_api_throttles():
    """Each test starts with no API requests counted against the throttle rates (they
    count in this process's memory, which outlives a test's database)."""
    caches["throttle"].clear()


@pytest.fixture
def front_desk(db):
    return UserFactory(username="fd", role=Role.FRONT_DESK)


@pytest.fixture
def esthetician(db):
    return UserFactory(username="est", role=Role.ESTHETICIAN)


@pytest.fixture
def manager(db):
    return UserFactory(username="mgr", role=Role.MANAGER)


@pytest.fixture
def staff_by_role(front_desk, esthetician, manager):
    return {Role.FRONT_DESK: front_desk, Role.ESTHETICIAN: esthetician, Role.MANAGER: manager}


@pytest.fixture
def api():
    """An API client; ``api.force_authenticate(user)`` to act as someone."""
    return APIClient()


@pytest.fixture
def api_as(staff_by_role):
    def make(role):
        client = APIClient()
        client.force_authenticate(staff_by_role[role])
        return client

    return make


@pytest.fixture
def page_as(client, staff_by_role):
    """Django's test client logged in as a member of staff of ``role``."""

    def make(role):
        client.force_login(staff_by_role[role])
        return client

    return make


@pytest.fixture
def a_client(db):
    return ClientFactory(first_name="Ana", last_name="Lopez", email="ana.lopez@example.com")


def _commits(item) -> bool:
    """Does this test commit (live server, threads, Celery workers)?"""
    marker = item.get_closest_marker("django_db")
    transactional = bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    fixtures = getattr(item, "fixturenames", ())
    return transactional or "transactional_db" in fixtures or "live_server" in fixtures


@pytest.fixture(autouse=True)
def _age_bands(request):
    """A test that commits starts from tables emptied by the one before it: put back the
    age bands the data migration seeds (idempotent), as every clinic has them."""
    if _commits(request.node):
        request.getfixturevalue("transactional_db")
        import_module("protocols.migrations.0002_seed_age_bands").seed(apps, None)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run tests that commit (live server, threads, Celery workers) after all the others,
    as Django's own runner does: they end by emptying the tables, which would take the
    age bands the migrations seeded away from the tests that follow. pytest-django
    orders them so, but pytest-playwright regroups its browser tests first; put them
    back, keeping the order otherwise."""
    items.sort(key=_commits)
