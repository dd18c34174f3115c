"""The pages behind the links in client emails. Clients never log in: the signed
token is the permission. A GET only shows a page with a button; only the POST
changes anything (mail scanners follow links, they do not press buttons)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from clients.models import Client
from clinic.errors import DomainError
from sessions_app import services
from sessions_app.emails import when
from sessions_app.links import (
    LinkExpired,
    LinkInvalid,
    client_can_cancel,
    client_reminders_set,
    clinic_card,
    link_read,
    link_revoked,
    session_client_confirm,
)
from sessions_app.models import Session

# The token in the URL is the credential, and RFC 8058 one-click unsubscribe posts
# from the mail provider without a CSRF cookie, so these POSTs are exempt.
# The actions this page answers; the boost, screening and client pages have their own.
GENERIC_ACTIONS = ("confirm", "cancel", "unsubscribe")


@method_decorator(csrf_exempt, name="dispatch")
class LinkActionView(View):
    template_name = "links/action.html"

    def dispatch(self, request, action: str, token: str):
        if action not in GENERIC_ACTIONS:
            return self._page(request, "invalid", status=404)
        try:
            self.pk = link_read(action, token)
        except LinkExpired:
            return self._page(request, "expired", status=410)
        except LinkInvalid:
            return self._page(request, "invalid", status=400)
        self.action = action
        self.token = token
        return super().dispatch(request, action, token)

    def _page(self, request, state: str, status: int = 200, **context):
        context.update(
            state=state,
            action=getattr(self, "action", ""),
            clinic=clinic_card(),
            notice_hours=settings.CANCEL_NOTICE_HOURS,
        )
        return render(request, self.template_name, context, status=status)

    def _subject(self):
        """The session and client the link is for; (None, None) when they are gone or
        the client's links were revoked after this one was issued (``self.revoked``)."""
        self.revoked = False
        if self.action in ("confirm", "cancel"):
            session = (
                Session.objects.select_related("client", "esthetician").filter(pk=self.pk).first()
            )
            client = session.client if session else None
        else:
            session, client = None, Client.objects.filter(pk=self.pk).first()
        if client is not None and link_revoked(self.token, client):
            self.revoked = True
            return None, None
        return session, client

    def get(self, request, action: str, token: str):
        session, client = self._subject()
        if client is None:
            return self._gone(request)
        return self._page(
            request,
            self._state(session, client),
            session=session,
            client=client,
            when=when(session.start) if session else "",
        )

    def post(self, request, action: str, token: str):
        session, client = self._subject()
        if client is None:
            return self._gone(request)
        state = self._state(session, client)
        if state != "ask":
            return self._page(
                request,
                state,
                session=session,
                client=client,
                when=when(session.start) if session else "",
            )
        try:
            done = self._act(session, client)
        except DomainError as error:
            return self._page(
                request,
                "refused",
                status=409,
                session=session,
                client=client,
                message=error.message,
                when=when(session.start) if session else "",
            )
        return self._page(
            request,
            done,
            session=session,
            client=client,
            when=when(session.start) if session else "",
        )

    def _gone(self, request):
        # A revoked link reads like an expired one: it worked once and no longer does.
        if self.revoked:
            return self._page(request, "expired", status=410)
        return self._page(request, "invalid", status=404)

    def _state(self, session, client) -> str:
        """What the page should say before anything is done."""
        if self.action == "unsubscribe":
            return "unsubscribed" if client.unsubscribed_at else "ask"
        if session.status == Session.Status.CANCELLED:
            return "cancelled"
        if session.status != Session.Status.BOOKED or session.start <= timezone.now():
            return "past"
        if self.action == "confirm":
            return "confirmed" if session.client_confirmed_at else "ask"
        if not client_can_cancel(start=session.start):
            return "too_late"
        return "ask"

    def _act(self, session, client) -> str:
        if self.action == "unsubscribe":
            client_reminders_set(client=client, on=False)
            return "unsubscribed"
        if self.action == "confirm":
            session_client_confirm(session=session)
            return "confirmed"
        services.session_cancel(session=session, by=None, by_client=True)
        return "cancelled"
