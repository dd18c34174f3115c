"""API throttles (issue 12, item 3): anonymous requests per address, staff per member, and
the token endpoint stricter, per address.

The rates are the ``API_THROTTLE_*`` settings, read when a request comes (DRF's own
throttles copy ``DEFAULT_THROTTLE_RATES`` once, at import), so a deployment or a test
changes them like any other setting. The counts live in the ``throttle`` cache: this
process's memory, never Redis (see the settings for why).

What is counted (issue 14): DRF keeps the time of every request of the window, a list
the cache copies in and out (pickles) on every request, so each request cost more the
more requests came before it in the window (0.3 ms with 10,000 in the window of a
minute). Here the window is cut into ``SLICES`` slices, and the cache holds one count per
slice: at most ``SLICES`` + 1 numbers, whatever the rate. A request counts until the end of
its slice has left the window, so it may count up to one slice (a second, for a rate per
minute) longer than DRF would keep it: never shorter, so no rate lets more through.
"""

import math

from django.conf import settings
from django.core.cache import caches
from rest_framework import exceptions
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

SLICES = 60


class _SettingsRate:
    """DRF makes a throttle per request and asks ``get_rate`` then. ``history`` is a list
    of ``[slice number, requests]``, newest first (``SLICES`` + 1 at most)."""

    setting = ""

    @property
    def cache(self):
        return caches["throttle"]

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        self.width = self.duration / SLICES
        # A slice leaves the window when its end does: every request in it is older.
        while self.history and (self.history[-1][0] + 1) * self.width <= self.now - self.duration:
            self.history.pop()
        self.count = sum(requests for _, requests in self.history)
        if self.count >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def throttle_success(self) -> bool:
        current = int(self.now // self.width)
        if self.history and self.history[0][0] == current:
            self.history[0][1] += 1
        else:
            self.history.insert(0, [current, 1])
        # Kept as long as its newest slice counts: to that slice's end, plus the window.
        self.cache.set(self.key, self.history, math.ceil(self.duration + self.width))
        return True

    def wait(self) -> float | None:
        """DRF's answer (the time until the oldest request leaves the window, spread over
        the requests then available), with the oldest slice's end for that request."""
        if self.history:
            remaining = (self.history[-1][0] + 1) * self.width + self.duration - self.now
        else:
            remaining = self.duration
        available = self.num_requests - self.count + 1
        if available <= 0:
            return None
        return remaining / float(available)


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
