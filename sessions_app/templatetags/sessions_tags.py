from django import template
from django.utils import timezone

from sessions_app import selectors

register = template.Library()


@register.inclusion_tag("sessions/includes/client_sessions.html", takes_context=True)
def client_sessions(context, client):
    """A client's plans with their progress and their sessions, for the client page."""
    plans = list(selectors.plans_with_progress(client.plans.all()))
    sessions = list(selectors.sessions_for_list(client.sessions.all()).order_by("-start")[:30])
    now = timezone.now()
    return {
        "user": context["user"],
        "client": client,
        "plans": [(p, selectors.plan_is_complete(p)) for p in plans],
        "upcoming": sorted((s for s in sessions if s.start >= now), key=lambda s: s.start),
        "past": [s for s in sessions if s.start < now],
    }
