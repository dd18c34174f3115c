"""What clients do online from their signed links (issue 11): book a maintenance boost
from the reminder, answer the screening themselves, and what the front desk sees of it.

Online bookings go through the one booking service (``session_book``: the eligibility
gate, the slot guard, the confirmation email) and online screenings through the one
screening service (``screening_record``: the same outcome rules). Nothing here decides
a clinic rule again; it only says who acted (the client, online) and what staff see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clients.models import Client, Screening
from clients.rules import Outcome
from clients.services import screening_record
from clinic.clinic_time import local, localdate
from clinic.errors import Conflict, RuleViolation
from protocols.models import Plan
from protocols.rules import age_on
from protocols.services import protocol_for_age
from sessions_app.booking import DEFAULT_SESSION_MINUTES, session_book
from sessions_app.free_times import FreeTime, free_times
from sessions_app.models import Device, Room, Session

__all__ = [
    "ACTIVITY_DAYS",
    "Activity",
    "BoostDay",
    "BoostPage",
    "boost_book",
    "boost_minutes",
    "boost_page",
    "boost_upcoming",
    "client_activity",
    "client_activity_count",
    "screening_record_online",
]

# The boost page shows the first few days that have a free time, two weeks searched
# at a time; "Later times" moves on from the day after the last one shown.
BOOST_DAYS_SHOWN = 3
BOOST_SEARCH_DAYS = 14
# Clients choose among half hours: every quarter hour, as staff see them, would double a
# long page without giving the client a better choice.
BOOST_STEP_MINUTES = 30
# How far ahead a client may look online: beyond that, the clinic's diary is not set.
BOOST_HORIZON_DAYS = 90
# The front desk's "Client activity" list and its count in the navigation: what
# clients did in the last week. A fixed window needs no "seen" bookkeeping per user.
ACTIVITY_DAYS = 7


# Book the boost ---------------------------------------------------------------------
def boost_minutes(client: Client) -> int:
    """A maintenance boost lasts as long as the client's sessions did: their latest
    plan's session length, else their age band's protocol, else the default."""
    plan = Plan.objects.filter(client=client).order_by("-start_date", "-pk").first()
    if plan is not None:
        return plan.session_minutes
    try:
        return protocol_for_age(age_on(client.date_of_birth, localdate())).session_minutes
    except RuleViolation:  # no band covers the age: a manager's fix, not the client's
        return DEFAULT_SESSION_MINUTES


def boost_upcoming(client: Client) -> Session | None:
    """The client's next booked maintenance boost, if any: one is enough, the page
    shows it instead of offering a second."""
    return (
        Session.objects.filter(
            client=client,
            kind=Session.Kind.MAINTENANCE,
            status=Session.Status.BOOKED,
            start__gte=timezone.now(),
        )
        .select_related("esthetician")
        .order_by("start")
        .first()
    )


@dataclass(frozen=True)
class BoostDay:
    day: date
    times: list[FreeTime]


@dataclass(frozen=True)
class BoostPage:
    days: list[BoostDay]
    # The first day "Later times" asks for, or None at the horizon.
    later: date | None
    minutes: int


def boost_page(
    *, client: Client, date_from: date | None = None, now: datetime | None = None
) -> BoostPage:
    """The next free times for the client's boost (issue 11: soonest first, a few days
    at a time, the client's usual esthetician first). One time per start: where more
    than one esthetician is free, the one ``free_times`` puts first (the client's
    usual esthetician) is offered."""
    now = now or timezone.now()
    today = localdate(now)
    horizon = today + timedelta(days=BOOST_HORIZON_DAYS)
    day = max(date_from or today, today)
    minutes = boost_minutes(client)
    days: list[BoostDay] = []
    while day <= horizon and len(days) < BOOST_DAYS_SHOWN:
        last = min(day + timedelta(days=BOOST_SEARCH_DAYS - 1), horizon)
        found = free_times(
            date_from=day,
            date_to=last,
            minutes=minutes,
            client=client,
            now=now,
            step_minutes=BOOST_STEP_MINUTES,
        )
        by_day: dict[date, dict[datetime, FreeTime]] = {}
        for free in found:
            by_day.setdefault(localdate(free.start), {}).setdefault(free.start, free)
        for found_day in sorted(by_day):
            if len(days) < BOOST_DAYS_SHOWN:
                days.append(BoostDay(found_day, list(by_day[found_day].values())))
        day = last + timedelta(days=1)
    if len(days) == BOOST_DAYS_SHOWN:
        day = days[-1].day + timedelta(days=1)
    later = day if day <= horizon else None
    return BoostPage(days=days, later=later, minutes=minutes)


@transaction.atomic
def boost_start_problem(start: datetime, *, now: datetime | None = None) -> str:
    """Why a client may not book a boost at ``start`` online, or "": only the times the
    boost page offers, from now up to ``BOOST_HORIZON_DAYS`` ahead, on its step (a
    crafted form must not book beyond the diary the clinic has set)."""
    now = now or timezone.now()
    horizon = now + timedelta(days=BOOST_HORIZON_DAYS)
    if not now <= start <= horizon or local(start).minute % BOOST_STEP_MINUTES:
        return "Choose one of the times below."
    return ""


@transaction.atomic
def boost_book(
    *, client: Client, esthetician, room: Room, device: Device, start: datetime
) -> Session:
    """Book a maintenance boost the client chose online (issue 11, "Book the boost
    online"): ``session_book`` with no member of staff, marked ``booked_online``.

    The client's row is locked first, so two presses of the button (or two tabs) take
    turns and the second finds the boost already booked, not a second boost."""
    problem = boost_start_problem(start)
    if problem:
        raise RuleViolation(problem, field="start")
    Client.objects.select_for_update().filter(pk=client.pk).first()
    booked = boost_upcoming(client)
    if booked is not None:
        raise Conflict("Your maintenance boost is already booked.", field="start")
    return session_book(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        by=None,
        online=True,
        kind=Session.Kind.MAINTENANCE,
        minutes=boost_minutes(client),
    )


# The screening online -----------------------------------------------------------------
def screening_record_online(*, client: Client, answers) -> Screening:
    """The client's own answers to the six questions (issue 11, "The screening online"):
    the one screening service and its outcome rules, recorded as answered online by
    the client, with no member of staff."""
    return screening_record(client=client, answers=answers, by=None, online=True)


# What the front desk sees -------------------------------------------------------------
@dataclass(frozen=True)
class Activity:
    kind: str  # "booked_online", "cancelled", "confirmed", "screening"
    at: datetime
    client: Client
    session: Session | None = None
    screening: Screening | None = None

    @property
    def label(self) -> str:
        return ACTIVITY_LABELS[self.kind]


ACTIVITY_LABELS = {
    "booked_online": "Booked online",
    "cancelled": "Cancelled by the client",
    "confirmed": "Confirmed by the client",
    "screening": "Screening answered online: call the client",
}

# The online screenings the front desk must act on: a clearance to ask for, or a call.
_SCREENING_TO_CALL = (Outcome.NEEDS_CLEARANCE.value, Outcome.INELIGIBLE.value)


def _activity_since(now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(days=ACTIVITY_DAYS)


def _sessions_acted(since: datetime):
    return Session.objects.filter(
        Q(booked_online=True, booked_at__gte=since)
        | Q(cancelled_by_client=True, cancelled_at__gte=since)
        | Q(client_confirmed_at__gte=since)
    )


def _screenings_to_call(since: datetime):
    return Screening.objects.filter(
        answered_online=True, outcome__in=_SCREENING_TO_CALL, recorded_at__gte=since
    )


def client_activity(*, now: datetime | None = None) -> list[Activity]:
    """What clients did from their emails in the last ``ACTIVITY_DAYS`` days (issue 11,
    "The front desk sees what clients did"), newest first: online bookings,
    cancellations and confirmations by the client, and online screenings that need a
    clearance or a call. Two queries, however many rows."""
    since = _activity_since(now)
    items: list[Activity] = []
    sessions = _sessions_acted(since).select_related("client", "esthetician")
    for session in sessions:
        if session.booked_online and session.booked_at >= since:
            items.append(Activity("booked_online", session.booked_at, session.client, session))
        if session.cancelled_by_client and session.cancelled_at and session.cancelled_at >= since:
            items.append(Activity("cancelled", session.cancelled_at, session.client, session))
        if session.client_confirmed_at and session.client_confirmed_at >= since:
            items.append(
                Activity("confirmed", session.client_confirmed_at, session.client, session)
            )
    for screening in _screenings_to_call(since).select_related("client"):
        items.append(
            Activity("screening", screening.recorded_at, screening.client, screening=screening)
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items


def client_activity_count(*, now: datetime | None = None) -> int:
    """How many items ``client_activity`` lists, in one query (the navigation shows it
    on every page): each session counts once per thing the client did with it."""
    since = _activity_since(now)
    booked = Session.objects.filter(booked_online=True, booked_at__gte=since)
    cancelled = Session.objects.filter(cancelled_by_client=True, cancelled_at__gte=since)
    confirmed = Session.objects.filter(client_confirmed_at__gte=since)
    screenings = _screenings_to_call(since)
    parts = [qs.order_by().values_list("pk") for qs in (booked, cancelled, confirmed, screenings)]
    return parts[0].union(*parts[1:], all=True).count()
