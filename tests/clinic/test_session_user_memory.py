"""Issue 14: the member of staff behind a logged-in session, kept in each process's
memory for the data version (``clinic.auth_backends``), outside a test's transaction as
in production. A page opened again does not read them again, and every change to them
is seen at the very next request."""

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.signals import request_finished, request_started
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic import dataversion
from clinic.auth_backends import StaffBackend
from clinic.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-password-1"


@pytest.fixture(autouse=True)
def _shared_cache():
    if not dataversion.enabled():
        pytest.skip("the memory needs a shared cache (REDIS_URL)")


def logged_in(user) -> Client:
    """Logged in through the log-in page, as staff are."""
    browser = Client()
    answer = browser.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302, answer.content[:400]
    return browser


def open_page(browser, name="clients:list") -> tuple[int, int]:
    """The page's status and how many times it looked up one member of staff by id (as
    the session's log-in does)."""
    with CaptureQueriesContext(connection) as queries:
        status = browser.get(reverse(name)).status_code
    lookup = 'FROM "clinic_user" WHERE "clinic_user"."id" = '
    return status, sum(lookup in q["sql"] for q in queries.captured_queries)


def staff(role=Role.FRONT_DESK, **kwargs):
    user = UserFactory(role=role, **kwargs)
    user.set_password(PASSWORD)
    user.save()
    return user


def test_sessions_are_read_by_the_staff_backend():
    browser = logged_in(staff())
    assert browser.session[BACKEND_SESSION_KEY] == "clinic.auth_backends.StaffBackend"
    assert "django.contrib.auth.backends.ModelBackend" not in settings.AUTHENTICATION_BACKENDS


def test_a_page_opened_again_does_not_read_the_staff_member_again():
    browser = logged_in(staff())
    first = open_page(browser)
    again = open_page(browser)
    assert first == (200, 1)
    assert again == (200, 0)


def test_a_member_made_inactive_is_logged_out_at_the_next_request():
    user = staff()
    browser = logged_in(user)
    assert open_page(browser) == (200, 1)
    assert open_page(browser)[0] == 200  # kept by now
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    answer = browser.get(reverse("clients:list"))
    assert answer.status_code == 302
    assert answer.url.startswith(reverse("login"))


def test_a_new_password_set_elsewhere_ends_the_session_at_the_next_request():
    user = staff()
    browser = logged_in(user)
    assert open_page(browser)[0] == 200
    assert open_page(browser)[0] == 200
    user.set_password("another-long-password-7")
    user.save()
    answer = browser.get(reverse("clients:list"))
    assert answer.status_code == 302
    assert answer.url.startswith(reverse("login"))


def test_a_new_role_applies_at_the_next_request():
    user = staff(Role.MANAGER)
    browser = logged_in(user)
    assert open_page(browser, "clients:access-log")[0] == 200
    assert open_page(browser, "clients:access-log") == (200, 0)  # kept by now
    type(user).objects.filter(pk=user.pk).update(role=Role.FRONT_DESK)
    assert open_page(browser, "clients:access-log") == (403, 1)


def test_a_deleted_member_is_logged_out_at_the_next_request():
    user = staff()
    browser = logged_in(user)
    assert open_page(browser)[0] == 200
    assert open_page(browser)[0] == 200
    type(user).objects.filter(pk=user.pk).delete()
    answer = browser.get(reverse("clients:list"))
    assert answer.status_code == 302
    assert answer.url.startswith(reverse("login"))


def test_what_one_request_caches_on_the_member_does_not_reach_the_next():
    """Each request gets its own copy: permissions cached on one (``_perm_cache``, a
    change made to the object) are not on the next one's."""
    user = staff(Role.MANAGER)
    browser = logged_in(user)
    assert open_page(browser)[0] == 200
    request_started.send(sender=None)
    try:
        first = StaffBackend().get_user(user.pk)
        first.first_name = "Changed in one request"
        again = StaffBackend().get_user(user.pk)
    finally:
        request_finished.send(sender=None)
    assert again is not first
    assert again.first_name == user.first_name
