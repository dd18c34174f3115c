"""Eligibility badges on lists of sessions (issue 14): each client's eligibility decided
once per list, from the records ``eligibility_prefetches("client__")`` brought, by the
one rule (``clients.selectors.client_eligibility``); and until when those answers hold
with no write, for the page cache."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from clients.selectors import ClientEligibility, client_eligibility
from sessions_app.models import Session


def eligibility_by_client(
    sessions: Iterable[Session], *, at: datetime
) -> dict[int, ClientEligibility]:
    """Each client's eligibility at ``at``, decided once however many of their sessions
    are listed (the sessions carry ``eligibility_prefetches("client__")``)."""
    found: dict[int, ClientEligibility] = {}
    for session in sessions:
        if session.client_id not in found:
            found[session.client_id] = client_eligibility(client=session.client, at=at)
    return found


def eligibility_valid_until(eligibilities: Iterable[ClientEligibility]) -> datetime | None:
    """The first instant one of these answers may change with time alone: a current
    screening stops being current. (Clearances expire by the clinic day, which is in
    every cache key; anything else changes only by a write.)"""
    ends = [e.screening_valid_until for e in eligibilities if e.screening_valid_until]
    return min(ends) if ends else None
