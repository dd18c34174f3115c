"""Every client email: one function renders any kind from ``templates/emails/``,
and confirmations carry a calendar file (SPEC: reminders stay right across DST)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, parseaddr
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Max, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac
from icalendar import Calendar, Event, vCalAddress

from clients.models import Client
from clients.rules import Outcome
from clients.selectors import client_eligibility, eligibility_prefetches
from sessions_app.availability import clinic_zone
from sessions_app.links import cancel_link_offered, link_url
from sessions_app.models import Reminder, Session

MAINTENANCE_KINDS = {Reminder.Kind.MAINTENANCE_DUE, Reminder.Kind.MAINTENANCE_OVERDUE}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_render(kind: str, context: dict) -> RenderedEmail:
    """Subject, plain text and HTML of one kind of email. Templates hold the wording."""
    return RenderedEmail(
        subject=" ".join(render_to_string(f"emails/{kind}.subject.txt", context).split()),
        text=render_to_string(f"emails/{kind}.txt", context),
        html=render_to_string(f"emails/{kind}.html", context),
    )


def when(moment: datetime) -> str:
    """'Tue Dec 1, 2026 at 10:00 AM PST': clinic time with the zone named."""
    local = timezone.localtime(moment, clinic_zone())
    return f"{local:%a %b} {local.day}, {local.year} at {local:%-I:%M %p %Z}"


def site_domain() -> str:
    """The host of ``SITE_URL``: the right-hand side of our Message-IDs and calendar UIDs."""
    return settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]


def reminder_message_id(reminder: Reminder) -> str:
    """One Message-ID per outbox row, the same on every attempt and resend (issue 10):
    the rare duplicate SMTP cannot prevent (a send accepted just as the worker died)
    carries the ID of the first, so a receiver drops it. Derived from the row's ``key``
    and the site's domain, keyed with the install's secret key: keys name internal ids,
    and a staging copy or a restored database must not reuse a live install's IDs (a
    receiver would drop a genuine email as a duplicate)."""
    digest = salted_hmac("clinic.reminder.message-id", reminder.key).hexdigest()[:24]
    return f"<reminder-{digest}@{site_domain()}>"


def reminders_prefetch(reminders: Iterable[Reminder]) -> None:
    """Load what the templates of a batch need in a fixed number of queries, whatever its
    size (issue 10, "Fast and fair"): each series confirmation's live sessions and each
    maintenance reminder's last completed session, and what ``client_eligibility``
    reads for each booking confirmation's client (its screening link, issue 11). Select
    ``client``, ``session__esthetician`` and ``plan`` with the rows."""
    reminders = list(reminders)
    confirmed = [r.client for r in reminders if _may_ask_screening(r)]
    if confirmed:
        prefetch_related_objects(confirmed, *eligibility_prefetches())
    plans = {r.plan_id for r in reminders if r.session_id is None and r.plan_id is not None}
    by_plan: dict[int, list[Session]] = defaultdict(list)
    if plans:
        live = Session.objects.live().filter(plan_id__in=plans).select_related("esthetician")
        for session in live.order_by("start", "pk"):
            by_plan[session.plan_id].append(session)
    clients = {r.client_id for r in reminders if r.kind in MAINTENANCE_KINDS}
    last_starts: dict[int, datetime] = {}
    if clients:
        last_starts = dict(
            Session.objects.filter(client_id__in=clients, status=Session.Status.COMPLETED)
            .order_by()
            .values("client_id")
            .annotate(last=Max("start"))
            .values_list("client_id", "last")
        )
    for reminder in reminders:
        if reminder.session_id is None and reminder.plan_id is not None:
            reminder._email_sessions = by_plan[reminder.plan_id]
        if reminder.kind in MAINTENANCE_KINDS:
            reminder._email_last_start = last_starts.get(reminder.client_id)


def reminder_sessions(reminder: Reminder) -> list[Session]:
    """What the email is about: the plan's live sessions for a series confirmation,
    else the one session."""
    if reminder.session_id is not None:
        return [reminder.session]
    if reminder.plan_id is not None:
        if hasattr(reminder, "_email_sessions"):  # reminders_prefetch
            return reminder._email_sessions
        return list(reminder.plan.sessions.live().select_related("esthetician").order_by("start"))
    return []


def _last_completed_start(reminder: Reminder) -> datetime | None:
    if reminder.kind not in MAINTENANCE_KINDS:
        return None
    if hasattr(reminder, "_email_last_start"):  # reminders_prefetch
        return reminder._email_last_start
    last = (
        reminder.client.sessions.filter(status=Session.Status.COMPLETED)
        .order_by("-start")
        .only("start")
        .first()
    )
    return last.start if last else None


def _session_row(session: Session, *, now: datetime, live: bool) -> dict:
    """One session as the templates list it, with its own confirm link while it is
    ahead and booked, and a cancel link only when cancelling will still be open when
    the client reads the email (``cancel_link_offered``; issue 11)."""
    ahead = live and session.status == Session.Status.BOOKED and session.start > now
    offered = ahead and cancel_link_offered(start=session.start, sent_at=now)
    return {
        "when": when(session.start),
        "minutes": int((session.end - session.start).total_seconds() // 60),
        "esthetician": session.esthetician.get_full_name() or session.esthetician.username,
        "confirm": link_url("confirm", session.pk) if ahead else "",
        "cancel": link_url("cancel", session.pk) if offered else "",
    }


def _may_ask_screening(reminder: Reminder) -> bool:
    return (
        reminder.kind == Reminder.Kind.BOOKING_CONFIRMATION
        and reminder.event != Reminder.Event.CANCELLED
    )


def _screening_link(reminder: Reminder) -> str:
    """The signed link to the online screening when a booking confirmation goes to a
    client without a current screening at send time (issue 11, "The screening online":
    a first booking made without one links to the page), else "". Decided by
    ``client_eligibility``, the one rule staff pages and booking use."""
    if not _may_ask_screening(reminder):
        return ""
    if client_eligibility(client=reminder.client).outcome != Outcome.SCREENING_REQUIRED:
        return ""
    return link_url("screening", reminder.client.pk)


def reminder_context(reminder: Reminder, *, sessions: list[Session] | None = None) -> dict:
    client = reminder.client
    sessions = reminder_sessions(reminder) if sessions is None else sessions
    first = sessions[0] if sessions else None
    upcoming = (
        first is not None
        and reminder.event != Reminder.Event.CANCELLED
        and first.status == Session.Status.BOOKED
        and first.start > timezone.now()
    )
    now = timezone.now()
    rows = [
        _session_row(s, now=now, live=reminder.event != Reminder.Event.CANCELLED) for s in sessions
    ]
    single = rows[0] if upcoming and len(rows) == 1 else {}
    links = {
        # One session: its links at the top level. A series: each row has its own.
        "confirm": single.get("confirm", ""),
        "cancel": single.get("cancel", ""),
        "boost": link_url("boost", client.pk),
        "unsubscribe": link_url("unsubscribe", client.pk),
        # The client's own page, in every email (issue 11).
        "client": link_url("client", client.pk),
        "screening": _screening_link(reminder),
    }
    last_start = _last_completed_start(reminder)
    zone = clinic_zone()
    return {
        "client": client,
        "event": reminder.event,
        "sessions": rows,
        "last_session": when(last_start).split(" at ")[0] if last_start else "",
        "links": links,
        "notice_hours": settings.CANCEL_NOTICE_HOURS,
        "clinic": {
            "name": settings.CLINIC_NAME,
            "address": settings.CLINIC_ADDRESS,
            "phone": settings.CLINIC_PHONE,
            "zone_label": f"in clinic time ({zone.key})",
        },
    }


@lru_cache(maxsize=8)
def _vtimezone(zone_key: str) -> bytes:
    """The VTIMEZONE block of ``zone_key`` as icalendar writes it. The same for every
    file and the costliest part of one (every transition 1970–2038, ~15 ms), so worked
    out once per process (issue 10, "Fast and fair")."""
    calendar = Calendar()
    event = Event()
    event.add("dtstart", datetime(2000, 1, 1, tzinfo=ZoneInfo(zone_key)))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return b"".join(zone.to_ical() for zone in calendar.timezones)


def sender_address() -> str:
    """The clinic's address alone, whether ``DEFAULT_FROM_EMAIL`` names it or not."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL


def sender() -> str:
    """``"Clinic Name" <address>``: the clinic's name as the sender (issue 11, "Emails
    a client trusts"), quoted or encoded by formataddr as the name needs."""
    return formataddr((settings.CLINIC_NAME, sender_address()))


def session_calendar(
    sessions: list[Session], *, cancel: bool = False, client: Client | None = None
) -> bytes:
    """An iCalendar file with one VEVENT per session: a stable UID per session, the
    session's SEQUENCE (raised on every change), METHOD:CANCEL when cancelled, and
    local times with their VTIMEZONE so daylight-saving changes come out right. The
    clinic is the ORGANIZER and ``client`` (by default each session's) the ATTENDEE,
    each with a CN, so calendar apps show who the event is between (issue 11)."""
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Session manager//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    zone = clinic_zone()
    host = site_domain()
    for session in sessions:
        event = Event()
        event.add("uid", f"session-{session.pk}@{host}")
        event.add("sequence", session.sequence)
        event.add("dtstamp", timezone.now())
        event.add("dtstart", timezone.localtime(session.start, zone))
        event.add("dtend", timezone.localtime(session.end, zone))
        event.add("summary", f"Microcurrent facial at {settings.CLINIC_NAME}")
        event.add("location", settings.CLINIC_ADDRESS)
        organizer = vCalAddress(f"mailto:{sender_address()}")
        organizer.params["CN"] = settings.CLINIC_NAME
        event.add("organizer", organizer)
        attendee_client = client or session.client
        attendee = vCalAddress(f"mailto:{attendee_client.email}")
        attendee.params["CN"] = attendee_client.full_name
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        # The booking is already made: the calendar app has nothing to ask the client.
        attendee.params["PARTSTAT"] = "ACCEPTED"
        event.add("attendee", attendee)
        event.add("status", "CANCELLED" if cancel else "CONFIRMED")
        calendar.add_component(event)
    ics = calendar.to_ical()
    if not sessions:
        return ics
    # What ``add_missing_timezones`` would put before the first event, from the cache.
    return ics.replace(b"BEGIN:VEVENT", _vtimezone(zone.key) + b"BEGIN:VEVENT", 1)


def reminder_message(reminder: Reminder, *, connection=None) -> EmailMultiAlternatives:
    """The email for one outbox row, ready to send over ``connection``, with the row's
    own Message-ID (``reminder_message_id``). Call ``reminders_prefetch`` first for a
    batch, or each row costs its own queries."""
    sessions = reminder_sessions(reminder)
    context = reminder_context(reminder, sessions=sessions)
    rendered = email_render(reminder.kind, context)
    unsubscribe = context["links"]["unsubscribe"]
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=sender(),
        to=[reminder.client.email],
        connection=connection,
        headers={
            "Message-ID": reminder_message_id(reminder),
            # RFC 8058 one-click unsubscribe.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Clinic-Reminder": str(reminder.pk),
            "X-Clinic-Kind": reminder.kind,
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    if reminder.kind == Reminder.Kind.BOOKING_CONFIRMATION:
        cancel = reminder.event == Reminder.Event.CANCELLED
        ics = session_calendar(sessions, cancel=cancel, client=reminder.client)
        method = "CANCEL" if cancel else "REQUEST"
        message.attach("sessions.ics", ics, f"text/calendar; method={method}; charset=utf-8")
    return message
