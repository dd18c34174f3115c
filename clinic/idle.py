"""Idle staff sessions end (issue 12, item 3).

A signed-in session remembers when it was last used. A request that comes more than
``SESSION_IDLE_MINUTES`` after that finds the member of staff logged out (pages send them
to the login page, which says why; the API answers as to anyone signed out). The time is
written back at most once a minute, so an active session costs no write per request.
"""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

LAST_SEEN = "clinic_last_seen"
ENDED_IDLE = "clinic_ended_idle"
# Seconds between writes of LAST_SEEN: the idle time is kept to within this.
REFRESH_SECONDS = 60


def _now() -> int:
    return int(time.time())


class IdleSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) is not None:
            now = _now()
            last_seen = session.get(LAST_SEEN)
            if last_seen is not None and now - last_seen > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
                request.session[ENDED_IDLE] = True
            elif last_seen is None or now - last_seen >= REFRESH_SECONDS:
                session[LAST_SEEN] = now
        return self.get_response(request)


def session_ended_idle(request) -> bool:
    """True once, on the login page after an idle session was ended."""
    return bool(request.session.pop(ENDED_IDLE, False))


@receiver(user_logged_in)
def _start_the_clock(sender, request=None, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        session[LAST_SEEN] = _now()
