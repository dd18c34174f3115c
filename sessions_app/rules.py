"""A session's numbers (issue 9, rule 6): its length and the treatment record's ranges,
as pure values and functions. Services call these; forms and serializers take the same
limits and messages from ``Bound.field_limits``, so the API and the pages say one thing.

The session length is the protocols' rule (a protocol's ``session_minutes`` is one), kept
in ``protocols.rules`` because protocols may not import from here; it is named here too
so a booking asks one module for all of a session's numbers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from protocols.rules import SESSION_MINUTES, Bound

__all__ = [
    "DURATION_MINUTES",
    "FREQUENCY_HZ",
    "INTENSITY_MICROAMPS",
    "SESSION_MINUTES",
    "Bound",
    "client_can_cancel",
    "session_minutes_problem",
    "treatment_problems",
]

# SPEC, "Age-based treatment plans": intensity is 10–500 µA.
INTENSITY_MICROAMPS = Bound(10, 500, "Intensity must be between {low} and {high} µA (microamps).")
# Microcurrent devices work from 0.1 Hz to 1,000 Hz (Skin Inc., "Gain a Competitive Edge
# With Microcurrent", September 2011: "Microcurrent frequency (Hz) levels can range from
# 0.1–1,000 Hz"). The article we were given names no numbers. Zero would be direct
# current, which no microcurrent facial uses.
FREQUENCY_HZ = Bound(
    Decimal("0.1"), Decimal("1000"), "Frequency must be between {low} and {high} Hz."
)
# Time the current was applied, within the longest session that can be booked.
DURATION_MINUTES = Bound(
    1, SESSION_MINUTES.high, "Duration must be between {low} and {high} minutes."
)


def session_minutes_problem(minutes: int) -> str | None:
    """The message if a session cannot be booked for ``minutes``, else None."""
    return SESSION_MINUTES.problem(minutes)


def treatment_problems(
    *, intensity_microamps: int, frequency_hz: Decimal, duration_minutes: int
) -> list[tuple[str, str]]:
    """What is wrong with a treatment record's numbers, as ``(field, message)`` pairs in
    the order of the completion form."""
    checks = [
        ("intensity_microamps", intensity_microamps, INTENSITY_MICROAMPS),
        ("frequency_hz", Decimal(str(frequency_hz)), FREQUENCY_HZ),
        ("duration_minutes", duration_minutes, DURATION_MINUTES),
    ]
    return [(name, bound.message) for name, value, bound in checks if bound.problem(value)]


def client_can_cancel(*, start: datetime, at: datetime | None = None) -> bool:
    """The one notice rule for a client's own cancellation (SPEC: cancellations need
    ``CANCEL_NOTICE_HOURS`` notice): open while ``start`` is at least that far from
    ``at`` (now by default). Later than that the client calls the clinic."""
    at = timezone.now() if at is None else at
    return start - at >= timedelta(hours=settings.CANCEL_NOTICE_HOURS)
