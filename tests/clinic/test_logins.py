"""Issue 12, item 3: log-ins are locked after repeated failures (per username from anywhere,
per address on any usernames) on the login page and the token endpoint, with a clear
message that does not tell whether the username exists; a manager unlocks them."""

import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.roles import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 5  # LOGIN_FAILURE_LIMIT's default


def page_login(client, username, password, address="127.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def token_login(username, password, address="127.0.0.1", format="json"):
    data = {"username": username, "password": password}
    return APIClient().post(reverse("api-token"), data, format=format, REMOTE_ADDR=address)


def alert(response) -> str:
    """The text of the page's error alert."""
    found = re.search(r'role="alert"><p>(.*?)</p>', response.content.decode(), re.S)
    return found.group(1) if found else ""


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def fail(times, *, username="fd", address="127.0.0.1", via="page"):
    for n in range(times):
        who = username(n) if callable(username) else username
        if via == "page":
            page_login(Client(), who, "wrong-password", address)
        else:
            token_login(who, "wrong-password", address)


# The login page ------------------------------------------------------------------------


def test_the_failure_that_reaches_the_limit_already_says_locked(client, front_desk):
    fail(LIMIT - 1)
    response = page_login(client, "fd", "wrong-password")
    assert response.status_code == 429
    # Five failures of one username from one address: both are locked.
    assert alert(response) == (
        "Log-in with this username and from your network address is locked after 5 failed "
        "attempts. Try again in 15 minutes, or ask a manager to unlock it now."
    )


def test_four_failures_leave_the_page_open(client, front_desk):
    fail(LIMIT - 2)
    response = page_login(client, "fd", "wrong-password")
    assert response.status_code == 200
    assert "didn&#x27;t match" in response.content.decode()
    assert page_login(client, "fd", PASSWORD).status_code == 302
    assert signed_in(client)


def test_limit_failures_lock_a_username_from_every_address(client, front_desk):
    for n in range(LIMIT):  # each failure from another address
        page_login(Client(), "fd", "wrong-password", address=f"10.0.0.{n + 1}")

    response = page_login(client, "fd", PASSWORD, address="10.0.1.1")

    assert response.status_code == 429
    assert not signed_in(client)
    text = response.content.decode()
    assert "Log-in with this username is locked after 5 failed attempts" in text
    assert "Try again in 15 minutes, or ask a manager to unlock it now." in text
    assert 'name="username"' in text  # the login page itself, not a blank one


def test_failures_on_many_usernames_lock_the_address(client, front_desk):
    fail(LIMIT, username=lambda n: f"guess{n}", address="10.0.0.9")

    response = page_login(client, "fd", PASSWORD, address="10.0.0.9")
    assert response.status_code == 429
    assert "Log-ins from your network address are locked" in response.content.decode()
    assert not signed_in(client)

    # The username itself is not locked: from another address it logs in.
    assert page_login(client, "fd", PASSWORD, address="10.0.0.10").status_code == 302
    assert signed_in(client)


def test_the_lock_lifts_after_the_lockout_minutes(client, front_desk):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(LIMIT)
        clock.shift(timedelta(minutes=14))
        assert page_login(client, "fd", PASSWORD).status_code == 429
        # A refused attempt counts as a failure too: the 15 minutes start again from it.
        clock.shift(timedelta(minutes=15, seconds=1))
        assert page_login(client, "fd", PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_limit_and_minutes_are_settings(client, front_desk, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    fail(2)
    response = page_login(client, "fd", PASSWORD)
    assert response.status_code == 429
    assert "after 2 failed attempts. Try again in 3 minutes" in response.content.decode()


# The token endpoint --------------------------------------------------------------------


def test_limit_failures_lock_a_username_on_the_token_endpoint(front_desk):
    for n in range(LIMIT - 1):
        assert token_login("fd", "wrong-password", address=f"10.1.0.{n}").status_code == 400
    response = token_login("fd", "wrong-password", address="10.1.0.9")
    assert response.status_code == 429

    response = token_login("fd", PASSWORD, address="10.1.1.1")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "token" not in response.json()
    assert response.json()["detail"].startswith("Log-in with this username is locked")


def test_failures_on_the_page_and_the_endpoint_add_up(front_desk):
    fail(LIMIT - 1, via="page")
    fail(1, via="api")
    assert token_login("fd", PASSWORD).status_code == 429


def test_token_endpoint_locks_an_address_guessing_usernames(front_desk):
    fail(LIMIT, username=lambda n: f"guess{n}", address="10.2.0.1", via="api")
    response = token_login("fd", PASSWORD, address="10.2.0.1")
    assert response.status_code == 429
    assert "network address" in response.json()["detail"]
    assert token_login("fd", PASSWORD, address="10.2.0.2").status_code == 200


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_lockout_reads_the_same_for_a_username_nobody_has(front_desk, via):
    fail(LIMIT, username="fd", address="10.3.0.1", via=via)
    fail(LIMIT, username="nobody", address="10.3.0.2", via=via)
    if via == "page":
        real = page_login(Client(), "fd", PASSWORD, address="10.3.0.1")
        made_up = page_login(Client(), "nobody", PASSWORD, address="10.3.0.2")
        strip = alert
    else:
        real = token_login("fd", PASSWORD, address="10.3.0.1")
        made_up = token_login("nobody", PASSWORD, address="10.3.0.2")
        strip = lambda r: r.json()  # noqa: E731
    assert real.status_code == made_up.status_code == 429
    assert strip(real) == strip(made_up)


@pytest.mark.parametrize("format", ["json", "multipart", None])
def test_token_endpoint_takes_json_form_and_multipart(front_desk, format):
    data = {"username": "fd", "password": PASSWORD}
    api = APIClient()
    if format is None:  # form-encoded
        from urllib.parse import urlencode

        response = api.post(
            reverse("api-token"), urlencode(data), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = api.post(reverse("api-token"), data, format=format)
    assert response.status_code == 200
    assert set(response.json()) == {"token", "expiry"}


@pytest.mark.parametrize("missing", ["username", "password"])
@pytest.mark.parametrize("format", ["json", "multipart"])
def test_a_missing_field_is_a_400_naming_it(db, missing, format):
    data = {"username": "fd", "password": PASSWORD}
    del data[missing]
    response = APIClient().post(reverse("api-token"), data, format=format)
    assert response.status_code == 400
    assert list(response.json()) == [missing]
    assert not AccessAttempt.objects.exists()  # not counted as a failed log-in


def test_an_overlong_username_is_a_400_not_a_500(db):
    response = token_login("x" * 300, PASSWORD)
    assert response.status_code == 400
    assert "username" in response.json()


# The manager's unlock ------------------------------------------------------------------


def test_manager_sees_the_lockouts_and_unlocks_a_username(client, front_desk, manager):
    fail(LIMIT, username="fd", address="10.4.0.1")
    fail(LIMIT, username=lambda n: f"guess{n}", address="10.4.0.2")
    client.force_login(manager)

    page = client.get(reverse("logins"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Username <code>fd</code>" in text
    assert "Address <code>10.4.0.2</code>" in text
    assert "Address <code>10.4.0.1</code>" in text  # five failures from it, too

    response = client.post(reverse("logins-unlock"), {"kind": "username", "value": "fd"})
    assert response.status_code == 302
    assert "Unlocked the username fd" in client.get(reverse("logins")).content.decode()

    assert page_login(Client(), "fd", PASSWORD, address="10.4.0.3").status_code == 302
    # The address that guessed at other usernames stays locked.
    assert page_login(Client(), "fd", PASSWORD, address="10.4.0.2").status_code == 429


def test_manager_unlocks_an_address(client, front_desk, manager):
    fail(LIMIT, username=lambda n: f"guess{n}", address="10.5.0.1")
    client.force_login(manager)
    client.post(reverse("logins-unlock"), {"kind": "address", "value": "10.5.0.1"})
    assert token_login("fd", PASSWORD, address="10.5.0.1").status_code == 200


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ESTHETICIAN])
def test_only_managers_unlock(client, front_desk, role):
    fail(LIMIT, username="fd")
    client.force_login(UserFactory(username="other", role=role))

    assert client.get(reverse("logins")).status_code == 403
    response = client.post(reverse("logins-unlock"), {"kind": "username", "value": "fd"})

    assert response.status_code == 403
    assert page_login(Client(), "fd", PASSWORD).status_code == 429


def test_the_lockouts_page_asks_a_fixed_number_of_queries(
    client, manager, django_assert_max_num_queries
):
    for n in range(3):
        fail(LIMIT, username=f"user{n}", address=f"10.6.0.{n}")
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("logins")).status_code == 200
