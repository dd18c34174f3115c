"""The time grid's page side (issue 13): its feed for the pages' own script, the grid's
settings handed to that script, and "book this slot", where a click on an empty slot
(or the day list's link, without JavaScript) chooses the client to book."""

from __future__ import annotations

import functools
from datetime import date, time, timedelta
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from clients.selectors import client_eligibility, client_search, clients_for_eligibility
from clinic.clinic_time import day_label, hhmm, local_datetime, local_datetime_or_next
from clinic.errors import DomainError
from clinic.permissions import RoleRequiredMixin
from sessions_app.calendar_api import CalendarFeedQuerySerializer, feed_for
from sessions_app.calendar_feed import BY_ESTHETICIAN, BY_ROOM
from sessions_app.forms import SessionBookForm
from sessions_app.serializers import RescheduleSerializer

# What a slot carries to the booking form (``SessionBookView.get_initial`` reads them).
SLOT_FIELDS = ("date", "time", "esthetician", "room", "device", "minutes", "kind")
CLIENTS_SHOWN = 20


def grouping(request) -> str:
    return BY_ROOM if request.GET.get("by") == BY_ROOM else BY_ESTHETICIAN


def grid_config(request, *, view: str, day: date, first: date, days: int, by, esthetician):
    """What ``static/js/calendar.js`` needs to draw the grid over the page's list, passed
    with ``json_script`` (the Content-Security-Policy runs no inline script)."""
    user = request.user
    can_book = user.can("sessions.book")
    takes = _reschedule_takes()
    return {
        "feed": reverse("sessions:calendar-feed"),
        "view": view,
        "date": day.isoformat(),
        "start": first.isoformat(),
        "end": (first + timedelta(days=days)).isoformat(),
        "by": by,
        "esthetician": esthetician.pk if esthetician is not None else None,
        "book": reverse("sessions:calendar-book") if can_book else None,
        "reschedule": reverse("session-reschedule", args=[0]) if can_book else None,
        "resize": "minutes" in takes,
        "moveAcross": by in takes,
        "csrfToken": get_token(request) if can_book else None,
        # Events are wall times either way; the offset puts the "now" line and today's
        # column at the clinic's now, not the browser's, wherever the browser is.
        "utcOffset": utc_offset(day),
    }


@functools.cache
def _reschedule_takes() -> frozenset[str]:
    """Moving a session to another column changes its esthetician or room: only where the
    reschedule service takes them (otherwise a drop there would move the time alone).
    The serializer's fields are fixed: read once, not on every page."""
    return frozenset(RescheduleSerializer().fields)


def utc_offset(day: date) -> str:
    """``-08:00``: the clinic's offset from UTC at noon on ``day``."""
    minutes = int(local_datetime_or_next(day, time(12)).utcoffset().total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class CalendarFeedPageView(RoleRequiredMixin, View):
    """``GET /calendar/feed/?start=&end=&by=&esthetician=``: the grid's feed for the
    pages' script, with the page log-in (the API has the same at ``/api/calendar/``)."""

    permission = "sessions.view"

    def get(self, request):
        query = CalendarFeedQuerySerializer(data=request.GET)
        if not query.is_valid():
            return JsonResponse(query.errors, status=400)
        return JsonResponse(feed_for(query, request.user))


def slot_initial(params) -> dict:
    """The slot's values that the booking form accepts; the rest are dropped."""
    initial = {}
    for name in SLOT_FIELDS:
        raw = params.get(name)
        if raw is None:
            continue
        try:
            initial[name] = SessionBookForm.base_fields[name].clean(raw)
        except ValidationError:
            continue
    return initial


class SlotBookView(RoleRequiredMixin, TemplateView):
    """``/calendar/book/?date=&time=&esthetician=&room=``: book this slot. Find the client;
    each one found links to their booking form with the slot filled in."""

    permission = "sessions.book"
    template_name = "sessions/slot_book.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        slot = slot_initial(self.request.GET)
        query = self.request.GET.get("q", "").strip()
        carried = {name: self.request.GET[name] for name in SLOT_FIELDS if name in slot}
        found = Paginator(
            clients_for_eligibility(client_search(query=query)), CLIENTS_SHOWN
        ).get_page(self.request.GET.get("page"))
        context.update(
            slot=slot,
            slot_label=self._label(slot),
            carried=carried,
            carried_query=urlencode(carried),
            query=query,
            page_obj=found,
            rows=[(c, client_eligibility(client=c)) for c in found],
        )
        return context

    @staticmethod
    def _label(slot: dict) -> str:
        parts = []
        if "date" in slot and "time" in slot:
            try:
                start = local_datetime(slot["date"], slot["time"])
                parts.append(f"{day_label(start)} at {hhmm(start)}")
            except DomainError:
                parts.append(f"{slot['date']:%a %b %-d, %Y}")
        elif "date" in slot:
            parts.append(f"{slot['date']:%a %b %-d, %Y}")
        if "esthetician" in slot:
            person = slot["esthetician"]
            parts.append(f"with {person.get_full_name() or person.username}")
        if "room" in slot:
            parts.append(f"in {slot['room']}")
        return " ".join(parts)
