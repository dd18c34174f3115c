"""Plain helpers shared by the booking tests (fixtures live in conftest.py)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from clients.rules import screening_outcome
from tests.factories import ScreeningFactory, WorkingHoursFactory, screening_answers

LA = ZoneInfo("America/Los_Angeles")
ONE_SESSION = timedelta(minutes=45)


def at(day, hh_mm: str) -> datetime:
    """``hh_mm`` o'clock on ``day`` in clinic time."""
    hours, minutes = (int(part) for part in hh_mm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=LA)


def screen(client, *yes: str, **fields):
    """A screening taken now, answering "yes" to ``yes`` and "no" to the rest."""
    answers = screening_answers(*yes)
    result = screening_outcome(answers)
    return ScreeningFactory(
        client=client,
        **answers,
        outcome=result.outcome.value,
        flagged=[c.value for c in result.flagged],
        **fields,
    )


def full_week(esthetician):
    """Working hours 09:00-18:00 on every day of the week."""
    return [WorkingHoursFactory(esthetician=esthetician, weekday=day) for day in range(7)]


def local(moment: str | datetime) -> datetime:
    """An API timestamp (or datetime) in clinic time."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(LA)
