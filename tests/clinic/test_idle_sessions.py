"""Issue 12, item 3: a staff session idle for SESSION_IDLE_MINUTES ends; an active one
does not; the login page says why."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def log_in(client):
    response = client.post(reverse("login"), {"username": "fd", "password": PASSWORD})
    assert response.status_code == 302


def test_an_idle_session_ends_and_the_login_page_says_why(client, front_desk, clock):
    log_in(client)
    clock.shift(timedelta(minutes=30, seconds=1))

    response = client.get(reverse("clients:list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert SESSION_KEY not in client.session
    page = client.get(response.url).content.decode()
    assert "logged out because your session was idle for more than 30 minutes" in page
    # Said once: a later visit to the login page is a plain one.
    assert "idle" not in client.get(reverse("login")).content.decode()


def test_an_active_session_does_not_end(client, front_desk, clock):
    log_in(client)
    for _ in range(8):  # two hours, a request every quarter of an hour
        clock.shift(timedelta(minutes=15))
        assert client.get(reverse("clients:list")).status_code == 200
    assert SESSION_KEY in client.session


def test_a_session_used_just_within_the_idle_time_goes_on(client, front_desk, clock):
    log_in(client)
    clock.shift(timedelta(minutes=29))
    assert client.get(reverse("clients:list")).status_code == 200


def test_the_idle_time_is_a_setting(client, front_desk, clock, settings):
    settings.SESSION_IDLE_MINUTES = 5
    log_in(client)
    clock.shift(timedelta(minutes=5, seconds=1))
    assert client.get(reverse("clients:list")).status_code == 302


def test_an_idle_session_no_longer_signs_api_calls(client, front_desk, clock):
    log_in(client)
    api = APIClient()
    api.cookies = client.cookies
    assert api.get(reverse("client-list")).status_code == 200
    clock.shift(timedelta(minutes=31))
    assert api.get(reverse("client-list")).status_code in (401, 403)


def test_a_plain_visit_to_the_login_page_says_nothing_of_idleness(client, db):
    assert "idle" not in client.get(reverse("login")).content.decode()


def session_writes(queries) -> int:
    return sum('UPDATE "django_session"' in q["sql"] for q in queries)


def test_an_active_session_writes_its_time_at_most_once_a_minute(
    client, front_desk, clock, django_assert_max_num_queries
):
    log_in(client)
    clock.shift(timedelta(seconds=30))
    with django_assert_max_num_queries(50) as within_the_minute:
        client.get(reverse("clients:list"))
    clock.shift(timedelta(seconds=31))
    with django_assert_max_num_queries(50) as after_it:
        client.get(reverse("clients:list"))
    assert session_writes(within_the_minute) == 0
    assert session_writes(after_it) == 1
