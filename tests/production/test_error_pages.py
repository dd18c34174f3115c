"""DEBUG error pages (Django's technical 500 page) never show the passwords written
inside DATABASE_URL, REDIS_URL, EMAIL_URL or CELERY_BROKER_URL: not in the settings,
not in request.META (runserver's environ carries the whole environment), not in the
traceback's local variables."""

from __future__ import annotations

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from clinic.error_reports import CredentialsInUrlsFilter

DB_PASSWORD = "db-pw-5f1c9a"
REDIS_PASSWORD = "redis-pw-8e2b7d"
MAIL_PASSWORD = "mail-pw-3a6c0f"
BROKER_PASSWORD = "broker-pw-9d4e1b"
PASSWORDS = (DB_PASSWORD, REDIS_PASSWORD, MAIL_PASSWORD, BROKER_PASSWORD)


def technical_500(settings, filter_class=None) -> str:
    settings.DEBUG = True
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"
    settings.CELERY_BROKER_URL = f"redis://clinic:{BROKER_PASSWORD}@redis.internal:6379/0"
    environ = {
        "DATABASE_URL": f"postgres://clinic:{DB_PASSWORD}@db.internal:5432/clinic",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": f"smtp+tls://mailer:{MAIL_PASSWORD}@smtp.example.com:587",
    }
    request = RequestFactory().get("/clients/", **environ)
    if filter_class is not None:
        request.exception_reporter_filter = filter_class()
    broker_url = settings.CELERY_BROKER_URL  # a local variable of the failing frame
    try:
        raise RuntimeError(f"could not reach the broker ({len(broker_url)})")
    except RuntimeError:
        return ExceptionReporter(request, *sys.exc_info()).get_traceback_html()


@pytest.mark.parametrize("password", PASSWORDS)
def test_debug_error_page_hides_passwords_inside_urls(settings, password):
    page = technical_500(settings)

    assert password not in page
    assert "could not reach the broker" in page  # it is the error page we think it is


def test_debug_error_page_keeps_the_rest_of_the_url(settings):
    page = technical_500(settings)

    assert "postgres://clinic:********************@db.internal:5432/clinic" in page
    assert "redis://:********************@redis.internal:6379/0" in page


def test_djangos_own_filter_would_show_them(settings):
    """The page really carries these values: without our filter they are all there."""
    page = technical_500(settings, filter_class=SafeExceptionReporterFilter)

    assert all(password in page for password in PASSWORDS)


def test_the_filter_is_the_default_one(settings):
    assert (
        settings.DEFAULT_EXCEPTION_REPORTER_FILTER == "clinic.error_reports.CredentialsInUrlsFilter"
    )
    assert (
        CredentialsInUrlsFilter().cleanse_urls("amqp://u:p@h/")
        == "amqp://u:********************@h/"
    )
