"""The client's own page (issue 11, "The client's own page"), behind the signed link
present in every email: upcoming sessions to confirm or cancel, the plan's progress,
past sessions and email preferences. Clients never log in: the token, signed with the
client's id and its issue time, is the credential (expiring with
``EMAIL_LINK_MAX_AGE_DAYS``, refused once the manager revokes the client's links).

A GET only shows the page; only a POST changes anything (mail scanners follow links,
they do not press buttons). After a POST the page redirects to itself with ``?done=``
naming what was done, so a reload never repeats it.

The manager's "revoke links" button (on the staff client page) is here too, next to the
rule it serves.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from clients.models import Client
from clinic.errors import DomainError
from clinic.permissions import RoleRequiredMixin
from sessions_app import services
from sessions_app.emails import when
from sessions_app.links import (
    LinkRefused,
    client_can_cancel,
    client_links_revoke,
    client_reminders_set,
    clinic_card,
    link_client,
    session_client_confirm,
)
from sessions_app.models import Session
from sessions_app.selectors import plans_with_progress

PAST_SHOWN = 20
DONE = {
    "confirmed": "Thank you: your session is confirmed.",
    "cancelled": "Your session is cancelled.",
    "reminders_on": "Maintenance reminders are on again.",
    "reminders_off": "You will get no more maintenance reminders.",
}


# The token in the URL is the credential (as for every link page): a forged request
# cannot know it, and the client's mail app may open the page without our cookie.
@method_decorator(csrf_exempt, name="dispatch")
class ClientPageView(View):
    template_name = "links/client_page.html"

    def dispatch(self, request, token: str, **kwargs):
        # kwargs: the route's {"action": "client"}, naming the link as the others do.
        try:
            self.client = link_client("client", token)
        except LinkRefused as refused:
            return self._refused(request, refused.state, refused.status)
        self.token = token
        return super().dispatch(request, token=token)

    def _refused(self, request, state: str, status: int):
        context = {"state": state, "clinic": clinic_card()}
        return render(request, self.template_name, context, status=status)

    def _page(self, request, *, status: int = 200, message: str = "", problem: str = ""):
        now = timezone.now()
        sessions = self.client.sessions.select_related("esthetician")
        upcoming = [
            {
                "session": s,
                "when": when(s.start),
                "minutes": int((s.end - s.start).total_seconds() // 60),
                "can_cancel": client_can_cancel(start=s.start, at=now),
            }
            for s in sessions.filter(status=Session.Status.BOOKED, start__gt=now).order_by(
                "start", "pk"
            )
        ]
        past = [
            {"session": s, "when": when(s.start)}
            # What has happened; a session cancelled ahead of its time is not "past".
            for s in sessions.filter(start__lte=now).order_by("-start", "-pk")[:PAST_SHOWN]
        ]
        plans = plans_with_progress(self.client.plans.all()).order_by("-start_date", "-pk")
        context = {
            "state": "page",
            "clinic": clinic_card(),
            "client": self.client,
            "upcoming": upcoming,
            "past": past,
            "plans": plans,
            "notice_hours": settings.CANCEL_NOTICE_HOURS,
            "message": message or DONE.get(request.GET.get("done", ""), ""),
            "problem": problem,
            "action_url": request.path,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, token: str):
        return self._page(request)

    def post(self, request, token: str):
        do = request.POST.get("do", "")
        if do in ("reminders_on", "reminders_off"):
            client_reminders_set(client=self.client, on=do == "reminders_on")
            return self._done(do)
        if do not in ("confirm", "cancel"):
            return self._page(request, status=400, problem="Choose what to do (field do).")
        try:
            pk = int(request.POST.get("session", ""))
        except ValueError:
            return self._page(request, status=400, problem="Choose a session (field session).")
        # Only the client's own sessions: another client's id is simply not found.
        session = self.client.sessions.select_related("client", "esthetician").filter(pk=pk).first()
        if session is None:
            return self._page(request, status=404, problem="That session is not one of yours.")
        if session.status != Session.Status.BOOKED or session.start <= timezone.now():
            return self._page(
                request,
                status=409,
                problem=f"The session on {when(session.start)} can no longer be changed online.",
            )
        if do == "confirm":
            session_client_confirm(session=session)
            return self._done("confirmed")
        if not client_can_cancel(start=session.start):
            return self._page(
                request,
                status=409,
                problem=(
                    f"Your session on {when(session.start)} is less than "
                    f"{settings.CANCEL_NOTICE_HOURS} hours away, too close to cancel online. "
                    f"Please call us on {settings.CLINIC_PHONE}."
                ),
            )
        try:
            services.session_cancel(session=session, by=None, by_client=True)
        except DomainError as error:
            return self._page(request, status=409, problem=error.message)
        return self._done("cancelled")

    def _done(self, done: str):
        return redirect(f"{self.request.path}?done={done}")


class ClientLinksRevokeView(RoleRequiredMixin, View):
    """The manager refuses every link already sent to a client (a forwarded email, a
    lost phone). POST only; later emails carry links that work."""

    permission = "clients.revoke_links"

    def post(self, request, pk: int):
        client = get_object_or_404(Client, pk=pk)
        client_links_revoke(client=client)
        messages.success(
            request,
            f"Every link already emailed to {client} now stops working. "
            "Links in emails sent from now on work.",
        )
        return redirect(reverse("clients:detail", args=[client.pk]))
