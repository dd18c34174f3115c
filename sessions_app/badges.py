"""Eligibility badges on lists of sessions (issue 14): each client's eligibility decided
once per list, from the records ``eligibility_prefetches("client__")`` brought, by the
one rule (``clients.selectors.client_eligibility``); and until when those answers hold
with no write, for the page cache."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from clients.selectors import (  # noqa: F401 (eligibility_valid_until: for the pages)
    ClientEligibility,
    client_eligibility,
    eligibility_valid_until,
)
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
