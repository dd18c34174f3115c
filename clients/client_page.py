"""The staff's client page (issue 14, P5): its body rendered once per data version,
client, clinic day and set of things the viewer's role may do, and kept in the page
cache (``clinic.dataversion``). Each request then only records the reads of health data
and puts in its own CSRF token.

The cached body is rendered with a stand-in for the member of staff that answers only
``can()``, so it cannot show a name, a token or a message of whoever rendered it first.
"""

from __future__ import annotations

from django.db.models import Min, Q
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from clients.models import Client
from clients.selectors import client_changes, client_eligibility, clients_for_eligibility
from clinic import dataversion
from clinic.clinic_time import localdate
from clinic.roles import PERMISSIONS

# Put in for each request. Autoescaping turns any "<" typed into a client's details into
# "&lt;", so this can only come from the template.
CSRF_MARK = mark_safe("<!--csrf-token-->")  # noqa: S308 (a constant)


class RoleOnly:
    """What the cached body may know of the member of staff: what their role may do."""

    is_authenticated = True

    def __init__(self, granted: frozenset[str]) -> None:
        self.granted = granted

    def can(self, permission: str) -> bool:
        return permission in self.granted


def granted(user) -> frozenset[str]:
    return frozenset(p for p in PERMISSIONS if user.can(p))


def _body(pk: int, may: frozenset[str]):
    now = timezone.now()
    # With no write, the page changes when the screening stops being current, or when
    # the next session starts (it moves from "Upcoming" to "Past"): read with the client.
    found = Client.objects.select_related("erased_by").annotate(
        next_start=Min("sessions__start", filter=Q(sessions__start__gte=now))
    )
    client = get_object_or_404(clients_for_eligibility(found), pk=pk)
    eligibility = client_eligibility(client=client, at=now)
    html = render_to_string(
        "clients/includes/client_page.html",
        {
            "client": client,
            "eligibility": eligibility,
            "changes": client_changes(client=client),
            "today": localdate(now),
            "user": RoleOnly(may),
            "csrf_token": CSRF_MARK,
        },
    )
    until = [t for t in (eligibility.screening_valid_until, client.next_start) if t]
    # Only what the view needs besides the HTML: no model instances, so no member of
    # staff's row (with its password hash) ends up in the cache through a relation.
    page = {
        "html": html,
        "title": client.full_name,
        "client_id": client.pk,
        "erased": client.erased_at is not None,
    }
    return page, min(until, default=None)


def client_page(*, pk: int, user) -> dict:
    """``html`` (with CSRF_MARK to fill), ``title``, ``client_id`` and ``erased``."""
    may = granted(user)
    # Sorted: a frozenset's order (and so its repr in the key) changes between processes.
    key = (pk, tuple(sorted(may)), localdate())
    return dataversion.cached("client-page", key, lambda: _body(pk, may))
