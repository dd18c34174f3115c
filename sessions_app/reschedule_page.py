"""The session page's "Change this booking" (issue 13: reschedule can change esthetician,
room and device, not only the time, and offers the next free times).

The next free times come from the free-times engine of booking (``free_times``, the
same rules as ``session_reschedule`` applies), for the session's own esthetician, room
and device unless the finder asks for another one or for anyone. Each free time is a
link that fills the move form (date, time, esthetician, room, device) without
JavaScript; the finder's own choices ride along so the list stays as it was asked.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.core.exceptions import ValidationError

from clinic.clinic_time import day_label, hhmm, local, localdate
from clinic.errors import DomainError
from sessions_app.forms import FreeTimeFinderForm, RescheduleForm
from sessions_app.free_times import free_times
from sessions_app.models import Session

FREE_TIMES_DAYS = 14
PREFILL = ("date", "time", "esthetician", "room", "device")


def reschedule_initial(request, session: Session) -> dict:
    """The session's own date, time, esthetician, room and device, or those of the free
    time chosen below the form (``?date=&time=&esthetician=&room=&device=``); a value
    that does not parse is ignored."""
    start = local(session.start)
    initial = {
        "date": start.date(),
        "time": start.time(),
        "esthetician": session.esthetician_id,
        "room": session.room_id,
        "device": session.device_id,
    }
    for name in PREFILL:
        raw = request.GET.get(name)
        if raw is None:
            continue
        try:
            value = RescheduleForm.base_fields[name].clean(raw)
        except ValidationError:
            continue
        initial[name] = getattr(value, "pk", value)
    return initial


def finder_form(request, session: Session) -> FreeTimeFinderForm:
    """Which free times to look for: the session's own esthetician, room and device at
    first; "any" (an empty choice) once the finder says so."""
    if any(name in request.GET for name in FreeTimeFinderForm.base_fields):
        form = FreeTimeFinderForm(request.GET)
        form.is_valid()
        return form
    return FreeTimeFinderForm(
        initial={
            "find_esthetician": session.esthetician_id,
            "find_room": session.room_id,
            "find_device": session.device_id,
        }
    )


def _chosen(form: FreeTimeFinderForm, session: Session) -> dict:
    if form.is_bound:
        data = getattr(form, "cleaned_data", {})
        return {name: data.get(name) for name in form.fields}
    return {
        "find_esthetician": session.esthetician,
        "find_room": session.room,
        "find_device": session.device,
    }


def reschedule_free_times(
    request, session: Session, *, shown: int, finder: FreeTimeFinderForm
) -> list[dict] | None:
    """The next free times to move ``session`` to, at its length, soonest first. The
    session itself clashes with nothing (``exclude``); the client's other sessions and
    the one-a-day rule count. None when the engine refuses (an esthetician, room or
    device no longer in use): the form says why on submit."""
    if finder.is_bound and not finder.is_valid():
        return None
    chosen = _chosen(finder, session)
    today = localdate()
    try:
        found = free_times(
            date_from=today,
            date_to=today + timedelta(days=FREE_TIMES_DAYS - 1),
            minutes=int((session.end - session.start).total_seconds() // 60),
            esthetician=chosen["find_esthetician"],
            room=chosen["find_room"],
            device=chosen["find_device"],
            client=session.client,
            exclude=[session.pk],
            limit=shown + 1,  # one more, in case one is where the session is now
        )
    except DomainError:
        return None
    keep = {name: getattr(value, "pk", "") for name, value in chosen.items()}
    if not finder.is_bound:
        keep = {}  # the defaults need no saying
    result = []
    for free in found:
        # Where the session already is (it clashes with nothing, itself left out) is no
        # move: not offered.
        here = (free.start, free.esthetician.pk, free.room.pk, free.device.pk) == (
            session.start,
            session.esthetician_id,
            session.room_id,
            session.device_id,
        )
        if here or len(result) == shown:
            continue
        start = local(free.start)
        query = urlencode(
            {
                "date": f"{start:%Y-%m-%d}",
                "time": f"{start:%H:%M}",
                "esthetician": free.esthetician.pk,
                "room": free.room.pk,
                "device": free.device.pk,
                **keep,
            }
        )
        label = f"{day_label(start)}, {hhmm(start)}–{hhmm(free.end)}"
        others = []
        if free.esthetician.pk != session.esthetician_id:
            others.append(f"with {free.esthetician.get_full_name() or free.esthetician}")
        if free.room.pk != session.room_id:
            others.append(str(free.room))
        if free.device.pk != session.device_id:
            others.append(str(free.device))
        if others:
            label += " " + ", ".join(others)
        result.append({"start": start, "label": label, "query": query})
    return result


def reschedule_changes(data: dict, session: Session) -> dict:
    """The esthetician, room and device a move form names, where they differ from the
    session's (``session_reschedule`` keeps the rest)."""
    return {
        name: data[name]
        for name in ("esthetician", "room", "device")
        if data.get(name) is not None and data[name].pk != getattr(session, f"{name}_id")
    }
