"""Writes to the clinic's resources: rooms, devices, working hours and closed days.

The pages call these now and the API can later; each one validates the whole row
(``full_clean``) and raises Django's ``ValidationError`` naming the field at fault,
so neither caller ever sees an ``IntegrityError``.
"""

from __future__ import annotations

from datetime import date, time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic.clinic_time import localdate
from clinic.dates import OUT_OF_RANGE, within_calendar
from clinic.models import User
from clinic.selectors import is_active_esthetician
from sessions_app.models import ClosedDay, Device, Room, Weekday, WorkingHours

ROOM_FIELDS = ("name", "is_active")
DEVICE_FIELDS = ("name", "serial_number", "in_service")
WORKING_HOURS_FIELDS = ("esthetician", "weekday", "starts_at", "ends_at")


def _save(instance, fields: dict, allowed: tuple[str, ...]):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Unexpected fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean()
    try:
        # A savepoint, so the caller's transaction stays usable after a lost race.
        with transaction.atomic():
            instance.save()
    except IntegrityError as error:
        # Two managers saving the same name at once: full_clean passed for both.
        raise ValidationError(
            "Someone else saved a clashing change at the same time. Check the list and try again."
        ) from error
    return instance


@transaction.atomic
def room_save(*, room: Room | None = None, **fields) -> Room:
    """Add a treatment room (``room=None``) or change one. An inactive room stays on
    past sessions but cannot be booked."""
    return _save(room or Room(), fields, ROOM_FIELDS)


@transaction.atomic
def device_save(*, device: Device | None = None, **fields) -> Device:
    """Add a microcurrent device or change one. A device out of service cannot be
    booked (issue 4, "Resources")."""
    return _save(device or Device(), fields, DEVICE_FIELDS)


@transaction.atomic
def working_hours_save(
    *,
    working_hours: WorkingHours | None = None,
    esthetician: User,
    weekday: int,
    starts_at: time,
    ends_at: time,
) -> WorkingHours:
    """Set one esthetician's shift on one weekday, in clinic time. A shift ends after it
    starts, and an esthetician has at most one shift per weekday."""
    shift = working_hours or WorkingHours()
    errors: dict[str, list[str]] = {}
    if not is_active_esthetician(esthetician):
        errors["esthetician"] = [f"{esthetician} is not an active esthetician."]
    if ends_at <= starts_at:
        errors["ends_at"] = ["The shift must end after it starts."]
    taken = WorkingHours.objects.filter(esthetician=esthetician, weekday=weekday).exclude(
        pk=shift.pk
    )
    if taken.exists():
        day = Weekday(weekday).label
        errors["weekday"] = [
            f"{esthetician} already has a shift on {day}s. Edit that shift instead."
        ]
    if errors:
        raise ValidationError(errors)
    fields = dict(esthetician=esthetician, weekday=weekday, starts_at=starts_at, ends_at=ends_at)
    return _save(shift, fields, WORKING_HOURS_FIELDS)


@transaction.atomic
def working_hours_remove(*, working_hours: WorkingHours) -> None:
    """The esthetician no longer works that weekday. Sessions already booked stay."""
    working_hours.delete()


@transaction.atomic
def closed_day_add(*, date: date, reason: str = "") -> ClosedDay:
    """Mark a day closed: nothing new can be booked on it. Sessions already booked that
    day stay booked until someone moves or cancels them."""
    if date < localdate():
        raise ValidationError({"date": ["That day is past; only today or later can be closed."]})
    if not within_calendar(date):
        raise ValidationError({"date": [OUT_OF_RANGE]})
    if ClosedDay.objects.filter(date=date).exists():
        raise ValidationError({"date": ["The clinic is already marked closed on that day."]})
    return _save(ClosedDay(), {"date": date, "reason": reason}, ("date", "reason"))


@transaction.atomic
def closed_day_remove(*, closed_day: ClosedDay) -> None:
    """Open the clinic again on a day marked closed."""
    closed_day.delete()
