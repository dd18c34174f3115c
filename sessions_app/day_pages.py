"""The sessions lists of the front desk's day and the esthetician's day or week (issue 14):
each client's eligibility decided once per page from prefetched records, every row's
words, times and links computed here rather than by includes and filters in a loop, and
the rendered list kept in the page cache on the data version (``clinic.dataversion``).

The cached list holds nothing that differs between two members of staff asking for the
same thing: no CSRF token, no messages, no user name; what a role changes (the "Book"
links) is part of the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone

from clients.selectors import ClientEligibility, eligibility_prefetches
from clinic import dataversion
from clinic.clinic_time import local, localdate
from clinic.selectors import active_estheticians
from sessions_app import selectors
from sessions_app.badges import eligibility_by_client, eligibility_valid_until
from sessions_app.calendar_feed import BY_ROOM, ELIGIBILITY_LABELS
from sessions_app.models import Session


def _staff_name(user) -> str:
    return user.get_full_name() or user.username


def _time(moment: datetime) -> str:
    return formats.time_format(timezone.localtime(moment), "g:i A")


class _Links:
    """``reverse`` once per page, not once per row."""

    MARK = "2147483647"

    def __init__(self) -> None:
        self.detail = reverse("sessions:detail", args=[int(self.MARK)])

    def session(self, pk: int) -> str:
        return self.detail.replace(self.MARK, str(pk))


def session_rows(
    sessions: Sequence[Session],
    eligibilities: dict[int, ClientEligibility],
    *,
    meta_by_esthetician: bool,
) -> list[dict]:
    """What each list row shows, in words: the status and eligibility badges, the
    client's own marks (booked online, confirmed), and the room (or the esthetician,
    in a room's column) with the device."""
    links = _Links()
    rows = []
    for s in sessions:
        outcome = eligibilities[s.client_id].outcome
        who = _staff_name(s.esthetician) if meta_by_esthetician else str(s.room)
        confirmed = ""
        if s.client_confirmed_at:
            at = timezone.localtime(s.client_confirmed_at)
            confirmed = formats.date_format(at, "M j, g:i A")
        rows.append(
            {
                "session": s,
                "url": links.session(s.pk),
                "time": f"{_time(s.start)}–{_time(s.end)}",
                "client": s.client.full_name,
                "meta": f"{who} · {s.device.name} {s.device.serial_number}",
                "status": s.status,
                "status_label": s.get_status_display(),
                "eligibility": outcome,
                "eligibility_label": ELIGIBILITY_LABELS.get(outcome, outcome),
                "booked_online": s.booked_online,
                "confirmed": confirmed,
            }
        )
    return rows


def _sessions(queryset) -> list[Session]:
    return list(queryset.prefetch_related(*eligibility_prefetches("client__")))


def estheticians() -> list:
    """The active estheticians, from the page cache (the calendar's picker, every
    request)."""
    # Only what the pages show: no password hash in the cache.
    fields = ("id", "username", "first_name", "last_name", "role", "is_active")
    return dataversion.cached(
        "estheticians", (), lambda: (list(active_estheticians().only(*fields)), None)
    )


# The front desk's day -------------------------------------------------------------------
def _schedule(*, day: date, by: str, can_book: bool) -> tuple[dict, datetime | None]:
    now = timezone.now()
    staff = list(active_estheticians())
    sessions = _sessions(selectors.sessions_on(day))
    eligibilities = eligibility_by_client(sessions, at=now)
    if by == BY_ROOM:  # one column per room with a session that day (issue 13)
        rooms = {s.room_id: s.room for s in sessions}
        columns = [
            {"room": room, "sessions": [s for s in sessions if s.room_id == pk]}
            for pk, room in sorted(rooms.items(), key=lambda item: item[1].name)
        ]
    else:
        columns = [{"esthetician": e, "name": _staff_name(e), "sessions": []} for e in staff]
        placed = {c["esthetician"].pk: c for c in columns}
        for s in sessions:
            if s.esthetician_id in placed:
                placed[s.esthetician_id]["sessions"].append(s)
    for column in columns:
        column["rows"] = session_rows(
            column.pop("sessions"), eligibilities, meta_by_esthetician="room" in column
        )
    html = render_to_string(
        "sessions/includes/schedule_columns.html",
        {
            "day": day,
            "by": by,
            "columns": columns,
            "can_book": can_book,
            "calendar_url": reverse("sessions:calendar"),
            "book_url": reverse("sessions:calendar-book"),
        },
    )
    page = {"html": html, "session_count": len(sessions), "column_count": len(columns)}
    return page, eligibility_valid_until(eligibilities.values())


def schedule_page(*, day: date, by: str, user) -> dict:
    """The day's columns as HTML, with the counts the heading shows."""
    can_book = user.can("sessions.book")
    return dataversion.cached(
        "schedule",
        # Today: a clearance expires at the clinic's midnight, with no write.
        (day, by, can_book, localdate()),
        lambda: _schedule(day=day, by=by, can_book=can_book),
    )


# The esthetician's day or week ----------------------------------------------------------
def _calendar(
    *, esthetician_id: int, first: date, length: int, today: date, can_book: bool
) -> tuple[dict, datetime | None]:
    now = timezone.now()
    sessions = _sessions(
        selectors.sessions_between(first, first + timedelta(days=length)).filter(
            esthetician_id=esthetician_id
        )
    )
    eligibilities = eligibility_by_client(sessions, at=now)
    rows = session_rows(sessions, eligibilities, meta_by_esthetician=False)
    days = []
    for offset in range(length):
        current = first + timedelta(days=offset)
        days.append(
            {
                "date": current,
                "is_today": current == today,
                "rows": [r for r in rows if local(r["session"].start).date() == current],
            }
        )
    html = render_to_string(
        "sessions/includes/calendar_days.html",
        {
            "days": days,
            "view": "day" if length == 1 else "week",
            "esthetician_id": esthetician_id,
            "can_book": can_book,
            "book_url": reverse("sessions:calendar-book"),
        },
    )
    page = {"html": html, "session_count": len(sessions)}
    return page, eligibility_valid_until(eligibilities.values())


def calendar_page(*, esthetician, first: date, length: int, today: date, user) -> dict:
    """One esthetician's days from ``first`` as HTML, with the session count."""
    can_book = user.can("sessions.book")
    return dataversion.cached(
        "calendar",
        (esthetician.pk, first, length, today, can_book),
        lambda: _calendar(
            esthetician_id=esthetician.pk,
            first=first,
            length=length,
            today=today,
            can_book=can_book,
        ),
    )
