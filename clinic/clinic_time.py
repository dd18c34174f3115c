"""Clinic time: the one place that turns a clinic-local day and time into an instant,
and an instant into what people read (SPEC: times shown to people are in the clinic's
zone, storage is UTC, and reminders stay right across daylight-saving changes).

Two daylight-saving rules live here and nowhere else:

- **Spring forward.** A wall-clock time that the change skips (02:30 on the March
  Sunday in America/Los_Angeles) does not exist: ``local_datetime`` refuses it with a
  ``RuleViolation`` naming the field, rather than silently building a time that is
  not on any clock.
- **Fall back.** A wall-clock time that happens twice (01:30 on the November Sunday)
  means its *first* occurrence, still on summer time (``fold=0``).

Lengths are real elapsed time: ``plus`` adds minutes in UTC, so a 90-minute session
that starts at 01:30 on the spring-forward night ends at 04:00 local, 90 minutes later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, timezone

from clinic.errors import RuleViolation


def clinic_zone() -> ZoneInfo:
    """The clinic's zone, read from settings at call time (tests may change it)."""
    return ZoneInfo(settings.CLINIC_TIME_ZONE)


def local(moment: datetime) -> datetime:
    """An instant as the clinic's clocks show it."""
    return timezone.localtime(moment, clinic_zone())


def localdate(moment: datetime | None = None) -> date:
    """The clinic-local day of ``moment`` (now, when not given)."""
    return local(moment if moment is not None else timezone.now()).date()


def _resolve(day: date, at: time) -> datetime:
    """``at`` on ``day`` without the gap check: the first occurrence of an ambiguous
    time; a skipped time comes out moved forward by the gap (02:30 reads as 03:30)."""
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=clinic_zone()).astimezone(UTC).astimezone(clinic_zone())


def exists(day: date, at: time) -> bool:
    """False when the clinic's clocks skip ``at`` on ``day`` (spring forward)."""
    return _resolve(day, at).replace(tzinfo=None) == datetime.combine(
        day, at.replace(tzinfo=None, fold=0)
    )


def day_start(day: date) -> datetime:
    """The first instant of the clinic-local ``day``. Never raises: where a zone skips
    midnight (some do), the day starts at the first time its clocks show."""
    return _resolve(day, time.min)


def local_datetime(day: date, at: time, *, field: str = "time") -> datetime:
    """``at`` o'clock on ``day`` in the clinic's zone (10:00 stays 10:00 across DST).

    A time the clocks skip is a ``RuleViolation`` on ``field``; a time that happens
    twice is its first occurrence (fold=0, summer time). Midnight means the start of
    the day (``day_start``), which always exists."""
    if at.replace(tzinfo=None) == time.min:
        return day_start(day)
    if not exists(day, at):
        raise RuleViolation(
            f"{at:%H:%M} does not exist on {day:%a %b} {day.day}, {day.year} in clinic time "
            f"({settings.CLINIC_TIME_ZONE}): the clocks spring forward that night. "
            "Choose another time.",
            field=field,
        )
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=clinic_zone())


def local_datetime_or_next(day: date, at: time) -> datetime:
    """Like ``local_datetime`` but never raises: a skipped time moves forward by the
    gap. For times the clinic set itself (working hours, reminder hours), not input."""
    return _resolve(day, at)


def plus(start: datetime, length: timedelta) -> datetime:
    """``length`` of real time after ``start``, in clinic time. Adding a timedelta to
    a zone-aware datetime moves the wall clock instead, which is wrong across a DST
    change: 01:30 + 90 minutes would be 03:00, only 30 real minutes on the spring night."""
    return (start.astimezone(UTC) + length).astimezone(clinic_zone())


def hhmm(moment: datetime) -> str:
    """``10:30 AM`` in clinic time."""
    return formats.time_format(local(moment), "g:i A")


def day_label(moment: datetime) -> str:
    """``Mon Mar 1, 2027`` in clinic time."""
    return formats.date_format(local(moment), "D M j, Y")
