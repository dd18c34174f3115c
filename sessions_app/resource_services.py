"""Writes to the clinic's resources: rooms, devices, working hours, closed days and
estheticians' days off.

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
from sessions_app.models import ClosedDay, DayOff, Device, Room, Weekday, WorkingHours

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


def _check_name_free(model, instance, fields: dict, noun: str) -> None:
    """Names are unique regardless of case (issue 13): "willow room" is the Willow room.
    Said beside the name field, naming the one that has it; the database's constraint
    on ``Lower("name")`` refuses what a race lets past."""
    name = (fields.get("name") or "").strip()
    if not name:
        return
    fields["name"] = name
    taken = model.objects.filter(name__iexact=name).exclude(pk=instance.pk).first()
    if taken is not None:
        raise ValidationError(
            {"name": [f"There is already a {noun} named “{taken.name}”. Choose another name."]}
        )


@transaction.atomic
def room_save(*, room: Room | None = None, **fields) -> Room:
    """Add a treatment room (``room=None``) or change one. An inactive room stays on
    past sessions but cannot be booked."""
    room = room or Room()
    _check_name_free(Room, room, fields, "room")
    return _save(room, fields, ROOM_FIELDS)


@transaction.atomic
def device_save(*, device: Device | None = None, **fields) -> Device:
    """Add a microcurrent device or change one. A device out of service cannot be
    booked (issue 4, "Resources")."""
    device = device or Device()
    _check_name_free(Device, device, fields, "device")
    return _save(device, fields, DEVICE_FIELDS)


def working_hours_problems(
    *,
    working_hours: WorkingHours | None = None,
    esthetician: User,
    weekday: int,
    starts_at: time,
    ends_at: time,
) -> dict[str, list[str]]:
    """What is wrong with a shift, by field (empty when nothing is): an active
    esthetician, an end after the start, and no overlap with the esthetician's other
    shifts that weekday (issue 13: several shifts a day, a lunch break between them)."""
    errors: dict[str, list[str]] = {}
    if not is_active_esthetician(esthetician):
        errors["esthetician"] = [f"{esthetician} is not an active esthetician."]
    if ends_at <= starts_at:
        errors["ends_at"] = ["The shift must end after it starts."]
        return errors
    others = WorkingHours.objects.filter(esthetician=esthetician, weekday=weekday)
    if working_hours is not None and working_hours.pk:
        others = others.exclude(pk=working_hours.pk)
    # Touching is allowed: 09:00–13:00 and 13:00–17:00 are two shifts back to back.
    overlapping = others.filter(starts_at__lt=ends_at, ends_at__gt=starts_at).order_by("starts_at")
    taken = [f"{o.starts_at:%H:%M}–{o.ends_at:%H:%M}" for o in overlapping]
    if taken:
        day = Weekday(weekday).label
        errors["starts_at"] = [
            f"{esthetician} already works {' and '.join(taken)} on {day}s; shifts on one "
            "day must not overlap. Change the times, or edit that shift instead."
        ]
    return errors


@transaction.atomic
def working_hours_save(
    *,
    working_hours: WorkingHours | None = None,
    esthetician: User,
    weekday: int,
    starts_at: time,
    ends_at: time,
) -> WorkingHours:
    """Set one shift of an esthetician on one weekday, in clinic time
    (``working_hours_problems``). On PostgreSQL an exclusion constraint refuses an
    overlap that a concurrent save slipped past the check; on SQLite the write lock
    taken at BEGIN serialises the check and the save."""
    shift = working_hours or WorkingHours()
    fields = dict(esthetician=esthetician, weekday=weekday, starts_at=starts_at, ends_at=ends_at)
    errors = working_hours_problems(working_hours=shift, **fields)
    if errors:
        raise ValidationError(errors)
    return _save(shift, fields, WORKING_HOURS_FIELDS)


@transaction.atomic
def working_hours_remove(*, working_hours: WorkingHours) -> None:
    """The esthetician no longer works that weekday. Sessions already booked stay."""
    working_hours.delete()


def closed_day_check(*, date: date) -> None:
    """Raise ``ValidationError`` on ``date`` if the day cannot be closed: past, out of
    the calendar, or closed already."""
    if date < localdate():
        raise ValidationError({"date": ["That day is past; only today or later can be closed."]})
    if not within_calendar(date):
        raise ValidationError({"date": [OUT_OF_RANGE]})
    if ClosedDay.objects.filter(date=date).exists():
        raise ValidationError({"date": ["The clinic is already marked closed on that day."]})


@transaction.atomic
def closed_day_add(*, date: date, reason: str = "") -> ClosedDay:
    """Mark a day closed: nothing new can be booked on it. Sessions already booked that
    day stay booked until someone moves or cancels them."""
    closed_day_check(date=date)
    return _save(ClosedDay(), {"date": date, "reason": reason}, ("date", "reason"))


@transaction.atomic
def closed_day_remove(*, closed_day: ClosedDay) -> None:
    """Open the clinic again on a day marked closed."""
    closed_day.delete()


def day_off_check(*, esthetician: User, date: date) -> None:
    """Raise ``ValidationError`` by field if the esthetician cannot take ``date`` off:
    not an active esthetician, a past day, or off already."""
    errors: dict[str, list[str]] = {}
    if not is_active_esthetician(esthetician):
        errors["esthetician"] = [f"{esthetician} is not an active esthetician."]
    if not within_calendar(date):
        errors["date"] = [OUT_OF_RANGE]
    elif date < localdate():
        errors["date"] = ["That day is past; only today or later can be a day off."]
    elif DayOff.objects.filter(esthetician=esthetician, date=date).exists():
        errors["date"] = [f"{esthetician} is already off on that day."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def day_off_add(*, esthetician: User, date: date, reason: str = "") -> DayOff:
    """One esthetician does not work on ``date`` (issue 13): nothing new can be booked
    with them that day. Sessions already booked stay until someone moves or cancels them
    (the pages list them first, ``sessions_app.hours``)."""
    day_off_check(esthetician=esthetician, date=date)
    fields = {"esthetician": esthetician, "date": date, "reason": reason}
    return _save(DayOff(), fields, ("esthetician", "date", "reason"))


@transaction.atomic
def day_off_remove(*, day_off: DayOff) -> None:
    """The esthetician works that day after all (their weekly hours apply again)."""
    day_off.delete()
