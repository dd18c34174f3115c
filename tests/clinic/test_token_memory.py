"""Issue 14: the API token lookup kept in each process's memory for the data version
(``clinic.tokens``, ``dataversion.remembered``), outside a test's transaction as in
production. A token used again costs no query, and every way a token ends, or its owner
changes, is seen at the very next request: in this process and from another one."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.signals import request_finished, request_started
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinic import dataversion, tokens
from clinic.roles import Role
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _shared_cache():
    if not dataversion.enabled():
        pytest.skip("the token memory needs a shared cache (REDIS_URL)")


def api_for(user) -> tuple[APIClient, AuthToken]:
    instance, key = tokens.token_issue(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api, instance


def status_and_queries(api, path=None) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path or reverse("client-list"))
    return response.status_code, len(queries)


def token_queries(queries) -> int:
    return sum("clinic_api_tokens_with_key" in q["sql"] for q in queries.captured_queries)


def test_a_token_used_again_is_not_read_again(front_desk):
    api, _ = api_for(front_desk)
    with CaptureQueriesContext(connection) as first:
        assert api.get(reverse("client-list")).status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert api.get(reverse("client-list")).status_code == 200
    assert token_queries(first) == 1
    assert token_queries(again) == 0


def test_a_new_token_does_not_retire_what_is_kept(front_desk, esthetician):
    # A token handed out (an INSERT) changes nothing a page shows: not a new version.
    api, _ = api_for(front_desk)
    assert api.get(reverse("client-list")).status_code == 200
    version = dataversion.current()
    api_for(esthetician)
    assert dataversion.current() == version


def test_logging_out_ends_the_token_at_the_next_request(front_desk):
    api, _ = api_for(front_desk)
    assert status_and_queries(api)[0] == 200
    assert status_and_queries(api)[0] == 200  # kept by now
    assert api.post(reverse("api-logout")).status_code == 204
    assert status_and_queries(api)[0] == 401


def test_a_token_revoked_by_a_manager_ends_at_the_next_request(front_desk, manager):
    api, instance = api_for(front_desk)
    assert status_and_queries(api)[0] == 200
    assert tokens.token_revoke(user=front_desk, digest=instance.digest, by=manager)
    assert status_and_queries(api)[0] == 401


def test_every_token_ended_at_once_ends_each(front_desk):
    first, _ = api_for(front_desk)
    second, _ = api_for(front_desk)
    assert status_and_queries(first)[0] == status_and_queries(second)[0] == 200
    assert first.post(reverse("api-logoutall")).status_code == 204
    assert status_and_queries(first)[0] == 401
    assert status_and_queries(second)[0] == 401


def test_a_new_password_ends_the_token_at_the_next_request(front_desk):
    api, _ = api_for(front_desk)
    assert status_and_queries(api)[0] == 200
    front_desk.set_password("another-long-password-7")
    front_desk.save()
    assert status_and_queries(api)[0] == 401


def test_an_owner_made_inactive_is_refused_at_the_next_request(front_desk):
    api, _ = api_for(front_desk)
    assert status_and_queries(api)[0] == 200
    type(front_desk).objects.filter(pk=front_desk.pk).update(is_active=False)
    assert status_and_queries(api)[0] == 401


def test_a_new_role_applies_at_the_next_request():
    manager = UserFactory(username="mgr2", role=Role.MANAGER)
    api, _ = api_for(manager)
    reminders = reverse("reminder-list")
    assert status_and_queries(api, reminders)[0] == 200
    assert status_and_queries(api, reminders)[0] == 200  # kept by now
    type(manager).objects.filter(pk=manager.pk).update(role=Role.FRONT_DESK)
    assert status_and_queries(api, reminders)[0] == 403


def test_a_token_that_expires_with_no_write_is_refused_and_deleted(front_desk):
    api, instance = api_for(front_desk)
    soon = timezone.now() + timedelta(minutes=5)
    AuthToken.objects.filter(digest=instance.digest).update(expiry=soon)
    assert status_and_queries(api)[0] == 200
    assert status_and_queries(api)[0] == 200  # kept by now
    with time_machine.travel(soon + timedelta(seconds=1)):
        assert status_and_queries(api)[0] == 401
    assert not AuthToken.objects.filter(digest=instance.digest).exists()


def test_a_token_revoked_by_another_process_ends_at_the_next_request(front_desk):
    """The revocation comes from another Python process (as from another web worker):
    only the shared data version can tell this one."""
    api, instance = api_for(front_desk)
    assert status_and_queries(api)[0] == 200
    with CaptureQueriesContext(connection) as kept:
        assert api.get(reverse("client-list")).status_code == 200
    assert token_queries(kept) == 0
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    if connection.vendor != "postgresql":
        pytest.skip("another process shares the database only on PostgreSQL")
    code = (
        "from knox.models import AuthToken; "
        f"print(AuthToken.objects.filter(digest={instance.digest!r}).delete()[0])"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1"
    assert status_and_queries(api)[0] == 401


@pytest.mark.parametrize(
    ("sql", "counts"),
    [
        ('INSERT INTO "knox_authtoken" ("digest") VALUES (%s)', False),
        ('DELETE FROM "knox_authtoken" WHERE "knox_authtoken"."digest" = %s', True),
        ('UPDATE "knox_authtoken" SET "expiry" = %s', True),
    ],
)
def test_a_token_ended_is_a_write_a_token_handed_out_is_not(sql, counts):
    assert dataversion.changes_data(sql) is counts


# The memory itself ---------------------------------------------------------------------


def test_what_is_kept_is_a_copy_each_time(front_desk):
    request_started.send(sender=None)
    try:
        first = dataversion.remembered("test-copy", (1,), lambda: {"rows": [1, 2]})
        first["rows"].append(3)
        again = dataversion.remembered("test-copy", (1,), lambda: {"rows": ["read again"]})
    finally:
        request_finished.send(sender=None)
    assert again == {"rows": [1, 2]}


def test_a_write_of_this_request_is_seen_by_what_it_reads_after(front_desk):
    """A request that writes and then reads (a form saved, its page shown) goes by the
    number after its own write, not the one it read before."""
    reads = []
    request_started.send(sender=None)
    try:
        dataversion.remembered("test-after-write", (), lambda: reads.append("before") or 1)
        ClientFactory()  # committed at once: a new data version
        dataversion.remembered("test-after-write", (), lambda: reads.append("after") or 2)
    finally:
        request_finished.send(sender=None)
    assert reads == ["before", "after"]


def test_outside_a_request_the_number_is_read_each_time(front_desk):
    """A shell or a command has no request to end: it never goes by an old number."""
    dataversion.remembered("test-no-request", (), lambda: 1)
    dataversion.bump()  # as another process's write would
    reads = []
    dataversion.remembered("test-no-request", (), lambda: reads.append("read") or 2)
    assert reads == ["read"]
