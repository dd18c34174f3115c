"""Every client email: one function renders any kind from ``templates/emails/``,
and confirmations carry a calendar file (SPEC: reminders stay right across DST)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress

from sessions_app.availability import clinic_zone
from sessions_app.links import link_url
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


def reminder_sessions(reminder: Reminder) -> list[Session]:
    """What the email is about: the plan's live sessions for a series confirmation,
    else the one session."""
    if reminder.session_id is not None:
        return [reminder.session]
    if reminder.plan_id is not None:
        return list(reminder.plan.sessions.live().select_related("esthetician").order_by("start"))
    return []


def reminder_context(reminder: Reminder) -> dict:
    client = reminder.client
    sessions = reminder_sessions(reminder)
    first = sessions[0] if sessions else None
    upcoming = (
        first is not None
        and reminder.event != Reminder.Event.CANCELLED
        and first.status == Session.Status.BOOKED
        and first.start > timezone.now()
    )
    links = {
        "confirm": link_url("confirm", first.pk) if upcoming and len(sessions) == 1 else "",
        "cancel": link_url("cancel", first.pk) if upcoming and len(sessions) == 1 else "",
        "boost": link_url("boost", client.pk),
        "unsubscribe": link_url("unsubscribe", client.pk),
    }
    last = (
        client.sessions.filter(status=Session.Status.COMPLETED).order_by("-start").first()
        if reminder.kind in MAINTENANCE_KINDS
        else None
    )
    zone = clinic_zone()
    return {
        "client": client,
        "event": reminder.event,
        "sessions": [
            {
                "when": when(s.start),
                "minutes": int((s.end - s.start).total_seconds() // 60),
                "esthetician": s.esthetician.get_full_name() or s.esthetician.username,
            }
            for s in sessions
        ],
        "last_session": when(last.start).split(" at ")[0] if last else "",
        "links": links,
        "notice_hours": settings.CANCEL_NOTICE_HOURS,
        "clinic": {
            "name": settings.CLINIC_NAME,
            "address": settings.CLINIC_ADDRESS,
            "phone": settings.CLINIC_PHONE,
            "zone_label": f"in clinic time ({zone.key})",
        },
    }


def session_calendar(sessions: list[Session], *, cancel: bool = False) -> bytes:
    """An iCalendar file with one VEVENT per session: a stable UID per session, the
    session's SEQUENCE (raised on every change), METHOD:CANCEL when cancelled, and
    local times with their VTIMEZONE so daylight-saving changes come out right."""
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Session manager//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    zone = clinic_zone()
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    for session in sessions:
        event = Event()
        event.add("uid", f"session-{session.pk}@{host}")
        event.add("sequence", session.sequence)
        event.add("dtstamp", timezone.now())
        event.add("dtstart", timezone.localtime(session.start, zone))
        event.add("dtend", timezone.localtime(session.end, zone))
        event.add("summary", f"Microcurrent facial at {settings.CLINIC_NAME}")
        event.add("location", settings.CLINIC_ADDRESS)
        organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL}")
        organizer.params["CN"] = settings.CLINIC_NAME
        event.add("organizer", organizer)
        event.add("status", "CANCELLED" if cancel else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def reminder_message(reminder: Reminder, *, connection=None) -> EmailMultiAlternatives:
    """The email for one outbox row, ready to send over ``connection``."""
    context = reminder_context(reminder)
    rendered = email_render(reminder.kind, context)
    unsubscribe = context["links"]["unsubscribe"]
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[reminder.client.email],
        connection=connection,
        headers={
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
        ics = session_calendar(reminder_sessions(reminder), cancel=cancel)
        method = "CANCEL" if cancel else "REQUEST"
        message.attach("sessions.ics", ics, f"text/calendar; method={method}; charset=utf-8")
    return message
