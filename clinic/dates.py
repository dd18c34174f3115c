"""The span of dates the clinic's calendar can show (issue 9, rule 7).

Python's dates end at year 1 and year 9999, and the clinic adds days, weeks and months
to what it is given (a session's end, a series' window, a clearance's expiry, a week's
calendar): a date at either end then overflows and answered 500. Dates outside this span
are refused where they come in, by this validator, with the same message on API and pages.
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError

EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
OUT_OF_RANGE = (
    f"The calendar cannot show this date: choose one between {EARLIEST:%Y-%m-%d} "
    f"and {LATEST:%Y-%m-%d}."
)


def within_calendar(day: date) -> bool:
    if isinstance(day, datetime):
        day = day.date()
    return EARLIEST <= day <= LATEST


def validate_calendar_date(value: date) -> None:
    """Field validator (DRF and Django forms alike) for a date or date-time."""
    if value is not None and not within_calendar(value):
        raise ValidationError(OUT_OF_RANGE, code="out_of_range")
