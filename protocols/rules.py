"""Age bands and series placement (SPEC, "Age-based treatment plans"), as pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


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
