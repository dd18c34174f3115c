"""Log-in lockout (issue 12, item 3): the rules around django-axes, in one place.

A username is locked after ``LOGIN_FAILURE_LIMIT`` failed log-ins from anywhere, and an
address after as many failures on any usernames, for ``LOGIN_LOCKOUT_MINUTES`` after the
last failure. The login page, the admin's and ``POST /api/auth/token/`` all authenticate
through ``django.contrib.auth.authenticate``, which axes guards; this module says how a
lockout is answered, lists the current ones and unlocks them.

A lockout reads the same whether or not the username belongs to anyone: failures are
counted on the typed username, and the message names only what was typed.
"""

import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db.models import Max, Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from clinic.errors import is_api_request

logger = logging.getLogger("clinic.logins")


def client_ip(request) -> str | None:
    """The client's address: the connection's, or, behind ``TRUSTED_PROXY_COUNT`` proxies,
    the one the outermost of them saw (the entry it appended to X-Forwarded-For)."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            candidate = hops[-min(count, len(hops))]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                logger.warning("Ignoring a malformed X-Forwarded-For entry %r", candidate)
    return remote


@dataclass(frozen=True)
class Lockout:
    """One current lockout: of a ``username`` or of an ``address``."""

    kind: str  # "username" or "address"
    value: str
    failures: int
    last_failure: datetime
    until: datetime


def _window_start(at: datetime) -> datetime:
    return at - settings.AXES_COOLOFF_TIME


def lockouts_current(*, at: datetime | None = None) -> list[Lockout]:
    """Every username and address locked now, most recent failure first (two queries)."""
    at = at or timezone.now()
    recent = AccessAttempt.objects.filter(attempt_time__gte=_window_start(at))
    found = []
    for kind, field in (("username", "username"), ("address", "ip_address")):
        rows = (
            recent.exclude(**{f"{field}__isnull": True})
            .values(field)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        )
        found += [
            Lockout(
                kind=kind,
                value=row[field],
                failures=row["failures"],
                last_failure=row["last"],
                until=row["last"] + settings.AXES_COOLOFF_TIME,
            )
            for row in rows
        ]
    return sorted(found, key=lambda lockout: lockout.last_failure, reverse=True)


def lockout_of(*, username: str | None, address: str | None, at=None) -> list[Lockout]:
    """The lockouts that stop this username from this address now (none, one or two)."""
    return [
        lockout
        for lockout in lockouts_current(at=at)
        if (lockout.kind == "username" and username and lockout.value == username)
        or (lockout.kind == "address" and address and lockout.value == address)
    ]


def lockout_unlock(*, kind: str, value: str, by) -> int:
    """A manager lifts a lockout: the failures counted on that username (from every
    address) or from that address (on every username) are forgotten. Returns how many
    failure records went."""
    if kind == "username":
        removed = reset(username=value)
    elif kind == "address":
        removed = reset(ip=value)
    else:
        raise ValueError(f"Unknown lockout kind {kind!r}")
    logger.info("%s unlocked log-ins for %s %r (%d records)", by, kind, value, removed)
    return removed


def lockout_message(*, username: str | None, address: str | None, at=None) -> str:
    """What a locked-out person reads, on the page and in the API's ``detail``."""
    at = at or timezone.now()
    lockouts = lockout_of(username=username, address=address, at=at)
    kinds = {lockout.kind for lockout in lockouts}
    if kinds == {"username"}:
        what = "Log-in with this username is locked"
    elif kinds == {"address"}:
        what = "Log-ins from your network address are locked"
    else:
        what = "Log-in with this username and from your network address is locked"
    until = max((lockout.until for lockout in lockouts), default=at + settings.AXES_COOLOFF_TIME)
    minutes = max(1, math.ceil((until - at).total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"{what} after {settings.AXES_FAILURE_LIMIT} failed attempts. "
        f"Try again in {minutes} {unit}, or ask a manager to unlock it now."
    )


def lockout_message_for(request, credentials=None) -> str:
    return lockout_message(
        username=get_client_username(request, credentials),
        address=getattr(request, "axes_ip_address", None) or client_ip(request),
    )


def lockout_response(request, original_response=None, credentials=None):
    """axes' answer to a locked-out attempt (``AXES_LOCKOUT_CALLABLE``): JSON under /api/
    (429 with ``detail``), the login page with the message elsewhere; never blank."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    if is_api_request(request):
        if original_response is not None and original_response.status_code == status:
            return original_response  # the token view already said it
        return JsonResponse({"detail": lockout_message_for(request, credentials)}, status=status)
    if getattr(original_response, "shows_lockout", False):
        # Our login page, already showing the message on its form.
        original_response.status_code = status
        return original_response
    return render(
        request,
        "registration/locked_out.html",
        {"message": lockout_message_for(request, credentials)},
        status=status,
    )
