from django import template
from django.utils import timezone

from clinic.clinic_time import localdate
from sessions_app import selectors
from sessions_app.models import Reminder
from sessions_app.plans import plans_with_state
from sessions_app.series import rebook_refusal

register = template.Library()


@register.inclusion_tag("sessions/includes/client_sessions.html", takes_context=True)
def client_sessions(context, client):
    """A client's plans with their progress and their sessions, for the client page."""
    # is_active: the one-active-plan rule's own reading, for the "Cancel plan" button.
    plans = list(plans_with_state(selectors.plans_with_progress(client.plans.all())))
    # "Rebook them" only where it can do something; otherwise the plan says why not.
    today = localdate()
    for plan in plans:
        plan.rebook_refusal = rebook_refusal(plan, today=today) if plan.sessions_to_rebook else ""
    sessions = list(selectors.sessions_for_list(client.sessions.all()).order_by("-start")[:30])
    now = timezone.now()
    return {
        "user": context["user"],
        "client": client,
        "plans": plans,
        "upcoming": sorted((s for s in sessions if s.start >= now), key=lambda s: s.start),
        "past": [s for s in sessions if s.start < now],
    }


CLIENT_REMINDERS_SHOWN = 20


@register.inclusion_tag("reminders/includes/client_reminders.html", takes_context=True)
def client_reminders(context, client):
    """The emails a client was sent, is due, or that failed, newest first."""
    reminders = list(
        Reminder.objects.filter(client=client).order_by("-due_at", "-id")[
            : CLIENT_REMINDERS_SHOWN + 1
        ]
    )
    more = len(reminders) > CLIENT_REMINDERS_SHOWN
    return {
        "user": context["user"],
        "client": client,
        "reminders": reminders[:CLIENT_REMINDERS_SHOWN],
        "more": more,
        "total": Reminder.objects.filter(client=client).count() if more else len(reminders),
    }
