"""API throttles (issue 12, item 3): anonymous requests per address, staff per member, and
the token endpoint stricter, per address.

The rates are the ``API_THROTTLE_*`` settings, read when a request comes (DRF's own
throttles copy ``DEFAULT_THROTTLE_RATES`` once, at import), so a deployment or a test
changes them like any other setting. The counts live in the ``throttle`` cache: this
process's memory, never Redis (see the settings for why).
"""

from django.conf import settings
from django.core.cache import caches
from rest_framework import exceptions
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _SettingsRate:
    """DRF makes a throttle per request and asks ``get_rate`` then."""

    setting = ""

    @property
    def cache(self):
        return caches["throttle"]

    def get_rate(self) -> str:
        return getattr(settings, self.setting)


class AnonThrottle(_SettingsRate, AnonRateThrottle):
    setting = "API_THROTTLE_ANON"


class UserThrottle(_SettingsRate, UserRateThrottle):
    setting = "API_THROTTLE_USER"


class TokenThrottle(_SettingsRate, AnonRateThrottle):
    """``POST /api/auth/token/``: per address, whoever asks (the view authenticates no one)."""

    scope = "token"
    setting = "API_THROTTLE_TOKEN"


def throttle_anonymous(request, view) -> None:
    """Count an anonymous request that the permissions will refuse; 429 over the rate."""
    throttle = AnonThrottle()
    if not throttle.allow_request(request, view):
        raise exceptions.Throttled(throttle.wait())
