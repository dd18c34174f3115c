"""Every write to sessions, in one place for views, the API and tasks to call:
booking (``sessions_app.booking``, ``sessions_app.series_booking``) and the lifecycle
(``sessions_app.lifecycle``)."""

from sessions_app.booking import session_book
from sessions_app.lifecycle import (
    session_cancel,
    session_check_in,
    session_complete,
    session_no_show,
    session_reschedule,
)
from sessions_app.series_booking import (
    ProposedSession,
    SeriesProposal,
    series_book,
    series_propose,
)

__all__ = [
    "ProposedSession",
    "SeriesProposal",
    "series_book",
    "series_propose",
    "session_book",
    "session_cancel",
    "session_check_in",
    "session_complete",
    "session_no_show",
    "session_reschedule",
]
