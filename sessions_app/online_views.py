"""The client's boost page and online screening behind signed links, and the front
desk's "Client activity" list (issue 11, items 4-6).

Clients never log in: the signed token is the permission (``sessions_app.links``). A
GET only shows times or questions; only a POST books or records (mail scanners follow
links, they do not press buttons). Every refusal is a page that says what to do next,
never an error page: a time taken meanwhile shows the next free times.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from clients import audit
from clients.forms import ScreeningForm
from clients.rules import Outcome
from clients.selectors import client_eligibility
from clinic.clinic_time import localdate
from clinic.errors import BookingClash, Conflict, DomainError, NotEligible
from clinic.models import User
from clinic.permissions import RoleRequiredMixin
from sessions_app import online
from sessions_app.emails import when
from sessions_app.links import LinkRefused, clinic_card, link_client
from sessions_app.models import Device, Room


class ClientScreeningForm(ScreeningForm):
    """The six questions of the staff screening, put to the client: the same fields,
    the same required answers and outcome rules; only the wording speaks to "you"."""

    QUESTIONS = {
        "pacemaker": "Do you have a cardiac pacemaker?",
        "pregnant": "Are you pregnant, or could you be?",
        "neurological_disorder": "Do you have a neurological disorder such as epilepsy?",
        "recent_surgery": "Have you had surgery in the last {surgery} months?",
        "cancer_treatment": (
            "Are you having cancer treatment, or had any in the last {cancer} months?"
        ),
        "implanted_defibrillator": "Do you have an implanted defibrillator?",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        months = {
            "surgery": settings.SCREENING_RECENT_SURGERY_MONTHS,
            "cancer": settings.SCREENING_CANCER_TREATMENT_MONTHS,
        }
        for name, question in self.QUESTIONS.items():
            self.fields[name].label = question.format(**months)


@method_decorator(csrf_exempt, name="dispatch")  # the token in the URL is the credential
class _ClientLinkView(View):
    """Reads the signed token: 410 when expired or revoked, 400 when tampered with or
    made for another action, 404 when the client is gone."""

    action = "boost"

    def dispatch(self, request, token: str, **kwargs):
        kwargs.pop("action", None)  # the route's name for the link; the view knows its own
        self.token = token
        try:
            self.client = link_client(self.action, token)
        except LinkRefused as refused:
            return self.page(request, refused.state, status=refused.status)
        return super().dispatch(request, token=token, **kwargs)

    def page(self, request, state: str, status: int = 200, **context):
        if state == "call" and getattr(self, "client", None) is not None:
            # "The clinic will call": tells whoever holds the link the screening's outcome.
            audit.record_access(client=self.client, what="eligibility", request=request)
        context.update(
            state=state,
            clinic=clinic_card(),
            client=getattr(self, "client", None),
            token=getattr(self, "token", ""),
        )
        return render(request, self.template_name, context, status=status)

    # Shared by the boost and the screening pages ------------------------------------
    def boost_url(self) -> str:
        return reverse("links:boost", kwargs={"token": self.token})

    def times_page(self, request, state: str, status: int = 200, day: date | None = None, **ctx):
        """The boost page: the client's next free times from ``day``."""
        self.template_name = "online/boost.html"
        return self.page(
            request,
            state,
            status=status,
            times=online.boost_page(client=self.client, date_from=day),
            boost_url=self.boost_url(),
            **ctx,
        )

    def book(self, request, slot: dict):
        """Book the chosen time; a time gone meanwhile shows the next free times."""
        try:
            session = online.boost_book(client=self.client, **slot)
        except BookingClash:
            return self.times_page(request, "gone", status=409, day=localdate(slot["start"]))
        except NotEligible:
            self.template_name = "online/boost.html"
            return self.page(request, "call")
        except Conflict:  # already booked: the page shows the booking
            return self.booked(request)
        except DomainError as error:
            return self.times_page(request, "refused", status=400, message=error.message)
        self.template_name = "online/boost.html"
        return self.page(request, "done", session=session, when=when(session.start))

    def booked(self, request):
        session = online.boost_upcoming(self.client)
        self.template_name = "online/boost.html"
        return self.page(request, "booked", session=session, when=when(session.start))


def _slot(data) -> tuple[dict | None, str]:
    """The chosen time from the form: start, esthetician, room and device, or a message
    naming what is wrong."""
    try:
        start = datetime.fromisoformat(data.get("start", ""))
    except ValueError:
        return None, "Choose one of the times below."
    if start.tzinfo is None or online.boost_start_problem(start):
        # Before anything reads it: a year 9999 or year 1 time would overflow.
        return None, "Choose one of the times below."
    try:
        slot = {
            "start": start,
            "esthetician": User.objects.get(pk=int(data.get("esthetician", ""))),
            "room": Room.objects.get(pk=int(data.get("room", ""))),
            "device": Device.objects.get(pk=int(data.get("device", ""))),
        }
    except (ValueError, User.DoesNotExist, Room.DoesNotExist, Device.DoesNotExist):
        return None, "Choose one of the times below."
    return slot, ""


def _slot_fields(data) -> dict:
    return {name: data.get(name, "") for name in ("start", "esthetician", "room", "device")}


class BoostView(_ClientLinkView):
    """The maintenance reminder's button: the client's next free times, and the POST that
    books the one they choose (issue 11, "Book the boost online")."""

    action = "boost"
    template_name = "online/boost.html"

    def _blocked(self, request):
        """A page instead of the times, or None when the client may choose a time."""
        if online.boost_upcoming(self.client) is not None:
            return self.booked(request)
        outcome = client_eligibility(client=self.client).outcome
        if outcome in (Outcome.NEEDS_CLEARANCE, Outcome.INELIGIBLE):
            return self.page(request, "call")
        return None

    def get(self, request, token: str):
        blocked = self._blocked(request)
        if blocked:
            return blocked
        try:
            day = date.fromisoformat(request.GET.get("from", ""))
        except ValueError:
            day = None
        screening = client_eligibility(client=self.client).outcome == Outcome.SCREENING_REQUIRED
        return self.times_page(request, "times", day=day, screening_first=screening)

    def post(self, request, token: str):
        blocked = self._blocked(request)
        if blocked:
            return blocked
        slot, problem = _slot(request.POST)
        if slot is None:
            return self.times_page(request, "refused", status=400, message=problem)
        if client_eligibility(client=self.client).outcome == Outcome.SCREENING_REQUIRED:
            # The six questions first; the chosen time rides along in the form.
            self.template_name = "online/screening.html"
            return self.page(
                request,
                "ask",
                form=ClientScreeningForm(),
                slot=_slot_fields(request.POST),
                when=when(slot["start"]),
                action_url=reverse("links:boost-screening", kwargs={"token": self.token}),
            )
        return self.book(request, slot)


class ScreeningView(_ClientLinkView):
    """The six questions answered by the client (issue 11, "The screening online"): from
    the boost page (boost token, with the chosen time) or from a booking confirmation
    (screening token). Eligible: the boost is booked, or the client is thanked. Needs a
    clearance or ineligible: nothing is booked and the clinic will call."""

    action = "screening"
    template_name = "online/screening.html"

    def _ask(self, request, form, status=200):
        slot = _slot_fields(request.POST) if request.method == "POST" else {}
        chosen, _ = _slot(slot) if slot.get("start") else (None, "")
        return self.page(
            request,
            "ask",
            status=status,
            form=form,
            slot=slot if chosen else {},
            when=when(chosen["start"]) if chosen else "",
            action_url=request.path,
        )

    def get(self, request, token: str):
        if client_eligibility(client=self.client).outcome != Outcome.SCREENING_REQUIRED:
            if self.action == "boost":
                return redirect(self.boost_url())
            return self.page(request, "current")
        return self._ask(request, ClientScreeningForm())

    def post(self, request, token: str):
        if client_eligibility(client=self.client).outcome != Outcome.SCREENING_REQUIRED:
            # Answered already (a second tab, a refresh): no second screening.
            return self._after(request)
        form = ClientScreeningForm(request.POST)
        if not form.is_valid():
            return self._ask(request, form, status=400)
        online.screening_record_online(client=self.client, answers=form.cleaned_data)
        return self._after(request)

    def _after(self, request):
        outcome = client_eligibility(client=self.client).outcome
        if outcome != Outcome.ELIGIBLE:
            return self.page(request, "call")
        if self.action != "boost":
            return self.page(request, "thanks")
        slot, _ = _slot(request.POST)
        if slot is None:
            return redirect(self.boost_url())
        if online.boost_upcoming(self.client) is not None:
            return self.booked(request)
        return self.book(request, slot)


class BoostScreeningView(ScreeningView):
    action = "boost"


class ClientActivityView(RoleRequiredMixin, TemplateView):
    """What clients did from their emails, newest first (issue 11, "The front desk sees
    what clients did")."""

    permission = "activity.view"
    template_name = "online/activity.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["items"] = online.client_activity()
        context["days"] = online.ACTIVITY_DAYS
        # Screenings answered online show their outcome and the conditions reported.
        for item in context["items"]:
            if item.screening is not None:
                audit.record_access(
                    client=item.client, what="screening", request=self.request, obj=item.screening
                )
        return context
