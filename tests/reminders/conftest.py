"""Fixtures for the reminder pages, API and client links. "Now" is pinned to a
Wednesday morning in clinic time; each test moves the clock with time_machine."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import ReminderFactory, SessionFactory

LA = ZoneInfo("America/Los_Angeles")
# In UTC, so that "NOW + timedelta(days=90)" is 90 days of real time even across the
# change to daylight-saving time on March 14 (aware arithmetic in LA is wall-clock).
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=LA).astimezone(UTC)


@pytest.fixture
def clock():
    """The pinned clock; ``clock.move_to(...)`` to move it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def session(clock, a_client):
    """Ana's session a week from now, booked now."""
    return SessionFactory(client=a_client, start=datetime(2027, 3, 17, 10, 0, tzinfo=LA))


@pytest.fixture
def outbox(session):
    """One row in each state, all for Ana's session."""
    return {
        status: ReminderFactory(session=session, status=status, **fields)
        for status, fields in {
            "scheduled": {},
            "sending": {"attempts": 1},
            "sent": {"kind": "booking_confirmation", "attempts": 1, "sent_at": NOW},
            "failed": {
                "kind": "hydration_after",
                "attempts": 6,
                "last_error": "SMTPRecipientsRefused: 452 mailbox full",
            },
            "cancelled": {"last_error": "The session was cancelled."},
        }.items()
    }
