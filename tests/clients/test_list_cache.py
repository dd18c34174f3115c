"""Issue 14, P2: the client list's and the search's results kept in the page cache on the
data version (clients.list_page), never shown stale: a new client, a change of name and a
new screening show at once; a screening that stops being current is not served from the
cache past that instant; what the viewer may do is part of the key; a page that is not
there is a 404 every time. These tests commit (``transactional_db``): inside a test's
transaction the cache is bypassed."""

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients.models import Client
from clinic.roles import Role
from tests.factories import ClientFactory, ScreeningFactory
from tests.sessions_app.helpers import LA

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _get(browser, **params) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        answer = browser.get(reverse("clients:list"), params)
    assert answer.status_code == 200
    return answer.content.decode(), [q["sql"] for q in captured.captured_queries]


def _without_csrf(body: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)


def _client_queries(sql: list[str]) -> list[str]:
    return [q for q in sql if '"clients_client"' in q]


@pytest.mark.parametrize("params", [{}, {"q": "lopez"}], ids=["list", "search"])
def test_a_second_look_reads_no_client(page_as, a_client, params):
    browser = page_as(Role.FRONT_DESK)
    first, first_sql = _get(browser, **params)
    again, again_sql = _get(browser, **params)
    assert _client_queries(first_sql)
    assert not _client_queries(again_sql)
    # The same page but for each request's own (masked) CSRF token in the log-out form.
    assert _without_csrf(again) == _without_csrf(first)
    assert "Lopez, Ana" in again


def test_a_new_client_is_found_at_once(page_as, a_client):
    browser = page_as(Role.FRONT_DESK)
    body, _ = _get(browser, q="lopez")
    assert "1 client matches" in body

    ClientFactory(first_name="Luis", last_name="Lopez")

    body, _ = _get(browser, q="lopez")
    assert "2 clients match" in body
    assert "Lopez, Luis" in body


def test_a_change_of_name_shows_at_once(page_as, a_client):
    browser = page_as(Role.FRONT_DESK)
    assert "Lopez, Ana" in _get(browser)[0]

    Client.objects.filter(pk=a_client.pk).update(last_name="Lopez-Quinn")

    body, _ = _get(browser)
    assert "Lopez-Quinn, Ana" in body
    assert "Lopez, Ana" not in body


def test_a_new_screening_changes_the_badge_at_once(page_as, a_client):
    browser = page_as(Role.FRONT_DESK)
    assert "badge-screening_required" in _get(browser, q="lopez")[0]

    ScreeningFactory(client=a_client, recorded_at=NOW)

    body, _ = _get(browser, q="lopez")
    assert "badge-eligible" in body
    assert "badge-screening_required" not in body


def test_a_screening_that_stops_being_current_is_not_served_from_the_cache(page_as, a_client):
    # Current until 90 days after it was taken: that instant, with no write, the badge
    # must say so.
    ScreeningFactory(client=a_client, recorded_at=NOW - timedelta(days=90, minutes=-5))
    browser = page_as(Role.FRONT_DESK)
    assert "badge-eligible" in _get(browser)[0]
    assert "badge-eligible" in _get(browser)[0]  # from the cache

    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        body, _ = _get(browser)

    assert "badge-screening_required" in body


def test_whether_the_viewer_may_register_a_client_is_part_of_the_key(staff_by_role):
    create = reverse("clients:create")
    # Both logged in first: a log-in is a write (the last log-in) that retires the cache.
    desk, esthetician = HttpClient(), HttpClient()
    desk.force_login(staff_by_role[Role.FRONT_DESK])
    esthetician.force_login(staff_by_role[Role.ESTHETICIAN])
    button = f'<a class="button primary" href="{create}">Register a new client</a>'
    assert button in _get(desk, q="zebedee")[0]
    body, _ = _get(esthetician, q="zebedee")
    assert "No client matches “zebedee”." in body
    assert create not in body
    assert button in _get(desk, q="zebedee")[0]


def test_a_page_that_is_not_there_is_a_404_every_time(page_as, a_client):
    browser = page_as(Role.FRONT_DESK)
    for _ in range(2):
        assert browser.get(reverse("clients:list"), {"page": 2}).status_code == 404
        assert browser.get(reverse("clients:list"), {"page": "x"}).status_code == 404
    assert "Lopez, Ana" in browser.get(reverse("clients:list"), {"page": "last"}).content.decode()
