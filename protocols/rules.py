"""Age bands and series placement (SPEC, "Age-based treatment plans"), as pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


def age_on(born: date, day: date) -> int:
    """Whole years of age on ``day``.

    A 29 February birthday comes round on 1 March in common years: the client
    is not a year older until the day after 28 February.
    """
    before_birthday = (day.month, day.day) < (born.month, born.day)
    return day.year - born.year - int(before_birthday)


@dataclass(frozen=True)
class Band:
    name: str
    min_age: int
    max_age: int | None


def band_problems(bands: Iterable[Band]) -> list[str]:
    """What is wrong with a set of age bands: they must cover every age from 0 up,
    once each, with the last one open-ended."""
    ordered = sorted(bands, key=lambda b: b.min_age)
    if not ordered:
        return ["There must be at least one age band."]
    problems = []
    if ordered[0].min_age != 0:
        problems.append(f"No band covers ages 0 to {ordered[0].min_age - 1}.")
    for band in ordered:
        if band.max_age is not None and band.max_age < band.min_age:
            problems.append(f"{band.name}: the maximum age is below the minimum age.")
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if lower.max_age is None:
            problems.append(f"{lower.name} is open-ended but {upper.name} starts after it.")
        elif upper.min_age <= lower.max_age:
            problems.append(f"{lower.name} and {upper.name} overlap.")
        elif upper.min_age > lower.max_age + 1:
            problems.append(
                f"No band covers ages {lower.max_age + 1} to {upper.min_age - 1} "
                f"(between {lower.name} and {upper.name})."
            )
    if ordered[-1].max_age is not None:
        problems.append(f"No band covers ages above {ordered[-1].max_age}.")
    return problems


def spread_evenly(candidates: Sequence[date], count: int) -> list[date]:
    """Pick ``count`` of the candidate days, spread as evenly as they allow.

    The first and last candidates are always used (so the series fills its
    window); the rest fall at even steps between them. Days are distinct, so a
    client is never booked twice on one day by the series.
    """
    if count <= 0:
        return []
    if count > len(candidates):
        raise ValueError(f"{count} sessions do not fit in {len(candidates)} days")
    if count == 1:
        return [candidates[0]]
    last = len(candidates) - 1
    return [candidates[round(i * last / (count - 1))] for i in range(count)]


def window_days(
    start: date, weeks: int, weekdays: Iterable[int], closed: Iterable[date] = ()
) -> list[date]:
    """Every day from ``start`` for ``weeks`` weeks that falls on one of ``weekdays``
    (Monday = 0) and is not a closed day."""
    wanted = set(weekdays)
    shut = set(closed)
    days = (start + timedelta(days=n) for n in range(weeks * 7))
    return [d for d in days if d.weekday() in wanted and d not in shut]


# Numbers in one place (issue 9, rule 6) ---------------------------------------------
# Every range a protocol's numbers and a session's length must fall in, with the one
# message that says so. Services check them (``protocol_number_problems``,
# ``sessions_app.rules``); forms and serializers take the same limits and words from
# ``Bound.field_limits`` so the API, its schema and the pages agree.


@dataclass(frozen=True)
class Bound:
    """An inclusive range a number must fall in, and the message naming it."""

    low: int | Decimal
    high: int | Decimal
    template: str  # "{low}" and "{high}" are filled in

    @property
    def message(self) -> str:
        return self.template.format(low=self.low, high=self.high)

    def problem(self, value: int | Decimal) -> str | None:
        """The message if ``value`` is outside the range (or not a finite number), else
        None."""
        if isinstance(value, Decimal) and not value.is_finite():
            return self.message
        return None if self.low <= value <= self.high else self.message

    def field_limits(self) -> dict:
        """``min_value``/``max_value`` and their messages, as Django form fields and DRF
        serializer fields both take them: a form or an API request refused by the
        field says exactly what the service would."""
        return {
            "min_value": self.low,
            "max_value": self.high,
            "error_messages": {"min_value": self.message, "max_value": self.message},
        }


AGE = Bound(0, 150, "An age is a whole number of years from {low} to {high}.")
SERIES_SESSIONS = Bound(1, 100, "A series has from {low} to {high} sessions.")
SERIES_WEEKS = Bound(1, 52, "A series runs over {low} to {high} weeks.")
# How long one session is booked for: a protocol's session length, and any single
# booking. Below 15 minutes is no treatment; a calendar slot longer than 3 hours is a
# typing mistake.
SESSION_MINUTES = Bound(15, 180, "A session lasts from {low} to {high} minutes.")


def protocol_number_problems(
    *,
    min_age: int | None,
    max_age: int | None,
    sessions_min: int | None,
    sessions_max: int | None,
    weeks_min: int | None,
    weeks_max: int | None,
    session_minutes: int | None,
) -> list[tuple[str, str]]:
    """What is wrong with one age band's numbers, as ``(field, message)`` pairs in the
    order of the form (a missing number, None, is left to the form's own "required").
    Whether the bands fit together is ``band_problems``."""
    bounded = [
        ("min_age", min_age, AGE),
        ("max_age", max_age, AGE),
        ("sessions_min", sessions_min, SERIES_SESSIONS),
        ("sessions_max", sessions_max, SERIES_SESSIONS),
        ("weeks_min", weeks_min, SERIES_WEEKS),
        ("weeks_max", weeks_max, SERIES_WEEKS),
        ("session_minutes", session_minutes, SESSION_MINUTES),
    ]
    problems = [
        (name, bound.message)
        for name, value, bound in bounded
        if value is not None and bound.problem(value)
    ]
    if problems:
        return problems

    def given(*values) -> bool:
        # A number a form left empty has its own "required" error; compare the rest.
        return all(value is not None for value in values)

    if given(min_age, max_age) and max_age < min_age:
        problems.append(("max_age", "The oldest age must be at least the youngest."))
    if given(sessions_min, sessions_max) and sessions_max < sessions_min:
        problems.append(("sessions_max", "The most sessions must be at least the fewest."))
    if given(weeks_min, weeks_max) and weeks_max < weeks_min:
        problems.append(("weeks_max", "The most weeks must be at least the fewest."))
    if given(sessions_max, weeks_max) and sessions_max > weeks_max * 7:
        problems.append(
            (
                "sessions_max",
                "A client has at most one session a day: that many sessions do not fit "
                "in the weeks.",
            )
        )
    return problems
